"""Tests at coordinates: samples for a point, and fixed multishot examples."""

from __future__ import annotations

from typing import Any, Mapping

from contour.spec.seeding import EXAMPLE, SAMPLE, coordinate_rng
from contour.spec.task import Task, Test

# Multishot examples use their own namespace and no global seed, so the same
# point shows the same examples in every run; they are re-drawn if one
# happens to equal the test being asked.
_EXAMPLE_SEED = 0
_MAX_REDRAWS = 20


def generate_test(task: Task, seed: int, params: Mapping[str, Any], index: int) -> Test:
    rng = coordinate_rng(SAMPLE, seed, task.name, task.version, params, index)
    return task.generate(rng, dict(params))


def example_tests(task: Task, params: Mapping[str, Any], n: int, avoid: Test) -> list[Test]:
    examples: list[Test] = []
    index = 0
    while len(examples) < n and index < n + _MAX_REDRAWS:
        rng = coordinate_rng(EXAMPLE, _EXAMPLE_SEED, task.name, task.version, params, index)
        candidate = task.generate(rng, dict(params))
        index += 1
        if candidate.input != avoid.input and all(candidate.input != e.input for e in examples):
            examples.append(candidate)
    return examples
