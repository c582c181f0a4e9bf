"""Tables and pictures for k completions per test and for reasoning tokens.

`sampling_tables` adds, after the summary tables, "k completions" tables
(pass@k, maj@K, agreement per run, task and point; only for runs with more
than one completion per test) and "Reasoning" tables (reasoning and answer
tokens; only when some record reasoned). `sampling_plots` draws pass@1,
pass@K, maj@K and agreement along each difficulty axis. Definitions:
`contour.evaluate.passk` and `contour.evaluate.reasoning`.
"""

from __future__ import annotations

from typing import Any, Sequence

from contour.evaluate.evaluation import Evaluation, order_key
from contour.evaluate.filters import group_value
from contour.evaluate.passk import Estimate, SamplingMetrics, sampling_metrics
from contour.evaluate.reasoning import reasoning_metrics
from contour.evaluate.tables import Column, Table, _interval, _plain

_TITLES = {"run": "per run", "task": "per task", "point": "per point"}
_LEVEL_KEYS = {"run": (), "task": ("task",), "point": ("task", "point")}


def shown_ks(most: int) -> list[int]:
    """The pass@k columns people see: 1, 2, 4, ... and K itself (CSV/JSON carry every k)."""
    ks, k = [], 1
    while k < most:
        ks.append(k)
        k *= 2
    return ks + [most] if most else []


def _estimate(row: dict[str, Any], name: str, estimate: Estimate) -> None:
    row[name], row[f"{name}_low"], row[f"{name}_high"] = estimate.value, estimate.low, estimate.high


def sampling_rows(evaluation: Evaluation, level: str) -> list[dict[str, Any]]:
    collector = evaluation.completions
    if collector is None:
        return []
    rows = []
    groups = collector.groups(level)
    for key in sorted(groups, key=order_key):
        found: SamplingMetrics = sampling_metrics(groups[key])
        if found.completions < 2:
            continue
        row: dict[str, Any] = {"level": level, "run": evaluation.runs[key[0]].label,
                               **dict(zip(_LEVEL_KEYS[level], key[1:])),
                               "tests": found.tests, "k": found.completions,
                               "full_tests": found.full_tests}
        _estimate(row, "mean_accuracy", found.mean_accuracy)
        for k, estimate in found.pass_at.items():
            _estimate(row, f"pass_at_{k}", estimate)
            row[f"pass_at_{k}_tests"] = estimate.tests
        _estimate(row, "majority", found.majority)
        _estimate(row, "agreement", found.agreement)
        rows.append(row)
    return rows


def sampling_tables(evaluation: Evaluation, levels: Sequence[str] = ("run", "task", "point")
                    ) -> list[Table]:
    tables = []
    for level in levels:
        if level not in _TITLES:
            continue
        rows = sampling_rows(evaluation, level)
        if rows:
            tables.append(_sampling_table(level, rows))
        rows = reasoning_rows(evaluation, level)
        if rows:
            tables.append(_reasoning_table(level, rows))
    return tables


def _sampling_table(level: str, rows: list[dict[str, Any]]) -> Table:
    ks = sorted({k for row in rows for k in shown_ks(row["k"])})
    same = len({row["k"] for row in rows}) == 1
    big_k = f"{rows[0]['k']}" if same else "K"
    columns = [Column("run", _plain("run"))] + [Column(k, _plain(k)) for k in _LEVEL_KEYS[level]]
    columns += [Column("tests", _plain("tests")), Column("k", _plain("k"))]
    columns += [Column(f"pass@{k}" + (" = mean acc." if k == 1 else "") + " [95% CI]",
                       _interval(f"pass_at_{k}")) for k in ks]
    columns += [Column(f"maj@{big_k} [95% CI]", _interval("majority")),
                Column("agreement [95% CI]", _interval("agreement"))]
    return Table(f"sampling_{level}", f"k completions per test, {_TITLES[level]} "
                 "(means over tests; Clopper–Pearson intervals over tests; majority ties shared)",
                 rows, columns)


