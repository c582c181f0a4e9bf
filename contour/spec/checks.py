"""Checks of a config's grid: do its points hold enough distinct tests, and
does every axis make its task harder?

- **Samples**: a point's first `samples` samples are drawn as the run would
  draw them (distinct where the test space allows, see
  `contour.spec.generation`); a point whose test space is smaller than
  the samples asked is *short*, and its samples repeat tests.
- **Test space**: the number of distinct tests a point can produce, from a
  probe of independent draws: exact when the probe stops finding new ones
  (`= N`), an estimate from the number of repeats otherwise (`~ N`), or a
  95% lower bound when the probe saw no repeat at all (`>= N`).
- **Axes**: from every grid point, one step back along each axis to the
  value before (the other parameters held), the task's structural measure of that
  axis (`Task.measures`: operands, nesting, words shown ...) is averaged
  over a few draws at both points. A step *rises* when the mean grows by
  at least 5% (of the larger mean) and by more than twice its standard
  error; it is *reversed* when the mean falls by more than twice its
  standard error, and *flat* otherwise.

- **Answers**: a point where every probed test has the same answer is
  named too: a constant answer would always be right there.

Every degree at which some window still moves is checked, so a config is
checked whole, not at one degree.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Iterable

from contour.spec.config import ExperimentConfig, Precision, TaskEntry
from contour.spec.generation import sample_space
from contour.spec.manifold import Point, resolve_entry
from contour.spec.seeding import coordinate_rng
from contour.tasks import get_task

_SPACE = "space"
_MEASURE = "measure"
_PROBE_FIRST = 64
_PROBE_MAX = 2048
_MEASURE_DRAWS = 48
_MEASURE_DRAWS_CLOSE = 192   # for a step that rose, but not clearly
_MIN_RISE = 0.05
_Z = 2.0


# --------------------------------------------------------------------------
# samples and test spaces


@dataclass(frozen=True)
class ShortPoint:
    """A point whose test space is smaller than the samples asked of it."""

    point_id: str
    samples: int
    distinct: int

    def line(self) -> str:
        return (f"{self.point_id}: only {self.distinct} distinct tests for {self.samples} "
                f"samples; the rest repeat them")

    def note(self) -> str:
        """The line a run prints about it."""
        return f"note: {self.line()}"

    def to_json(self) -> dict[str, Any]:
        return {"task": self.point_id, "samples": self.samples, "distinct_tests": self.distinct}


def short_points(points: Iterable[Point], seed: int, samples: int,
                 keep: bool = False) -> list[ShortPoint]:
    """The points whose first `samples` samples cannot all be distinct
    (`keep`: a run is about to ask for those samples, see `sample_space`)."""
    return [s for s in (point_short(p, seed, samples, keep) for p in points) if s is not None]


def point_short(point: Point, seed: int, samples: int, keep: bool = False) -> ShortPoint | None:
    """`short_points` for one point: None when its samples are distinct."""
    try:
        space = sample_space(get_task(point.task), seed, point.params, samples, keep=keep)
    except Exception:   # noqa: BLE001 - a task that raises: the run records its samples as failed
        return None
    return ShortPoint(point.point_id, samples, space.distinct) if space.short else None


def record_short_points(manifest: dict[str, Any], shorts: list[ShortPoint]) -> None:
    """Add a run's short points to its manifest (`short_points`, an empty
    list when every point's samples are distinct)."""
    manifest["short_points"] = [s.to_json() for s in shorts]


def samples_per_point(precision: Precision, rounds: int | None = None) -> int:
    """The most samples a point can get: `rounds` offline, else every round
    an adaptive precision may spend."""
    return precision.count * (rounds if rounds is not None else precision.max_rounds)


@dataclass(frozen=True)
class SpaceEstimate:
    """Distinct tests of a point: `size` is exact, estimated or a lower bound;
    `answers` counts the distinct (normalised) targets the probe saw."""

    kind: str        # "exact", "estimate" or "at least"
    size: int
    draws: int
    answers: int

    def text(self) -> str:
        return {"exact": "=", "estimate": "~", "at least": ">="}[self.kind] + f" {self.size}"


def estimate_space(task_name: str, params: dict[str, Any]) -> SpaceEstimate:
    return _estimate_space(task_name, json.dumps(params, sort_keys=True))


