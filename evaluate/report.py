"""The HTML report: one interactive file that opens offline in any browser.

Plotly's JavaScript (from the `plotly` pip package) is inlined, with the
numbers to draw (explorer.py) and the page's own script (assets/explorer.js):
no CDN, no server, no network. The page holds
- a leaderboard across runs (overall score and per-task accuracy, with intervals);
- per task: a heatmap over any two axes chosen in the page (accuracy, excess,
  truncation or tokens; per run), curves along each axis with interval bands,
  chance, the difficulty fit and optional truncation / token overlays, the
  k-completion curves (pass@1, pass@K, maj@K, agreement) of runs with
  several completions per test, and the task's fit table;
- every summary table, wrapped to fit the window (intervals on a second line).
Hovering any bar, point or cell shows n, correct and the interval.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Sequence

from jinja2 import Environment

from contour import __version__
from contour.evaluate.evaluation import Evaluation, evaluate
from contour.evaluate.explorer import explorer_data, to_script_json
from contour.evaluate.tables import Table, summary_tables

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="icon" href="data:,">
<style>{{ css|safe }}</style>
<script>{{ plotly|safe }}</script>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">contour {{ version }} · {{ runs|length }} run(s){% if where %} · filter <code>{{ where }}</code>{% endif %}
{% if group_by %} · grouped by <code>{{ group_by }}</code>{% endif %}</p>
{% for note in notes %}<p class="note">{{ note }}</p>
{% endfor %}
<nav><a href="#leaderboard">Leaderboard</a>{% for task in tasks %}<a href="#{{ task.id }}">{{ task.name }}</a>{% endfor %}<a href="#tables">Tables</a></nav>
<section id="leaderboard">
<h2>Leaderboard</h2>
<div class="charts-2"><div id="leaderboard-chart" class="chart"></div><div id="taskboard-chart" class="chart"></div></div>
{% for table in lead_tables %}{{ render(table) }}{% endfor %}
</section>
{% for task in tasks %}
<section id="{{ task.id }}" class="task">
<h2>{{ task.name }}</h2>
{% if task.axes|length >= 2 %}
<div class="controls">
<label>x axis <select data-control="x">{% for axis in task.axes %}<option value="{{ axis }}"{% if loop.index0 == 0 %} selected{% endif %}>{{ axis }}</option>{% endfor %}</select></label>
<label>y axis <select data-control="y">{% for axis in task.axes %}<option value="{{ axis }}"{% if loop.index0 == 1 %} selected{% endif %}>{{ axis }}</option>{% endfor %}</select></label>
<label>run <select data-control="run">{% for run in runs %}<option value="{{ loop.index0 }}">{{ run }}</option>{% endfor %}</select></label>
<label>colour <select data-control="metric"><option value="acc">accuracy</option><option value="excess">excess accuracy</option><option value="trunc">truncation rate</option><option value="tokens">mean tokens</option></select></label>
<span class="hint">pooled over the other axes</span>
</div>
<p class="hint" id="{{ task.id }}-heatmap-note"></p>
<div id="{{ task.id }}-heatmap" class="chart heatmap"></div>
{% endif %}
{% if task.axes %}
<div class="controls"><span>Along each axis, pooled over the others. Band: 95% interval · grey dotted: chance · long dashes: difficulty fit, shaded: its midpoint's interval. Overlays:</span>
<label><input type="checkbox" data-control="trunc"> truncation rate (dotted, ×)</label>
<label><input type="checkbox" data-control="tokens"> mean tokens (dashed, ◇, right axis)</label></div>
<div class="curves">{% for axis in task.axes %}<div id="{{ task.id }}-curve-{{ loop.index0 }}" class="chart curve"></div>{% endfor %}</div>
{% if task.sampling %}<p class="hint">k completions per test (means over tests, 95% Clopper–Pearson intervals; solid pass@1, dashed pass@K, dash-dot maj@K, dotted agreement):</p>
<div class="curves">{% for axis in task.axes %}{% if axis in task.sampling %}<div id="{{ task.id }}-sampling-{{ loop.index0 }}" class="chart sampling"></div>{% endif %}{% endfor %}</div>
{% endif %}
{% if task.fits %}{{ render(task.fits) }}{% endif %}
{% else %}<p class="hint">One point, no axes: see the tables.</p>
{% endif %}
</section>
{% endfor %}
<section id="tables">
<h2>Tables</h2>
{% for table in other_tables %}{{ render(table) }}{% endfor %}
</section>
<script type="application/json" id="contour-data">{{ data|safe }}</script>
<script>{{ script|safe }}</script>
</body>
</html>
"""

