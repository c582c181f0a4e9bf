"""Tables from an evaluation, and their Markdown, CSV and JSON renderings.

A `Table` keeps raw rows (flat dicts of numbers and strings) for machines and
a list of display columns for people: CSV and JSON carry every raw field
(interval bounds in their own columns), Markdown and HTML show the display
columns ("0.625 [0.512, 0.726]").
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Sequence

from contour import __version__
from contour.evaluate.aggregate import Metrics
from contour.evaluate.evaluation import Evaluation

Formatter = Callable[[dict[str, Any]], str]


@dataclass
class Column:
    header: str
    show: Formatter


@dataclass
class Table:
    name: str                 # machine name: "leaderboard", "task", "comparison", ...
    title: str
    rows: list[dict[str, Any]]
    columns: list[Column] = field(default_factory=list)

    def cells(self) -> list[list[str]]:
        return [[column.show(row) for column in self.columns] for row in self.rows]


def number(value: Any, digits: int = 3) -> str:
    """Display form of a raw value: floats rounded, booleans as JSON, missing as a dash."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _plain(key: str, digits: int = 3) -> Formatter:
    return lambda row: number(row.get(key), digits)


def _group_value(key: str) -> Formatter:
    return lambda row: "null" if row.get(key) is None else number(row.get(key))


def _spread(prefix: str, digits: int) -> Formatter:
    def show(row: dict[str, Any]) -> str:
        if row.get(f"{prefix}_p50") is None:
            return "–"
        return "/".join(number(row.get(f"{prefix}_{p}"), digits) for p in ("p50", "p90", "p99"))
    return show


def _interval(key: str, digits: int = 3) -> Formatter:
    def show(row: dict[str, Any]) -> str:
        if row.get(key) is None:
            return "–"
        low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
        bounds = f" [{number(low, digits)}, {number(high, digits)}]" if low is not None else ""
        return number(row[key], digits) + bounds
    return show


_METRIC_COLUMNS = [
    Column("n", _plain("n")), Column("valid", _plain("valid")), Column("correct", _plain("correct")),
    Column("truncated", _plain("truncated")), Column("errors", _plain("errors")),
    Column("scorer errors", _plain("scorer_errors")),
    Column("accuracy [95% CI]", _interval("accuracy")), Column("guess", _plain("guess")),
    Column("excess [95% CI]", _interval("excess")),
    Column("trunc. rate", _plain("truncation_rate")), Column("invalid rate", _plain("invalid_rate")),
    Column("tokens mean", _plain("tokens_mean", 0)), Column("p50", _plain("tokens_p50", 0)),
    Column("p90", _plain("tokens_p90", 0)), Column("tokens/correct", _plain("tokens_per_correct", 0)),
    Column("latency s p50/p90/p99", _spread("latency", 2)),
    Column("ttft s p50/p90/p99", _spread("ttft", 2)),
    Column("decode tok/s p50/p90/p99", _spread("decode_tps", 0)),
]
_METRIC_KEYS = {f.name for f in fields(Metrics)}
_TITLES = {"run": "Per run", "task": "Per task", "point": "Per point", "group": "Per group"}
_POINT_COLUMNS = [Column("rounds", _plain("rounds")), Column("stopped", _plain("stopped"))]


def method_note(evaluation: Evaluation, level: str) -> str:
    """What a table's accuracy and intervals are: named in every summary title."""
    options = evaluation.options
    method = f"95% {options.label} intervals"
    if options.interval == "clopper-pearson":
        method += " (sequential level at adaptively sampled points)"
    weights = "" if level == "point" else "accuracy = mean of point accuracies, each point weighted equally; "
    errors = "permanent request errors excluded" if options.exclude_permanent_errors else \
        "permanent request errors count as wrong"
    return f"{weights}{method}; {errors}"


def summary_tables(evaluation: Evaluation, levels: Sequence[str] = ("run", "task", "point", "group")
                   ) -> list[Table]:
    """The leaderboard, the requested summary levels and the comparison, in that order."""
    tables = [runs_table(evaluation), leaderboard_table(evaluation)]
    for level in levels:
        rows = [row.flat() for row in evaluation.rows(level)]
        if not rows:
            continue
        keys = [k for k in rows[0] if k not in ("level", "run") and k not in _METRIC_KEYS
                and k != "task_score"]
        columns = [Column("run", _plain("run"))] + [Column(k, _group_value(k)) for k in keys] + _METRIC_COLUMNS
        if level == "task":
            columns.append(Column("task score", _plain("task_score")))
        if level == "point":
            columns += _POINT_COLUMNS
        title = _TITLES[level] + (f" ({', '.join(evaluation.group_by)})" if level == "group" else "")
        title += f" — {method_note(evaluation, level)}"
        tables.append(Table(level, title, rows, columns))
        if level == "task":
            tables.append(fits_table(evaluation))
    if evaluation.comparison is not None:
        tables.extend(comparison_tables(evaluation))
    from contour.evaluate.sampling_tables import sampling_tables   # imports this module
    tables.extend(sampling_tables(evaluation, levels))
    return tables


