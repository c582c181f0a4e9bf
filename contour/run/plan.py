"""From points to records: what one sample of one point looks like before inference."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from contour.spec.config import ExperimentConfig, Precision
from contour.spec.generation import generate_test
from contour.spec.manifold import Point
from contour.results.schema import ResultRecord
from contour.spec.samplers import Sampler
from contour.spec.task import Test
from contour.tasks import get_task
from contour.spec.templates import Template


@dataclass(frozen=True)
class RunSettings:
    """Everything that decides which tests a run asks and how they are rendered.

    An offline run is exactly this; an online run is `OnlineSettings`, which
    adds the model and sampler (never None there)."""

    config: ExperimentConfig
    template: Template
    seed: int
    precision: Precision
    density: str
    degree: int
    # An offline dataset may name the sampler it is meant for; it is recorded, never sent.
    offline_sampler: Sampler | None = None

    def model_name(self) -> str | None:
        return None

    def sampler_name(self) -> str | None:
        return self.offline_sampler.name if self.offline_sampler else None

    def sampler_params(self) -> dict[str, Any] | None:
        return self.offline_sampler.params if self.offline_sampler else None

    def sampler_file(self) -> Sampler | None:
        return self.offline_sampler


@dataclass(frozen=True, kw_only=True)
class OnlineSettings(RunSettings):
    model: str
    sampler: Sampler

    def model_name(self) -> str | None:
        return self.model

    def sampler_name(self) -> str | None:
        return self.sampler.name

    def sampler_params(self) -> dict[str, Any] | None:
        return self.sampler.params

    def sampler_file(self) -> Sampler | None:
        return self.sampler

    def with_sampler(self, sampler: Sampler) -> "OnlineSettings":
        return replace(self, sampler=sampler)


@dataclass(frozen=True)
class Step:
    """One round of one point: samples [round*count, (round+1)*count)."""

    point: Point
    round: int
    count: int

    @property
    def samples(self) -> range:
        return range(self.round * self.count, (self.round + 1) * self.count)


def sample_key(point: Point, sample: int) -> str:
    return f"{point.point_id}-{sample}"


def record_key(point: Point, sample: int, completion: int = 0) -> str:
    """A record's key: the sample key for the first completion (so runs with
    and without --completions pair on it), ".<completion>" added for the others."""
    key = sample_key(point, sample)
    return key if completion == 0 else f"{key}.{completion}"


# Error types of samples that never reached the server (see SampleError);
# defined beside the other error types, which resume and the tallies read.
from contour.results.failures import GENERATION_ERROR, TEMPLATE_ERROR  # noqa: E402


class SampleError(Exception):
    """A sample whose test could not be generated (the task raised) or
    rendered (the template failed for this test). The run records it as an
    error record of that type and goes on (or stops, with --fail-fast)."""

    def __init__(self, kind: str, point: Point, sample: int, cause: BaseException,
                 test: Test | None = None):
        self.kind, self.point, self.sample, self.test = kind, point, sample, test
        self.cause = f"{type(cause).__name__}: {cause}"
        what = "generating the test" if kind == GENERATION_ERROR else "rendering the template"
        super().__init__(f"{point.point_id} sample {sample}: {what} failed ({self.cause})")


def build_record(settings: RunSettings, point: Point, sample: int, round_: int) -> ResultRecord:
    """The record of one sample (its first completion) with every field that
    exists without inference. Raises SampleError when the task or the template
    fails for this sample."""
    task = get_task(point.task)
    try:
        test = generate_test(task, settings.seed, point.params, sample)
    except Exception as exc:    # noqa: BLE001 - any bug in a task is this sample's failure
        raise SampleError(GENERATION_ERROR, point, sample, exc) from exc
    try:
        messages = settings.template.render(task, point.params, test)
    except Exception as exc:    # noqa: BLE001
        raise SampleError(TEMPLATE_ERROR, point, sample, exc, test) from exc
    return ResultRecord(
        task=point.point_id, version=point.version, base_task=point.task,
        key=sample_key(point, sample), sample=sample, step=round_, seed=settings.seed,
        params={**point.params, "count": settings.precision.count},
        input=test.input, target=test.target, response_enum=test.response_enum,
        guess_chance=test.guess_chance, genresult=test.genresult, messages=messages,
        model=settings.model_name(), template=settings.template.name,
        sampler=settings.sampler_name(),
    )


def failed_record(settings: RunSettings, error: SampleError, round_: int) -> ResultRecord:
    """The error record of a sample that could not be generated or rendered."""
    point, test = error.point, error.test
    return ResultRecord(
        task=point.point_id, version=point.version, base_task=point.task,
        key=sample_key(point, error.sample), sample=error.sample, step=round_, seed=settings.seed,
        params={**point.params, "count": settings.precision.count},
        input=test.input if test else "", target=test.target if test else "",
        response_enum=test.response_enum if test else None,
        guess_chance=test.guess_chance if test else 0.0,
        genresult=test.genresult if test else {}, messages=[],
        model=settings.model_name(), template=settings.template.name,
        sampler=settings.sampler_name(),
        is_valid=False, is_correct=False, is_truncated=False,
        error={"type": error.kind, "message": str(error), "status": None},
    )
