"""A self-contained HTML report: one file, no scripts, no external resources.

Tables are rendered from `tables.Table`; pictures are embedded as base64 PNG
data URIs, so the file opens in any browser without a server or network.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Sequence

from jinja2 import Environment

from contour import __version__
from contour.evaluate.evaluation import Evaluation, evaluate
from contour.evaluate.plots import Plot, all_plots
from contour.evaluate.tables import Table, summary_tables

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0 1.5rem; }
.meta { color: #555; }
.note { background: #fff6d6; border-left: 4px solid #e0b000; padding: 0.3rem 0.6rem; margin: 0.3rem 0; }
.scroll { overflow-x: auto; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">contour {{ version }} · {{ runs }} run(s){% if where %} · filter <code>{{ where }}</code>{% endif %}
{% if group_by %} · grouped by <code>{{ group_by }}</code>{% endif %}</p>
{% for note in notes %}<p class="note">{{ note }}</p>
{% endfor %}
{% for section in sections %}
<section id="{{ section.id }}">
<h2>{{ section.title }}</h2>
{% for image in section.images %}<img src="data:image/png;base64,{{ image.data }}" alt="{{ image.title }}">
{% endfor %}
{% for table in section.tables %}{% if table.rows %}
{% if section.collapsed %}<details><summary>{{ table.title }} ({{ table.rows|length }} rows)</summary>{% elif table.title != section.title %}<h3>{{ table.title }}</h3>{% endif %}
<div class="scroll"><table>
<thead><tr>{% for column in table.header %}<th class="{{ column.cls }}">{{ column.text }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.cells %}<tr>{% for cell in row %}<td class="{{ cell.cls }}">{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table></div>
{% if section.collapsed %}</details>{% endif %}
{% endif %}{% endfor %}
</section>
{% endfor %}
</body>
</html>
"""


def render_html(evaluation: Evaluation, tables: Sequence[Table] | None = None,
                plots: Sequence[Plot] | None = None, title: str = "Contour evaluation") -> str:
    """The report as one HTML string (tables and embedded pictures)."""
    tables = list(tables) if tables is not None else summary_tables(evaluation)
    plots = list(plots) if plots is not None else all_plots(evaluation)
    by_name = {t.name: t for t in tables}
    pictures = {p.name: p for p in plots}

    def section(id_: str, title_: str, names: Sequence[str], images: Sequence[Plot] = (),
                collapsed: bool = False) -> dict:
        return {"id": id_, "title": title_, "collapsed": collapsed,
                "tables": [_view(by_name[n]) for n in names if n in by_name],
                "images": [{"title": p.title, "data": base64.b64encode(p.png).decode("ascii")}
                           for p in images]}

    sections = [
        section("leaderboard", "Leaderboard", ["leaderboard"],
                [pictures["leaderboard"]] if "leaderboard" in pictures else []),
        section("runs", "Runs", ["runs", "run"]),
        section("comparison", "Comparison", ["comparison", "pairing"]),
        section("tasks", "Tasks", ["task"]),
        section("axes", "Accuracy along each axis", [],
                [p for p in plots if p.name.startswith("axes_")]),
        section("heatmaps", "Accuracy over two axes", [],
                [p for p in plots if p.name.startswith("heatmap_")]),
        section("sampling", "k completions and reasoning",
                ["sampling_run", "sampling_task", "reasoning_run", "reasoning_task"],
                [p for p in plots if p.name.startswith("sampling_")]),
        section("groups", "Groups", ["group"]),
        section("points", "Points", ["point", "sampling_point", "reasoning_point"], collapsed=True),
    ]
    sections = [s for s in sections if s["tables"] and any(t["rows"] for t in s["tables"]) or s["images"]]
    notes = [f"{d}" for r in evaluation.runs for d in r.damaged]
    if evaluation.comparison is not None:
        notes += evaluation.comparison.notes
    empty = evaluation.nothing_to_score()
    if empty:
        notes.append(empty)
    return Environment(autoescape=True).from_string(_TEMPLATE).render(
        title=title, version=__version__, runs=len(evaluation.runs), where=evaluation.where,
        group_by=", ".join(evaluation.group_by), notes=notes, sections=sections)


def _view(table: Table) -> dict:
    """Cells with an alignment class: text left, numbers (and intervals) right."""
    cells = [[{"text": cell, "cls": "" if _NUMERIC.match(cell) else "text"} for cell in row]
             for row in table.cells()]
    header = [{"text": c.header, "cls": cells[0][i]["cls"] if cells else ""}
              for i, c in enumerate(table.columns)]
    return {"title": table.title, "header": header, "rows": table.rows, "cells": cells}


_NUMERIC = re.compile(r"^(–|-?[0-9][0-9.e+-]*( \[.*\])?)$")


def write_html(evaluation: Evaluation, path: str | os.PathLike[str], **options) -> Path:
    """Write the report of an evaluation; options as for `render_html`."""
    target = Path(path)
    target.write_text(render_html(evaluation, **options), encoding="utf-8")
    return target


def write_html_report(folders: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str],
                      **options) -> Path:
    """Evaluate result folders and write their report in one call (options as for `evaluate`)."""
    return write_html(evaluate(folders, **options), path)