@lru_cache(maxsize=4096)
def _estimate_space(task_name: str, point: str) -> SpaceEstimate:
    task = get_task(task_name)
    params = json.loads(point)
    seen: set[str] = set()
    answers: set[str] = set()
    draws = since_new = 0
    while draws < _PROBE_MAX:
        rng = coordinate_rng(_SPACE, 0, task.name, task.version, params, draws)
        draws += 1
        try:
            test = task.generate(rng, dict(params))
        except Exception:   # noqa: BLE001 - a failing draw is no test (the run records it failed)
            continue
        text = test.input
        answers.add(task.normalize(test.target, test))
        if text in seen:
            since_new += 1
        else:
            seen.add(text)
            since_new = 0
        if draws == _PROBE_FIRST and len(seen) == draws:
            # No repeat in m draws: P(no repeat) ~ exp(-m^2 / 2N) < 5% for
            # any N below m^2 / (2 ln 20).
            return SpaceEstimate("at least", int(draws * draws / (2 * math.log(20))), draws,
                                 len(answers))
        if draws >= _PROBE_FIRST and since_new >= max(_PROBE_FIRST, 4 * len(seen)):
            return SpaceEstimate("exact", len(seen), draws, len(answers))
        if draws >= 4 * _PROBE_FIRST and draws % _PROBE_FIRST == 0:
            size = _uniform_size(draws, len(seen))
            if size >= 4 * draws:     # large: more draws would only refine it
                return SpaceEstimate("estimate", size, draws, len(answers))
    return SpaceEstimate("estimate", _uniform_size(draws, len(seen)), draws, len(answers))


def _uniform_size(draws: int, distinct: int) -> int:
    """N with N (1 - (1 - 1/N)^draws) = distinct: the size of a uniform space
    that shows as many distinct tests (an effective size when tests are
    not equally likely)."""
    if distinct >= draws:
        return draws
    lo, hi = float(distinct), float(distinct) * 1e6
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid * (1 - (1 - 1 / mid) ** draws) < distinct:
            lo = mid
        else:
            hi = mid
    return round(hi)


# --------------------------------------------------------------------------
# axes


@dataclass(frozen=True)
class AxisStep:
    """One step along an axis from a grid point, the other parameters held."""

    axis: str
    measure: str
    low: Any
    high: Any
    held: dict[str, Any]
    low_mean: float
    high_mean: float
    verdict: str     # "rises", "flat" or "reversed"

    def line(self) -> str:
        held = ", ".join(f"{k}={v}" for k, v in self.held.items())
        return (f"{self.axis} {self.low} -> {self.high} ({held}): {self.measure} "
                f"{self.low_mean:.3g} -> {self.high_mean:.3g}, {self.verdict}")


@dataclass(frozen=True)
class Measured:
    mean: float
    se: float


def measure_point(task_name: str, params: dict[str, Any], axis: str,
                  draws: int = _MEASURE_DRAWS) -> tuple[str, Measured]:
    return _measure_point(task_name, json.dumps(params, sort_keys=True), axis, draws)


@lru_cache(maxsize=65536)
def _measure_point(task_name: str, point: str, axis: str, draws: int) -> tuple[str, Measured]:
    task = get_task(task_name)
    params = json.loads(point)
    values, name = [], axis
    for i in range(draws):
        try:
            test = task.generate(coordinate_rng(_MEASURE, 0, task.name, task.version, params, i),
                                 dict(params))
        except Exception:   # noqa: BLE001 - as in the probe
            continue
        name, value = task.measure(axis, test)
        values.append(value)
    if len(values) < 2:
        return name, Measured(math.nan, math.nan)
    se = statistics.stdev(values) / math.sqrt(len(values))
    return name, Measured(statistics.fmean(values), se)


def verdict(low: Measured, high: Measured) -> str:
    diff = high.mean - low.mean
    noise = _Z * math.hypot(low.se, high.se)
    if diff < 0 and -diff > noise:
        return "reversed"
    if diff > noise and diff >= _MIN_RISE * max(abs(low.mean), abs(high.mean)):
        return "rises"
    return "flat"


def axis_steps(entry: TaskEntry, points: list[Point]) -> list[AxisStep]:
    """From every grid point one step back along each axis, to the value
    before (the other parameters held). Stepping back from the harder
    point keeps the held values of the degree that reaches the harder
    value, so a step never pairs an axis value with parameters it is not
    used with (say, a depth beyond what the shortest length can nest)."""
    task = get_task(entry.name)
    steps = []
    for q in points:
        for axis in entry.manifold:
            values = list(axis.values)
            at = values.index(q.axes[axis.name])
            if at == 0:
                continue
            easier = task.schema.validate(task.name, {**q.params, axis.name: values[at - 1]})
            name, low = measure_point(task.name, easier, axis.name)
            _, high = measure_point(task.name, q.params, axis.name)
            if verdict(low, high) != "rises" and high.mean > low.mean:
                # A rise lost in the noise of a few draws: look closer.
                name, low = measure_point(task.name, easier, axis.name, _MEASURE_DRAWS_CLOSE)
                _, high = measure_point(task.name, q.params, axis.name, _MEASURE_DRAWS_CLOSE)
            held = {k: v for k, v in q.axes.items() if k != axis.name}
            steps.append(AxisStep(axis.name, name, values[at - 1], values[at], held,
                                  low.mean, high.mean, verdict(low, high)))
    return steps


