"""Pictures of an evaluation, drawn with matplotlib's Agg canvas.

Figures are built with `matplotlib.figure.Figure` and an explicit Agg canvas,
never pyplot, so no global backend or figure state is touched.

- `axis_plots`: per task, accuracy along each difficulty axis (pooled over
  the other axes), one line per run, 95% error bars (the tables' interval
  method, Clopper–Pearson by default), chance dotted;
- `heatmap_plots`: per task with two or more axes, accuracy over its first
  two axes, one panel per run (at most MAX_PANELS);
- `leaderboard_plot`: the overall score of each run with its 95% interval.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from contour.evaluate.aggregate import metrics
from contour.evaluate.evaluation import Evaluation, order_key

MAX_PANELS = 6
DPI = 100


@dataclass
class Plot:
    name: str       # file stem, e.g. "axes_arithmetic"
    title: str
    png: bytes

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / f"{self.name}.png"
        path.write_bytes(self.png)
        return path


def all_plots(evaluation: Evaluation) -> list[Plot]:
    plots = [leaderboard_plot(evaluation)] if any(s.score is not None for s in evaluation.scores) else []
    from contour.evaluate.sampling_tables import sampling_plots
    return plots + axis_plots(evaluation) + heatmap_plots(evaluation) + sampling_plots(evaluation)


def _render(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _title(figure: Figure, text: str) -> None:
    """A figure title wrapped to the figure's width, so no part of it is cut off."""
    width_points = figure.get_figwidth() * 72
    per_line = max(20, int(width_points / (0.6 * 12)))       # 12 pt text, ~0.6 em a character
    figure.suptitle(textwrap.fill(text, per_line), fontsize=12)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "task"


def _ordered(values: set) -> list[Any]:
    return sorted(values, key=lambda v: order_key((v,)))


def axis_plots(evaluation: Evaluation) -> list[Plot]:
    plots = []
    for task in evaluation.tasks():
        axes = evaluation.axes(task)
        if not axes:
            continue
        columns = min(3, len(axes))
        rows = -(-len(axes) // columns)
        figure = Figure(figsize=(max(4.2 * columns, 6.0), 3.4 * rows + 0.8), layout="constrained")
        _title(figure, f"{task}: accuracy along each axis (95% {evaluation.options.label} intervals)")
        for i, axis in enumerate(axes):
            ax = figure.add_subplot(rows, columns, i + 1)
            tallies = evaluation.by_params(task, [axis])
            values = _ordered({key[1] for key in tallies})
            runs = sorted({key[0] for key in tallies})
            width = 0.3 / max(1, len(runs) - 1) if len(runs) > 1 else 0.0
            for j, run in enumerate(runs):
                xs, ys, low, high = [], [], [], []
                for x, value in enumerate(values):
                    tally = tallies.get((run, value))
                    shown = metrics(tally, evaluation.options) if tally else None     # the tables' interval
                    if shown is None or shown.accuracy is None:
                        continue
                    p, interval = shown.accuracy, (shown.accuracy_low, shown.accuracy_high)
                    xs.append(x - 0.15 + j * width if len(runs) > 1 else x)
                    ys.append(p)
                    low.append(p - interval[0])
                    high.append(interval[1] - p)
                ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=3,
                            label=evaluation.runs[run].label)
            chance = [_guess(tallies, value) for value in values]
            ax.plot(range(len(values)), chance, ":", color="grey", label="chance")
            ax.set_xticks(range(len(values)), [str(v) for v in values])
            ax.set_xlabel(axis)
            ax.set_ylabel("accuracy")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.legend(fontsize="small")
        plots.append(Plot(f"axes_{_slug(task)}", f"{task}: accuracy along each axis", _render(figure)))
    return plots


def _guess(tallies: dict, value: Any) -> float:
    n = sum(t.n for key, t in tallies.items() if key[1] == value)
    return sum(t.guess_sum for key, t in tallies.items() if key[1] == value) / n if n else np.nan


def heatmap_plots(evaluation: Evaluation) -> list[Plot]:
    plots = []
    for task in evaluation.tasks():
        axes = evaluation.axes(task)
        if len(axes) < 2:
            continue
        x_axis, y_axis = axes[0], axes[1]
        tallies = evaluation.by_params(task, [x_axis, y_axis])
        xs = _ordered({key[1] for key in tallies})
        ys = _ordered({key[2] for key in tallies})
        runs = sorted({key[0] for key in tallies})[:MAX_PANELS]
        figure = Figure(figsize=(4.6 * len(runs), 0.45 * len(ys) + 2.6), layout="constrained")
        _title(figure, f"{task}: accuracy over {x_axis} × {y_axis}")
        image = None
        for i, run in enumerate(runs):
            ax = figure.add_subplot(1, len(runs), i + 1)
            grid = np.full((len(ys), len(xs)), np.nan)
            for (r, x, y), tally in tallies.items():
                if r == run and tally.n:
                    grid[ys.index(y), xs.index(x)] = tally.correct / tally.n
            image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
            for (row, col), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if value < 0.6 else "black")
            ax.set_xticks(range(len(xs)), [str(v) for v in xs])
            ax.set_yticks(range(len(ys)), [str(v) for v in ys])
            ax.set_xlabel(x_axis)
            ax.set_ylabel(y_axis)
            ax.set_title(evaluation.runs[run].label, fontsize="small")
        if image is not None:
            figure.colorbar(image, ax=figure.axes, label="accuracy", shrink=0.9)
        plots.append(Plot(f"heatmap_{_slug(task)}", f"{task}: accuracy over {x_axis} × {y_axis}",
                          _render(figure)))
    return plots


def leaderboard_plot(evaluation: Evaluation) -> Plot:
    scores = sorted((s for s in evaluation.scores if s.score is not None), key=lambda s: s.score)
    figure = Figure(figsize=(7.5, 0.5 * len(scores) + 1.6), layout="constrained")
    ax = figure.add_subplot()
    values = [s.score for s in scores]
    low = [s.score - s.low if s.low is not None else 0 for s in scores]
    high = [s.high - s.score if s.high is not None else 0 for s in scores]
    ax.barh(range(len(scores)), values, xerr=[low, high], capsize=4, color="tab:blue", alpha=0.8)
    ax.set_yticks(range(len(scores)), [s.run for s in scores])
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (0–100, 95% interval)")
    ax.set_title("Leaderboard")
    ax.grid(axis="x", alpha=0.3)
    return Plot("leaderboard", "Leaderboard", _render(figure))
