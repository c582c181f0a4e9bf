"""The overall score of a run across tasks, with a seeded bootstrap interval.

    point score   s_p = clip((acc_p − g_p) / (1 − g_p), 0, 1) × (1 − trunc_p)
    task score    S_t = mean of s_p over the task's points
    overall score Score = 100 × geometric mean over tasks of max(S_t, 0.01)

acc_p, trunc_p and g_p are the point's accuracy, truncation rate and mean
guess chance over its scored records. Points, not records, are averaged
within a task so that each point of the difficulty grid weighs the same
(adaptive precision gives some points more samples). A point whose guess
chance is 1 has no defined excess accuracy and is left out. docs/evaluation.md
says why this formula and what it hides.

The interval is a stratified percentile bootstrap: each point's records are
resampled with replacement within the point (the grid is fixed by design; the
samples are the random part). A resample of n records with replacement only
changes how many fall in each of the four (correct, truncated) cells, so it
is drawn exactly as a multinomial over those cells, without the records.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from contour.evaluate import stats
from contour.evaluate.aggregate import Tally

FLOOR = 0.01          # task scores below 1% count as 1% (else one zero task zeroes the score)
RESAMPLES = 1000


@dataclass
class RunScore:
    run: str
    score: float | None                 # 0..100; None when nothing is scored
    low: float | None
    high: float | None
    tasks: dict[str, float] = field(default_factory=dict)   # S_t, 0..1
    points: int = 0
    resamples: int = 0


def point_scores(correct: np.ndarray, truncated: np.ndarray, n: np.ndarray,
                 guess: np.ndarray) -> np.ndarray:
    """s_p for arrays of counts (any broadcastable shape); needs n > 0 and guess < 1."""
    excess = np.clip((correct / n - guess) / (1 - guess), 0.0, 1.0)
    return excess * (1 - truncated / n)


def overall_score(task_scores: np.ndarray) -> np.ndarray:
    """100 × geometric mean of the floored task scores, along the last axis."""
    return 100 * np.exp(np.log(np.maximum(task_scores, FLOOR)).mean(axis=-1))


def run_score(run: str, points: Sequence[tuple[str, Tally]], seed: int = 0,
              resamples: int = RESAMPLES) -> RunScore:
    """Score one run from its point tallies [(task name, tally), ...]."""
    scored = [(task, t) for task, t in points if t.n > 0 and t.guess is not None and t.guess < 1]
    if not scored:
        return RunScore(run, None, None, None, {}, 0, 0)
    names = sorted({task for task, _ in scored})
    index = np.array([names.index(task) for task, _ in scored])
    n = np.array([t.n for _, t in scored], dtype=float)
    correct = np.array([t.correct for _, t in scored], dtype=float)
    truncated = np.array([t.truncated for _, t in scored], dtype=float)
    both = np.array([t.correct_truncated for _, t in scored], dtype=float)
    guess = np.array([t.guess for _, t in scored], dtype=float)

    points_per_task = np.bincount(index, minlength=len(names))
    task_scores = np.bincount(index, weights=point_scores(correct, truncated, n, guess),
                              minlength=len(names)) / points_per_task
    overall = overall_score(task_scores)
    interval = None
    if resamples > 0:
        # One point at a time, summing into (resamples × tasks): memory does not grow with points.
        rng = np.random.default_rng([seed, zlib.crc32(run.encode("utf-8"))])
        cells = np.stack([correct - both, both, truncated - both, n - correct - truncated + both], axis=1)
        sums = np.zeros((resamples, len(names)))
        for i in range(len(n)):
            draw = rng.multinomial(int(n[i]), cells[i] / n[i], size=resamples)
            sums[:, index[i]] += point_scores(draw[:, 0] + draw[:, 1], draw[:, 1] + draw[:, 2],
                                              n[i], guess[i])
        interval = stats.percentile_interval(overall_score(sums / points_per_task))
    return RunScore(
        run=run, score=float(overall),
        low=interval[0] if interval else None, high=interval[1] if interval else None,
        tasks={name: float(s) for name, s in zip(names, task_scores)},
        points=len(scored), resamples=resamples,
    )
