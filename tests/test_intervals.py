"""contour.intervals against scipy and against exact enumeration of outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, binom, binomtest

from contour import intervals
from contour.evaluate import coverage as cov

CASES = [(0, 1), (1, 1), (0, 8), (8, 8), (3, 7), (1, 2), (16, 32), (31, 32), (1, 1000),
         (999, 1000), (500, 1000), (7, 9), (0, 100000), (12345, 100000)]


@pytest.mark.parametrize("k,n", CASES)
@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.9922])
def test_clopper_pearson_matches_scipy_exact(k, n, confidence):
    reference = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    low, high = intervals.clopper_pearson(k, n, confidence)
    assert low == pytest.approx(reference.low, abs=1e-10)
    assert high == pytest.approx(reference.high, abs=1e-10)


@pytest.mark.parametrize("k,n", CASES)
def test_wilson_matches_scipy(k, n):
    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert intervals.wilson(k, n) == pytest.approx((reference.low, reference.high), abs=1e-9)


def test_empty_and_impossible_counts():
    assert intervals.clopper_pearson(0, 0) is None
    assert intervals.mean_of_proportions([(0, 0)]) is None
    assert intervals.paired_difference(0, 0, 0) is None
    with pytest.raises(ValueError):
        intervals.clopper_pearson(5, 4)
    with pytest.raises(ValueError):
        intervals.binomial_interval(1, 4, "wald")
    with pytest.raises(ValueError):
        intervals.clopper_pearson(1, 4, confidence=1.0)
    with pytest.raises(ValueError):
        intervals.paired_difference(10, 8, 16)


@pytest.mark.parametrize("n", [8, 9, 12, 16, 24, 32, 40])
def test_clopper_pearson_covers_at_every_p_by_enumeration(n):
    # Coverage at p = sum of Binomial(n, p) probabilities of the k whose interval holds p.
    ps = np.linspace(0.01, 0.99, 981)
    bounds = [intervals.clopper_pearson(k, n) for k in range(n + 1)]
    inside = np.array([[low <= p <= high for low, high in bounds] for p in ps])
    coverage = (binom.pmf(np.arange(n + 1)[None, :], n, ps[:, None]) * inside).sum(axis=1)
    assert coverage.min() >= 0.95
    assert np.allclose(coverage, cov.point_coverage(n, ps, "clopper-pearson"))


def test_wilson_falls_short_at_small_n():
    ps = np.linspace(0.01, 0.99, 981)
    assert cov.point_coverage(8, ps, "wilson").min() < 0.85


def test_mean_of_one_point_is_its_own_interval():
    mean, (low, high) = intervals.mean_of_proportions([(3, 11)])
    assert mean == 3 / 11
    assert (low, high) == pytest.approx(intervals.clopper_pearson(3, 11))


def test_mean_of_equal_sized_points_is_the_pooled_interval():
    mean, bounds = intervals.mean_of_proportions([(8, 8), (7, 8), (4, 8), (4, 8)])
    assert mean == pytest.approx(23 / 32)
    assert bounds == pytest.approx(intervals.clopper_pearson(23, 32))


def test_mean_weights_points_equally_whatever_their_size():
    # p = .99, .97, .5, .5 sampled 64, 64, 16, 16 times: the pooled rate would be 0.87.
    counts = [(63, 64), (62, 64), (8, 16), (8, 16)]
    mean, (low, high) = intervals.mean_of_proportions(counts)
    assert mean == pytest.approx(np.mean([63 / 64, 62 / 64, 0.5, 0.5]))
    assert low < mean < high


def test_effective_sample_matches_its_formula():
    k, n = np.array([0.0, 3, 9]), np.array([8.0, 16, 32])
    mean, k_eff, n_eff = intervals.effective_counts(k, n)
    adjusted = (k + 0.5) / (n + 1)
    variance = (adjusted * (1 - adjusted) / n).sum() / 9
    expected = min(adjusted.mean() * (1 - adjusted.mean()) / variance, 9 / (1 / n).sum())
    assert n_eff == pytest.approx(expected)
    assert k_eff == pytest.approx(mean * expected)


@pytest.mark.parametrize("ps,ns", [
    (np.full(16, 0.02), 8), (np.linspace(0.05, 0.95, 16), 8), (np.full(16, 0.5), 32),
    (np.r_[0.3, np.zeros(7)], np.array([8, 16, 32, 64] * 2)), (np.linspace(0.95, 1, 8), 16)])
def test_mean_of_points_covers_in_simulation(ps, ns):
    coverage, _ = cov.row_coverage(ps, ns, 4000, np.random.default_rng(11))
    assert coverage >= 0.94


def test_paired_difference_by_hand():
    only_a, only_b, n = 5, 1, 24
    b, c = only_a / n, only_b / n
    l_b, u_b = beta.ppf(0.025, only_a, n - only_a + 1), beta.ppf(0.975, only_a + 1, n - only_a)
    l_c, u_c = beta.ppf(0.025, only_b, n - only_b + 1), beta.ppf(0.975, only_b + 1, n - only_b)
    r = -np.sqrt(b * c / ((1 - b) * (1 - c)))
    low = (b - c) - np.sqrt((b - l_b) ** 2 + (u_c - c) ** 2 - 2 * r * (b - l_b) * (u_c - c))
    high = (b - c) + np.sqrt((u_b - b) ** 2 + (c - l_c) ** 2 - 2 * r * (u_b - b) * (c - l_c))
    assert intervals.paired_difference(only_a, only_b, n) == pytest.approx((low, high))


def test_paired_difference_without_disagreement_is_not_a_point():
    low, high = intervals.paired_difference(0, 0, 20)
    upper = binomtest(0, 20).proportion_ci(method="exact").high
    assert (low, high) == pytest.approx((-upper, upper))


def test_one_sided_disagreement_reaches_the_exact_limit_of_the_other():
    # B wins 6 of 30, A never: the far end is B's exact upper limit; the near end
    # also allows for A's unseen wins (up to A's exact upper limit of 0 of 30).
    low, high = intervals.paired_difference(0, 6, 30)
    b_wins = binomtest(6, 30).proportion_ci(method="exact")
    a_wins = binomtest(0, 30).proportion_ci(method="exact")
    assert low == pytest.approx(-b_wins.high)
    assert -b_wins.low < high < -b_wins.low + a_wins.high


@pytest.mark.parametrize("pairs", [16, 24, 32])
def test_paired_difference_covers_by_enumeration(pairs):
    grid = [(a, b) for a in (0.001, 0.01, 0.05, 0.1, 0.2, 0.4) for b in (0.001, 0.005, 0.02, 0.1, 0.3)]
    coverage, _ = cov.paired_coverage(pairs, grid)
    assert coverage.min() >= 0.95
    # An independent check of one cell by brute force over all (b, c).
    p_b, p_c = 0.2, 0.02
    total = 0.0
    for b in range(pairs + 1):
        for c in range(pairs + 1 - b):
            low, high = intervals.paired_difference(b, c, pairs)
            if low <= p_b - p_c <= high:
                total += np.exp(np.log(math.comb(pairs, b) * math.comb(pairs - b, c))
                                + b * np.log(p_b) + c * np.log(p_c) + (pairs - b - c) * np.log(1 - p_b - p_c))
    assert total == pytest.approx(cov.paired_coverage(pairs, [(p_b, p_c)])[0][0])


# -- several completions per test ----------------------------------------------------------

def test_clustered_size_limits():
    from contour.intervals import clustered_size

    assert clustered_size([1, 0, 1, 1], [1, 1, 1, 1]) == 4          # one completion each: binomial
    assert clustered_size([8, 8, 8], [8, 8, 8]) == 3                 # all right: worst case, one per test
    assert clustered_size([0, 0], [4, 4]) == 2
    assert clustered_size([3], [8]) == 1                             # one test: one trial's worth
    alike = clustered_size([4, 4, 4, 4, 4, 4, 4, 4], [8] * 8)        # no spread between tests
    apart = clustered_size([8, 0, 8, 0, 8, 0, 8, 0], [8] * 8)        # tests wholly right or wrong
    assert apart == 8 and 8 < alike <= 64


def test_clustered_size_formula():
    from scipy.stats import t

    from contour.intervals import PSEUDO_TESTS, clustered_size

    correct, n = np.array([3, 5, 1, 4, 6]), np.array([6, 6, 5, 6, 6])
    p, total, tests = correct.sum() / n.sum(), n.sum(), len(n)
    adjusted = (correct.sum() + 0.5) / (total + 1)
    spread = ((correct - p * n) ** 2).sum() + PSEUDO_TESTS * (total / tests) ** 2 * adjusted * (1 - adjusted)
    variance = tests / (tests - 1) * spread / total ** 2
    expected = p * (1 - p) / variance * (1.959964 / t.ppf(0.975, tests - 1)) ** 2
    assert clustered_size(correct, n) == pytest.approx(min(max(expected, tests), total), rel=1e-6)


@pytest.mark.parametrize("p,rho,tests,k", [(0.1, 0.5, 8, 8), (0.3, 0.5, 16, 4), (0.5, 0.9, 32, 8)])
def test_completion_intervals_cover_where_pooled_ones_do_not(p, rho, tests, k):
    from contour.evaluate.coverage import completion_coverage

    out = completion_coverage(p, rho, tests, k, 1500, np.random.default_rng(7))
    # 1500 replications: a true 95% shows >= 0.935 with probability > 0.99.
    assert out.coverage >= 0.935
    assert out.pooled < 0.92          # counting completions as independent trials is overconfident
