"""The `contour sql` and `contour export` commands: thin layers over sql.py and the exports.

Errors a user can cause are ContourErrors; `contour.exits` turns them into one
`error: ...` line and exit code 2, as for every command.
"""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, TextIO

import click

from contour.errors import ContourError

_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
SQL_FORMATS = ("table", "csv", "jsonl")
EXPORT_FORMATS = ("parquet", "dataset", "sft")


@click.command("sql", context_settings=_HELP)
@click.argument("query")
@click.argument("runs", nargs=-1, metavar="RUN...")
@click.option("--format", "format_", default="table", show_default=True,
              type=click.Choice(SQL_FORMATS, case_sensitive=False),
              help="table (aligned text), csv, or jsonl (one JSON object per row).")
@click.option("--output", "-o", metavar="FILE", help="Write the rows to FILE instead of stdout.")
def sql_command(query: str, runs: tuple[str, ...], format_: str, output: str | None) -> None:
    """Run one SQL statement (DuckDB) over the `records` view of the RUNs.

    Each RUN is a result folder, a records .jsonl file or a .parquet file
    (`contour export --format parquet`). The view has a row per record, a
    `run` column (the folder name) and typed `params` and `genresult`
    structs, e.g.

        contour sql "SELECT base_task, avg(is_correct::int) FROM records GROUP BY 1" results/run-a
    """
    if not runs:
        raise ContourError("give at least one RUN (a result folder, .jsonl or .parquet file)")
    from contour.evaluate.sql import run_sql
    result = run_sql(query, runs)
    if output:
        from contour.evaluate.export import staged_file
        target = Path(output)
        if not target.parent.is_dir():
            raise ContourError(f"cannot write --output '{output}': folder '{target.parent}' does not exist")
        with staged_file(target) as staged, open(staged, "w", encoding="utf-8", newline="") as handle:
            write_rows(result.columns, result.rows, format_.lower(), handle)
        click.echo(f"wrote {output}", err=True)
    else:
        write_rows(result.columns, result.rows, format_.lower(), sys.stdout)


def write_rows(columns: list[str], rows: Iterable[tuple], format_: str, out: TextIO) -> None:
    if not columns:
        return
    if format_ == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _text(v) for v in row])
    elif format_ == "jsonl":
        for row in rows:
            out.write(json.dumps(dict(zip(columns, row)), ensure_ascii=False, default=_json_value) + "\n")
    else:
        cells = [[_text(v) for v in row] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
        out.write(f"({len(cells)} row{'s' if len(cells) != 1 else ''})\n")
    out.flush()


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=_json_value)
    return str(value)


def _json_value(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else str(value)


@click.command("export", context_settings=_HELP)
@click.argument("run", metavar="RUN")
@click.option("--format", "format_", default=None, type=click.Choice(EXPORT_FORMATS, case_sensitive=False),
              help="parquet (a copy of the records, default), dataset (a Hugging Face dataset "
                   "folder of the tests) or sft (chat JSONL of the traces).")
@click.option("--sft", is_flag=True, help="Same as --format sft.")
@click.option("--output", "-o", metavar="PATH",
              help="Target file or folder (default: records.parquet, dataset/ or sft.jsonl in RUN).")
@click.option("--overwrite", is_flag=True, help="Replace an existing target.")
@click.option("--withhold", is_flag=True,
              help="dataset: contamination-safe, without targets, seed and genresult.")
@click.option("--all", "all_records", is_flag=True,
              help="sft: every scored record with an answer, not only the correct ones.")
@click.option("--per-point", type=int, metavar="N", help="sft: at most N rows per point.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="sft: seed of the row order and of which rows --per-point keeps.")
def export_command(run: str, format_: str | None, sft: bool, output: str | None, overwrite: bool,
                   withhold: bool, all_records: bool, per_point: int | None, seed: int) -> None:
    """Export a run: a Parquet copy, a Hugging Face dataset, or training traces.

    \b
    contour export RUN                          RUN/records.parquet
    contour export RUN --format dataset         RUN/dataset/ (README.md card + data/*.parquet)
    contour export RUN --format dataset --withhold
    contour export RUN --sft --per-point 4      RUN/sft.jsonl
    """
    kind = _export_kind(format_, sft, withhold, all_records, per_point, seed)
    if kind == "parquet":
        from contour.evaluate.export import export_parquet
        done = export_parquet(run, output, overwrite)
        click.echo(f"wrote {done.rows} records to {done.path}", err=True)
    elif kind == "dataset":
        from contour.evaluate.dataset import export_dataset
        made = export_dataset(run, output, withhold, overwrite)
        click.echo(f"wrote {made.rows} tests of {len(made.tasks)} task(s) to {made.path}"
                   + (" (targets, seed and genresult withheld)" if withhold else ""), err=True)
    else:
        from contour.evaluate.sft import export_sft
        traces = export_sft(run, output, all_records, per_point, seed, overwrite)
        click.echo(f"wrote {traces.rows} traces from {traces.points} points to {traces.path}", err=True)


def _export_kind(format_: str | None, sft: bool, withhold: bool, all_records: bool,
                 per_point: int | None, seed: int) -> str:
    if sft and format_ not in (None, "sft"):
        raise ContourError(f"--sft and --format {format_} ask for different exports; give one")
    kind = "sft" if sft else (format_ or "parquet").lower()
    if withhold and kind != "dataset":
        raise ContourError("--withhold applies to --format dataset only")
    if kind != "sft":
        given = [name for name, on in [("--all", all_records), ("--per-point", per_point is not None),
                                       ("--seed", seed != 0)] if on]
        if given:
            raise ContourError(f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to --sft only")
    return kind
