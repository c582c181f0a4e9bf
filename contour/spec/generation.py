"""Tests at coordinates: the samples of a point, and fixed multishot examples.

**Distinct samples.** Sample `i` of a point is the first of its candidates
(i, 0), (i, 1), ... whose input differs from samples 0 .. i-1; candidate
(i, 0) is the plain coordinate draw of sample i, and each further one is a
fresh draw from its own coordinates. Sample i therefore depends only on the
samples before it, so the first k samples are the same whatever `count` is
(count-invariance) and on any machine. When a point's test space is
smaller than the samples asked, no new candidate turns up: after
`_attempts(i)` tries sample i repeats an earlier test (candidate (i, 0)),
and `sample_space` reports how many distinct tests the point gave.

Which candidate each sample took is remembered per point (a few bytes a
sample), so a sample asked again, or out of order, costs one generation.
The tests a run's short-point check draws (`sample_space(..., keep=True)`,
just before the run asks for them) are also kept, up to `_KEPT_MAX` in the
process, until asked for, so a sample is generated once, not twice; tests
are pure functions of their coordinates, so a kept test is the one a new
generation would give.

`guess_chance` is set here, per point, by `contour.spec.chance`.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from contour.spec.chance import guess_chance
from contour.spec.seeding import EXAMPLE, SAMPLE, coordinate_rng, coordinate_rngs, point_json
from contour.spec.task import Task, Test

# Multishot examples use their own namespace and no global seed, so the same
# point shows the same examples in every run; they are re-drawn if one
# happens to equal the test being asked.
_EXAMPLE_SEED = 0
_MAX_REDRAWS = 20
_REDRAW = SAMPLE + "-redraw"
_POINTS_KEPT = 4096
_KEPT_MAX = 100_000     # tests kept between sample_space and their use (at most ~1.5 KB each)


def _attempts(index: int) -> int:
    """Candidates tried for sample `index` before accepting a repeat. The
    last new test of a space of N takes about N tries to find, so the limit
    grows with the index (capped, which bounds the cost for tiny spaces)."""
    return min(256, max(32, 4 * (index + 1)))


@dataclass
class _PointDraws:
    """Which candidate every sample of one point took so far."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    taken: list[int] = field(default_factory=list)      # candidate number per sample
    seen: set[bytes] = field(default_factory=set)       # digests of their inputs
    repeats: list[int] = field(default_factory=list)    # samples that repeat an earlier test
    first_rng: Callable[[int], random.Random] | None = None   # candidate 0's stream, once made
    kept: dict[int, Test] = field(default_factory=dict)     # drawn by sample_space, not yet asked


_kept_total = 0     # tests kept over all points, under _points_lock


_points: OrderedDict[str, _PointDraws] = OrderedDict()
_points_lock = threading.Lock()


def _point_key(task: Task, seed: int, params: Mapping[str, Any]) -> str:
    return f"{seed}|{task.name}|{task.version}|{point_json(params)}"     # a dict key in this process


def _draws(key: str) -> _PointDraws:
    global _kept_total
    with _points_lock:
        draws = _points.get(key)
        if draws is None:
            draws = _points[key] = _PointDraws()
            while len(_points) > _POINTS_KEPT:
                _kept_total -= len(_points.popitem(last=False)[1].kept)
        else:
            _points.move_to_end(key)
        return draws


def forget_samples() -> None:
    """Drop what every point remembers; samples are recomputed on demand,
    identically (tests use it to check that no memory changes a sample)."""
    global _kept_total
    with _points_lock:
        _points.clear()
        _kept_total = 0


def _keep(draws: _PointDraws, index: int, test: Test) -> None:
    global _kept_total
    with _points_lock:
        if _kept_total < _KEPT_MAX:
            draws.kept[index] = test
            _kept_total += 1


def _take_kept(draws: _PointDraws, index: int) -> Test | None:
    global _kept_total
    with _points_lock:
        test = draws.kept.pop(index, None)
        if test is not None:
            _kept_total -= 1
        return test


def _digest(test: Test) -> bytes:
    return hashlib.blake2b(test.input.encode(), digest_size=12).digest()


def _candidate(task: Task, seed: int, params: Mapping[str, Any], index: int, attempt: int,
               draws: _PointDraws) -> Test:
    if attempt == 0:
        if draws.first_rng is None:
            draws.first_rng = coordinate_rngs(SAMPLE, seed, task.name, task.version, params)
        rng = draws.first_rng(index)
    else:
        rng = coordinate_rng(f"{_REDRAW}-{attempt}", seed, task.name, task.version, params, index)
    return task.generate(rng, dict(params))


def _extend(task: Task, seed: int, params: Mapping[str, Any], draws: _PointDraws,
            upto: int, keep: bool = False) -> Test | None:
    """Fix the candidates of samples len(taken) .. upto; the last one's test.

    A sample whose first candidate raises is a failed sample (asked again, it
    raises again, the same way); a redraw that raises is skipped. Either
    way the samples after it are unaffected."""
    test = None
    while len(draws.taken) <= upto:
        index = len(draws.taken)
        try:
            first = _candidate(task, seed, params, index, 0, draws)
        except Exception:
            draws.taken.append(0)
            if index == upto:
                raise
            continue
        chosen, taken = first, 0
        if _digest(first) in draws.seen:
            for attempt in range(1, _attempts(index)):
                try:
                    candidate = _candidate(task, seed, params, index, attempt, draws)
                except Exception:   # noqa: BLE001 - a failing redraw is no candidate
                    continue
                if _digest(candidate) not in draws.seen:
                    chosen, taken = candidate, attempt
                    break
            else:
                draws.repeats.append(index)
        draws.seen.add(_digest(chosen))
        draws.taken.append(taken)
        if keep:
            _keep(draws, index, chosen)
        test = chosen
    return test


def raw_test(task: Task, seed: int, params: Mapping[str, Any], index: int) -> Test:
    """Sample `index` of a point, distinct from the samples before it
    where the point's test space allows; `guess_chance` not yet set."""
    draws = _draws(_point_key(task, seed, params))
    with draws.lock:
        if index >= len(draws.taken):
            test = _extend(task, seed, params, draws, index)
            assert test is not None
            return test
        attempt = draws.taken[index]
    kept = _take_kept(draws, index)
    return kept if kept is not None else _candidate(task, seed, params, index, attempt, draws)


def generate_test(task: Task, seed: int, params: Mapping[str, Any], index: int) -> Test:
    test = raw_test(task, seed, params, index)
    return replace(test, guess_chance=guess_chance(task, params, test))


@dataclass(frozen=True)
class SampleSpace:
    """How many distinct tests the first `samples` samples of a point hold."""

    samples: int
    distinct: int

    @property
    def short(self) -> bool:
        return self.distinct < self.samples


def sample_space(task: Task, seed: int, params: Mapping[str, Any], samples: int,
                 keep: bool = False) -> SampleSpace:
    """Draw (or recall) the first `samples` samples of a point and count the
    distinct ones. Fewer than `samples` means the point's test space ran out.
    `keep`: the caller is about to ask for these samples; the tests drawn are
    kept for it (see the module doc)."""
    draws = _draws(_point_key(task, seed, params))
    with draws.lock:
        if samples > len(draws.taken):
            _extend(task, seed, params, draws, samples - 1, keep=keep)
        repeats = sum(1 for r in draws.repeats if r < samples)
    return SampleSpace(samples, samples - repeats)


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
