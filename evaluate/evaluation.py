"""One streaming pass over result folders, and the evaluation it produces.

`evaluate()` reads each folder line by line, applies the --where filter,
tallies records into (run, point, group) cells, optionally collects what a
paired comparison needs, and then computes scores. Memory grows with the
number of cells and with 4 bytes (plus 21 with --compare) per scored record,
never with the size of the records themselves; runs made with --completions
K > 1 also keep each scored completion's verdict and normalised answer
(about 100 bytes) for pass@k and majority votes (passk.py).

Vocabulary: a *run* is one result folder; a *task* is a record's `base_task`
(e.g. "arithmetic"); a *point* is a record's `task` field, the id of one point
of the difficulty grid (e.g. "003_arithmetic_depth-1_length-4").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from contour.errors import ContourError
from contour.evaluate.aggregate import Aggregator, MetricOptions, SummaryRow, Tally, metrics
from contour.evaluate.compare import Comparison, PairCollector, compare_runs
from contour.evaluate.filters import group_value
from contour.evaluate.selection import RecordSelector
from contour.results.folders import DamagedLine, join_shards, open_result_folder, report_to_stderr
from contour.evaluate.passk import CompletionCollector, wants_completions
from contour.evaluate.reasoning import ReasoningCollector
from contour.evaluate.rounds import Design
from contour.evaluate.score import RESAMPLES, RunScore, run_score
from contour.intervals import CLOPPER_PEARSON, METHODS

LEVELS = ("run", "task", "point", "group")


@dataclass
class RunInfo:
    """One result folder: identity, and what happened while reading it."""

    folder: Path
    label: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    template: str | None = None
    sampler: str | None = None
    records: int = 0            # readable records in the file
    kept: int = 0               # records that passed --where
    damaged: list[DamagedLine] = field(default_factory=list)
    shards: list[Path] = field(default_factory=list)    # the shard folders read as this run

    @property
    def location(self) -> str:
        """Where the records came from: the folder, or a sharded run's folders."""
        return ", ".join(map(str, self.shards)) if self.shards else str(self.folder)


@dataclass
class Evaluation:
    runs: list[RunInfo]
    aggregator: Aggregator
    scores: list[RunScore]
    where: str | None = None
    group_by: list[str] = field(default_factory=list)
    comparison: Comparison | None = None
    completions: CompletionCollector | None = None  # k completions per test (see passk.py)
    reasoning: ReasoningCollector | None = None     # reasoning and answer tokens (reasoning.py)
    options: MetricOptions = field(default_factory=MetricOptions)

    def rows(self, level: str) -> list[SummaryRow]:
        """Summary rows of one level: "run", "task", "point" or "group"."""
        if level not in LEVELS:
            raise ContourError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
        points = self.aggregator.points
        if level == "group" and not self.group_by:
            return []
        key_of: Callable[[int, str, tuple], tuple] = {
            "run": lambda run, point, group: (run,),
            "task": lambda run, point, group: (run, points[(run, point)].base_task),
            "point": lambda run, point, group: (run, points[(run, point)].base_task, point),
            "group": lambda run, point, group: (run,) + group,
        }[level]
        tallies = self.aggregator.point_rollup(key_of)
        designs = [Design.from_manifest(r.manifest) for r in self.runs]
        sampling = {key: log.sampling(designs[key[0]]) for key, log in self.aggregator.rounds.items()}
        rows = []
        for key in sorted(tallies, key=order_key):
            run = self.runs[key[0]].label
            if level == "run":
                group: dict[str, Any] = {}
            elif level == "task":
                group = {"task": key[1]}
            elif level == "point":
                group = {"task": key[1], "point": key[2]}
            else:
                group = dict(zip(self.group_by, key[1:]))
            score = self.scores[key[0]].tasks.get(key[1]) if level == "task" else None
            points = tallies[key]
            row_metrics = metrics(list(points.values()), self.options,
                                  [sampling[p].confidence for p in points],
                                  sampling[next(iter(points))] if level == "point" else None)
            rows.append(SummaryRow(level, run, group, row_metrics, score))
        return rows

    @property
    def scored(self) -> int:
        exclude = self.options.exclude_permanent_errors
        return sum(t.counts(exclude).n for t in self.aggregator.cells.values())

    def nothing_to_score(self) -> str | None:
        """A one-line explanation when no record has a verdict, else None."""
        if self.scored:
            return None
        tallies = self.aggregator.rollup(lambda run, point, group: 0)
        total = tallies.get(0, Tally())
        read = sum(r.records for r in self.runs)
        kept = sum(r.kept for r in self.runs)
        if read == 0:
            why = "the result folders hold no readable records"
        elif kept == 0:
            why = f"the filter {self.where!r} kept none of the {read} records"
        elif total.error_count == kept:
            why = f"all {kept} records are failed requests (error set)"
        else:
            failed = total.error_count + total.scorer_errors
            why = (f"{total.unscored} of {kept} records have no verdict (an offline dataset: "
                   f"answer and flags are null)" + (f", {failed} failed" if failed else ""))
        return f"nothing to score: {why}"

    def axes(self, task: str) -> list[str]:
        """Parameters of `task` that take more than one value (its difficulty axes)."""
        values: dict[str, set] = {}
        for info in self.aggregator.points.values():
            if info.base_task == task:
                for name, value in info.params.items():
                    values.setdefault(name, set()).add(group_value(value))
        return [name for name, seen in values.items() if len(seen) > 1]

    def tasks(self) -> list[str]:
        return sorted({info.base_task for info in self.aggregator.points.values()})

    def by_params(self, task: str, names: Sequence[str]) -> dict[tuple, Tally]:
        """Tallies of `task` keyed by (run index, value of each named parameter)."""
        points = self.aggregator.points

        def key_of(run: int, point: str, group: tuple) -> tuple:
            info = points[(run, point)]
            if info.base_task != task:
                return ()
            return (run,) + tuple(group_value(info.params.get(n)) for n in names)
        tallies = self.aggregator.rollup(key_of)
        tallies.pop((), None)
        return tallies


