"""Pure statistics: Wilson intervals, guess correction, McNemar, Holm, quantiles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from contour.evaluate import stats

WILSON_CASES = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 7), (1, 2), (16, 32), (31, 32),
                (1, 1000), (999, 1000), (500, 1000), (7, 9), (0, 100000), (12345, 100000)]


@pytest.mark.parametrize("k,n", WILSON_CASES)
def test_wilson_matches_scipy(k, n):
    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = stats.wilson_interval(k, n)
    assert low == pytest.approx(float(reference.low), abs=1e-9)
    assert high == pytest.approx(float(reference.high), abs=1e-9)


def test_wilson_of_nothing_is_undefined():
    assert stats.wilson_interval(0, 0) is None


def test_wilson_edges_are_exact():
    assert stats.wilson_interval(0, 20)[0] == 0.0
    assert stats.wilson_interval(20, 20)[1] == 1.0


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        stats.wilson_interval(5, 4)


def test_wilson_undercovers_at_small_n_which_is_why_it_is_not_the_default():
    # Exact coverage by enumeration at n = 8, p = 0.02: the outcomes k whose
    # interval holds p, weighted by their binomial probability.
    from scipy.stats import binom
    covered = [k for k in range(9) if stats.wilson_interval(k, 8)[0] <= 0.02 <= stats.wilson_interval(k, 8)[1]]
    assert binom.pmf(covered, 8, 0.02).sum() < 0.86


def test_excess_accuracy():
    assert stats.excess(0.5, 0.5) == 0.0
    assert stats.excess(1.0, 0.25) == 1.0
    assert stats.excess(0.625, 0.25) == pytest.approx(0.5)
    assert stats.excess(0.1, 0.25) < 0             # below chance stays visible
    assert stats.excess(0.4, 0.0) == 0.4            # open answers: excess is accuracy
    assert stats.excess(None, 0.5) is None
    assert stats.excess(0.9, 1.0) is None


def test_excess_interval_transforms_wilson_bounds():
    interval = stats.wilson_interval(30, 40)
    low, high = stats.excess_interval(interval, 0.5)
    assert low == pytest.approx((interval[0] - 0.5) / 0.5)
    assert high == pytest.approx((interval[1] - 0.5) / 0.5)
    assert stats.excess_interval(None, 0.5) is None


def _mcnemar_by_hand(b: int, c: int) -> float:
    n = b + c
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize("b,c", [(0, 0), (5, 0), (0, 5), (3, 10), (10, 3), (7, 7), (40, 25), (1, 60)])
def test_mcnemar_exact_matches_hand_computation(b, c):
    expected = 1.0 if b + c == 0 else _mcnemar_by_hand(b, c)
    assert stats.mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_mcnemar_known_values():
    # 2 · P(X ≤ 0 | n=5, 1/2) = 2/32
    assert stats.mcnemar_exact(5, 0) == pytest.approx(0.0625)
    # 2 · (1 + 13 + 78 + 286) / 8192
    assert stats.mcnemar_exact(3, 10) == pytest.approx(2 * 378 / 8192)


def test_holm_step_down():
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005·4=0.02, 0.01·3=0.03, 0.03·2=0.06, 0.04·1=0.04 → running max 0.06
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    assert stats.holm([]) == []


def test_quantiles():
    assert stats.quantile(np.array([1, 2, 3, 4]), 0.5) == 2.5
    assert stats.quantile(np.array([], dtype=np.uint32), 0.9) is None
