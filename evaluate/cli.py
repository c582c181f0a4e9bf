"""The `contour evaluate` command: a thin layer over `contour.evaluate`.

Every error a user can cause (a missing folder, a bad --where expression, an
unknown --format or --level) is a ContourError, printed by `contour.exits`
as one "error: ..." line with exit code 2, like every other command.
"""

from __future__ import annotations

from pathlib import Path

import click

from contour import exits
from contour.errors import ContourError
from contour.evaluate.evaluation import LEVELS, Evaluation, evaluate
from contour.evaluate.tables import summary_tables, to_csv, to_json, to_markdown

FORMATS = ("markdown", "csv", "json")


@click.command("evaluate", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("result_dirs", nargs=-1, metavar="RESULT_DIR...")
@click.option("--where", metavar="EXPR",
              help="Keep only records matching EXPR (a DuckDB SQL expression over the record "
                   "fields), e.g. \"genresult.has_distractors == true and params.length >= 8\".")
@click.option("--group-by", "group_by", multiple=True, metavar="FIELD",
              help="Add a table grouped by these record fields or expressions (repeatable), "
                   "e.g. params.length.")
@click.option("--format", "format_", default="markdown", show_default=True, metavar="FORMAT",
              help="Table format: markdown, csv or json.")
@click.option("--output", "-o", metavar="FILE", help="Write the tables to FILE instead of stdout.")
@click.option("--html", metavar="FILE",
              help="Also write the interactive HTML report (one offline file, Plotly inlined).")
@click.option("--plots", "plots_dir", metavar="DIR", help="Also write the pictures as PNG files.")
@click.option("--compare", is_flag=True,
              help="Pair the runs by test key: McNemar tests (Holm-corrected) and paired intervals.")
@click.option("--level", "levels", multiple=True, metavar="LEVEL",
              help="Summary levels to print: run, task, point, group (repeatable; default all).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the score interval's Monte Carlo draws.")
@click.option("--resamples", default=1000, show_default=True, type=int,
              help="Monte Carlo draws of the score interval (0: no score interval).")
@click.option("--interval", "interval", default="clopper-pearson", show_default=True, metavar="METHOD",
              help="Accuracy interval: clopper-pearson (keeps 95% at every p) or wilson "
                   "(as published by ReasonScape; undercovers at small n).")
@click.option("--exclude-errors", is_flag=True,
              help="Leave permanent request errors (e.g. 400 context too long) out of n "
                   "instead of counting them as wrong answers.")
@click.option("--alpha", default=0.05, show_default=True, type=float,
              help="Family-wise significance level of --compare.")
def evaluate_command(result_dirs: tuple[str, ...], where: str | None, group_by: tuple[str, ...],
                     format_: str, output: str | None, html: str | None, plots_dir: str | None,
                     compare: bool, levels: tuple[str, ...], seed: int, resamples: int,
                     alpha: float, interval: str, exclude_errors: bool) -> None:
    """Turn result folders into tables, pictures and an HTML report.

    Each RESULT_DIR holds a records.jsonl (and usually manifest.json and
    stats.json). Damaged lines are reported on stderr and skipped.
    """
    _run(result_dirs, where, group_by, format_, output, html, plots_dir, compare, levels,
         seed, resamples, alpha, interval, exclude_errors)


def _run(result_dirs, where, group_by, format_, output, html, plots_dir, compare, levels,
         seed, resamples, alpha, interval="clopper-pearson", exclude_errors=False) -> None:
    _check_options(result_dirs, format_, levels, resamples, alpha)
    evaluation = evaluate(result_dirs, where=where, group_by=group_by, compare=compare,
                          seed=seed, resamples=resamples, alpha=alpha,
                          interval=interval.lower(), exclude_errors=exclude_errors)
    empty = evaluation.nothing_to_score()
    if empty:
        click.echo(empty)
        return
    _note_empty_runs(evaluation)
    _note_scorer_errors(evaluation)
    tables = summary_tables(evaluation, levels or LEVELS)
    notes = evaluation.comparison.notes if evaluation.comparison else []
    text = {"markdown": lambda: to_markdown(tables, notes), "csv": lambda: to_csv(tables),
            "json": lambda: to_json(evaluation, tables)}[format_.lower()]()
    if output:
        _write(output, text, "--output")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    if plots_dir:
        from contour.evaluate.plots import all_plots      # matplotlib: only when asked for
        _save_plots(all_plots(evaluation), plots_dir)
    if html:
        from contour.evaluate.report import render_html   # plotly: only when asked for
        _write(html, render_html(evaluation, summary_tables(evaluation, LEVELS)), "--html")
        click.echo(f"wrote {html}", err=True)


def _check_options(result_dirs, format_, levels, resamples, alpha) -> None:
    if not result_dirs:
        raise ContourError("give at least one RESULT_DIR (a folder holding records.jsonl)")
    if format_.lower() not in FORMATS:
        raise ContourError(f"unknown --format {format_!r}: choose one of {', '.join(FORMATS)}")
    for level in levels:
        if level not in LEVELS:
            raise ContourError(f"unknown --level {level!r}: choose from {', '.join(LEVELS)}")
    if resamples < 0:
        raise ContourError(f"--resamples must be 0 or more, got {resamples}")
    if not 0 < alpha < 1:
        raise ContourError(f"--alpha must lie in (0, 1), got {alpha}")


def _note_empty_runs(evaluation: Evaluation) -> None:
    for run in evaluation.rows("run"):
        if run.metrics.n == 0:
            click.echo(f"note: {run.run}: nothing to score ({run.metrics.unscored} records without "
                       f"verdict, {run.metrics.errors} failed)", err=True)


def _note_scorer_errors(evaluation: Evaluation) -> None:
    for run in evaluation.rows("run"):
        if run.metrics.scorer_errors:
            click.echo(f"note: {run.run}: {run.metrics.scorer_errors} records hit a scorer crash "
                       f"(extra.scoring_error); they are left out of n until re-scored", err=True)


def _write(path: str, text: str, option: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as problem:
        raise ContourError(f"cannot write {option} file '{path}': {problem.strerror or problem}") from None


def _save_plots(plots, folder: str) -> None:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for plot in plots:
            plot.save(folder)
    except OSError as problem:
        raise ContourError(f"cannot write --plots folder '{folder}': {problem.strerror or problem}") from None
    click.echo(f"wrote {len(plots)} pictures to {folder}", err=True)


def main() -> None:
    exits.main(evaluate_command, prog_name="python -m contour.evaluate")


if __name__ == "__main__":   # pragma: no cover
    main()