# --------------------------------------------------------------------------
# the whole config


def moving_degrees(entry: TaskEntry) -> int:
    """The last degree at which some window of the entry still moves."""
    return max((math.ceil((len(a.values) - a.window) / a.stride) for a in entry.manifold
                if len(a.values) > a.window), default=0)


def entry_points(entry: TaskEntry) -> list[Point]:
    """The entry's points over every degree at which its grid changes,
    each once (at the lowest degree that reaches it)."""
    if entry.degree is not None:
        return resolve_entry(entry, entry.degree, "normal")
    found: dict[str, Point] = {}
    for degree in range(moving_degrees(entry) + 1):
        for p in resolve_entry(replace(entry, degree=None), degree, "normal"):
            found.setdefault(json.dumps(p.params, sort_keys=True), p)
    return list(found.values())


def unreached_values(entry: TaskEntry) -> dict[str, list[Any]]:
    """Axis values no degree reaches (beyond the last window, or outside the
    window of an entry that fixes its degree)."""
    degrees = [entry.degree] if entry.degree is not None else range(moving_degrees(entry) + 1)
    out = {}
    for axis in entry.manifold:
        reached = {v for d in degrees for v in axis.at_degree(d)}
        missing = [v for v in axis.values if v not in reached]
        if missing:
            out[axis.name] = missing
    return out


@dataclass(frozen=True)
class EntryReport:
    entry: TaskEntry
    degrees: int
    points: list[tuple[Point, SpaceEstimate]]
    short: list[ShortPoint]
    steps: list[AxisStep]
    unreached: dict[str, list[Any]]

    @property
    def warnings(self) -> list[str]:
        out = [f"{self.entry.name}: step {s.line()}" for s in self.steps if s.verdict != "rises"]
        out += [f"{self.entry.name}: point {s.line()}" for s in self.short]
        out += [f"{self.entry.name}: point {p.point_id}: every test has the same answer, "
                f"so a constant answer is always right" for p, space in self.points
                if space.answers == 1]
        out += [f"{self.entry.name}: axis {axis} lists values no degree reaches: {values}"
                for axis, values in self.unreached.items()]
        return out


def check_entry(entry: TaskEntry, seed: int, samples: int) -> EntryReport:
    points = entry_points(entry)
    spaces = [(p, estimate_space(p.task, p.params)) for p in points]
    return EntryReport(entry, moving_degrees(entry), spaces, short_points(points, seed, samples),
                       axis_steps(entry, points), unreached_values(entry))


def check_config(config: ExperimentConfig, seed: int, samples: int) -> list[EntryReport]:
    return [check_entry(entry, seed, samples) for entry in config.tasks]


def describe_check(config: ExperimentConfig, reports: list[EntryReport], samples: int,
                   precision: str) -> str:
    lines = [f"check of {config.path}: every degree at which a window moves; "
             f"precision {precision}: up to {samples} samples per point"]
    for r in reports:
        e = r.entry
        lines.append(f"\n{e.index:03d} {e.name} (v{get_task(e.name).version}, degrees "
                     f"0-{r.degrees}): {len(r.points)} points")
        width = max(len(p.point_id) for p, _ in r.points)
        lines.append(f"  {'point':<{width}}  distinct tests")
        for p, space in r.points:
            lines.append(f"  {p.point_id:<{width}}  {space.text()}")
        for axis in e.manifold:
            steps = [s for s in r.steps if s.axis == axis.name]
            if not steps:
                continue
            rising = sum(s.verdict == "rises" for s in steps)
            lines.append(f"  axis {axis.name} ({steps[0].measure}): rises at {rising} of "
                         f"{len(steps)} steps")
    warnings = [w for r in reports for w in r.warnings]
    lines.append(f"\n{len(warnings)} warnings" + (":" if warnings else ""))
    lines += [f"  {w}" for w in warnings]
    return "\n".join(lines)
