"""k completions per test: pass@k, maj@k, mean accuracy and agreement.

A *test* is one sample of one point; a run with `--completions K` has K
records per test (`completion` 0..K-1). Only scored completions count (a
failed request has no answer to vote with), so a test may have fewer than K.
With c correct among its n scored completions, per test:

- **pass@k** (k = 1..n): the unbiased estimator of Chen et al. (2021),
  1 − C(n−c, k) / C(n, k): the chance that k completions drawn without
  replacement from the n include a correct one. pass@1 = c/n is the test's
  **mean accuracy**. A test with fewer than k scored completions has no
  pass@k and is left out of its mean (the `pass_k_tests` column says how many
  count).
- **maj@n** (majority vote, "self-consistency"): the valid completions vote
  with their normalized extracted answers; the test scores 1 when the most
  voted answer is correct. **Tie rule**: when t answers tie for the most
  votes, the test scores (number of correct answers among them) / t, the
  expected score of breaking the tie uniformly at random, so no answer order
  is favoured. A test with no valid completion scores 0.
- **agreement**: the share of the n completions that give the most common
  answer (invalid completions count in n but never agree), from 1/n (all
  different) to 1. It needs no target: a label-free signal of how sure the
  model is at a point.

Per point, task and run each metric is the mean over tests (every test
weighs the same), with a 95% interval for the mean of per-test values in
[0, 1]: the Clopper–Pearson interval with the successes s = sum of the
values (fractional in general), i.e. the Beta(s, n−s+1) and Beta(s+1, n−s)
quantiles. For 0/1 values (pass@n, and maj@n without ties) it is the exact
binomial interval; for values in between, a variable in [0, 1] with mean μ
has variance at most μ(1−μ), the Bernoulli case, so the interval is
conservative. It treats tests, not completions, as the independent units:
completions of one test share its difficulty. The coverage is simulated in
tests/test_evaluate_passk.py and `python scripts/bench.py passk`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from math import comb
from typing import Any, Iterable, Sequence

from contour.intervals import clopper_pearson

Answer = tuple[bool, str | None]     # (is_correct, normalized answer or None when invalid)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al.'s unbiased pass@k from c correct of n completions (1 <= k <= n)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority_score(answers: Sequence[Answer]) -> float:
    """maj@n of one test: 1 if the most voted valid answer is correct; ties share (see module doc)."""
    votes = Counter(answer for _, answer in answers if answer is not None)
    if not votes:
        return 0.0
    top = max(votes.values())
    tied = {answer for answer, count in votes.items() if count == top}
    correct = {answer for ok, answer in answers if ok and answer in tied}
    return len(correct) / len(tied)


def agreement(answers: Sequence[Answer]) -> float:
    """The share of the completions that give the most common valid answer."""
    if not answers:
        raise ValueError("agreement of no completions")
    votes = Counter(answer for _, answer in answers if answer is not None)
    return max(votes.values(), default=0) / len(answers)


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Clopper–Pearson interval for the mean of values in [0, 1] (fractional successes)."""
    n = len(values)
    if n == 0:
        return None
    s = min(max(float(sum(values)), 0.0), float(n))
    return clopper_pearson(s, n, confidence)


@dataclass
class Estimate:
    """A mean over tests with its interval."""

    value: float | None
    low: float | None
    high: float | None
    tests: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Estimate":
        interval = mean_interval(values)
        if interval is None:
            return cls(None, None, None, 0)
        return cls(sum(values) / len(values), interval[0], interval[1], len(values))


@dataclass
class SamplingMetrics:
    """Every k-completion number of one group of tests."""

    tests: int                          # tests with at least one scored completion
    completions: int                    # the most scored completions of any test (K)
    full_tests: int                     # tests with all K scored
    mean_accuracy: Estimate             # = pass@1
    pass_at: dict[int, Estimate] = field(default_factory=dict)   # k -> pass@k, k = 1..K
    majority: Estimate = field(default_factory=lambda: Estimate(None, None, None, 0))  # maj@K
    agreement: Estimate = field(default_factory=lambda: Estimate(None, None, None, 0))


def sampling_metrics(tests: Iterable[Sequence[Answer]]) -> SamplingMetrics:
    """The metrics of a group of tests, each given as its scored completions."""
    tests = [t for t in tests if t]
    most = max((len(t) for t in tests), default=0)
    pass_values: dict[int, list[float]] = {k: [] for k in range(1, most + 1)}
    for answers in tests:
        n, c = len(answers), sum(ok for ok, _ in answers)
        for k in range(1, n + 1):
            pass_values[k].append(pass_at_k(n, c, k))
    full = [t for t in tests if len(t) == most]
    return SamplingMetrics(
        tests=len(tests), completions=most, full_tests=len(full),
        mean_accuracy=Estimate.of(pass_values.get(1, [])),
        pass_at={k: Estimate.of(v) for k, v in pass_values.items()},
        # maj@K and agreement over the tests that have all K, so one number means one k.
        majority=Estimate.of([majority_score(t) for t in full]),
        agreement=Estimate.of([agreement(t) for t in full]),
    )


class CompletionCollector:
    """The scored completions of every test, by (run index, point id, sample)."""

    def __init__(self) -> None:
        self.tests: dict[tuple[int, str, int], list[Answer]] = {}
        self.base_task: dict[tuple[int, str], str] = {}

    def add(self, run: int, record: dict[str, Any]) -> None:
        if record.get("error") is not None or record.get("is_correct") is None:
            return
        sample = record.get("sample")
        if not isinstance(sample, int):
            return
        answer = record.get("normalized_answer") if record.get("is_valid") is True else None
        point = record["task"]
        self.base_task.setdefault((run, point), str(record["base_task"]))
        self.tests.setdefault((run, point, sample), []).append(
            (record.get("is_correct") is True, None if answer is None else str(answer)))

    @property
    def most_completions(self) -> int:
        return max((len(t) for t in self.tests.values()), default=0)

    def groups(self, level: str) -> dict[tuple, list[list[Answer]]]:
        """Tests grouped by (run,), (run, task) or (run, task, point)."""
        out: dict[tuple, list[list[Answer]]] = {}
        for (run, point, _), answers in self.tests.items():
            task = self.base_task[(run, point)]
            key = {"run": (run,), "task": (run, task), "point": (run, task, point)}[level]
            out.setdefault(key, []).append(answers)
        return out

    def by_params(self, run_task_params: dict[tuple[int, str], tuple]) -> dict[tuple, list[list[Answer]]]:
        """Tests grouped by a key per (run, point); points mapped to None are left out."""
        out: dict[tuple, list[list[Answer]]] = {}
        for (run, point, _), answers in self.tests.items():
            key = run_task_params.get((run, point))
            if key is not None:
                out.setdefault(key, []).append(answers)
        return out


def wants_completions(manifest: dict[str, Any]) -> bool:
    """Whether a run may hold several completions per test (collect them only then:
    a plain run would pay memory per record for nothing)."""
    mode = manifest.get("mode")
    if not isinstance(mode, dict):
        return True     # no manifest: look at the records
    completions = mode.get("completions", 1)
    return isinstance(completions, int) and completions > 1
