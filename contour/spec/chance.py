"""The success rate of the best blind answer at a point (`guess_chance`).

A blind guesser knows the point (its parameters) but not the test, and
gives one constant answer to every test of the point. Its success rate is
the probability of the most frequent (normalised) target:
- multiple choice with uniformly placed answers: 1 / number of options;
- a closed form where a task provides one (`Task.exact_guess_chance`);
- otherwise a seeded simulation of the generator, cached per
  (task, version, point parameters), so it costs one simulation per point
  and process and never depends on the run's seed.

The simulation is cross-fitted: the most frequent target of one half of
the draws is scored on the other half and vice versa. A plug-in maximum of
observed frequencies would be biased upward (noise makes some answer look
popular even where every answer is rare); the cross-fitted rate is the rate
a guesser who learned the mode from data really achieves. Answer spaces
that are effectively unbounded come out at (or very near) 0.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from typing import Any, Mapping

from contour.spec.seeding import coordinate_rngs, point_json
from contour.spec.task import SIMULATED, UNBOUNDED, UNIFORM, Task, Test

CHANCE = "chance"
# Draws per half: a first pass, and a longer one when the mode is common
# enough for its rate to matter (standard error about 0.013 at p = 0.2,
# small beside any per-point accuracy interval).
_FIRST_HALF = 256
_FULL_HALF = 512
_COMMON = 0.02


def guess_chance(task: Task, params: Mapping[str, Any], test: Test) -> float:
    """The best blind answer's success rate at the point of `test`."""
    if task.blind_guess == UNIFORM:
        return 1 / len(test.response_enum) if test.response_enum else 0.0
    if task.blind_guess == UNBOUNDED:
        return 0.0
    if task.blind_guess != SIMULATED:
        raise ValueError(f"task {task.name}: unknown blind_guess {task.blind_guess!r}")
    exact = task.exact_guess_chance(dict(params))
    if exact is not None:
        return exact
    return _simulated(type(task), task.name, task.version, point_json(params))


@lru_cache(maxsize=4096)
def _simulated(cls: type[Task], name: str, version: int, point: str) -> float:
    task = cls()
    params = json.loads(point)
    halves: tuple[list[str], list[str]] = ([], [])
    index = 0
    rng_at = coordinate_rngs(CHANCE, 0, name, version, params)

    def draw(per_half: int) -> None:
        nonlocal index
        tries = 0
        while len(halves[1]) < per_half and tries < 8 * per_half:
            tries += 1
            try:
                test = task.generate(rng_at(index), dict(params))
            except Exception:   # noqa: BLE001 - a draw the task cannot make has no answer
                continue
            finally:
                index += 1
            full = halves[0] if len(halves[0]) <= len(halves[1]) else halves[1]
            full.append(task.normalize(test.target, test))

    draw(_FIRST_HALF)
    if not halves[1]:
        return 0.0      # the generator fails at every draw; its samples fail too
    rate = cross_fitted_mode_rate(*halves)
    if rate >= _COMMON:
        draw(_FULL_HALF)
        rate = cross_fitted_mode_rate(*halves)
    return round(rate, 4)


def cross_fitted_mode_rate(a: list[str], b: list[str]) -> float:
    """Mean of: the rate in `b` of `a`'s most frequent value, and vice versa."""
    def mode(values: list[str]) -> str:
        counts = Counter(values)
        return min(counts, key=lambda v: (-counts[v], v))   # ties: the smallest value

    return (b.count(mode(a)) / len(b) + a.count(mode(b)) / len(a)) / 2