def reasoning_rows(evaluation: Evaluation, level: str) -> list[dict[str, Any]]:
    collector = evaluation.reasoning
    if collector is None or not collector.any_reasoning:
        return []
    groups = collector.groups(level)
    rows = []
    for key in sorted(groups, key=order_key):
        found = reasoning_metrics(groups[key])
        rows.append({"level": level, "run": evaluation.runs[key[0]].label,
                     **dict(zip(_LEVEL_KEYS[level], key[1:])), **vars(found)})
    return rows


def _reasoning_table(level: str, rows: list[dict[str, Any]]) -> Table:
    columns = [Column("run", _plain("run"))] + [Column(k, _plain(k)) for k in _LEVEL_KEYS[level]]
    columns += [Column(header, _plain(key, 0 if key.endswith("mean") else 3)) for header, key in [
        ("records", "records"), ("reasoned", "reasoned"), ("tokens known", "known"),
        ("reasoning tokens mean", "reasoning_tokens_mean"), ("answer tokens mean", "answer_tokens_mean"),
        ("cut off while thinking", "cut_off_thinking")]]
    return Table(f"reasoning_{level}", f"Reasoning and answer tokens, {_TITLES[level]}", rows, columns)


def sampling_plots(evaluation: Evaluation) -> list:
    """Per run with k > 1 and task: pass@1, pass@K, maj@K and agreement along each axis."""
    collector = evaluation.completions
    if collector is None or collector.most_completions < 2:
        return []
    from contour.evaluate.plots import Plot, _render, _slug   # matplotlib: only here
    from matplotlib.figure import Figure

    plots = []
    points = evaluation.aggregator.points
    runs = sorted({run for run, _, _ in collector.tests})
    for task in evaluation.tasks():
        axes = evaluation.axes(task)
        for run in runs:
            if not axes:
                break
            columns = min(3, len(axes))
            rows = -(-len(axes) // columns)
            figure = Figure(figsize=(4.2 * columns, 3.4 * rows + 0.6), layout="constrained")
            label = evaluation.runs[run].label
            # Two short lines: one figure may be a single 4-inch panel wide.
            figure.suptitle(f"{task}: pass@k, maj@k, agreement\n{label}", fontsize="medium")
            drawn = False
            for i, axis in enumerate(axes):
                mapping = {key: (group_value(info.params.get(axis)),) for key, info in points.items()
                           if key[0] == run and info.base_task == task}
                by_value = {k: sampling_metrics(v) for k, v in collector.by_params(mapping).items()}
                values = sorted(by_value, key=order_key)
                if not values:
                    continue
                ax = figure.add_subplot(rows, columns, i + 1)
                big = max(by_value[v].completions for v in values)
                series = [("pass@1", lambda m: m.mean_accuracy),
                          (f"pass@{big}", lambda m: m.pass_at.get(big)),
                          (f"maj@{big}", lambda m: m.majority),
                          ("agreement", lambda m: m.agreement)]
                for j, (name, pick) in enumerate(series):
                    xs, ys, low, high = [], [], [], []
                    for x, value in enumerate(values):
                        estimate = pick(by_value[value])
                        if estimate is None or estimate.value is None:
                            continue
                        xs.append(x + (j - 1.5) * 0.06)
                        ys.append(estimate.value)
                        low.append(estimate.value - estimate.low)
                        high.append(estimate.high - estimate.value)
                    ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=3, label=name,
                                linestyle=":" if name == "agreement" else "-")
                    drawn = drawn or bool(xs)
                ax.set_xticks(range(len(values)), [str(v[0]) for v in values])
                ax.set_xlabel(axis)
                ax.set_ylim(-0.02, 1.02)
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.legend(fontsize="small")
            if drawn:
                suffix = f"_{run + 1}" if len(runs) > 1 else ""
                plots.append(Plot(f"sampling_{_slug(task)}{suffix}",
                                  f"{task}: k completions along each axis", _render(figure)))
    return plots
