"""Experiment configs: YAML files naming tasks, manifolds and precision blocks.

```yaml
name: quick                     # optional; defaults to the file's stem
precision:                      # ordered; the first block is the default
  low:    {count: 8}
  medium: {count: 16, max_rounds: 4, target_halfwidth: 0.1, max_truncation: 0.5}
tasks:
  - name: arithmetic            # a registered task
    params: {ops: "+-*"}        # fixed parameters (validated by the task schema)
    degree: 1                   # optional; else --degree; else 0
    manifold:                   # difficulty axes, easiest value first
      length: {values: [2, 3, 4, 6, 8, 12, 16], window: 4, stride: 2}
      depth: [0, 1, 2]          # shorthand: the same values at every degree
```

Everything is validated at load time, before any output is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contour.errors import ContourError
from contour.spec.files import find_file, read_text
from contour.tasks import get_task


@dataclass(frozen=True)
class Axis:
    """One difficulty axis. At degree d it spans values[s : s + window] with
    s = min(d * stride, len(values) - window): degree 0 is the easiest window
    and each degree slides it `stride` values toward the hard end, stopping
    at the end, so a higher degree never makes an axis easier."""

    name: str
    values: tuple
    window: int
    stride: int

    def at_degree(self, degree: int) -> tuple:
        start = min(degree * self.stride, len(self.values) - self.window)
        return self.values[start:start + self.window]


@dataclass(frozen=True)
class TaskEntry:
    index: int
    name: str
    version: int
    params: dict[str, Any]
    manifold: tuple[Axis, ...]
    degree: int | None


@dataclass(frozen=True)
class Precision:
    """How many samples a point gets. `count` per round; online runs stop a
    point after `max_rounds` rounds, or earlier once the half-width of its
    accuracy interval is <= `target_halfwidth`, or once the truncation rate of
    its earlier rounds exceeds `max_truncation` (extra rounds would only buy
    more truncations). The rule and its intervals: contour.run.adaptive."""

    name: str
    count: int
    max_rounds: int = 1
    target_halfwidth: float | None = None
    max_truncation: float | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    path: str
    tasks: tuple[TaskEntry, ...]
    precisions: dict[str, Precision]
    raw: dict[str, Any]

    def precision(self, name: str | None) -> Precision:
        if name is None:
            return next(iter(self.precisions.values()))
        if name not in self.precisions:
            raise ContourError(f"{self.path}: unknown precision '{name}' "
                               f"(defined: {', '.join(self.precisions)})")
        return self.precisions[name]


_TOP_KEYS = {"name", "description", "precision", "tasks"}
_TASK_KEYS = {"name", "params", "manifold", "degree"}
_PRECISION_KEYS = {"count", "max_rounds", "target_halfwidth", "max_truncation"}


def load_config(name: str | Path) -> ExperimentConfig:
    """A config file by path, or a shipped config by name (`quick`, `full`)."""
    path = find_file(str(name), "configs", ".yaml", "config")
    try:
        raw = yaml.safe_load(read_text(path, "config file"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContourError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse_config(raw, str(path), default_name=path.stem)


def parse_config(raw: Any, where: str, default_name: str = "experiment") -> ExperimentConfig:
    if not isinstance(raw, dict):
        raise ContourError(f"{where}: the config must be a mapping with 'precision' and 'tasks'")
    _no_unknown(raw, _TOP_KEYS, where)
    precisions = _parse_precisions(raw.get("precision"), where)
    tasks = raw.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ContourError(f"{where}: 'tasks' must be a non-empty list")
    entries = tuple(_parse_task(i, t, f"{where}: tasks[{i}]") for i, t in enumerate(tasks))
    return ExperimentConfig(str(raw.get("name", default_name)), where, entries, precisions, raw)


def _no_unknown(mapping: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ContourError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")


def _parse_precisions(raw: Any, where: str) -> dict[str, Precision]:
    if not isinstance(raw, dict) or not raw:
        raise ContourError(f"{where}: 'precision' must be a non-empty mapping of named blocks")
    out = {}
    for name, block in raw.items():
        at = f"{where}: precision '{name}'"
        if not isinstance(block, dict):
            raise ContourError(f"{at} must be a mapping")
        _no_unknown(block, _PRECISION_KEYS, at)
        if "count" not in block:
            raise ContourError(f"{at} has no 'count'")
        count = _positive_int(block["count"], f"{at}: count")
        rounds = _positive_int(block.get("max_rounds", 1), f"{at}: max_rounds")
        half = _fraction(block.get("target_halfwidth"), f"{at}: target_halfwidth", 0.5)
        trunc = _fraction(block.get("max_truncation"), f"{at}: max_truncation", 1.0)
        out[str(name)] = Precision(str(name), count, rounds, half, trunc)
    return out


def _positive_int(value: Any, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ContourError(f"{at} must be a positive integer, got {value!r}")
    return value


def _fraction(value: Any, at: str, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= high:
        raise ContourError(f"{at} must be a number in (0, {high:g}], got {value!r}")
    return float(value)


def _parse_task(index: int, raw: Any, at: str) -> TaskEntry:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ContourError(f"{at} must be a mapping with a 'name'")
    _no_unknown(raw, _TASK_KEYS, at)
    task = get_task(str(raw["name"]))
    at = f"{at} ({task.name})"
    fixed = raw.get("params") or {}
    manifold = raw.get("manifold") or {}
    if not isinstance(fixed, dict) or not isinstance(manifold, dict):
        raise ContourError(f"{at}: 'params' and 'manifold' must be mappings")
    both = sorted(set(fixed) & set(manifold))
    if both:
        raise ContourError(f"{at}: parameter '{both[0]}' is both fixed and a manifold axis")
    _checked(task, fixed, at)
    axes = tuple(_parse_axis(task, name, spec, fixed, at) for name, spec in manifold.items())
    degree = raw.get("degree")
    if degree is not None and (isinstance(degree, bool) or not isinstance(degree, int) or degree < 0):
        raise ContourError(f"{at}: degree must be a non-negative integer, got {degree!r}")
    return TaskEntry(index, task.name, task.version, dict(fixed), axes, degree)


def _checked(task, values: dict, at: str) -> dict:
    try:
        return task.schema.validate(task.name, values)
    except ContourError as exc:
        raise ContourError(f"{at}: {exc}") from None


def _parse_axis(task, name: str, spec: Any, fixed: dict, at: str) -> Axis:
    at = f"{at}: manifold axis '{name}'"
    if isinstance(spec, list):
        spec = {"values": spec}
    if not isinstance(spec, dict):
        raise ContourError(f"{at} must be a list of values or a mapping with 'values'")
    _no_unknown(spec, {"values", "window", "stride"}, at)
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise ContourError(f"{at}: 'values' must be a non-empty list")
    if len(set(map(repr, values))) != len(values):
        raise ContourError(f"{at}: values repeat")
    for value in values:
        _checked(task, {**fixed, name: value}, at)
    window = spec.get("window", len(values))
    stride = spec.get("stride", 1)
    _positive_int(window, f"{at}: window")
    _positive_int(stride, f"{at}: stride")
    if window > len(values):
        raise ContourError(f"{at}: window {window} is larger than the {len(values)} values")
    return Axis(name, tuple(values), window, stride)
