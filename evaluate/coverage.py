"""Coverage of every interval Contour prints, by exact enumeration or simulation.

`python scripts/bench.py coverage` prints these tables; the tests run the
same functions at small scale. Exact results (enumeration over binomial
outcomes) have no Monte Carlo error; simulated ones report it as the
binomial standard error sqrt(c(1 − c)/reps).

- `point_coverage`: one point, fixed n: Clopper–Pearson and Wilson.
- `completion_coverage`: one point whose tests have K completions each,
  tests differing in difficulty: the clustered interval against the pooled one.
- `adaptive_design`: one point under a precision block's stopping rule:
  coverage at stop, samples spent, reported half-width, bias, and the fixed
  count that reports the same half-width.
- `truncation_bias`: accuracy bias of truncation stops, old rule (same round)
  against the lagged rule, and coverage with truncation stops.
- `row_coverage`: the mean of point accuracies (task and run rows).
- `score_coverage`: the overall score in the strong / mixed / weak scenarios.
- `paired_coverage`: the paired difference, over discordance rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from contour import intervals
from contour.evaluate import score as scoring
from contour.run import adaptive

Interval = Callable[[int, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def mc_error(coverage: float | np.ndarray, reps: int) -> float | np.ndarray:
    return np.sqrt(np.asarray(coverage) * (1 - np.asarray(coverage)) / reps)


# -- one point, fixed n ---------------------------------------------------------------

def point_coverage(n: int, ps: np.ndarray, method: str, confidence: float = 0.95) -> np.ndarray:
    """Exact coverage at each p of the interval of k/n."""
    k = np.arange(n + 1)
    low, high = intervals.bounds(k, np.full(n + 1, n), method, confidence)
    pmf = adaptive.binomial_pmf(n, ps)
    inside = (low[None, :] <= ps[:, None]) & (ps[:, None] <= high[None, :])
    return (pmf * inside).sum(axis=1)


# -- one point, K completions per test -----------------------------------------------

@dataclass(frozen=True)
class CompletionOutcome:
    coverage: float            # clustered interval (the one evaluate prints)
    pooled: float              # the T·K records counted as independent trials
    information: float         # mean effective n / (T·K)


def completion_coverage(p: float, correlation: float, tests: int, k: int, reps: int,
                        rng: np.random.Generator) -> CompletionOutcome:
    """Simulated coverage at one point: each test's own success rate q ~ Beta with mean p
    and intra-test correlation `correlation` (0: all alike, 1: a test's completions all
    agree), then K completions ~ Binomial(K, q)."""
    if correlation <= 0:
        q = np.full((reps, tests), p)
    elif correlation >= 1:
        q = (rng.random((reps, tests)) < p).astype(float)
    else:
        spread = 1 / correlation - 1
        q = rng.beta(p * spread, (1 - p) * spread, size=(reps, tests))
    correct = rng.binomial(k, q)
    sizes = np.full(tests, k)
    information = np.array([intervals.clustered_size(row, sizes) for row in correct])
    total = tests * k
    estimate = correct.sum(axis=1) / total
    low, high = intervals.clopper_pearson_bounds(estimate * information, information)
    pooled_low, pooled_high = intervals.clopper_pearson_bounds(correct.sum(axis=1), np.full(reps, total))
    return CompletionOutcome(float(np.mean((low <= p) & (p <= high))),
                             float(np.mean((pooled_low <= p) & (p <= pooled_high))),
                             float(information.mean() / total))


# -- one point, adaptive ---------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    """A precision block (what contour.spec.config.Precision holds)."""

    name: str
    count: int
    max_rounds: int = 1
    target_halfwidth: float | None = None
    max_truncation: float | None = None


@dataclass
class DesignOutcome:
    """Exact expectations at each p for one design and one reporting rule."""

    ps: np.ndarray
    coverage: np.ndarray
    samples: np.ndarray        # mean samples spent
    halfwidth: np.ndarray      # mean reported half-width
    bias: np.ndarray           # mean of k/n minus p
    on_target: np.ndarray      # P(stopped because the target was reached)


def sequential_interval(block: Block) -> Interval:
    """The reported interval of `contour.run.adaptive` after round r."""
    def interval(round_index: int, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        level = adaptive.round_confidence(block, round_index)
        return intervals.clopper_pearson_bounds(k, np.full(len(k), n), level)
    return interval


def plain_wilson(round_index: int, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The old rule: a 95% Wilson interval as if n had been fixed."""
    return intervals.wilson_bounds(k, np.full(len(k), n))


