"""Per-group accumulators and the metrics computed from them.

A `Tally` holds what one group of records needs for every metric: counts, a
sum of guess chances, and the completion-token counts as a compact uint32
array (4 bytes a record) so that quantiles are exact. Records are added one at
a time; tallies merge, so the finest cells (run × point × user groups) can be
rolled up to any coarser level afterwards.

Which records count:
- a record whose `error` is set is a failed request: counted in `errors`,
  never in n (it is neither valid nor correct);
- a record with no verdict (`is_correct` null, as in offline datasets) is
  counted in `unscored`, never in n;
- every other record is scored and counts in n.

Latency, time to first token and decode tokens/s percentiles come from the
records the server answered (`contour.results.timings`), scored or not.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contour.evaluate import stats
from contour.results.timings import TimingSamples


class Tally:
    """Accumulated counts for one group of records."""

    __slots__ = ("n", "valid", "correct", "truncated", "correct_truncated",
                 "errors", "unscored", "guess_sum", "tokens", "tokens_missing", "timings")

    def __init__(self) -> None:
        self.n = self.valid = self.correct = self.truncated = 0
        self.correct_truncated = self.errors = self.unscored = self.tokens_missing = 0
        self.guess_sum = 0.0
        self.tokens = array("I")
        self.timings = TimingSamples()

    def add(self, record: dict[str, Any]) -> None:
        self.timings.add(record)
        if record.get("error") is not None:
            self.errors += 1
            return
        correct = record.get("is_correct")
        if correct is None:
            self.unscored += 1
            return
        self.n += 1
        if record.get("is_valid") is True:
            self.valid += 1
        truncated = record.get("is_truncated") is True
        if truncated:
            self.truncated += 1
        if correct is True:
            self.correct += 1
            if truncated:
                self.correct_truncated += 1
        guess = record.get("guess_chance")
        if isinstance(guess, (int, float)) and not isinstance(guess, bool):
            self.guess_sum += guess
        usage = record.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        if isinstance(tokens, int) and not isinstance(tokens, bool) and 0 <= tokens < 2**32:
            self.tokens.append(tokens)
        else:
            self.tokens_missing += 1

    def merge(self, other: "Tally") -> "Tally":
        for name in self.__slots__:
            if name not in ("tokens", "timings"):
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.tokens.extend(other.tokens)
        self.timings.merge(other.timings)
        return self

    @property
    def guess(self) -> float | None:
        """Mean guess chance of the scored records."""
        return self.guess_sum / self.n if self.n else None


@dataclass
class Metrics:
    """Every number reported for one group. Rates are over the n scored records."""

    n: int
    valid: int
    correct: int
    truncated: int
    errors: int
    unscored: int
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    guess: float | None
    excess: float | None
    excess_low: float | None
    excess_high: float | None
    truncation_rate: float | None
    invalid_rate: float | None
    tokens_mean: float | None
    tokens_p50: float | None
    tokens_p90: float | None
    tokens_per_correct: float | None
    # Percentiles over the records the server answered; None without any.
    latency_p50: float | None = None
    latency_p90: float | None = None
    latency_p99: float | None = None
    ttft_p50: float | None = None
    ttft_p90: float | None = None
    ttft_p99: float | None = None
    decode_tps_p50: float | None = None
    decode_tps_p90: float | None = None
    decode_tps_p99: float | None = None


def _timing_fields(samples: TimingSamples) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for prefix, found in zip(("latency", "ttft", "decode_tps"), samples.summary().values()):
        for name in ("p50", "p90", "p99"):
            out[f"{prefix}_{name}"] = found[name] if found else None
    return out


def metrics(tally: Tally) -> Metrics:
    n = tally.n
    p = tally.correct / n if n else None
    interval = stats.wilson_interval(tally.correct, n)
    g = tally.guess
    excess_bounds = stats.excess_interval(interval, g)
    tokens = np.frombuffer(tally.tokens, dtype=np.uint32) if len(tally.tokens) else np.empty(0)
    total_tokens = float(tokens.sum(dtype=np.float64)) if len(tokens) else 0.0
    return Metrics(
        n=n, valid=tally.valid, correct=tally.correct, truncated=tally.truncated,
        errors=tally.errors, unscored=tally.unscored,
        accuracy=p,
        accuracy_low=interval[0] if interval else None,
        accuracy_high=interval[1] if interval else None,
        guess=g,
        excess=stats.excess(p, g),
        excess_low=excess_bounds[0] if excess_bounds else None,
        excess_high=excess_bounds[1] if excess_bounds else None,
        truncation_rate=tally.truncated / n if n else None,
        invalid_rate=(n - tally.valid) / n if n else None,
        tokens_mean=total_tokens / len(tokens) if len(tokens) else None,
        tokens_p50=stats.quantile(tokens, 0.5),
        tokens_p90=stats.quantile(tokens, 0.9),
        tokens_per_correct=total_tokens / tally.correct if tally.correct and len(tokens) else None,
        **_timing_fields(tally.timings),
    )


@dataclass
class SummaryRow:
    """One row of a summary table: a run, the group it describes, its metrics."""

    level: str                     # "run", "task", "point" or "group"
    run: str                       # run label
    group: dict[str, Any]          # e.g. {"task": "arithmetic"} or {"params.length": 8}
    metrics: Metrics
    score: float | None = None     # task level: the task's score (see score.py)

    def flat(self) -> dict[str, Any]:
        row: dict[str, Any] = {"level": self.level, "run": self.run, **self.group}
        row.update(vars(self.metrics))
        if self.level == "task":
            row["task_score"] = self.score
        return row


@dataclass
class PointInfo:
    """What is constant over a point: its task and its parameters (without count)."""

    base_task: str
    params: dict[str, Any] = field(default_factory=dict)


class Aggregator:
    """Tallies at the finest grain: (run index, point id, user group values)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, str, tuple[Any, ...]], Tally] = {}
        self.points: dict[tuple[int, str], PointInfo] = {}

    def add(self, run: int, record: dict[str, Any], group: tuple[Any, ...] = ()) -> None:
        point = record["task"]
        key = (run, point, group)
        tally = self.cells.get(key)
        if tally is None:
            tally = self.cells[key] = Tally()
            if (run, point) not in self.points:
                params = record.get("params")
                params = {k: v for k, v in params.items() if k != "count"} if isinstance(params, dict) else {}
                self.points[(run, point)] = PointInfo(str(record["base_task"]), params)
        tally.add(record)

    def rollup(self, key_of) -> dict[Any, Tally]:
        """Merge cells by `key_of(run, point, group)`; insertion order is kept."""
        merged: dict[Any, Tally] = {}
        for (run, point, group), tally in self.cells.items():
            key = key_of(run, point, group)
            target = merged.get(key)
            if target is None:
                target = merged[key] = Tally()
            target.merge(tally)
        return merged
