"""The overall score of a run across tasks, with its 95% interval.

    point score   x_p = (acc_p − g_p) / (1 − g_p) × (1 − trunc_p)     (not clipped)
    task score    S_t = clip(mean of x_p over the task's points, 0, 1)
    overall score Score = 100 × geometric mean over tasks of max(S_t, 0.01)

acc_p, trunc_p and g_p are the point's accuracy, truncation rate and mean
guess chance over the records in its n. Points, not records, are averaged so
that each point of the difficulty grid weighs the same. The clip is applied
to the task, not to each point: clipping every point's excess at 0 turned
the noise of points at chance into score (an upward bias that made the old
interval miss a weak model's true score 90-98% of the time).

The interval (docs/evaluation.md has the formula and its simulated coverage):
1. Each task's mean T_t = mean_p x_p is close to normal: a mean of many
   independent points. Its variance is the sum of the points' delta-method
   variances / K_t², computed with p̃ = (correct + ½)/(n + 1) and
   t̃ = (truncated + ½)/(n + 1), so a point with no success is not taken for
   certain.
2. `resamples` Monte Carlo draws T*_t ~ N(T_t, V_t), independent over tasks,
   are pushed through the clip, the floor and the geometric mean; the upper
   bound is their 97.5th percentile.
3. The lower bound is the 2.5th percentile of the same draws with every task
   that is not clearly above the floor held at the floor. A task is clearly
   above it when T_t − z·sqrt(V_t) > 0.01 with a one-sided level that makes
   all tasks jointly 97.5% (Šidák). Without this step the interval could
   not contain a score at the floor: every draw lies above it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Sequence

import numpy as np

from contour.results.tally import Tally

FLOOR = 0.01          # task scores below 1% count as 1% (else one zero task zeroes the score)
RESAMPLES = 1000
METHOD = "task-level normal approximation, Monte Carlo through the geometric mean"


@dataclass
class RunScore:
    run: str
    score: float | None                 # 0..100; None when nothing is scored
    low: float | None
    high: float | None
    tasks: dict[str, float] = field(default_factory=dict)   # S_t, 0..1
    points: int = 0
    resamples: int = 0
    method: str = METHOD


def point_scores(correct: np.ndarray, truncated: np.ndarray, n: np.ndarray,
                 guess: np.ndarray) -> np.ndarray:
    """x_p for arrays of counts (any broadcastable shape), not clipped; needs n > 0, guess < 1."""
    return (correct / n - guess) / (1 - guess) * (1 - truncated / n)


def point_variances(correct: np.ndarray, truncated: np.ndarray, both: np.ndarray, n: np.ndarray,
                    guess: np.ndarray) -> np.ndarray:
    """Delta-method variance of x_p, from half-count-adjusted proportions.

    Var = [d_p² p(1 − p) + d_t² t(1 − t) + 2 d_p d_t (b − p t)] / n with
    d_p = (1 − t)/(1 − g), d_t = −(p − g)/(1 − g), b = P(correct and truncated).
    """
    p = (correct + 0.5) / (n + 1)
    t = (truncated + 0.5) / (n + 1)
    b = both / n
    d_p = (1 - t) / (1 - guess)
    d_t = -(p - guess) / (1 - guess)
    variance = (d_p ** 2 * p * (1 - p) + d_t ** 2 * t * (1 - t) + 2 * d_p * d_t * (b - p * t)) / n
    return np.maximum(variance, 0.0)


def overall_score(task_scores: np.ndarray) -> np.ndarray:
    """100 × geometric mean of the floored task scores, along the last axis."""
    return 100 * np.exp(np.log(np.maximum(task_scores, FLOOR)).mean(axis=-1))


def score_interval(task_means: np.ndarray, task_variances: np.ndarray, rng: np.random.Generator,
                   draws: int) -> tuple[float, float]:
    """The 95% interval of the overall score from the unclipped task means and their variances."""
    sd = np.sqrt(task_variances)
    sample = np.clip(task_means + rng.standard_normal((draws, len(task_means))) * sd, 0.0, 1.0)
    high = float(np.percentile(overall_score(sample), 97.5))
    one_sided = 1 - 0.975 ** (1 / len(task_means))
    clear = task_means - NormalDist().inv_cdf(1 - one_sided) * sd > FLOOR
    low = float(np.percentile(overall_score(np.where(clear, sample, FLOOR)), 2.5))
    return low, high


def run_score(run: str, points: Sequence[tuple[str, Tally]], seed: int = 0,
              resamples: int = RESAMPLES, exclude_permanent_errors: bool = False) -> RunScore:
    """Score one run from its point tallies [(task name, tally), ...]."""
    counted = [(task, t.counts(exclude_permanent_errors)) for task, t in points]
    scored = [(task, c) for task, c in counted if c.n > 0 and c.guess is not None and c.guess < 1]
    if not scored:
        return RunScore(run, None, None, None, {}, 0, 0)
    names = sorted({task for task, _ in scored})
    index = np.array([names.index(task) for task, _ in scored])
    n = np.array([c.n for _, c in scored], dtype=float)
    correct = np.array([c.correct for _, c in scored], dtype=float)
    truncated = np.array([c.truncated for _, c in scored], dtype=float)
    both = np.array([c.correct_truncated for _, c in scored], dtype=float)
    guess = np.array([c.guess for _, c in scored], dtype=float)
    # Several completions per test are worth fewer independent trials (clustered_size).
    design_effect = n / np.array([c.effective_n for _, c in scored], dtype=float)

    per_task = np.bincount(index, minlength=len(names)).astype(float)
    means = np.bincount(index, weights=point_scores(correct, truncated, n, guess),
                        minlength=len(names)) / per_task
    task_scores = np.clip(means, 0.0, 1.0)
    overall = float(overall_score(task_scores))
    low = high = None
    if resamples > 0:
        variances = np.bincount(index, weights=point_variances(correct, truncated, both, n, guess) * design_effect,
                                minlength=len(names)) / per_task ** 2
        rng = np.random.default_rng([seed, zlib.crc32(run.encode("utf-8"))])
        low, high = score_interval(means, variances, rng, resamples)
        low, high = min(low, overall), max(high, overall)
    return RunScore(run=run, score=overall, low=low, high=high,
                    tasks={name: float(s) for name, s in zip(names, task_scores)},
                    points=len(scored), resamples=resamples)
