"""Confidence intervals for binomial proportions and their combinations.

Pure functions of counts, shared by the runner (adaptive stopping) and by
evaluation, so neither imports the other. Each function has an array form
(numpy in, numpy out: the coverage simulations call these) and, where tables
need it, a scalar form that returns None for an empty sample.

- `clopper_pearson`: the exact interval, inverted binomial tests; its
  coverage is at least the stated level at every p and every n.
- `wilson`: the score interval; shorter, but its coverage dips to 0.84 at
  n = 8 near p = 0.02 and 0.98. Kept for comparison with published numbers.
- `mean_of_proportions`: the mean of several points' accuracies (each point
  weighted equally), as a binomial interval with an effective sample size.
- `clustered_size`: the effective sample size of a point whose tests have
  several completions each (`--completions K`): completions of one test
  share its difficulty, so they are not K independent trials.
- `paired_difference`: the difference of two accuracies measured on the
  same tests, from the discordant pairs (MOVER with Clopper–Pearson limits).

docs/evaluation.md gives every formula and the simulated coverage.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

CLOPPER_PEARSON = "clopper-pearson"
WILSON = "wilson"
METHODS = (CLOPPER_PEARSON, WILSON)
LABELS = {CLOPPER_PEARSON: "Clopper–Pearson", WILSON: "Wilson"}


def _beta_ppf(q: np.ndarray | float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # scipy.stats costs about a second to import; only callers that need it pay.
    from scipy.special import betaincinv
    return betaincinv(a, b, q)


def _normal_quantile(confidence: float) -> float:
    from statistics import NormalDist
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence level {confidence} must lie strictly between 0 and 1")


def clopper_pearson_bounds(k: np.ndarray, n: np.ndarray, confidence: float | np.ndarray = 0.95
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Clopper–Pearson bounds for arrays of counts (k may be fractional: effective counts).

    low = Beta quantile alpha/2 of (k, n − k + 1), 0 at k = 0;
    high = Beta quantile 1 − alpha/2 of (k + 1, n − k), 1 at k = n.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - np.asarray(confidence, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, _beta_ppf(alpha / 2, np.maximum(k, 1e-300), n - k + 1), 0.0)
        high = np.where(k < n, _beta_ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1e-300)), 1.0)
    return np.clip(np.nan_to_num(low, nan=0.0), 0, 1), np.clip(np.nan_to_num(high, nan=1.0), 0, 1)


def wilson_bounds(k: np.ndarray, n: np.ndarray, confidence: float = 0.95
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds for arrays of counts; exactly 0 at k = 0 and 1 at k = n."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _normal_quantile(confidence)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z / denom * np.sqrt(np.maximum(p * (1 - p) / n + z2 / (4 * n * n), 0))
    low = np.where(k <= 0, 0.0, np.maximum(0.0, centre - half))
    high = np.where(k >= n, 1.0, np.minimum(1.0, centre + half))
    return low, high


def bounds(k: np.ndarray, n: np.ndarray, method: str = CLOPPER_PEARSON,
           confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    check_method(method)
    if method == WILSON:
        return wilson_bounds(k, n, confidence)
    return clopper_pearson_bounds(k, n, confidence)


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}: choose one of {', '.join(METHODS)}")


def _check_counts(k: float, n: float) -> None:
    if not 0 <= k <= n:
        raise ValueError(f"successes k={k} must lie in [0, n={n}]")


def binomial_interval(k: float, n: float, method: str = CLOPPER_PEARSON,
                      confidence: float = 0.95) -> tuple[float, float] | None:
    """The interval of one proportion k/n; None when n == 0."""
    check_confidence(confidence)
    if n <= 0:
        return None
    _check_counts(k, n)
    low, high = bounds(np.array(k), np.array(n), method, confidence)
    return float(low), float(high)


def clopper_pearson(k: float, n: float, confidence: float = 0.95) -> tuple[float, float] | None:
    return binomial_interval(k, n, CLOPPER_PEARSON, confidence)


def wilson(k: float, n: float, confidence: float = 0.95) -> tuple[float, float] | None:
    return binomial_interval(k, n, WILSON, confidence)


# The worst-case between-test variance of this many pseudo-tests is added to the observed
# one (see clustered_size); 0.5 is the smallest weight whose simulated coverage stayed
# >= 0.95 over 4-64 tests, 4-16 completions, p in [.02, .5] and correlation 0-1.
PSEUDO_TESTS = 0.5


def clustered_size(correct: Sequence[float] | np.ndarray, n: Sequence[float] | np.ndarray,
                   confidence: float = 0.95) -> float:
    """Effective sample size of one point from its tests' (correct_i, n_i) counts.

    With K completions per test, the accuracy's variance is
    [p(1 − p) + (K − 1) Var(q)] / (T K) where q is a test's own success rate:
    the completions of one test are correlated as soon as tests differ in
    difficulty, and counting T K independent trials overstates the
    information (simulated coverage fell to 0.34). The variance of the ratio
    estimate p̂ = Σc / Σn is estimated between tests,

        v = T/(T − 1) × [Σ (c_i − p̂ n_i)² + w n̄² p̃(1 − p̃)] / (Σn)²,

    where the second term adds w = PSEUDO_TESTS tests of the worst case
    (every completion of a test alike; p̃ = (Σc + ½)/(Σn + 1)), because a few
    tests rarely show a skewed distribution's tail. Then
    n_eff = p̂(1 − p̂)/v × (z / t_{T−1})², the last factor for the variance
    being estimated from T tests, kept within [T, Σn]: never less information
    than one trial per test, never more than independent completions. With
    p̂ at 0 or 1 nothing tells the tests' correlation apart, so n_eff = T,
    the worst case. One completion per test gives Σn: the plain binomial.
    """
    from scipy.special import stdtrit   # Student's t quantile, without scipy.stats' import cost

    c = np.asarray(correct, dtype=float)
    size = np.asarray(n, dtype=float)
    tests, total = len(size), float(size.sum())
    if tests == 0 or total <= tests:
        return total
    p = float(c.sum()) / total
    if tests == 1 or p <= 0 or p >= 1:
        return float(tests)
    adjusted = (c.sum() + 0.5) / (total + 1)
    spread = float(((c - p * size) ** 2).sum()) + PSEUDO_TESTS * (total / tests) ** 2 * adjusted * (1 - adjusted)
    variance = tests / (tests - 1) * spread / total ** 2
    small_sample = (_normal_quantile(confidence) / float(stdtrit(tests - 1, 0.5 + confidence / 2))) ** 2
    return float(min(max(p * (1 - p) / variance * small_sample, tests), total))


def effective_counts(k: np.ndarray, n: np.ndarray, information: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the point proportions k_i/n_i along the last axis, as (mean, k_eff, n_eff).

    The mean of K proportions is not binomial when the n_i differ, so it is
    given the binomial interval of an effective sample (Korn & Graubard 1998):
    n_eff = m̃(1 − m̃) / v, where v = Σ p̃_i(1 − p̃_i)/n_i / K² is the variance
    of the mean and p̃_i = (k_i + 1/2)/(n_i + 1) keeps a point with no success
    (or no failure) from claiming zero variance; n_eff is capped at Kish's
    K² / Σ 1/n_i, the information the samples hold at best. k_eff = mean × n_eff.
    When every n_i is equal, n_eff is the total count and k_eff the total
    successes: the pooled interval, which is conservative for a sum of
    Bernoulli trials with unequal p (Hoeffding 1956). One point gives its own
    interval. `information` replaces each n_i where a point holds less than
    n_i independent trials (`clustered_size`).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    m = n if information is None else np.asarray(information, dtype=float)
    points = k.shape[-1]
    mean = (k / n).mean(axis=-1)
    adjusted = (k + 0.5) / (n + 1)
    variance = (adjusted * (1 - adjusted) / m).sum(axis=-1) / points ** 2
    centre = adjusted.mean(axis=-1)
    kish = points ** 2 / (1 / m).sum(axis=-1)
    n_eff = np.minimum(centre * (1 - centre) / variance, kish)
    return mean, mean * n_eff, n_eff


def mean_of_proportions(counts: Sequence[tuple[float, float]], method: str = CLOPPER_PEARSON,
                        confidence: float = 0.95, information: Sequence[float] | None = None
                        ) -> tuple[float, tuple[float, float]] | None:
    """Mean of the proportions k_i/n_i (points with n_i = 0 left out) and its interval;
    `information` as for `effective_counts`."""
    check_confidence(confidence)
    sizes = list(information) if information is not None else [n for _, n in counts]
    kept = [(k, n, m) for (k, n), m in zip(counts, sizes) if n > 0]
    if not kept:
        return None
    for k, n, _ in kept:
        _check_counts(k, n)
    array = np.array(kept, dtype=float)
    mean, k_eff, n_eff = effective_counts(array[:, 0], array[:, 1], array[:, 2])
    low, high = bounds(k_eff, n_eff, method, confidence)
    return float(mean), (min(float(low), float(mean)), max(float(high), float(mean)))


def paired_difference_bounds(only_a: np.ndarray, only_b: np.ndarray, pairs: np.ndarray,
                             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Interval of acc_A − acc_B = (only_a − only_b) / pairs for paired tests.

    MOVER (Zou & Donner 2008) on the two discordant proportions
    b = only_a/pairs and c = only_b/pairs, which come from one multinomial
    with correlation r = −sqrt(b c / ((1 − b)(1 − c))):

        low  = (b − c) − sqrt((b − l_b)² + (u_c − c)² − 2 r (b − l_b)(u_c − c))
        high = (b − c) + sqrt((u_b − b)² + (c − l_c)² − 2 r (u_b − b)(c − l_c))

    where [l, u] are Clopper–Pearson limits of each proportion. When A never
    wins a disagreement, the lower end is exactly −(B's exact upper limit);
    with no discordant pair at all the interval is ±(the exact upper limit
    of 0 of `pairs`), never [0, 0].
    """
    b_count = np.asarray(only_a, dtype=float)
    c_count = np.asarray(only_b, dtype=float)
    n = np.asarray(pairs, dtype=float)
    b, c = b_count / n, c_count / n
    l_b, u_b = clopper_pearson_bounds(b_count, n, confidence)
    l_c, u_c = clopper_pearson_bounds(c_count, n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where((b < 1) & (c < 1), -np.sqrt(b * c / ((1 - b) * (1 - c))), 0.0)
    r = np.nan_to_num(r)
    difference = b - c
    down = np.sqrt(np.maximum((b - l_b) ** 2 + (u_c - c) ** 2 - 2 * r * (b - l_b) * (u_c - c), 0))
    up = np.sqrt(np.maximum((u_b - b) ** 2 + (c - l_c) ** 2 - 2 * r * (u_b - b) * (c - l_c), 0))
    return np.maximum(difference - down, -1.0), np.minimum(difference + up, 1.0)


def paired_difference(only_a: int, only_b: int, pairs: int, confidence: float = 0.95
                      ) -> tuple[float, float] | None:
    """Scalar form of `paired_difference_bounds`; None without pairs."""
    check_confidence(confidence)
    if pairs <= 0:
        return None
    if only_a < 0 or only_b < 0 or only_a + only_b > pairs:
        raise ValueError(f"discordant counts {only_a} + {only_b} must lie in [0, pairs={pairs}]")
    low, high = paired_difference_bounds(np.array(only_a), np.array(only_b), np.array(pairs), confidence)
    return float(low), float(high)