_TABLE = """{% if table.rows %}{% if table.folded %}<details><summary>{{ table.title }} ({{ table.rows|length }} rows)</summary>{% else %}<h3>{{ table.title }}</h3>{% endif %}
<div class="table-wrap"><table>
<thead><tr>{% for column in table.header %}<th class="{{ column.cls }}">{{ column.text }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.cells %}<tr>{% for cell in row %}<td class="{{ cell.cls }}">{{ cell.main }}{% if cell.ci %}<span class="ci">{{ cell.ci }}</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table></div>{% if table.folded %}</details>{% endif %}
{% endif %}"""

_LEAD = ("leaderboard",)
_ORDER = ("runs", "run", "task", "fits", "comparison", "pairing", "sampling_run", "sampling_task",
          "reasoning_run", "reasoning_task", "group", "point", "sampling_point", "reasoning_point")
_FOLDED = ("point", "sampling_point", "reasoning_point")


def _asset(name: str) -> str:
    return resources.files("contour.evaluate").joinpath("assets", name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """Plotly's minified JavaScript, from the installed `plotly` package."""
    from plotly.offline import get_plotlyjs
    return get_plotlyjs()


def render_html(evaluation: Evaluation, tables: Sequence[Table] | None = None,
                title: str = "Contour evaluation") -> str:
    """The report as one HTML string."""
    tables = list(tables) if tables is not None else summary_tables(evaluation)
    env = Environment(autoescape=True)
    table_template = env.from_string(_TABLE)
    data = explorer_data(evaluation, tables)
    by_name = {t.name: t for t in tables}

    def render(view: dict) -> str:
        from markupsafe import Markup
        return Markup(table_template.render(table=view))

    tasks = []
    for task in data["tasks"]:
        fits = by_name.get("fits")
        rows = [r for r in fits.rows if r["task"] == task["name"]] if fits else []
        fits_view = _view(Table("fits", f"Difficulty fits: {task['name']}", rows,
                                [c for c in fits.columns if c.header != "task"])) if rows else None
        tasks.append({"name": task["name"], "id": task["id"], "axes": task["axes"], "fits": fits_view,
                      "sampling": task["sampling"]})
    notes = [f"{d}" for r in evaluation.runs for d in r.damaged]
    if evaluation.comparison is not None:
        notes += evaluation.comparison.notes
    empty = evaluation.nothing_to_score()
    if empty:
        notes.append(empty)
    return env.from_string(_TEMPLATE).render(
        title=title, version=__version__, runs=[r.label for r in evaluation.runs],
        where=evaluation.where, group_by=", ".join(evaluation.group_by), notes=notes, tasks=tasks,
        lead_tables=[_view(by_name[n]) for n in _LEAD if n in by_name],
        other_tables=[_view(by_name[n]) for n in _ORDER if n in by_name],
        render=render, css=_asset("explorer.css"), plotly=plotly_js(), script=_asset("explorer.js"),
        data=to_script_json(data))


def _view(table: Table) -> dict:
    """Cells split into a value and its interval (shown on a second line), with alignment."""
    cells = []
    for row in table.cells():
        out = []
        for text in row:
            match = _INTERVAL.match(text)
            main, ci = (match.group(1), match.group(2)) if match else (text, "")
            main = main.replace("/", _BREAK_AFTER_SLASH)
            out.append({"main": main, "ci": ci, "cls": "" if _NUMERIC.match(text) else "text"})
        cells.append(out)
    header = [{"text": c.header.replace("/", _BREAK_AFTER_SLASH), "cls": cells[0][i]["cls"] if cells else ""}
              for i, c in enumerate(table.columns)]
    return {"title": table.title, "header": header, "rows": table.rows, "cells": cells,
            "folded": table.name in _FOLDED}


# "p50/p90/p99" spreads and their headers may wrap at a slash (a zero-width space),
# so that a table with every column still fits the window.
_BREAK_AFTER_SLASH = "/\u200b"
_NUMERIC = re.compile(r"^(–|-?[0-9][0-9.e+-]*( \[.*\])?)$")
_INTERVAL = re.compile(r"^(-?[0-9][0-9.e+-]*) (\[.*\])$")


def write_html(evaluation: Evaluation, path: str | os.PathLike[str], **options) -> Path:
    """Write the report of an evaluation; options as for `render_html`."""
    target = Path(path)
    target.write_text(render_html(evaluation, **options), encoding="utf-8")
    return target


def write_html_report(folders: Sequence[str | os.PathLike[str]], path: str | os.PathLike[str],
                      **options) -> Path:
    """Evaluate result folders and write their report in one call (options as for `evaluate`)."""
    return write_html(evaluate(folders, **options), path)
