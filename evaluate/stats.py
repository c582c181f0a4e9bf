"""Pure statistics: intervals, guess correction, quantiles, tests, corrections.

Nothing here reads files or knows about records; every function takes numbers
and returns numbers (or None where a quantity is undefined, e.g. n = 0). The
binomial intervals themselves live in `contour.intervals` (the runner's
adaptive stopping uses them too); they are re-exported here.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Sequence

import numpy as np

from contour.intervals import (binomial_interval, clopper_pearson, mean_of_proportions,
                               paired_difference)

__all__ = ["Z95", "binomial_interval", "clopper_pearson", "excess", "excess_interval", "holm",
           "mcnemar_exact", "mean_of_proportions", "paired_difference", "quantile", "wilson_interval"]

Z95 = NormalDist().inv_cdf(0.975)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials; None when n == 0.

    Not the default interval: at n = 8 its coverage falls to 0.84 near p = 0.02
    and 0.98 (`clopper_pearson` keeps 95% everywhere). Kept for comparison
    with published numbers (ReasonScape reports Wilson). Closed form: centre (p + z²/2n) / (1 + z²/n), half-width
    z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/4n²). The bounds are clipped to
    [0, 1] (they reach 0 exactly at k = 0 and 1 exactly at k = n).
    """
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"successes k={k} must lie in [0, n={n}]")
    z = Z95 if confidence == 0.95 else NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def excess(p: float | None, g: float | None) -> float | None:
    """Guess-corrected accuracy (p − g) / (1 − g): 0 at chance, 1 at perfect.

    Negative below chance. Undefined (None) when p is undefined or g >= 1.
    """
    if p is None or g is None or g >= 1:
        return None
    return (p - g) / (1 - g)


def excess_interval(interval: tuple[float, float] | None, g: float | None
                    ) -> tuple[float, float] | None:
    """Map accuracy bounds through the same (monotone) transform as `excess`.

    With g a known property of the tests (not estimated), the transformed
    interval covers the true excess accuracy exactly when the accuracy
    interval covers the true accuracy, so it keeps its level.
    """
    if interval is None or g is None or g >= 1:
        return None
    return (interval[0] - g) / (1 - g), (interval[1] - g) / (1 - g)


def quantile(values: np.ndarray, q: float) -> float | None:
    """Exact sample quantile (numpy's default linear interpolation); None if empty."""
    if len(values) == 0:
        return None
    return float(np.quantile(values, q))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs.

    Under the null hypothesis (both systems equally accurate) each discordant
    pair favours either system with probability 1/2. No discordant pairs gives
    p = 1.
    """
    if only_a + only_b == 0:
        return 1.0
    from scipy.stats import binomtest   # imported here: scipy.stats costs a second at start-up
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, controls the family-wise error).

    Sort ascending; the i-th smallest (0-based) is multiplied by (m − i); the
    running maximum keeps the adjusted values monotone; capped at 1. An
    adjusted p below alpha means significant at family-wise level alpha.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
