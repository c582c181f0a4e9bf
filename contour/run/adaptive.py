"""Adaptive precision: when a point stops sampling, and the interval it reports.

A precision block with `max_rounds > 1` samples a point in rounds of `count`
and may stop after any round. Looking at the data after every round and
stopping when the interval looks narrow enough is optional stopping: a 95%
interval computed as if the sample size had been fixed covers less than 95%
(plain Wilson fell to 0.91). So every round r has its own level 1 − alpha_r,
and the levels are chosen so that, at every true accuracy p,

    P(no reportable round's Clopper–Pearson interval misses p) >= 95%,

where round r < max_rounds is *reportable* when its interval meets the
target half-width, and the last round always is. Whatever rule stops at a
reportable round (the first one, a later one, one chosen by looking at
anything else) reports an interval that covers p with probability >= 95%:
its miss is one of the events bounded above. A run interrupted at a round
chosen without looking at the data reports a round-r interval, which covers
with its own level, never below 95%. The stopping check and the reported
interval are the same construction, `interval_after`.

Why not require every round's interval to hold (a confidence sequence over
all rounds)? Wide intervals of early rounds are never reported when sampling
stops on the target, yet holding them too made the early levels so strict
that the shipped blocks spent as many samples as a fixed count reporting
the same width (0.92-1.03x, `bench.py coverage`). The one stop this bound
does not cover is the truncation stop, which may report a wide early round:
it looks only at earlier rounds' truncation (below), and its coverage is
simulated in table 2b of `bench.py coverage`.

How the levels are chosen: alpha_r = s for every round but the last and
min(LAST_ROUND_WEIGHT × s, 5%) for the last, because the points between 0.2
and 0.8 mostly stop there. The scale s is the largest for which the bound
above holds, computed exactly by enumerating the binomial outcomes round by
round (at p on a fine grid and just outside every interval bound, where
coverage dips). Designs too large to enumerate quickly fall back to
Bonferroni with the same weights (alpha_r = 5% × w_r / Σw), valid by the
union bound over all rounds.

The stopping rule after round r (0-based), in this order:
1. truncation: the truncation rate of the rounds *before* r exceeds
   `max_truncation`. The round just finished is not looked at, so its
   accuracy is not selected for being low (truncated answers are wrong):
   deciding on the same data that is reported biased accuracy down by up to
   0.03; the lag cuts that about fourfold (docs/evaluation.md). A truncation
   stop therefore needs two rounds at least.
2. target: the interval after round r has half-width <= `target_halfwidth`.
3. round limit: r + 1 == `max_rounds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Protocol, Sequence

import numpy as np

from contour.intervals import clopper_pearson_bounds


class Precision(Protocol):
    """What stopping needs of a precision block (contour.spec.config.Precision)."""

    @property
    def count(self) -> int: ...
    @property
    def max_rounds(self) -> int: ...
    @property
    def target_halfwidth(self) -> float | None: ...
    @property
    def max_truncation(self) -> float | None: ...

CONFIDENCE = 0.95
LAST_ROUND_WEIGHT = 3.0
# Above this many (outcome x p) cells per round the exact search would take
# seconds; such designs use Bonferroni-spent levels instead.
_ENUMERATION_LIMIT = 400_000


class StopReason(str, Enum):
    TARGET = "target reached"
    ROUND_LIMIT = "round limit"
    TRUNCATION = "truncation"
    INCOMPLETE = "incomplete"      # evaluate only: the run ended before the rule said stop
    FIXED = "fixed count"          # evaluate only: a one-round design


@dataclass(frozen=True)
class RoundCounts:
    """One round of one point: samples in n, correct and truncated among them."""

    n: int
    correct: int
    truncated: int


def is_adaptive(precision: Precision) -> bool:
    return precision.max_rounds > 1


def round_confidence(precision: Precision, round_index: int) -> float:
    """Level of the interval reported after round `round_index` (0-based)."""
    if not is_adaptive(precision):
        return CONFIDENCE
    levels = round_levels(precision.count, precision.max_rounds, precision.target_halfwidth)
    return levels[min(max(round_index, 0), len(levels) - 1)]


def interval_after(precision: Precision, round_index: int, correct: int, n: int
                   ) -> tuple[float, float]:
    """The Clopper–Pearson interval a point reports after `round_index`."""
    level = round_confidence(precision, round_index)
    low, high = clopper_pearson_bounds(np.array(correct), np.array(n), level)
    return float(low), float(high)


def stop_reason(precision: Precision, rounds: Sequence[RoundCounts]) -> StopReason | None:
    """Why a point stops after the last of `rounds` (its rounds so far), or None to go on."""
    if not rounds:
        return None
    last = len(rounds) - 1
    earlier_n = sum(r.n for r in rounds[:-1])
    earlier_truncated = sum(r.truncated for r in rounds[:-1])
    if precision.max_truncation is not None and earlier_n and \
            earlier_truncated / earlier_n > precision.max_truncation:
        return StopReason.TRUNCATION
    n = sum(r.n for r in rounds)
    if precision.target_halfwidth is not None and n:
        low, high = interval_after(precision, last, sum(r.correct for r in rounds), n)
        if (high - low) / 2 <= precision.target_halfwidth:
            return StopReason.TARGET
    if len(rounds) >= precision.max_rounds:
        return StopReason.ROUND_LIMIT
    return None


def _weights(max_rounds: int) -> np.ndarray:
    weights = np.ones(max_rounds)
    weights[-1] = LAST_ROUND_WEIGHT
    return weights


@lru_cache(maxsize=64)
def round_levels(count: int, max_rounds: int, target_halfwidth: float | None,
                 confidence: float = CONFIDENCE) -> tuple[float, ...]:
    """Per-round levels 1 − alpha_r of a design, calibrated as the module says."""
    if count < 1 or max_rounds < 1:
        raise ValueError(f"a design needs count >= 1 and max_rounds >= 1, got {count} and {max_rounds}")
    alpha = 1 - confidence
    weights = _weights(max_rounds)
    if max_rounds == 1:
        return (confidence,)
    if (count * max_rounds + 1) * 500 > _ENUMERATION_LIMIT:
        return tuple(float(1 - a) for a in alpha * weights / weights.sum())
    grid = np.linspace(0.001, 0.999, 499)

    def levels(scale: float) -> np.ndarray:
        return np.minimum(scale * weights, alpha)   # no round needs more than the plain level

    def holds(scale: float, ps: np.ndarray) -> bool:
        return bool(reportable_coverage(count, levels(scale), target_halfwidth, ps).min() >= confidence)

    if holds(alpha, grid) and holds(alpha, _near_bounds(count, levels(alpha))):
        return tuple(float(1 - a) for a in levels(alpha))    # e.g. no target: only the last round reports
    low, high = alpha / weights.sum(), alpha      # Bonferroni holds; the plain level does not
    for _ in range(14):
        middle = (low + high) / 2
        low, high = (middle, high) if holds(middle, grid) else (low, middle)
    scale = low
    # The minimum sits just outside some interval bound; check there too.
    while not holds(scale, _near_bounds(count, levels(scale))):
        scale *= 0.98
    return tuple(float(1 - a) for a in levels(scale))


def _near_bounds(count: int, alphas: np.ndarray) -> np.ndarray:
    points = []
    for r, a in enumerate(alphas, start=1):
        n = r * count
        low, high = clopper_pearson_bounds(np.arange(n + 1), np.full(n + 1, n), 1 - a)
        points += [low - 1e-9, high + 1e-9]
    ps = np.unique(np.concatenate(points))
    return ps[(ps > 0.0005) & (ps < 0.9995)]


def reportable_coverage(count: int, alphas: np.ndarray, target_halfwidth: float | None,
                        ps: np.ndarray) -> np.ndarray:
    """P(no reportable round's interval misses p), exactly, for each p in `ps`.

    Forward pass over the number of successes after each round: the mass of
    outcomes whose round is reportable (narrow enough, or the last) and whose
    interval misses p is dropped, the rest is convolved with the next round's
    Binomial(count, p). With `target_halfwidth=0` no early round is reportable;
    with a target of 1 or more every round is, which gives the joint coverage
    of all rounds.
    """
    ps = np.asarray(ps, dtype=float)
    step = binomial_pmf(count, ps)
    mass = np.ones((len(ps), 1))
    last = len(alphas)
    for r, a in enumerate(alphas, start=1):
        n = r * count
        grown = np.zeros((len(ps), n + 1))
        for j in range(count + 1):
            grown[:, j:j + mass.shape[1]] += mass * step[:, j:j + 1]
        low, high = clopper_pearson_bounds(np.arange(n + 1), np.full(n + 1, n), 1 - a)
        if r == last:
            reportable = np.ones(n + 1, bool)
        elif target_halfwidth is None:
            reportable = np.zeros(n + 1, bool)
        else:
            reportable = (high - low) / 2 <= target_halfwidth
        misses = (ps[:, None] < low[None, :]) | (ps[:, None] > high[None, :])
        mass = grown * ~(misses & reportable[None, :])
    return mass.sum(axis=1)


def binomial_pmf(n: int, ps: np.ndarray) -> np.ndarray:
    """P(k successes of n) for k = 0..n (columns) at each p (rows); 0 < p < 1."""
    from scipy.special import gammaln   # scipy.stats would add seconds to start-up

    k = np.arange(n + 1)
    log_choose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    ps = np.asarray(ps, dtype=float)[:, None]
    return np.exp(log_choose + k * np.log(ps) + (n - k) * np.log1p(-ps))
