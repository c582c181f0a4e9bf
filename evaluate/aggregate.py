"""Per-group accumulators and the metrics computed from them.

Records are counted by `contour.results.tally.Tally`, the same class the
runner's live stats use, so both count identically (which records enter n
is documented there and in docs/evaluation.md). Tallies are kept at the
finest grain, (run, point, user group), and rolled up to any coarser level.

Latency, time to first token and decode tokens/s percentiles come from the
records the server answered (`contour.results.timings`), scored or not.

A row that spans several points (a task, a run, a group) weights every point
equally: its accuracy is the mean of its points' accuracies, not the pooled
rate of its records, so a point that adaptive precision sampled four times
as often does not count four times as much. Its interval treats that mean
as a proportion with an effective sample size (contour.intervals).

A point of a run with several completions per test (`--completions K`) is
worth fewer than its records' count of independent trials: its interval uses
the effective size `contour.intervals.clustered_size` computes from the
spread between its tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from contour.intervals import CLOPPER_PEARSON, LABELS, check_method, mean_of_proportions
from contour.evaluate import stats
from contour.evaluate.rounds import PointSampling, RoundLog
from contour.results.tally import Tally
from contour.results.timings import TimingSamples

__all__ = ["Aggregator", "MetricOptions", "Metrics", "PointInfo", "SummaryRow", "Tally", "metrics"]


@dataclass(frozen=True)
class MetricOptions:
    """Choices that change the numbers: the interval method and the error policy."""

    interval: str = CLOPPER_PEARSON          # "clopper-pearson" or "wilson"
    exclude_permanent_errors: bool = False   # True: permanent request errors leave n

    def __post_init__(self) -> None:
        check_method(self.interval)

    @property
    def label(self) -> str:
        return LABELS[self.interval]


@dataclass
class Metrics:
    """Every number reported for one group. Rates are means over the group's points."""

    n: int
    valid: int
    correct: int
    truncated: int
    errors: int                  # records with `error` set: transient, permanent and sample errors
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
    points: int = 0              # points with n > 0, each weighted equally
    interval: str = CLOPPER_PEARSON
    confidence: float | None = None
    permanent_errors: int = 0    # in n as wrong unless excluded
    transient_errors: int = 0    # never in n
    sample_errors: int = 0       # generation/template errors: never in n
    scorer_errors: int = 0       # never in n
    rounds: int | None = None    # point rows: rounds sampled
    stopped: str | None = None   # point rows: why sampling stopped
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


