"""Shared checks for task tests: sample a task over a grid of parameters."""

from __future__ import annotations

import itertools
from typing import Any, Iterator

from contour.spec.generation import raw_test
from contour.spec.task import Task, Test
from contour.tasks import get_task


def grid_samples(task_name: str, axes: dict[str, list[Any]], per_point: int,
                 fixed: dict[str, Any] | None = None, seed: int = 7
                 ) -> Iterator[tuple[dict[str, Any], Test]]:
    """Yield (params, test) for every point of the cartesian grid of `axes`.

    The tests are the run's samples without their guess chance (a
    simulation per point, checked on its own in test_guess_chance)."""
    task = get_task(task_name)
    names = list(axes)
    for values in itertools.product(*(axes[n] for n in names)):
        params = task.schema.validate(task_name, {**(fixed or {}), **dict(zip(names, values))})
        for i in range(per_point):
            yield params, raw_test(task, seed, params, i)


def assert_scores_own_target(task: Task, test: Test) -> None:
    """The canonical answer, stated the way the instructions ask, is correct."""
    verdict = task.score(f"Final Answer: {test.target}", test)
    assert verdict.is_valid and verdict.is_correct, (test.target, verdict)
