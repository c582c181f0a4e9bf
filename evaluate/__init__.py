"""Evaluation: result folders in, numbers, tables, pictures and reports out.

    from contour import evaluate as ev
    result = ev.evaluate(["results/run-a", "results/run-b"], where="params.length >= 8",
                         group_by=["genresult.nesting"], compare=True)
    print(ev.to_markdown(ev.summary_tables(result)))
    ev.write_html(result, "report.html")

Vocabulary: a run is a result folder, a task a record's `base_task`, a point
a record's `task` (one point of the difficulty grid). Formulas and the exact
definition of every column are in docs/evaluation.md.
"""

import importlib

from contour.evaluate.aggregate import MetricOptions, Metrics, SummaryRow, Tally, metrics
from contour.evaluate.compare import Comparison, ComparisonRow, PairSummary
from contour.evaluate.evaluation import LEVELS, Evaluation, RunInfo, evaluate, summarise
from contour.results.folders import DamagedLine, ResultFolder, open_result_folder, stream_records
from contour.evaluate.score import RunScore, run_score
from contour.evaluate.stats import (binomial_interval, clopper_pearson, excess, excess_interval, holm,
                                    mcnemar_exact, mean_of_proportions, paired_difference,
                                    wilson_interval)
from contour.evaluate.tables import Table, summary_tables, to_csv, to_json, to_markdown


# Pictures, the HTML report and SQL need matplotlib, plotly and duckdb, which take
# a while to import; they load on first use (PEP 562), so text-only use starts fast.
_LAZY = {"Plot": "plots", "all_plots": "plots", "axis_plots": "plots", "heatmap_plots": "plots",
         "leaderboard_plot": "plots", "render_html": "report", "write_html": "report",
         "write_html_report": "report", "open_records": "sql", "run_sql": "sql"}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"contour.evaluate.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'contour.evaluate' has no attribute {name!r}")


def compare_folders(folders, **options) -> Comparison:
    """Paired comparison of two or more result folders (options as for `evaluate`)."""
    return evaluate(folders, compare=True, **options).comparison


__all__ = [
    "LEVELS", "Comparison", "ComparisonRow", "DamagedLine", "Evaluation", "MetricOptions", "Metrics",
    "PairSummary", "binomial_interval", "clopper_pearson", "mean_of_proportions", "paired_difference",
    "Plot", "ResultFolder", "RunInfo", "RunScore", "SummaryRow", "Table", "Tally",
    "all_plots", "axis_plots", "compare_folders", "evaluate",
    "excess", "excess_interval", "heatmap_plots", "holm", "leaderboard_plot", "mcnemar_exact",
    "metrics", "open_records", "open_result_folder", "render_html", "run_score", "run_sql",
    "stream_records", "summarise",
    "summary_tables", "to_csv", "to_json", "to_markdown", "wilson_interval", "write_html", "write_html_report",
]