def order_key(key: tuple) -> tuple:
    """Sort key for tuples of mixed values: numbers (numerically) before the rest (as text)."""
    return tuple((0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool)
                 else (1, 0, str(v)) for v in key)


def evaluate(folders: Iterable[str | os.PathLike[str]], where: str | None = None,
             group_by: Sequence[str] = (), compare: bool = False, seed: int = 0,
             resamples: int = RESAMPLES, alpha: float = 0.05,
             on_damaged: Callable[[DamagedLine], None] | None = report_to_stderr,
             interval: str = CLOPPER_PEARSON, exclude_errors: bool = False) -> Evaluation:
    """Evaluate result folders in one streaming pass.

    `where` is a filter expression and `group_by` a list of field paths or
    expressions (see filters.py); `compare` pairs the runs (two or more needed);
    `seed` and `resamples` drive the score's Monte Carlo interval;
    `interval` is the accuracy interval ("clopper-pearson" or "wilson");
    `exclude_errors` leaves permanent request errors out of n instead of
    counting them as wrong.
    """
    if interval not in METHODS:
        raise ContourError(f"unknown --interval {interval!r}: choose one of {', '.join(METHODS)}")
    options = MetricOptions(interval, exclude_errors)
    # The shard folders of one run (--shard i/n) are read as that one run.
    opened = join_shards([open_result_folder(f) for f in folders])
    if not opened:
        raise ContourError("no result folder given")
    if compare and len(opened) < 2:
        raise ContourError("--compare needs two or more result folders")
    # --where and --group-by run in DuckDB, row by row beside the stream (selection.py).
    selector = (RecordSelector([path for f in opened for path in f.part_paths], where, group_by)
                if where is not None or group_by else None)
    first_part = 0      # the selector's index of a run's first records file
    aggregator = Aggregator()
    pairs = PairCollector(len(opened), exclude_errors) if compare else None
    completions, reasoning = CompletionCollector(), ReasoningCollector()
    runs = []
    for index, folder in enumerate(opened):
        info = RunInfo(folder.path, manifest=folder.manifest, shards=[f.path for f in folder.shards])
        runs.append(info)
        several = wants_completions(folder.manifest)

        def damaged(problem: DamagedLine, info: RunInfo = info) -> None:
            info.damaged.append(problem)
            if on_damaged is not None:
                on_damaged(problem)
        choosers = ([selector.chooser(first_part + n) for n in range(len(folder.part_paths))]
                    if selector is not None else None)
        first_part += len(folder.part_paths)
        for part, record in folder.records(damaged):
            if info.records == 0:
                info.model, info.template, info.sampler = (
                    record.get("model"), record.get("template"), record.get("sampler"))
            info.records += 1
            aggregator.log_round(index, record)
            group = choosers[part](record) if choosers is not None else ()
            if group is None:
                continue
            info.kept += 1
            aggregator.add(index, record, group, by_test=several)
            reasoning.add(index, record)
            if several:
                completions.add(index, record)
            if pairs is not None:
                pairs.add(index, record)
    if selector is not None:
        selector.close()
    _assign_labels(runs)
    point_tallies = aggregator.rollup(lambda run, point, group: (run, point))
    scores = []
    for index, info in enumerate(runs):
        # In point order, not reading order: the same records must give the
        # same score and interval however they were written (threads, shards).
        points = [(aggregator.points[key].base_task, tally)
                  for key, tally in sorted(point_tallies.items()) if key[0] == index]
        scores.append(run_score(info.label, points, seed, resamples, exclude_errors))
    comparison = compare_runs(pairs, [r.label for r in runs], alpha) if pairs is not None else None
    return Evaluation(runs, aggregator, scores, where, list(group_by), comparison,
                      completions, reasoning, options)


def summarise(folders: Iterable[str | os.PathLike[str]], **options: Any) -> Evaluation:
    """`evaluate` without a comparison; options as for `evaluate`."""
    return evaluate(folders, compare=False, **options)


def _assign_labels(runs: list[RunInfo]) -> None:
    """'model / template / sampler' when that tells the runs apart, else folder names."""
    candidates = [
        [f"{r.model} / {r.template} / {r.sampler}" if r.model else r.folder.name for r in runs],
        [r.folder.name for r in runs],
        [str(r.folder) for r in runs],
    ]
    for labels in candidates:
        if len(set(labels)) == len(labels):
            break
    else:
        labels = [f"{label} #{i + 1}" for i, label in enumerate(candidates[-1])]
    for run, label in zip(runs, labels):
        run.label = label
