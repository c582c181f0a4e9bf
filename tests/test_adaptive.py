"""Adaptive precision: the stopping rule, its levels, and coverage under optional stopping."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from contour.evaluate import coverage as cov
from contour.run.adaptive import (RoundCounts, StopReason, reportable_coverage, round_confidence,
                                  round_levels, stop_reason)
from contour.spec.config import Precision
from tests.conftest import REPO


def test_levels_spend_alpha_over_rounds():
    levels = round_levels(16, 4, 0.14)
    assert len(levels) == 4
    assert all(0.95 <= level < 1 for level in levels)
    assert levels[0] == levels[1] == levels[2] > levels[3]   # the last round gets the most alpha
    assert round_levels(16, 1, 0.14) == (0.95,)
    # Bonferroni over 4 rounds would give every round 1 - 0.05/4; the exact search does better.
    assert levels[3] < 1 - 0.05 / 4
    # No target: no early round is ever reported, so every round keeps the plain level.
    assert round_levels(16, 4, None) == (0.95,) * 4
    # Bounding every round (a target no interval exceeds) costs more than bounding reportable ones.
    assert round_levels(16, 4, 1.0)[0] > levels[0]


def _brute_force(count, rounds, target, p, levels):
    """Over every sequence of round outcomes (scipy's exact intervals at the design's levels):
    P(no reportable round misses p) and P(the interval where the design stops covers p)."""
    ci = {(r, k): binomtest(k, (r + 1) * count).proportion_ci(levels[r], method="exact")
          for r in range(rounds) for k in range((r + 1) * count + 1)}
    no_miss = at_stop = 0.0
    for ks in itertools.product(range(count + 1), repeat=rounds):
        weight = float(np.prod(binom.pmf(ks, count, p)))
        cis = [ci[(r, int(k))] for r, k in enumerate(np.cumsum(ks))]
        reportable = [(c.high - c.low) / 2 <= target or r == rounds - 1 for r, c in enumerate(cis)]
        covers = [c.low <= p <= c.high for c in cis]
        no_miss += weight * all(cov or not rep for cov, rep in zip(covers, reportable))
        at_stop += weight * covers[reportable.index(True)]
    return no_miss, at_stop


def test_reportable_coverage_by_brute_force_over_every_sequence_of_rounds():
    # Count 4, three rounds: every (k1, k2, k3) in 5**3 sequences.
    count, rounds, target = 4, 3, 0.3
    levels = round_levels(count, rounds, target)
    assert levels[0] < 0.999           # early rounds can reach the target: they are reportable
    for p in np.linspace(0.005, 0.995, 67):
        no_miss, at_stop = _brute_force(count, rounds, target, p, levels)
        assert no_miss >= 0.95 - 1e-9 and at_stop >= no_miss - 1e-12
        assert no_miss == pytest.approx(
            reportable_coverage(count, 1 - np.array(levels), target, np.array([p]))[0])
        # A target of 1: every round is reportable, i.e. all rounds must hold at once.
        assert _brute_force(count, rounds, 1.0, p, levels)[0] == pytest.approx(
            reportable_coverage(count, 1 - np.array(levels), 1.0, np.array([p]))[0])


@pytest.mark.parametrize("count,rounds,target", [(8, 4, 0.2), (16, 4, 0.14), (4, 5, 0.25), (8, 3, 0.15)])
def test_reportable_coverage_holds_on_a_fine_grid(count, rounds, target):
    ps = np.linspace(0.0005, 0.9995, 2000)
    levels = 1 - np.array(round_levels(count, rounds, target))
    assert reportable_coverage(count, levels, target, ps).min() >= 0.95


def _precision(**kw) -> Precision:
    return Precision("p", **{"count": 16, "max_rounds": 4, **kw})


def test_stop_when_the_target_is_reached():
    block = _precision(target_halfwidth=0.08)
    assert stop_reason(block, [RoundCounts(16, 16, 0)]) is None            # 16/16: still too wide
    assert stop_reason(block, [RoundCounts(16, 16, 0), RoundCounts(16, 16, 0)]) is StopReason.TARGET
    halfwidth = (lambda ci: (ci.high - ci.low) / 2)(
        binomtest(32, 32).proportion_ci(round_confidence(block, 1), method="exact"))
    assert halfwidth <= 0.08 < (lambda ci: (ci.high - ci.low) / 2)(
        binomtest(16, 16).proportion_ci(round_confidence(block, 0), method="exact"))


def test_stop_at_the_round_limit():
    block = _precision(target_halfwidth=0.01)
    assert stop_reason(block, [RoundCounts(16, 8, 0)] * 3) is None
    assert stop_reason(block, [RoundCounts(16, 8, 0)] * 4) is StopReason.ROUND_LIMIT
    assert stop_reason(Precision("low", 8), [RoundCounts(8, 4, 0)]) is StopReason.ROUND_LIMIT


def test_truncation_stop_looks_at_earlier_rounds_only():
    block = _precision(max_truncation=0.5)
    everything_cut = RoundCounts(16, 0, 16)
    assert stop_reason(block, [everything_cut]) is None                    # round 0: nothing earlier
    assert stop_reason(block, [everything_cut, RoundCounts(16, 8, 0)]) is StopReason.TRUNCATION
    assert stop_reason(block, [RoundCounts(16, 8, 0), everything_cut]) is None


def test_sequential_interval_keeps_its_level_and_the_old_rule_did_not():
    fine = np.linspace(0.01, 0.99, 981)
    block = cov.Block("medium", 16, 4, 0.14)
    assert cov.adaptive_design(block, fine).coverage.min() >= 0.95
    assert cov.adaptive_design(block, fine, cov.plain_wilson).coverage.min() < 0.94


def test_truncation_stops_keep_coverage_and_lose_most_of_their_bias():
    block = cov.Block("medium", 16, 4, 0.14, 0.5)
    out = cov.truncation_bias(block, 0.5, 0.6, 40_000, np.random.default_rng(5))
    assert out.coverage >= 0.95
    assert abs(out.bias_lagged) < abs(out.bias_same_round) / 2
    assert abs(out.bias_same_round) > 0.015


def test_adaptive_blocks_spend_fewer_samples_than_a_fixed_count_of_the_same_width():
    ps = np.round(np.arange(0.01, 1.0, 0.02), 2)
    spent = cov.adaptive_design(cov.Block("medium", 16, 4, 0.14), ps)
    assert spent.samples.mean() < 0.9 * cov.fixed_count_for_width(spent.halfwidth, ps).max()


def test_fixed_count_for_width_is_the_smallest_such_count():
    ps = np.array([0.5])
    n = int(cov.fixed_count_for_width(np.array([0.1]), ps)[0])
    def mean_half(size):
        cis = [binomtest(k, size).proportion_ci(method="exact") for k in range(size + 1)]
        return sum(binom.pmf(k, size, 0.5) * (ci.high - ci.low) / 2 for k, ci in enumerate(cis))
    assert mean_half(n) <= 0.1 < mean_half(n - 1)


def test_the_engine_does_not_import_evaluation_and_resume_not_the_client():
    code = ("import sys, contour.run.engine, contour.run.resume; "
            "print(sorted(m for m in sys.modules if m.startswith('contour.evaluate')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout.strip() == "[]"
    code = "import sys, contour.run.resume; print('contour.run.client' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout.strip() == "False"
