"""What a run asks: the task contract, configs and manifolds, coordinate-seeded
tests, and the templates and samplers that turn a test into a request.

config -> points (`resolve_grid`) -> tests (`generate_test`) -> messages
(`Template.render`) -> request body (`Sampler.request_body`). All pure but
the loaders.
"""

from contour.spec.params import Bool, Choice, Float, Int, ParamSchema
from contour.spec.task import ChoiceTask, Instructions, NumberTask, Scored, Task, Test
from contour.spec.config import ExperimentConfig, Precision, load_config, parse_config
from contour.spec.manifold import DENSITIES, Point, describe_grid, resolve_grid
from contour.spec.generation import example_tests, generate_test
from contour.spec.templates import Template, load_template
from contour.spec.samplers import Sampler, load_sampler

__all__ = [
    "Bool", "Choice", "ChoiceTask", "DENSITIES", "ExperimentConfig", "Float", "Instructions", "Int",
    "NumberTask", "ParamSchema", "Point", "Precision", "Sampler", "Scored", "Task", "Template", "Test",
    "describe_grid", "example_tests", "generate_test", "load_config", "load_sampler", "load_template",
    "parse_config", "resolve_grid",
]
