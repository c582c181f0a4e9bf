"""How each point was sampled, read back from the manifest and the records.

A run's manifest holds its precision block. With `max_rounds > 1` (an online
run) the points were sampled adaptively, so each point's interval must be
the one the runner's stopping rule used: `contour.run.adaptive` gives the
level after the round the point stopped at. For each point this module
reports the rounds used and why sampling stopped, by replaying the stopping
rule on the point's records (all of them, before any --where filter):
"target reached", "round limit", "truncation", "incomplete" (the run ended
before the rule said stop: interrupted, or still running) or "fixed count"
(a one-round design).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from contour.run.adaptive import CONFIDENCE, RoundCounts, StopReason, round_confidence, stop_reason
from contour.results.tally import RecordClass, classify


@dataclass(frozen=True)
class Design:
    """A precision block as the manifest records it."""

    count: int = 0
    max_rounds: int = 1
    target_halfwidth: float | None = None
    max_truncation: float | None = None

    @property
    def adaptive(self) -> bool:
        return self.max_rounds > 1

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> "Design":
        """The run's design; one fixed round when the manifest does not say (or is offline)."""
        block = manifest.get("precision")
        mode = manifest.get("mode")
        if not isinstance(block, dict) or (isinstance(mode, dict) and "offline" in mode):
            return cls()
        try:
            return cls(int(block.get("count") or 0), max(1, int(block.get("max_rounds") or 1)),
                       _number(block.get("target_halfwidth")), _number(block.get("max_truncation")))
        except (TypeError, ValueError):
            return cls()


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class PointSampling:
    rounds: int
    stopped: str
    confidence: float


class RoundLog:
    """Per point, per round: n, correct, truncated (counted as the runner counts them)."""

    __slots__ = ("rounds",)

    def __init__(self) -> None:
        self.rounds: dict[int, list[int]] = {}

    def add(self, record: Mapping[str, Any]) -> None:
        if record.get("completion") not in (0, None):
            return      # the runner's rule counts each test once (its first completion)
        step = record.get("step")
        step = step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else 0
        counts = self.rounds.setdefault(step, [0, 0, 0])
        if classify(record) in (RecordClass.SCORED, RecordClass.PERMANENT_ERROR):
            counts[0] += 1
            counts[1] += record.get("is_correct") is True
            counts[2] += record.get("is_truncated") is True

    def sampling(self, design: Design) -> PointSampling:
        used = max(self.rounds, default=-1) + 1
        if not design.adaptive or design.count <= 0:
            return PointSampling(used, StopReason.FIXED.value, CONFIDENCE)
        rounds = [RoundCounts(*self.rounds.get(r, (0, 0, 0))) for r in range(used)]
        reason = stop_reason(design, rounds) if used else None
        stopped = reason.value if reason is not None else StopReason.INCOMPLETE.value
        return PointSampling(used, stopped, round_confidence(design, used - 1))
