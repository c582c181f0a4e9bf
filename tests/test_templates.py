"""Template rendering: the runner's fast path gives jinja2's own output."""

import random
from pathlib import Path

import jinja2
import pytest

from contour.errors import ContourError
from contour.spec.files import shipped_names
from contour.spec.generation import example_tests
from contour.spec.templates import Template, load_template, parse_messages
from contour.tasks import get_task, task_names


def _jinja_render(template: Template, task, params, test):
    """What jinja2's Template.render makes of the same context."""
    context = {"task": {"name": task.name, "description": task.description,
                        "instructions": task.instructions},
               "test": test,
               "examples": lambda n: example_tests(task, params, int(n), avoid=test)}
    return parse_messages(template.compiled.render(context), str(template.path))


@pytest.mark.parametrize("name", shipped_names("templates", ".jinja"))
def test_every_shipped_template_renders_as_jinja2_does(name):
    template = load_template(name)
    for task_name in task_names():
        task = get_task(task_name)
        params = task.schema.validate(task.name, {})
        for seed in range(2):
            test = task.generate(random.Random(seed), params)
            assert template.render(task, params, test) == _jinja_render(template, task, params, test)


def test_globals_and_loops_work_in_a_template(tmp_path):
    path = tmp_path / "loop.jinja"
    path.write_text('[{% for i in range(2) %}{"role": "user", "content": {{ (test.input ~ i) | tojson }}}'
                    '{{ "," if not loop.last }}{% endfor %}]')
    template = load_template(str(path))
    task = get_task("arithmetic")
    params = task.schema.validate(task.name, {})
    test = task.generate(random.Random(0), params)
    assert [m["content"] for m in template.render(task, params, test)] == [test.input + "0",
                                                                           test.input + "1"]


def test_a_failing_render_names_the_template():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template = Template("bad", Path("bad.jinja"), "",
                        env.from_string('[{"role": "user", "content": {{ (test.nope ~ "") | tojson }}}]'))
    task = get_task("arithmetic")
    params = task.schema.validate(task.name, {})
    with pytest.raises(ContourError, match=r"template bad.jinja: rendering failed: .*nope"):
        template.render(task, params, task.generate(random.Random(0), params))
