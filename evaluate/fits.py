"""Difficulty fits: where along an axis accuracy falls halfway from perfect to chance.

Model, for axis values x_i with k_i correct of n_i and guess chance g_i:

    p_i = g_i + (1 − g_i) · σ(−b · (x_i − m)),     σ(t) = 1 / (1 + e^(−t))

At x = m accuracy is (1 + g)/2, halfway between 1 and chance: m is the
*midpoint* of the axis; b > 0 means accuracy falls along the axis. (m, b) are
fitted by maximum binomial likelihood (scipy.optimize), with x rescaled to
[−1, 1] and m searched within two axis spans of the tested range.

The 95% interval of m is a profile-likelihood interval: the m whose best
fit (over b) is within χ²₁(0.95) · φ of the maximum, where φ = max(1, Pearson
χ² / (J − 2)) widens it when the points scatter more than binomially (J axis
values; a pooled axis mixes the other axes' difficulty). A run with several
completions per test fits on effective counts (k_i, n_i scaled by n_eff / n,
`contour.intervals.clustered_size`): its completions are not independent
trials. A bound that falls outside the tested values is shown as "<x_min"
or ">x_max".

No number is given when it would mislead (checked in this order):
- fewer than 3 axis values: a two-parameter curve through two points says nothing;
- *poor fit*: the deviance goodness-of-fit test has p < 0.001 *and* some axis
  value's accuracy is more than 0.15 away from the curve (binomial noise
  rarely does both; a non-monotone axis does);
- *flat*: the likelihood-ratio test of the curve against a constant accuracy
  (χ²₁ after dividing by φ; approximate, as m is not identified when b = 0)
  has p > 0.05;
- *beyond range*: the fitted midpoint lies outside the tested values (accuracy
  stays above, or below, halfway across the whole axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from scipy import optimize, special, stats

if TYPE_CHECKING:                      # evaluation imports nothing from here
    from contour.evaluate.evaluation import Evaluation

SPANS = 2.0          # m is searched up to this many axis spans beyond the tested values
SLOPE_LIMIT = 60.0   # |b| per half-span: steeper than any step between tested values
FLAT_P = 0.05
POOR_P = 0.001
POOR_GAP = 0.15
_EPS = 1e-12


@dataclass(frozen=True)
class MidpointFit:
    status: str                      # ok, flat, poor fit, beyond range, too few values, not numeric, no data
    midpoint: float | None = None
    low: float | None = None         # interval bounds; None where the profile never crosses
    high: float | None = None
    slope: float | None = None       # b, in logits per axis unit (positive: accuracy falls)
    p_trend: float | None = None
    p_fit: float | None = None
    dispersion: float | None = None
    max_gap: float | None = None     # largest |observed − fitted| accuracy
    values: int = 0
    x_min: float | None = None
    x_max: float | None = None

    @property
    def reported(self) -> bool:
        return self.status == "ok"

    def text(self, digits: int = 3) -> str:
        """A table cell: the midpoint with its interval, or why there is none."""
        if self.status == "ok":
            return f"{_num(self.midpoint, digits)} [{self._bound(self.low, True, digits)}, " \
                   f"{self._bound(self.high, False, digits)}]"
        if self.status == "flat":
            return f"flat (no trend, p={self.p_trend:.2f})"
        if self.status == "poor fit":
            return f"poor fit (p={self.p_fit:.1e}, off by {self.max_gap:.2f})"
        if self.status == "beyond range":
            above = (self.midpoint > self.x_max) == (self.slope > 0)
            edge = self.x_max if self.midpoint > self.x_max else self.x_min
            side = ">" if self.midpoint > self.x_max else "<"
            return (f"above halfway throughout (midpoint {side}{_num(edge, digits)})" if above
                    else f"below halfway throughout (midpoint {side}{_num(edge, digits)})")
        if self.status == "too few values":
            return f"too few values ({self.values})"
        return self.status

    def _bound(self, value: float | None, lower: bool, digits: int) -> str:
        if lower and (value is None or value < self.x_min):
            return f"<{_num(self.x_min, digits)}"
        if not lower and (value is None or value > self.x_max):
            return f">{_num(self.x_max, digits)}"
        return _num(value, digits)


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if abs(value) >= 10 ** digits else f"{value:.{digits}g}"


def curve(x: np.ndarray, midpoint: float, slope: float, guess: np.ndarray | float) -> np.ndarray:
    """Accuracy of the model at x."""
    return guess + (1 - guess) * special.expit(-slope * (np.asarray(x, dtype=float) - midpoint))


def _loglik(p: np.ndarray, k: np.ndarray, n: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(np.sum(k * np.log(p) + (n - k) * np.log1p(-p)))


def fit_midpoint(x: Sequence[float], correct: Sequence[float], n: Sequence[float],
                 guess: Sequence[float] | float = 0.0) -> MidpointFit:
    """Fit the model to one axis: values x, correct counts, totals and guess chances."""
    x_all = np.asarray(x, dtype=float)
    k_all = np.asarray(correct, dtype=float)
    n_all = np.asarray(n, dtype=float)
    g_all = np.broadcast_to(np.asarray(guess, dtype=float), x_all.shape)
    keep = (n_all > 0) & (g_all < 1)
    x, k, n, g = x_all[keep], k_all[keep], n_all[keep], g_all[keep]
    values = len(np.unique(x))
    if values == 0:
        return MidpointFit("no data")
    x_min, x_max = float(x.min()), float(x.max())
    if values < 3:
        return MidpointFit("too few values", values=values, x_min=x_min, x_max=x_max)
    # Work in z = x rescaled to [-1, 1]: m in half-spans, b in logits per half-span.
    centre, half = (x_min + x_max) / 2, (x_max - x_min) / 2
    model = _Binomial((x - centre) / half, k, n, g)
    reach = 1 + 2 * SPANS
    # A grid over (m, b) finds the global maximum's basin and brackets the interval;
    # exact optimisation then polishes both.
    m_grid = np.linspace(-reach, reach, 201)
    b_grid = model.b_grid
    table = model.loglik_grid(m_grid, b_grid)
    i, j = np.unravel_index(np.argmax(table), table.shape)
    found = optimize.minimize(model.negative, [m_grid[i], b_grid[j]], jac=True, method="L-BFGS-B",
                              bounds=[(-reach, reach), (-SLOPE_LIMIT, SLOPE_LIMIT)])
    mz, bz = (float(v) for v in found.x)
    top = -float(found.fun)
    if top < table[i, j]:
        mz, bz, top = float(m_grid[i]), float(b_grid[j]), float(table[i, j])
    fitted = model.accuracy(mz, bz)
    df = values - 2
    deviance = 2 * float(np.sum(special.xlogy(k, k / np.maximum(n * fitted, _EPS))
                                + special.xlogy(n - k, (n - k) / np.maximum(n * (1 - fitted), _EPS))))
    pearson = float(np.sum((k - n * fitted) ** 2 / np.maximum(n * fitted * (1 - fitted), _EPS)))
    dispersion = max(1.0, pearson / df)
    p_fit = float(stats.chi2.sf(deviance, df))
    constant = optimize.minimize_scalar(lambda c: -_loglik(g + (1 - g) * c, k, n), bounds=(0, 1),
                                        method="bounded")
    trend = max(0.0, 2 * (top + float(constant.fun)))
    p_trend = float(stats.chi2.sf(trend / dispersion, 1))
    gap = float(np.max(np.abs(k / n - fitted)))
    common = dict(slope=bz / half, p_trend=p_trend, p_fit=p_fit, dispersion=dispersion,
                  max_gap=gap, values=values, x_min=x_min, x_max=x_max)
    midpoint = centre + half * mz
    if p_fit < POOR_P and gap > POOR_GAP:
        return MidpointFit("poor fit", midpoint=midpoint, **common)
    if p_trend > FLAT_P:
        return MidpointFit("flat", midpoint=midpoint, **common)
    if not x_min <= midpoint <= x_max:
        return MidpointFit("beyond range", midpoint=midpoint, **common)
    critical = float(stats.chi2.ppf(0.95, 1)) * dispersion

    def excess(m: float) -> float:
        return 2 * (top - model.profile(m)) - critical

    over = 2 * (top - table.max(axis=1)) - critical          # >= excess: the grid misses some b
    centre_index = int(np.searchsorted(m_grid, mz))
    low = _crossing(excess, over, m_grid, centre_index, -1, mz)
    high = _crossing(excess, over, m_grid, centre_index, +1, mz)
    return MidpointFit("ok", midpoint=midpoint, low=None if low is None else centre + half * low,
                       high=None if high is None else centre + half * high, **common)


def _crossing(excess, over: np.ndarray, grid: np.ndarray, start: int, step: int,
              inside: float) -> float | None:
    """Where `excess` first turns positive walking from `inside` along the grid; None if never.

    `over` is the grid's (cheaper) bound on `excess`: only where it is positive
    can `excess` be, so only there is the exact profile computed.
    """
    if excess(inside) >= 0:
        return inside
    index = start if step > 0 else start - 1
    while 0 <= index < len(grid):
        point = float(grid[index])
        if over[index] > 0:
            if excess(point) > 0:
                return float(optimize.brentq(excess, *sorted((inside, point)), xtol=1e-6))
        inside = point
        index += step
    return None


class _Binomial:
    """Log-likelihood of the model on rescaled axis values z, with its gradient."""

    def __init__(self, z: np.ndarray, k: np.ndarray, n: np.ndarray, g: np.ndarray) -> None:
        self.z, self.k, self.n, self.g = z, k, n, g
        self.b_grid = SLOPE_LIMIT * np.sinh(np.linspace(-5, 5, 121)) / np.sinh(5)

    def accuracy(self, m: float, b: float) -> np.ndarray:
        return self.g + (1 - self.g) * special.expit(-b * (self.z - m))

    def negative(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        m, b = theta
        s = special.expit(-b * (self.z - m))
        p = np.clip(self.g + (1 - self.g) * s, _EPS, 1 - _EPS)
        value = self.k * np.log(p) + (self.n - self.k) * np.log1p(-p)
        slope = (self.k / p - (self.n - self.k) / (1 - p)) * (1 - self.g) * s * (1 - s)
        gradient = np.array([np.sum(slope * b), np.sum(slope * -(self.z - m))])
        return -float(np.sum(value)), -gradient

    def loglik_grid(self, m: np.ndarray, b: np.ndarray) -> np.ndarray:
        s = special.expit(-b[None, :, None] * (self.z[None, None, :] - m[:, None, None]))
        p = np.clip(self.g + (1 - self.g) * s, _EPS, 1 - _EPS)
        return np.sum(self.k * np.log(p) + (self.n - self.k) * np.log1p(-p), axis=2)

    def value(self, m: float, b: float) -> float:
        p = self.g + (1 - self.g) * special.expit(-b * (self.z - m))
        np.clip(p, _EPS, 1 - _EPS, out=p)
        return float((self.k * np.log(p) + (self.n - self.k) * np.log1p(-p)).sum())

    def profile(self, m: float) -> float:
        """The best log-likelihood with m fixed: the best b on the grid, then refined beside it."""
        b = self.b_grid
        s = special.expit(-b[:, None] * (self.z[None, :] - m))
        p = np.clip(self.g + (1 - self.g) * s, _EPS, 1 - _EPS)
        values = (self.k * np.log(p) + (self.n - self.k) * np.log1p(-p)).sum(axis=1)
        j = int(np.argmax(values))
        bounds = (b[max(j - 1, 0)], b[min(j + 1, len(b) - 1)])
        found = optimize.minimize_scalar(lambda v: -self.value(m, v), bounds=bounds, method="bounded",
                                         options={"xatol": 1e-6})
        return max(float(values[j]), -float(found.fun))


@dataclass(frozen=True)
class AxisFit:
    """The fit of one run's accuracy along one axis of one task."""

    run: str
    run_index: int
    task: str
    axis: str
    fit: MidpointFit
    points: list[dict[str, Any]]       # per axis value: x, n, correct, guess

    def row(self) -> dict[str, Any]:
        f = self.fit
        return {"run": self.run, "task": self.task, "axis": self.axis, "status": f.status,
                "midpoint": f.midpoint if f.reported else None,
                "midpoint_low": f.low if f.reported else None,
                "midpoint_high": f.high if f.reported else None,
                "slope": f.slope, "p_trend": f.p_trend, "p_fit": f.p_fit, "dispersion": f.dispersion,
                "values": f.values, "n": sum(p["n"] for p in self.points), "fit": f.text()}