def metrics(tallies: Tally | Sequence[Tally], options: MetricOptions = MetricOptions(),
            confidences: Sequence[float] | None = None, sampling: PointSampling | None = None
            ) -> Metrics:
    """Metrics of one point's tally, or of several points' tallies (equal weights).

    `confidences` gives each point's interval level (0.95 unless sampled
    adaptively); a row uses the highest of its points', the level its most
    often looked-at point needs. Wilson (for comparison with published
    numbers) is always the plain 95% interval.
    """
    points = [tallies] if isinstance(tallies, Tally) else list(tallies)
    levels = list(confidences) if confidences is not None else [0.95] * len(points)
    if options.interval != CLOPPER_PEARSON:
        levels = [0.95] * len(points)   # Wilson as published: plain 95%, no sequential adjustment
    counts = [t.counts(options.exclude_permanent_errors) for t in points]
    used = [(c, level) for c, level in zip(counts, levels) if c.n > 0]
    total = Tally()
    for t in points:
        total.merge(t)
    n = sum(c.n for c in counts)
    correct = sum(c.correct for c in counts)
    accuracy = low = high = guess = excess = excess_low = excess_high = None
    truncation_rate = invalid_rate = confidence = None
    confidence = max((level for _, level in used), default=None)
    result = (mean_of_proportions([(c.correct, c.n) for c, _ in used], options.interval, confidence,
                                  information=[c.effective_n for c, _ in used])
              if confidence is not None else None)
    if result is not None:
        accuracy, (low, high) = result
        guess = float(np.mean([c.guess_sum / c.n for c, _ in used]))
        excess = stats.excess(accuracy, guess)
        excess_bounds = stats.excess_interval((low, high), guess)
        excess_low, excess_high = excess_bounds if excess_bounds else (None, None)
        truncation_rate = float(np.mean([c.truncated / c.n for c, _ in used]))
        invalid_rate = float(np.mean([(c.n - c.valid) / c.n for c, _ in used]))
    tokens = np.frombuffer(total.tokens, dtype=np.uint32) if len(total.tokens) else np.empty(0)
    total_tokens = float(tokens.sum(dtype=np.float64)) if len(tokens) else 0.0
    return Metrics(
        n=n, valid=sum(c.valid for c in counts), correct=correct,
        truncated=sum(c.truncated for c in counts), errors=total.error_count,
        unscored=total.unscored, accuracy=accuracy, accuracy_low=low, accuracy_high=high,
        guess=guess, excess=excess, excess_low=excess_low, excess_high=excess_high,
        truncation_rate=truncation_rate, invalid_rate=invalid_rate,
        tokens_mean=total_tokens / len(tokens) if len(tokens) else None,
        tokens_p50=stats.quantile(tokens, 0.5), tokens_p90=stats.quantile(tokens, 0.9),
        tokens_per_correct=total_tokens / correct if correct and len(tokens) else None,
        points=len(used), interval=options.interval, confidence=confidence,
        permanent_errors=total.permanent_errors, transient_errors=total.transient_errors,
        sample_errors=total.sample_errors, scorer_errors=total.scorer_errors,
        rounds=sampling.rounds if sampling else None, stopped=sampling.stopped if sampling else None,
        **_timing_fields(total.timings),
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
        if self.level != "point":
            row.pop("rounds")
            row.pop("stopped")
        if self.level == "task":
            row["task_score"] = self.score
        return row


@dataclass
class PointInfo:
    """What is constant over a point: its task and its parameters (without count)."""

    base_task: str
    params: dict[str, Any] = field(default_factory=dict)


KeyOf = Callable[[int, str, tuple], Any]


class Aggregator:
    """Tallies at the finest grain: (run index, point id, user group values).

    `rounds` logs every record of every point per round before any filter,
    so the stopping rule can be replayed on what the runner saw.
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[int, str, tuple[Any, ...]], Tally] = {}
        self.points: dict[tuple[int, str], PointInfo] = {}
        self.rounds: dict[tuple[int, str], RoundLog] = {}

    def log_round(self, run: int, record: Mapping[str, Any]) -> None:
        key = (run, str(record["task"]))
        log = self.rounds.get(key)
        if log is None:
            log = self.rounds[key] = RoundLog()
        log.add(record)

    def add(self, run: int, record: dict[str, Any], group: tuple[Any, ...] = (), by_test: bool = False
            ) -> None:
        """Count a record; `by_test` for runs with several completions per test (Tally)."""
        point = record["task"]
        key = (run, point, group)
        tally = self.cells.get(key)
        if tally is None:
            tally = self.cells[key] = Tally(by_test)
            if (run, point) not in self.points:
                params = record.get("params")
                params = {k: v for k, v in params.items() if k != "count"} if isinstance(params, dict) else {}
                self.points[(run, point)] = PointInfo(str(record["base_task"]), params)
        tally.add(record)

    def rollup(self, key_of: KeyOf) -> dict[Any, Tally]:
        """Merge cells by `key_of(run, point, group)` (records pooled); insertion order is kept."""
        merged: dict[Any, Tally] = {}
        for (run, point, group), tally in self.cells.items():
            key = key_of(run, point, group)
            target = merged.get(key)
            if target is None:
                target = merged[key] = Tally()
            target.merge(tally)
        return merged

    def point_rollup(self, key_of: KeyOf) -> dict[Any, dict[tuple[int, str], Tally]]:
        """Per row key, one merged tally per (run, point) in the row: what equal weights need."""
        rows: dict[Any, dict[tuple[int, str], Tally]] = {}
        for (run, point, group), tally in self.cells.items():
            row = rows.setdefault(key_of(run, point, group), {})
            target = row.get((run, point))
            if target is None:
                target = row[(run, point)] = Tally()
            target.merge(tally)
        return rows
