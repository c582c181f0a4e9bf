"""What the interactive report draws: every number the page needs, computed here.

The page (report.py, assets/explorer.js) only arranges these numbers into
Plotly charts; every rate and interval comes from `aggregate.metrics`, the
same function as the tables, so the charts and the tables cannot disagree.

Per task:
- `cells["a|b"]`: metrics per (run, value of axis a, value of axis b), pooled
  over the other axes, for every pair of axes (a before b in the task's axis
  order); the page transposes for (b, a);
- `curves[axis]`: metrics per (run, axis value), pooled over the other axes;
- `fits[axis]`: the difficulty fit per run (fits.py);
- `sampling[axis]`: for runs with k > 1 completions per test, pass@1,
  pass@K, maj@K and agreement per (run, axis value), from passk.py;
- `summary`: the task's metrics per run.
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any, Sequence

from contour.evaluate.aggregate import Metrics, metrics
from contour.evaluate.evaluation import Evaluation, order_key
from contour.evaluate.tables import Table, finite


def cell(run: int, m: Metrics, **where: Any) -> dict[str, Any]:
    """The numbers of one chart element (a bar, a point, a heatmap cell)."""
    return {"run": run, **where, "n": m.n, "correct": m.correct, "acc": m.accuracy,
            "low": m.accuracy_low, "high": m.accuracy_high, "guess": m.guess, "excess": m.excess,
            "trunc": m.truncation_rate, "tokens": m.tokens_mean, "errors": m.errors}


def explorer_data(evaluation: Evaluation, tables: Sequence[Table] = ()) -> dict[str, Any]:
    fit_rows = next((t.rows for t in tables if t.name == "fits"), None)
    if fit_rows is None:
        from contour.evaluate.fits import axis_fits
        fit_rows = [f.row() for f in axis_fits(evaluation)]
    labels = [r.label for r in evaluation.runs]
    task_rows = evaluation.rows("task")
    tasks = []
    for index, task in enumerate(evaluation.tasks()):
        axes = evaluation.axes(task)
        curves, values = {}, {}
        for axis in axes:
            tallies = evaluation.by_params(task, [axis])
            values[axis] = sorted({key[1] for key in tallies}, key=lambda v: order_key((v,)))
            curves[axis] = [cell(key[0], metrics(t, evaluation.options), x=key[1])
                            for key, t in sorted(tallies.items(), key=lambda kv: order_key(kv[0]))]
        cells = {}
        for a, b in combinations(axes, 2):
            tallies = evaluation.by_params(task, [a, b])
            cells[f"{a}|{b}"] = [cell(key[0], metrics(t, evaluation.options), x=key[1], y=key[2]) for key, t in tallies.items()]
        fits: dict[str, list[dict[str, Any]]] = {}
        for row in fit_rows:
            if row["task"] == task and row["run"] in labels:
                fits.setdefault(row["axis"], []).append({**row, "run": labels.index(row["run"])})
        summary = [cell(labels.index(r.run), r.metrics) for r in task_rows if r.group.get("task") == task]
        sampling = {axis: sampling_curve(evaluation, task, axis) for axis in axes}
        tasks.append({
            "name": task, "id": f"task-{index}", "axes": axes, "values": values,
            "numeric": {a: all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values[a])
                        for a in axes},
            "curves": curves, "cells": cells, "fits": fits, "summary": summary,
            "sampling": {axis: rows for axis, rows in sampling.items() if rows},
        })
    runs = [{"label": s.run, "score": s.score, "low": s.low, "high": s.high} for s in evaluation.scores]
    return {"runs": runs, "tasks": tasks}


def sampling_curve(evaluation: Evaluation, task: str, axis: str) -> list[dict[str, Any]]:
    """pass@1, pass@K, maj@K and agreement per (run, axis value) of the runs with K > 1."""
    from contour.evaluate.filters import group_value
    from contour.evaluate.passk import sampling_metrics
    collector = evaluation.completions
    if collector is None or collector.most_completions < 2:
        return []
    mapping = {key: (key[0], group_value(info.params.get(axis)))
               for key, info in evaluation.aggregator.points.items() if info.base_task == task}
    rows = []
    for key, tests in sorted(collector.by_params(mapping).items(), key=lambda kv: order_key(kv[0])):
        found = sampling_metrics(tests)
        if found.completions < 2:
            continue
        series = {"pass@1": found.mean_accuracy, f"pass@{found.completions}": found.pass_at.get(found.completions),
                  f"maj@{found.completions}": found.majority, "agreement": found.agreement}
        rows.append({"run": key[0], "x": key[1], "tests": found.tests, "k": found.completions,
                     "series": {name: {"value": e.value, "low": e.low, "high": e.high}
                                for name, e in series.items() if e is not None}})
    return rows


def to_script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no '<', '>' or '&' characters)."""
    text = json.dumps(finite(value), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
