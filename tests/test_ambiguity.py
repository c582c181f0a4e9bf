"""Every test has exactly one defensible answer, by an independent reading.

Each task's test module (tests/test_<task>.py) has a `defensible_answers(text,
params)`: a reader written apart from the generator that reads the rendered
text, and returns every answer a careful reader could defend, under every
reading the text leaves open (an unstated date format, an end-of-month rule,
the botanical sense of "fruit", a broader shape name, a second sequence
rule ...). A test is ambiguous when that set is not exactly its target.

The tests are drawn over the grid of configs/full.yaml at every degree at
which a window moves (0-2), every point, at least 1,000 per task, with the
default run seed, so they are the tests a user's run asks.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from contour.spec.checks import entry_points
from contour.spec.config import load_config
from contour.spec.generation import raw_test
from contour.tasks import get_task, task_names

FULL = Path(__file__).resolve().parent.parent / "configs" / "full.yaml"
PER_TASK = 1000
SEED = 0


def grid_tests(name: str, at_least: int = PER_TASK):
    """(params, test) over every point of the task's entries in full.yaml."""
    config = load_config(FULL)
    points = [p for e in config.tasks if e.name == name for p in entry_points(e)]
    assert points, f"task {name} is not in {FULL}; add it so its tests are checked"
    task = get_task(name)
    per_point = math.ceil(at_least / len(points))
    for p in points:
        for i in range(per_point):
            # raw_test: the run's test without its guess chance, which this
            # check does not need and which costs a simulation per point
            yield p.params, raw_test(task, SEED, p.params, i)


def ambiguous_tests(name: str) -> tuple[int, list[str]]:
    """(tests read, descriptions of the ambiguous ones)."""
    task = get_task(name)
    reader = importlib.import_module(f"tests.test_{name}").defensible_answers
    n, bad = 0, []
    for params, test in grid_tests(name):
        n += 1
        found = {task.normalize(a, test) for a in reader(test.input, params)}
        if found != {task.normalize(test.target, test)}:
            bad.append(f"target {test.target!r}, defensible {sorted(found)}:\n{test.input}")
    return n, bad


@pytest.mark.parametrize("name", task_names())
def test_exactly_one_defensible_answer(name):
    n, bad = ambiguous_tests(name)
    assert n >= PER_TASK
    assert not bad, f"{len(bad)} of {n} {name} tests are ambiguous; first:\n{bad[0]}"