def runs_table(evaluation: Evaluation) -> Table:
    rows = [{"run": r.label, "folder": r.location, "records": r.records,
             "filtered_out": r.records - r.kept, "damaged_lines": len(r.damaged),
             "seed": r.manifest.get("seed")} for r in evaluation.runs]
    columns = [Column(h, _plain(k)) for h, k in [("run", "run"), ("folder", "folder"),
               ("records", "records"), ("filtered out", "filtered_out"),
               ("damaged lines", "damaged_lines"), ("seed", "seed")]]
    return Table("runs", "Runs", rows, columns)


def leaderboard_table(evaluation: Evaluation) -> Table:
    scores = sorted(evaluation.scores, key=lambda s: -1.0 if s.score is None else s.score, reverse=True)
    rows = [{"rank": i + 1, "run": s.run, "score": s.score, "score_low": s.low, "score_high": s.high,
             "tasks": len(s.tasks), "points": s.points, "resamples": s.resamples}
            for i, s in enumerate(scores)]
    columns = [Column("rank", _plain("rank")), Column("run", _plain("run")),
               Column("score [95% CI]", _interval("score", 1)), Column("tasks", _plain("tasks")),
               Column("points", _plain("points"))]
    return Table("leaderboard", "Leaderboard (score 0–100; 95% interval: task-level normal "
                 "approximation through the geometric mean, see docs/evaluation.md)", rows, columns)


def fits_table(evaluation: Evaluation) -> Table:
    """Per run, task and axis: where accuracy falls halfway to chance (see fits.py)."""
    from contour.evaluate.fits import axis_fits     # scipy.optimize: only when tables are made
    rows = [fit.row() for fit in axis_fits(evaluation)]
    columns = [Column("run", _plain("run")), Column("task", _plain("task")), Column("axis", _plain("axis")),
               Column("midpoint [95% CI]", _plain("fit")), Column("slope", _plain("slope")),
               Column("values", _plain("values")), Column("n", _plain("n"))]
    return Table("fits", "Difficulty fits (axis value where accuracy is halfway between 1 and "
                         "chance; logistic, 95% profile interval)", rows, columns)


def comparison_tables(evaluation: Evaluation) -> list[Table]:
    comparison = evaluation.comparison
    if comparison is None:
        return []
    rows = [asdict(r) for r in comparison.rows]
    columns = [Column(h, _plain(k)) for h, k in [
        ("run A", "run_a"), ("run B", "run_b"), ("task", "task"), ("pairs", "pairs"),
        ("both", "both_correct"), ("only A", "only_a"), ("only B", "only_b"), ("neither", "neither")]]
    columns += [Column("acc A", _plain("accuracy_a")), Column("acc B", _plain("accuracy_b")),
                Column("A − B [95% CI]", _interval("difference")),
                Column("McNemar p", lambda r: _p(r["p_value"])),
                Column("Holm p", lambda r: _p(r["p_holm"])),
                Column("significant", lambda r: "yes" if r["significant"] else "no")]
    title = (f"Paired comparison (A − B: 95% MOVER–Clopper–Pearson interval over the paired tests; "
             f"exact McNemar, Holm-corrected over {len(rows)} tests, alpha {comparison.alpha:g})")
    pairs = [asdict(p) for p in comparison.pairs]
    pair_columns = [Column(h, _plain(k)) for h, k in [
        ("run A", "run_a"), ("run B", "run_b"), ("paired", "paired"), ("only in A", "only_in_a"),
        ("only in B", "only_in_b"), ("mismatched tests", "mismatched")]]
    return [Table("comparison", title, rows, columns), Table("pairing", "Pairing", pairs, pair_columns)]


def _p(value: float) -> str:
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def to_markdown(tables: Sequence[Table], notes: Sequence[str] = ()) -> str:
    out = []
    for table in tables:
        if not table.rows:
            continue
        out.append(f"### {table.title}\n")
        out.append("| " + " | ".join(_md(c.header) for c in table.columns) + " |")
        out.append("|" + "|".join("---" for _ in table.columns) + "|")
        out.extend("| " + " | ".join(_md(cell) for cell in row) + " |" for row in table.cells())
        out.append("")
    out.extend(f"> {note}" for note in notes)
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_csv(tables: Sequence[Table]) -> str:
    """One CSV: a `table` column names the table; columns are the union of all raw fields."""
    keys: dict[str, None] = {"table": None}
    for table in tables:
        for row in table.rows:
            keys.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(keys), lineterminator="\n")
    writer.writeheader()
    for table in tables:
        for row in table.rows:
            writer.writerow({"table": table.name, **{k: _csv(v) for k, v in row.items()}})
    return buffer.getvalue()


def _csv(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return value


def to_json(evaluation: Evaluation, tables: Sequence[Table]) -> str:
    document = {
        "contour_version": __version__,
        "where": evaluation.where,
        "group_by": evaluation.group_by,
        "runs": [{"label": r.label, "folder": r.location, "model": r.model,
                  "template": r.template, "sampler": r.sampler, "records": r.records,
                  "kept": r.kept, "damaged": [asdict(d) for d in r.damaged],
                  "manifest": r.manifest} for r in evaluation.runs],
        "tables": {t.name: t.rows for t in tables if t.name != "runs"},
        "notes": evaluation.comparison.notes if evaluation.comparison else [],
    }
    return json.dumps(finite(document), indent=2, ensure_ascii=False) + "\n"


def finite(value: Any) -> Any:
    """`value` with NaN and infinities as None, so it is valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value
