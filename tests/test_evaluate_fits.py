"""Difficulty fits: the midpoint of a logistic fall from 1 to chance, on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from contour.evaluate import evaluate
from contour.evaluate.fits import axis_fits, curve, fit_midpoint
from tests.evalfixtures import make_record, point_id, write_run

X = np.array([2, 4, 6, 8, 10, 12, 14, 16], dtype=float)


@pytest.mark.parametrize("midpoint,slope,guess", [(9.0, 0.6, 0.0), (5.5, 1.5, 0.25), (12.0, 0.4, 0.5)])
def test_recovers_a_known_midpoint_from_expected_counts(midpoint, slope, guess):
    """With counts equal to their expectation at huge n, the fit is the truth."""
    n = np.full(len(X), 10**7)
    k = np.round(n * curve(X, midpoint, slope, guess))
    fit = fit_midpoint(X, k, n, guess)
    assert fit.status == "ok"
    assert fit.midpoint == pytest.approx(midpoint, abs=1e-3)
    assert fit.slope == pytest.approx(slope, rel=1e-3)
    assert fit.low < midpoint < fit.high and fit.high - fit.low < 0.05
    # at the midpoint, accuracy is halfway between 1 and chance
    assert curve(fit.midpoint, fit.midpoint, fit.slope, guess) == pytest.approx((1 + guess) / 2)


def test_guess_chance_may_differ_along_the_axis():
    """E.g. an axis that adds options: chance falls from 1/2 to 1/9 along it."""
    guess = 1 / np.arange(2, 10)
    n = np.full(len(X), 10**7)
    k = np.round(n * curve(X, 7.0, 0.8, guess))
    fit = fit_midpoint(X, k, n, guess)
    assert fit.status == "ok" and fit.midpoint == pytest.approx(7.0, abs=1e-3)


def test_maximum_likelihood_matches_statsmodels_without_guessing():
    """With g = 0 the model is logistic regression: m = -b0/b1 of a binomial GLM."""
    sm = pytest.importorskip("statsmodels.api", reason="statsmodels is in the test extra")
    rng = np.random.default_rng(5)
    for _ in range(5):
        n = rng.integers(5, 40, len(X))
        k = rng.binomial(n, special.expit(-0.7 * (X - rng.uniform(6, 12))))
        glm = sm.GLM(np.column_stack([k, n - k]), sm.add_constant(X), family=sm.families.Binomial()).fit()
        b0, b1 = glm.params
        fit = fit_midpoint(X, k, n)
        assert fit.midpoint == pytest.approx(-b0 / b1, abs=1e-4)
        assert fit.slope == pytest.approx(-b1, rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("midpoint,slope,guess,n", [
    (9.0, 0.6, 0.0, 8),       # small n
    (4.0, 1.0, 0.0, 8),       # midpoint near the start: most points near accuracy 0
    (13.0, 0.7, 0.5, 12),     # near the end, half chance: most points near accuracy 1
    (9.0, 0.5, 0.25, 30),
])
def test_interval_coverage_by_simulation(midpoint, slope, guess, n):
    rng = np.random.default_rng([int(midpoint * 10), n])
    covered = reported = 0
    sims = 300
    for _ in range(sims):
        k = rng.binomial(n, curve(X, midpoint, slope, guess))
        fit = fit_midpoint(X, k, np.full(len(X), n), guess)
        if fit.reported:
            reported += 1
            low = -np.inf if fit.low is None else fit.low
            high = np.inf if fit.high is None else fit.high
            covered += low <= midpoint <= high
    assert reported >= 0.8 * sims
    assert covered / reported >= 0.93


def test_flat_axis_gives_no_number():
    rng = np.random.default_rng(1)
    n = np.full(len(X), 40)
    fit = fit_midpoint(X, rng.binomial(n, 0.7), n)
    assert fit.status == "flat" and not fit.reported
    assert fit.text().startswith("flat (no trend, p=")
    perfect = fit_midpoint(X, n, n)
    assert perfect.status == "flat"


def test_poor_fit_gives_no_number():
    n = np.full(len(X), 200)
    zigzag = np.round(n * np.array([0.95, 0.2, 0.95, 0.2, 0.9, 0.1, 0.9, 0.1]))
    fit = fit_midpoint(X, zigzag, n)
    assert fit.status == "poor fit" and fit.text().startswith("poor fit (p=")


def test_midpoint_beyond_the_tested_range():
    n = np.full(len(X), 10**5)
    easy = np.round(n * curve(X, 30.0, 0.3, 0.0))
    fit = fit_midpoint(X, easy, n)
    assert fit.status == "beyond range"
    assert fit.text() == "above halfway throughout (midpoint >16)"
    hard = np.round(n * curve(X, -5.0, 0.3, 0.0))
    assert fit_midpoint(X, hard, n).text() == "below halfway throughout (midpoint <2)"


def test_too_few_values_and_open_bounds():
    assert fit_midpoint([2, 4], [5, 1], [6, 6]).text() == "too few values (2)"
    assert fit_midpoint([], [], []).status == "no data"
    # a steep fall right after the first value: the lower bound lies below the tested values
    n = np.full(len(X), 6)
    k = np.array([6, 1, 0, 0, 0, 0, 0, 0])
    fit = fit_midpoint(X, k, n)
    assert fit.status == "ok"
    assert fit.text().startswith(f"{fit.midpoint:.3g} [<2, ") or fit.low >= 2


def test_axis_fits_of_an_evaluation(tmp_path):
    """A run whose accuracy along `length` falls through 0.5 at 8; `depth` has no effect."""
    rng = np.random.default_rng(3)
    records = []
    index = 0
    for length in (2, 4, 6, 8, 10, 12, 14):
        for depth in (1, 2, 3):
            params = {"length": length, "depth": depth, "style": "a" if depth < 3 else "b"}
            point = point_id(index, "arithmetic", params)
            index += 1
            p = float(curve(length, 8.0, 0.9, 0.0))
            records += [make_record(point, "arithmetic", s, params, correct=bool(rng.random() < p))
                        for s in range(60)]
    result = evaluate([write_run(tmp_path / "run", records)], resamples=0)
    fits = {f.axis: f for f in axis_fits(result)}
    assert set(fits) == {"length", "depth", "style"}
    assert fits["length"].fit.status == "ok"
    assert fits["length"].fit.low < 8 < fits["length"].fit.high
    assert fits["depth"].fit.status == "flat"
    assert fits["style"].fit.status == "not numeric"
    row = fits["length"].row()
    assert row["midpoint"] == fits["length"].fit.midpoint and row["n"] == 7 * 3 * 60
    assert fits["depth"].row()["midpoint"] is None


def test_completions_of_one_test_widen_the_midpoint_interval(tmp_path):
    """The same records, read as 4 completions of 15 tests per point (a test's completions
    agree) or as 60 independent tests: the first fit is less certain."""
    rng = np.random.default_rng(4)
    records = []
    for index, length in enumerate((2, 4, 6, 8, 10, 12, 14)):
        params = {"length": length}
        point = point_id(index, "arithmetic", params)
        p = float(curve(length, 8.0, 0.9, 0.0))
        for test in range(15):
            right = bool(rng.random() < p)
            for c in range(4):
                r = make_record(point, "arithmetic", test, params, correct=right)
                r["completion"], r["key"] = c, f"{point}-{test}" + (f".{c}" if c else "")
                records.append(r)
    k = write_run(tmp_path / "k", records, {"seed": 1, "mode": {"online": True, "completions": 4}})
    flat = [dict(r, sample=i, completion=0, key=f"{r['task']}-{i}") for i, r in enumerate(records)]
    plain = write_run(tmp_path / "plain", flat)
    (fit_k,) = [f.fit for f in axis_fits(evaluate([k], resamples=0))]
    (fit_plain,) = [f.fit for f in axis_fits(evaluate([plain], resamples=0))]
    assert fit_k.status == fit_plain.status == "ok"
    assert fit_k.midpoint == pytest.approx(fit_plain.midpoint, abs=0.05)
    assert fit_k.high - fit_k.low > 1.5 * (fit_plain.high - fit_plain.low)