def adaptive_design(block: Block, ps: np.ndarray, interval: Interval | None = None) -> DesignOutcome:
    """Exact outcome of stopping at the first round whose interval is narrow enough
    (or at `max_rounds`), reporting that interval. Truncation stops are not
    modelled here (see `truncation_bias`)."""
    interval = interval or sequential_interval(block)
    ps = np.asarray(ps, dtype=float)
    step = adaptive.binomial_pmf(block.count, ps)
    mass = np.ones((len(ps), 1))
    coverage, samples, width, estimate, on_target = (np.zeros(len(ps)) for _ in range(5))
    for r in range(block.max_rounds):
        n = (r + 1) * block.count
        grown = np.zeros((len(ps), n + 1))
        for j in range(block.count + 1):
            grown[:, j:j + mass.shape[1]] += mass * step[:, j:j + 1]
        k = np.arange(n + 1)
        low, high = interval(r, k, n)
        half = (high - low) / 2
        narrow = half <= block.target_halfwidth if block.target_halfwidth is not None else np.zeros(n + 1, bool)
        stop = np.ones(n + 1, bool) if r == block.max_rounds - 1 else narrow
        stopped = grown * stop
        inside = (low[None, :] <= ps[:, None]) & (ps[:, None] <= high[None, :])
        coverage += (stopped * inside).sum(axis=1)
        samples += stopped.sum(axis=1) * n
        width += (stopped * half).sum(axis=1)
        estimate += (stopped * k / n).sum(axis=1)
        on_target += (stopped * narrow).sum(axis=1)
        mass = grown * ~stop
    return DesignOutcome(ps, coverage, samples, width, estimate - ps, on_target)


def fixed_count_for_width(halfwidth: np.ndarray, ps: np.ndarray, confidence: float = 0.95,
                          limit: int = 4096) -> np.ndarray:
    """Smallest fixed n whose Clopper–Pearson interval has at most that mean half-width at p."""
    ps = np.asarray(ps, dtype=float)
    needed = np.full(len(ps), limit)
    open_ = np.ones(len(ps), bool)
    for n in range(1, limit + 1):
        k = np.arange(n + 1)
        low, high = intervals.clopper_pearson_bounds(k, np.full(n + 1, n), confidence)
        mean_half = adaptive.binomial_pmf(n, ps[open_]) @ ((high - low) / 2)
        done = mean_half <= halfwidth[open_] + 1e-12
        index = np.flatnonzero(open_)[done]
        needed[index] = n
        open_[index] = False
        if not open_.any():
            break
    return needed


# -- truncation stops ------------------------------------------------------------------

@dataclass
class TruncationOutcome:
    truncation: float
    accuracy: float
    bias_same_round: float
    bias_lagged: float
    bias_error: float          # Monte Carlo standard error of either bias
    coverage: float            # of the reported interval, lagged rule
    samples_same_round: float
    samples_lagged: float


