"""A run's traces as chat JSONL for supervised fine-tuning.

    export_sft("results/run-a", "traces.jsonl", per_point=4, seed=0)

One line per chosen record:

    {"messages": [...the prompt messages...,
                  {"role": "assistant", "content": <the model's answer>,
                   "reasoning_content": <its reasoning, when the record has one>}],
     "task": "arithmetic", "point": "003_arithmetic_depth-1_length-4",
     "params": {"depth": 1, "length": 4, ...}, "point_accuracy": 0.75, "point_n": 8,
     "is_correct": true, "key": "003_arithmetic_depth-1_length-4-5", "model": "..."}

Which records: by default the correct ones (`is_correct` true, no error, not
truncated: an answer cut off by the token budget is no model of a finished
reply); `all_records` takes every scored record with an answer. `per_point`
caps the rows per point; `seed` fixes which rows a cap keeps and the order of
the file: rows are ordered by md5("<seed>/<key>"), which is the same on every
machine and DuckDB version. `point_accuracy` is the point's accuracy over all
its scored records (not only the exported ones); `point_n` their number.

Reasoning: a record's `reasoning` field (reasoning models' separate
reasoning text) becomes the assistant message's `reasoning_content`, the
field chat templates such as Qwen3's read; a record without one gets no such
field. `params` omits `count` and the null fields of other tasks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from contour.errors import ContourError
from contour.evaluate.export import check_target, default_target, one_source, staged_file
from contour.evaluate.sql import one_line, open_records


@dataclass(frozen=True)
class SftExport:
    path: Path
    rows: int
    points: int


def export_sft(run: str | os.PathLike[str], output: str | os.PathLike[str] | None = None,
               all_records: bool = False, per_point: int | None = None, seed: int = 0,
               overwrite: bool = False) -> SftExport:
    """Write the chat JSONL of a run (default: sft.jsonl in the run folder)."""
    if per_point is not None and per_point < 1:
        raise ContourError(f"--per-point must be 1 or more, got {per_point}")
    source = one_source(run)
    target = Path(output) if output is not None else default_target(source, "sft.jsonl")
    check_target(target, overwrite)
    db = open_records([source])
    try:
        reasoning = "reasoning" if "reasoning" in db.columns() else "NULL::VARCHAR"   # Parquet copies
        chosen = "true" if all_records else "is_correct AND NOT coalesce(is_truncated, false)"
        cap = f"WHERE rank <= {int(per_point)}" if per_point is not None else ""
        query = f"""
            WITH scored AS (
                SELECT *, avg(is_correct::INT) OVER (PARTITION BY task) AS point_accuracy,
                       count(*) OVER (PARTITION BY task) AS point_n
                FROM records WHERE error IS NULL AND is_correct IS NOT NULL),
            picked AS (
                SELECT *, md5(concat(?, '/', key)) AS draw FROM scored
                WHERE answer IS NOT NULL AND ({chosen})),
            ranked AS (
                SELECT *, row_number() OVER (PARTITION BY task ORDER BY draw) AS rank FROM picked)
            SELECT to_json(messages)::VARCHAR, answer, {reasoning}, base_task, task,
                   to_json(params)::VARCHAR, point_accuracy, point_n,
                   is_correct, key, model
            FROM ranked {cap} ORDER BY draw"""
        totals = db.con.execute("SELECT count(*) FILTER (WHERE error IS NULL AND is_correct IS NOT NULL) "
                                "FROM records").fetchone()
        if not totals[0]:
            raise ContourError(f"'{run}' has no scored records (an offline dataset has no answers); "
                               f"--sft needs a run against a model")
        cursor = db.con.execute(query, [str(seed)])
        rows = points = 0
        seen: set[str] = set()
        with staged_file(target) as staged, open(staged, "w", encoding="utf-8") as handle:
            while chunk := cursor.fetchmany(5000):
                for row in chunk:
                    handle.write(json.dumps(sft_row(*row), ensure_ascii=False) + "\n")
                    rows += 1
                    if row[4] not in seen:
                        seen.add(row[4])
                        points += 1
    except duckdb.Error as problem:
        raise ContourError(f"cannot export '{run}': {one_line(problem)}") from None
    finally:
        db.close()
    return SftExport(target, rows, points)


def sft_row(messages: str | None, answer: str, reasoning: str | None, task: str, point: str,
            params: str | None, accuracy: float, n: int, correct: bool, key: str,
            model: str | None) -> dict[str, Any]:
    """One training row from the query's columns (`messages` and `params` as JSON text)."""
    chat = [{k: v for k, v in m.items() if v is not None} for m in json.loads(messages or "[]")]
    reply: dict[str, Any] = {"role": "assistant", "content": answer}
    if reasoning:
        reply["reasoning_content"] = reasoning
    return {
        "messages": chat + [reply], "task": task, "point": point,
        "params": {k: v for k, v in json.loads(params or "{}").items()
                   if v is not None and k != "count"},
        "point_accuracy": accuracy, "point_n": n, "is_correct": correct, "key": key, "model": model,
    }
