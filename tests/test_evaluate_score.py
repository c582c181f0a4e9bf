"""The overall score's interval: covers in the strong, mixed, weak and at-chance scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from contour.evaluate import coverage as cov
from contour.evaluate import run_score
from contour.evaluate.score import FLOOR, point_variances
from contour.results.tally import Tally
from tests.evalfixtures import make_record

# Six tasks of eight points, with the guess chances of write-in, two-way and multiple-choice tasks.
GRID = cov.Grid(np.repeat(np.arange(6), 8), np.repeat([0.0, 0.5, 0.25, 0.0, 0.2, 1 / 3], 8))


@pytest.mark.parametrize("scenario", cov.SCENARIOS)
@pytest.mark.parametrize("n", [8, 32])
def test_score_interval_covers_in_simulation(scenario, n):
    coverage, width, truth = cov.score_coverage(GRID, scenario, n, reps=300, draws=400, seed=3)
    assert coverage >= 0.93, (scenario, n, truth, coverage)
    assert width > 0


def test_at_chance_the_interval_reaches_the_floor():
    tallies = []
    rng = np.random.default_rng(0)
    for task, guess in [("a", 0.5), ("b", 0.25), ("c", 0.5)]:
        for point in range(8):
            tally = Tally()
            for sample in range(16):
                tally.add(make_record(f"{point:03d}_{task}", task, sample, guess=guess,
                                      correct=bool(rng.random() < guess)))
            tallies.append((task, tally))
    score = run_score("chance", tallies, seed=1)
    assert score.low == pytest.approx(100 * FLOOR)
    assert score.low <= score.score <= score.high


def test_point_variance_is_the_delta_method_at_adjusted_proportions():
    correct, truncated, both, n, g = 5.0, 2.0, 0.0, 10.0, 0.25
    p, t = (correct + 0.5) / (n + 1), (truncated + 0.5) / (n + 1)
    # Numerical gradient of x(p, t) = (p - g)(1 - t)/(1 - g) at (p, t).
    def x(pp, tt):
        return (pp - g) * (1 - tt) / (1 - g)
    h = 1e-6
    dp = (x(p + h, t) - x(p - h, t)) / (2 * h)
    dt = (x(p, t + h) - x(p, t - h)) / (2 * h)
    cov_pt = (both / n - p * t)
    expected = (dp ** 2 * p * (1 - p) + dt ** 2 * t * (1 - t) + 2 * dp * dt * cov_pt) / n
    assert point_variances(np.array(correct), np.array(truncated), np.array(both), np.array(n),
                           np.array(g)) == pytest.approx(expected, rel=1e-6)
