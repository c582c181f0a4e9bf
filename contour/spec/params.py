"""Typed parameter schemas for task generators.

A schema is declarative: each parameter names its type, bounds, default and a
one-line doc. `ParamSchema.validate` rejects unknown names, wrong types and
out-of-range values with a message that names the task, parameter and value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from contour.errors import ContourError


@dataclass(frozen=True)
class Param:
    """One parameter: `kind` is int, float, bool or choice."""

    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def check(self, task: str, name: str, value: Any) -> Any:
        where = f"task '{task}': parameter '{name}'"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ContourError(f"{where} must be true or false, got {value!r}")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ContourError(
                    f"{where} must be one of {list(self.choices)}, got {value!r}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContourError(f"{where} must be a number, got {value!r}")
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ContourError(f"{where} must be an integer, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            raise ContourError(
                f"{where} = {value!r} is out of range [{_fmt(self.low)}, {_fmt(self.high)}]")
        return value


def _fmt(bound: float | None) -> str:
    return "-inf" if bound is None else f"{bound:g}"


def Int(default: int, low: int, high: int, doc: str) -> Param:
    return Param("int", default, doc, low, high)


def Float(default: float, low: float, high: float, doc: str) -> Param:
    return Param("float", default, doc, low, high)


def Bool(default: bool, doc: str) -> Param:
    return Param("bool", default, doc)


def Choice(default: Any, choices: Sequence[Any], doc: str) -> Param:
    return Param("choice", default, doc, choices=tuple(choices))


@dataclass(frozen=True)
class ParamSchema:
    params: Mapping[str, Param] = field(default_factory=dict)

    def validate(self, task: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Return a full parameter dict (defaults filled in) or raise ContourError."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ContourError(
                f"task '{task}': unknown parameter '{unknown[0]}' "
                f"(known: {', '.join(sorted(self.params))})")
        out = {}
        for name, spec in self.params.items():
            out[name] = spec.check(task, name, values[name]) if name in values else spec.default
        return out

    def describe(self) -> list[str]:
        lines = []
        for name, p in self.params.items():
            if p.kind == "choice":
                rng = "one of " + ", ".join(map(str, p.choices))
            elif p.kind == "bool":
                rng = "true/false"
            else:
                rng = f"{_fmt(p.low)}..{_fmt(p.high)}"
            lines.append(f"{name} ({rng}, default {p.default!r}): {p.doc}")
        return lines