def truncation_bias(block: Block, truncation: float, finished_accuracy: float, reps: int,
                    rng: np.random.Generator) -> TruncationOutcome:
    """Simulate a point whose answers are truncated with probability `truncation`
    (a truncated answer is wrong) and otherwise correct with `finished_accuracy`."""
    if block.max_truncation is None:
        raise ValueError(f"block {block.name} has no max_truncation")
    limit = block.max_truncation
    rounds, count = block.max_rounds, block.count
    cut = rng.binomial(count, truncation, size=(reps, rounds))
    right = rng.binomial(count - cut, finished_accuracy)
    cum_cut, cum_right = cut.cumsum(axis=1), right.cumsum(axis=1)
    p = (1 - truncation) * finished_accuracy
    results = {}
    for rule in ("same", "lagged"):
        stopped = np.zeros(reps, bool)
        estimate, spent, covered = np.zeros(reps), np.zeros(reps), np.zeros(reps, bool)
        for r in range(rounds):
            n = (r + 1) * count
            if rule == "same":
                too_many = cum_cut[:, r] / n > limit
            elif r == 0:
                too_many = np.zeros(reps, bool)
            else:
                too_many = cum_cut[:, r - 1] / (r * count) > limit
            low, high = intervals.clopper_pearson_bounds(cum_right[:, r], np.full(reps, n),
                                                         adaptive.round_confidence(block, r))
            narrow = (high - low) / 2 <= block.target_halfwidth if block.target_halfwidth else False
            stop = ~stopped & (too_many | narrow | (r == rounds - 1))
            estimate[stop] = cum_right[stop, r] / n
            spent[stop] = n
            covered[stop] = (low[stop] <= p) & (p <= high[stop])
            stopped |= stop
        results[rule] = (estimate.mean() - p, spent.mean(), covered.mean(), estimate.std())
    return TruncationOutcome(truncation, p, results["same"][0], results["lagged"][0],
                             max(results["same"][3], results["lagged"][3]) / np.sqrt(reps),
                             results["lagged"][2], results["same"][1], results["lagged"][1])


# -- rows over several points ----------------------------------------------------------

def row_coverage(ps: np.ndarray, ns: np.ndarray | Block, reps: int, rng: np.random.Generator,
                 method: str = intervals.CLOPPER_PEARSON) -> tuple[float, float]:
    """Coverage and mean width of the equal-weight mean of point accuracies.

    `ns` gives each point's fixed sample count, or a precision block whose
    adaptive rule decides it per point (then each point's level is the
    design's, and the row uses the highest, as evaluation does)."""
    ps = np.asarray(ps, dtype=float)
    if isinstance(ns, Block):
        k, n, levels = _adaptive_samples(ns, ps, reps, rng)
        confidence = levels.max(axis=1)
    else:
        n = np.broadcast_to(np.asarray(ns, dtype=float), (reps, len(ps)))
        k = rng.binomial(n.astype(int), ps)
        confidence = np.full(reps, 0.95)
    mean, k_eff, n_eff = intervals.effective_counts(k, n)
    if method == intervals.WILSON:
        low, high = intervals.wilson_bounds(k_eff, n_eff)
    else:
        low, high = intervals.clopper_pearson_bounds(k_eff, n_eff, confidence)
    truth = ps.mean()
    return float(((low <= truth) & (truth <= high)).mean()), float((high - low).mean())


