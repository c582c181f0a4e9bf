"""Benchmark: DuckDB paths (filters, SQL, Parquet) against the plain streaming evaluation.

    python -m contour.evaluate.sqlbench [--sizes 100000 1000000]

On the same synthetic records as `contour.evaluate.bench` (about 1 KB each),
each row runs in a fresh subprocess and reports seconds, records per second,
peak resident memory and its time as a ratio to the plain evaluation:

- evaluate (plain): stream, tally, score, Markdown (no DuckDB);
- evaluate --where --group-by: the same plus DuckDB's filter and groups;
- sql on JSONL: `SELECT base_task, avg(is_correct::int) ... GROUP BY 1` over records.jsonl;
- export parquet: the Parquet copy;
- sql on Parquet: the same query over the copy;
- html report: evaluation plus the interactive report (fits included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contour.evaluate.bench import GROUP_BY, WHERE, _peak_rss_mb, write_synthetic

QUERY = "SELECT base_task, avg(is_correct::int) AS accuracy, count(*) AS n FROM records GROUP BY 1"


def _run(mode: str, folder: str) -> int:
    from contour.evaluate import evaluate, summary_tables, to_markdown
    if mode == "evaluate (plain)":
        result = evaluate([folder])
        to_markdown(summary_tables(result))
        return result.runs[0].records
    if mode == "evaluate --where --group-by":
        result = evaluate([folder], where=WHERE, group_by=GROUP_BY)
        to_markdown(summary_tables(result))
        return result.runs[0].records
    if mode == "sql on JSONL":
        from contour.evaluate.sql import run_sql
        return sum(row[2] for row in run_sql(QUERY, [folder]).rows)
    if mode == "export parquet":
        from contour.evaluate.export import export_parquet
        return export_parquet(folder, Path(folder) / "records.parquet", overwrite=True).rows
    if mode == "sql on Parquet":
        from contour.evaluate.sql import run_sql
        return sum(row[2] for row in run_sql(QUERY, [Path(folder) / "records.parquet"]).rows)
    if mode == "html report":
        from contour.evaluate.report import render_html
        result = evaluate([folder])
        render_html(result)
        return result.runs[0].records
    raise ValueError(mode)


MODES = ["evaluate (plain)", "evaluate --where --group-by", "sql on JSONL", "export parquet",
         "sql on Parquet", "html report"]


def measure(mode: str, folder: str) -> dict:
    start = time.perf_counter()
    records = _run(mode, folder)
    return {"records": records, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m contour.evaluate.sqlbench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    with tempfile.TemporaryDirectory(prefix="contour-sqlbench-") as scratch:
        print(f"{'mode':<30} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12} "
              f"{'time / plain':>13}")
        for size in args.sizes:
            folder = Path(scratch) / f"synthetic-{size}"
            write_synthetic(folder, size)
            plain = None
            for mode in MODES:
                done = subprocess.run([sys.executable, "-m", "contour.evaluate.sqlbench", "--measure",
                                       mode, str(folder)], capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                plain = plain or row["seconds"]
                print(f"{mode:<30} {row['records']:>9} {row['seconds']:>8.2f} "
                      f"{row['records'] / row['seconds']:>10.0f} {row['peak_rss_mb']:>12.0f} "
                      f"{row['seconds'] / plain:>13.2f}", flush=True)
        print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cores; "
              f"where = {WHERE!r}, group-by = {', '.join(GROUP_BY)}; query = {QUERY!r})")


if __name__ == "__main__":
    main(sys.argv[1:])