def axis_fits(evaluation: "Evaluation") -> list[AxisFit]:
    """Every (run, task, axis) of an evaluation, fitted on the axis tallies pooled over the other axes."""
    fits = []
    for task in evaluation.tasks():
        for axis in evaluation.axes(task):
            tallies = evaluation.by_params(task, [axis])
            for run_index, run in enumerate(evaluation.runs):
                points = [{"x": key[1], "n": t.n, "correct": t.correct, "guess": t.guess,
                           "worth": t.counts().effective_n / t.n}
                          for key, t in tallies.items() if key[0] == run_index and t.n > 0]
                if not points:
                    continue
                numeric = all(isinstance(p["x"], (int, float)) and not isinstance(p["x"], bool)
                              for p in points)
                # With several completions per test a record is worth less than one trial
                # (contour.intervals.clustered_size): the likelihood gets the effective counts.
                worth = [p.pop("worth") for p in points]
                fit = (fit_midpoint([p["x"] for p in points], [p["correct"] * w for p, w in zip(points, worth)],
                                    [p["n"] * w for p, w in zip(points, worth)],
                                    [p["guess"] or 0.0 for p in points])
                       if numeric else MidpointFit("not numeric", values=len(points)))
                points.sort(key=lambda p: (0, p["x"], "") if numeric else (1, 0, str(p["x"])))
                fits.append(AxisFit(run.label, run_index, task, axis, fit, points))
    return fits