def _adaptive_samples(block: Block, ps: np.ndarray, reps: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rounds = rng.binomial(block.count, ps, size=(reps, block.max_rounds, len(ps))).cumsum(axis=1)
    k = np.zeros((reps, len(ps)))
    n = np.zeros((reps, len(ps)))
    level = np.zeros((reps, len(ps)))
    stopped = np.zeros((reps, len(ps)), bool)
    for r in range(block.max_rounds):
        size = (r + 1) * block.count
        confidence = adaptive.round_confidence(block, r)
        low, high = intervals.clopper_pearson_bounds(rounds[:, r], np.full(rounds[:, r].shape, size),
                                                     confidence)
        narrow = (high - low) / 2 <= block.target_halfwidth if block.target_halfwidth else False
        stop = ~stopped & (narrow | (r == block.max_rounds - 1))
        k[stop], n[stop], level[stop] = rounds[:, r][stop], size, confidence
        stopped |= stop
    return k, n, level


# -- the overall score -----------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """The points of an experiment: their task index and guess chance."""

    task: np.ndarray
    guess: np.ndarray

    @property
    def tasks(self) -> int:
        return int(self.task.max()) + 1


SCENARIOS = ("strong", "mixed", "weak", "at chance")


def scenario(name: str, grid: Grid, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """True accuracy among finished answers and truncation rate of every point.

    strong: excess 0.6-1.0, truncation 0-5%; mixed: strong, but a quarter of
    the points exactly at chance; weak: excess 0-0.1, truncation 0-20%
    (a small model near chance); at chance: every point at chance.
    """
    points = len(grid.task)
    excess = rng.uniform(0.6, 1.0, points)
    truncation = rng.uniform(0.0, 0.05, points)
    if name == "mixed":
        excess[rng.permutation(points)[:points // 4]] = 0.0
    elif name == "weak":
        excess, truncation = rng.uniform(0.0, 0.1, points), rng.uniform(0.0, 0.2, points)
    elif name == "at chance":
        excess, truncation = np.zeros(points), rng.uniform(0.0, 0.2, points)
    elif name != "strong":
        raise ValueError(f"unknown scenario {name!r}")
    return grid.guess + (1 - grid.guess) * excess, truncation


def true_score(grid: Grid, finished: np.ndarray, truncation: np.ndarray) -> float:
    accuracy = (1 - truncation) * finished
    x = (accuracy - grid.guess) / (1 - grid.guess) * (1 - truncation)
    means = np.bincount(grid.task, weights=x) / np.bincount(grid.task)
    return float(scoring.overall_score(np.clip(means, 0, 1)))


def score_coverage(grid: Grid, name: str, n: int, reps: int, draws: int, seed: int = 0
                   ) -> tuple[float, float, float]:
    """(coverage, mean width, true score) of the score interval in one scenario."""
    finished, truncation = scenario(name, grid, np.random.default_rng([seed, 1]))
    truth = true_score(grid, finished, truncation)
    rng = np.random.default_rng([seed, 2, n])
    cut = rng.binomial(n, truncation, size=(reps, len(grid.task)))
    right = rng.binomial(n - cut, finished)
    per_task = np.bincount(grid.task).astype(float)
    sizes = np.full(len(grid.task), float(n))
    covered, widths = 0, 0.0
    for rep in range(reps):
        x = scoring.point_scores(right[rep], cut[rep], sizes, grid.guess)
        v = scoring.point_variances(right[rep], cut[rep], np.zeros(len(sizes)), sizes, grid.guess)
        means = np.bincount(grid.task, weights=x) / per_task
        variances = np.bincount(grid.task, weights=v) / per_task ** 2
        estimate = float(scoring.overall_score(np.clip(means, 0, 1)))
        low, high = scoring.score_interval(means, variances, rng, draws)
        low, high = min(low, estimate), max(high, estimate)
        covered += low <= truth <= high
        widths += high - low
    return covered / reps, widths / reps, truth


# -- paired differences ----------------------------------------------------------------

def paired_coverage(pairs: int, discordant: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Exact coverage and mean width at each (P(only A), P(only B)).

    The interval depends only on the two discordant counts, so the outcomes
    are the (b, c) with b + c <= pairs, weighted by their trinomial probability.
    """
    from scipy.special import gammaln

    b, c = np.array([(b, c) for b in range(pairs + 1) for c in range(pairs + 1 - b)], dtype=float).T
    low, high = intervals.paired_difference_bounds(b, c, np.full(len(b), pairs))
    log_count = gammaln(pairs + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(pairs - b - c + 1)
    coverage, width = [], []
    for p_b, p_c in discordant:
        pmf = np.exp(log_count + b * np.log(p_b) + c * np.log(p_c) + (pairs - b - c) * np.log1p(-p_b - p_c))
        truth = p_b - p_c
        coverage.append(pmf[(low <= truth + 1e-12) & (truth - 1e-12 <= high)].sum())
        width.append((pmf * (high - low)).sum())
    return np.array(coverage), np.array(width)


def discordance_grid(rare_only: bool = False) -> list[tuple[float, float]]:
    """(P(only A), P(only B)) from 0.001 to 0.45; rare: the two sum to at most 0.1."""
    values = np.r_[0.001, 0.0025, 0.005, np.arange(0.01, 0.46, 0.01)]
    grid = [(float(a), float(b)) for a in values for b in values if a + b < 0.95]
    return [(a, b) for a, b in grid if a + b <= 0.1] if rare_only else grid
