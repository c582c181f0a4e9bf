"""Resolve a config into the grid of points for a degree and density.

For each task entry: take every axis's window for the entry's degree (see
`config.Axis`), thin each window by the density, and form the cartesian
product in manifold order. Densities, per axis, on the window's n values:
- normal: all n values;
- lowdef: every other value (indices 0, 2, 4, ...) plus the last one;
- corner: the first and the last value only.
So corner ⊆ lowdef ⊆ normal, and both ends of each window are always kept.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from contour.spec.config import ExperimentConfig, TaskEntry
from contour.errors import ContourError
from contour.tasks import get_task

DENSITIES = ("normal", "lowdef", "corner")


@dataclass(frozen=True)
class Point:
    """One grid point: a task with all its parameters fixed."""

    entry: int
    task: str
    version: int
    params: dict[str, Any]       # full, validated task parameters (no count)
    axes: dict[str, Any]         # the manifold coordinates of this point
    degree: int

    @cached_property    # asked several times per record; frozen, so computed once
    def point_id(self) -> str:
        coords = "_".join(f"{k}-{_slug(v)}" for k, v in self.axes.items())
        return f"{self.entry:03d}_{self.task}" + (f"_{coords}" if coords else "")


def _slug(value: Any) -> str:
    return str(value).replace(" ", "").replace("_", "")


def thin(values: tuple, density: str) -> tuple:
    if density == "normal":
        return values
    last = len(values) - 1
    if density == "lowdef":
        keep = sorted(set(range(0, last + 1, 2)) | {last})
    elif density == "corner":
        keep = sorted({0, last})
    else:
        raise ContourError(f"unknown density '{density}' (choose from {', '.join(DENSITIES)})")
    return tuple(values[i] for i in keep)


def entry_degree(entry: TaskEntry, default_degree: int) -> int:
    return entry.degree if entry.degree is not None else default_degree


def resolve_entry(entry: TaskEntry, default_degree: int, density: str) -> list[Point]:
    degree = entry_degree(entry, default_degree)
    names = [axis.name for axis in entry.manifold]
    spans = [thin(axis.at_degree(degree), density) for axis in entry.manifold]
    task = get_task(entry.name)
    points = []
    for combo in itertools.product(*spans):
        axes = dict(zip(names, combo))
        params = task.schema.validate(task.name, {**entry.params, **axes})
        points.append(Point(entry.index, entry.name, entry.version, params, axes, degree))
    return points


def resolve_grid(config: ExperimentConfig, degree: int = 0, density: str = "normal") -> list[Point]:
    if density not in DENSITIES:
        raise ContourError(f"unknown density '{density}' (choose from {', '.join(DENSITIES)})")
    if degree < 0:
        raise ContourError(f"degree must be >= 0, got {degree}")
    return [p for entry in config.tasks for p in resolve_entry(entry, degree, density)]


def describe_grid(config: ExperimentConfig, degree: int, density: str) -> str:
    """A human-readable listing: per task its axis values, then its points."""
    lines = [f"config {config.path}: degree {degree} (unless a task sets its own), density {density}"]
    total = 0
    for entry in config.tasks:
        points = resolve_entry(entry, degree, density)
        total += len(points)
        lines.append(f"\n{entry.index:03d} {entry.name} (degree {entry_degree(entry, degree)}): "
                     f"{len(points)} points")
        for axis in entry.manifold:
            lines.append(f"  {axis.name}: {list(thin(axis.at_degree(entry_degree(entry, degree)), density))}")
        for p in points:
            lines.append(f"    {p.point_id}")
    lines.append(f"\ntotal: {total} points")
    return "\n".join(lines)
