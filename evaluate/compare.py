"""Paired comparison of runs on the same tests.

Seeded tests are identical across runs, so the records of two runs pair by
their `key` ("<point>-<sample>"). A run with several completions per test
pairs on each test's first completion (completion 0) only. A pair counts only when both records are in
n (scored, or a permanent request error counted as wrong unless excluded)
and their tests are the same (equal `input` and `target`); a pair with
different tests (another --seed, another task version) is counted as
mismatched and left out.

Per task and over all tasks, for every pair of runs:
- the four cells: both correct, only A, only B, neither;
- the accuracy difference acc_A − acc_B = (only_A − only_B) / pairs, with a
  95% interval from the discordant pairs (`contour.intervals.paired_difference`:
  MOVER with Clopper–Pearson limits; at least 94% coverage at 16-32 pairs,
  also when disagreements are rare, where the paired bootstrap covered 79%);
- the exact McNemar test (two-sided binomial test of only_A against
  only_A + only_B at 1/2);
- Holm's step-down correction over every test reported (all run pairs × all
  rows), and `significant` when the Holm-adjusted p-value is below alpha.

Memory: per run, 21 bytes a scored record (two 64-bit hashes, a verdict and a
task index) in compact arrays; the hashes are Python's str hash, stable within
the process that compares. Sorting and intersecting the keys takes a few
times that at the end (the benchmark measures it).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from contour.evaluate import stats
from contour.results.tally import RecordClass, classify

ALL_TASKS = "(all)"


@dataclass
class ComparisonRow:
    run_a: str
    run_b: str
    task: str
    pairs: int
    both_correct: int
    only_a: int
    only_b: int
    neither: int
    accuracy_a: float | None
    accuracy_b: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    p_value: float
    p_holm: float = 1.0
    significant: bool = False


@dataclass
class PairSummary:
    run_a: str
    run_b: str
    paired: int
    only_in_a: int          # scored in A, with no scored twin in B
    only_in_b: int
    mismatched: int         # same key, different test: left out


@dataclass
class Comparison:
    rows: list[ComparisonRow]
    pairs: list[PairSummary]
    alpha: float
    correction: str = "holm"
    notes: list[str] = field(default_factory=list)


class _RunPairs:
    __slots__ = ("keys", "tests", "correct", "tasks")

    def __init__(self) -> None:
        self.keys, self.tests = array("q"), array("q")
        self.correct, self.tasks = array("b"), array("i")


class PairCollector:
    """Collects, per run, what pairing needs from each record in n."""

    def __init__(self, runs: int, exclude_permanent_errors: bool = False) -> None:
        self.runs = [_RunPairs() for _ in range(runs)]
        self.task_names: dict[str, int] = {}
        self.counted = {RecordClass.SCORED} if exclude_permanent_errors else \
            {RecordClass.SCORED, RecordClass.PERMANENT_ERROR}
        self.later_completions = 0     # records left out: completions after a test's first

    def add(self, run: int, record: dict[str, Any]) -> None:
        if record.get("completion") not in (0, None):
            # A test's completions share its difficulty: paired as if independent they would
            # make the interval and McNemar's test overconfident. Each test pairs once.
            self.later_completions += 1
            return
        if classify(record) not in self.counted:
            return
        verdict = record.get("is_correct")
        store = self.runs[run]
        task = str(record["base_task"])
        index = self.task_names.setdefault(task, len(self.task_names))
        store.keys.append(hash(str(record["key"])))
        store.tests.append(hash((str(record.get("input")), str(record.get("target")))))
        store.correct.append(1 if verdict is True else 0)
        store.tasks.append(index)

    def take_arrays(self, run: int) -> tuple[np.ndarray, ...]:
        """Keys, test hashes, verdicts and task indices (first occurrence of each key).

        The run's collected buffers are released, so they do not stay in memory
        beside the arrays made from them.
        """
        s = self.runs[run]
        keys, first = np.unique(np.frombuffer(s.keys, dtype=np.int64), return_index=True)
        taken = (keys, np.frombuffer(s.tests, dtype=np.int64)[first],
                 np.frombuffer(s.correct, dtype=np.int8)[first].astype(bool),
                 np.frombuffer(s.tasks, dtype=np.int32)[first])
        self.runs[run] = _RunPairs()
        return taken


def compare_runs(collector: PairCollector, labels: Sequence[str], alpha: float = 0.05) -> Comparison:
    """Every pair of runs, per task and over all tasks, Holm-corrected."""
    names = sorted(collector.task_names, key=collector.task_names.get)
    rows: list[ComparisonRow] = []
    pairs: list[PairSummary] = []
    notes: list[str] = []
    if collector.later_completions:
        notes.append(f"tests with several completions are paired on their first completion only "
                     f"({collector.later_completions} later completions left out): completions of "
                     f"one test are not independent pairs")
    data = [collector.take_arrays(i) for i in range(len(labels))]
    for a, b in combinations(range(len(labels)), 2):
        keys_a, tests_a, right_a, tasks_a = data[a]
        keys_b, tests_b, right_b, tasks_b = data[b]
        _, ia, ib = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
        same = tests_a[ia] == tests_b[ib]
        summary = PairSummary(labels[a], labels[b], int(same.sum()), len(keys_a) - len(ia),
                              len(keys_b) - len(ib), int((~same).sum()))
        pairs.append(summary)
        if summary.mismatched:
            notes.append(f"{labels[a]} vs {labels[b]}: {summary.mismatched} records share a key but "
                         f"not the test (different --seed or task version?); left out")
        if not summary.paired:
            notes.append(f"{labels[a]} vs {labels[b]}: no scored tests in common; nothing to compare")
            continue
        ia, ib = ia[same], ib[same]
        ca, cb, task = right_a[ia], right_b[ib], tasks_a[ia]
        for t, name in enumerate(names):
            mask = task == t
            if mask.any():
                rows.append(_row(labels[a], labels[b], name, ca[mask], cb[mask]))
        rows.append(_row(labels[a], labels[b], ALL_TASKS, ca, cb))
    for row, adjusted in zip(rows, stats.holm([r.p_value for r in rows])):
        row.p_holm = adjusted
        row.significant = adjusted < alpha
    return Comparison(rows, pairs, alpha, "holm", notes)


def _row(run_a: str, run_b: str, task: str, ca: np.ndarray, cb: np.ndarray) -> ComparisonRow:
    n = len(ca)
    both = int(np.sum(ca & cb))
    only_a = int(np.sum(ca & ~cb))
    only_b = int(np.sum(~ca & cb))
    neither = n - both - only_a - only_b
    interval = stats.paired_difference(only_a, only_b, n)
    return ComparisonRow(
        run_a=run_a, run_b=run_b, task=task, pairs=n, both_correct=both, only_a=only_a,
        only_b=only_b, neither=neither,
        accuracy_a=(both + only_a) / n, accuracy_b=(both + only_b) / n,
        difference=(only_a - only_b) / n,
        difference_low=interval[0] if interval else None,
        difference_high=interval[1] if interval else None,
        p_value=stats.mcnemar_exact(only_a, only_b),
    )
