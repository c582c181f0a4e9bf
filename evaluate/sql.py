"""DuckDB over result folders: one typed `records` view for SQL, filters and exports.

    db = open_records(["results/run-a", "results/run-b/records.parquet"])
    db.con.sql("SELECT base_task, avg(is_correct::int) FROM records GROUP BY 1").fetchall()

The view has one row per record line (per completion, if records carry a
`completion` index: each completion is its own line) and one column per
record field, plus `run` (the folder name, or the Parquet file's stem when it
is not called records.parquet). `params`, `genresult`, `usage`, `timings` and
`error` are typed STRUCTs: `params.length` is a BIGINT, `genresult.has_distractors`
a BOOLEAN. A field that takes values of different JSON types across records
(e.g. a list mixing numbers and operators) is DuckDB's JSON type.

How JSONL is read, and why:
- `read_json_objects` yields one JSON value per line; a damaged line (cut off,
  not UTF-8, not JSON) becomes NULL instead of failing the query, and lines
  that are not objects holding `task`, `base_task` and `key` are dropped: the
  same lines `load.stream_records` skips, in the same order.
- the struct types are the union of every record's shape
  (`json_group_structure` over all given files, one extra pass), merged with
  the fixed types of the ResultRecord fields, so `error.type` exists even in a
  run without errors and a field present in one run is NULL in another.
Parquet files (written by `contour export --format parquet`) are read as they are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import duckdb

from contour.errors import ContourError
from contour.results.schema import RECORDS_FILE, ResultRecord

PARQUET_FILE = "records.parquet"

# Types of the ResultRecord fields that do not depend on the task; they win over
# what the data shows (an all-null `is_correct` column is still BOOLEAN).
_SCALARS = {
    "task": "VARCHAR", "version": "BIGINT", "base_task": "VARCHAR", "key": "VARCHAR",
    "sample": "BIGINT", "step": "BIGINT", "seed": "BIGINT", "input": "VARCHAR",
    "target": "VARCHAR", "guess_chance": "DOUBLE", "model": "VARCHAR", "template": "VARCHAR",
    "sampler": "VARCHAR", "answer": "VARCHAR", "extracted_answer": "VARCHAR",
    "normalized_answer": "VARCHAR", "is_valid": "BOOLEAN", "is_correct": "BOOLEAN",
    "is_truncated": "BOOLEAN", "latency_s": "DOUBLE", "cache_hit": "BOOLEAN",
}
BASE_STRUCTURE: dict[str, Any] = {
    **_SCALARS,
    "params": {}, "genresult": {}, "response_enum": ["VARCHAR"],
    "messages": [{"role": "VARCHAR", "content": "VARCHAR"}],
    "usage": {"completion_tokens": "BIGINT", "prompt_tokens": "BIGINT", "total_tokens": "BIGINT"},
    "timings": {"finish_reason": "VARCHAR"},
    "error": {"type": "VARCHAR", "message": "VARCHAR", "status": "BIGINT"},
    "extra": "JSON",
}
# The columns, in ResultRecord order, before any field only some records have.
_ORDER = [f.name for f in fields(ResultRecord)]
_WIDEN = {"UBIGINT": "BIGINT", "UINTEGER": "BIGINT", "USMALLINT": "BIGINT", "UTINYINT": "BIGINT",
          "HUGEINT": "DOUBLE", "UHUGEINT": "DOUBLE"}


@dataclass(frozen=True)
class Source:
    """One file of records and the run it belongs to."""

    run: str
    path: Path
    kind: str          # "jsonl" or "parquet"


@dataclass
class RecordsDB:
    """A DuckDB connection holding the `records` view over some sources."""

    con: duckdb.DuckDBPyConnection
    sources: list[Source]
    structure: dict[str, Any] = field(default_factory=dict)   # JSONL sources only

    def columns(self) -> list[str]:
        return [row[0] for row in self.con.execute("DESCRIBE records").fetchall()]

    def close(self) -> None:
        self.con.close()


def resolve_sources(paths: Iterable[str | os.PathLike[str]]) -> list[Source]:
    """Each path is a result folder, a records .jsonl file or a .parquet file.

    A folder is read from its records.jsonl (the runner's file, always
    current); a folder without one but with records.parquet (an exported
    copy) is read from that. Run names are folder names, made unique.
    """
    sources = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise ContourError(f"result folder or file '{given}' does not exist")
        if path.is_dir():
            if (path / RECORDS_FILE).is_file():
                sources.append(Source(path.resolve().name, path / RECORDS_FILE, "jsonl"))
            elif (path / PARQUET_FILE).is_file():
                sources.append(Source(path.resolve().name, path / PARQUET_FILE, "parquet"))
            else:
                raise ContourError(f"'{given}' holds neither {RECORDS_FILE} nor {PARQUET_FILE}")
            continue
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".json", ".parquet"):
            raise ContourError(f"'{given}' is not a result folder, a .jsonl file or a .parquet file")
        kind = "parquet" if suffix == ".parquet" else "jsonl"
        named = path.name in (RECORDS_FILE, PARQUET_FILE)
        sources.append(Source(path.resolve().parent.name if named else path.stem, path, kind))
    if not sources:
        raise ContourError("give at least one result folder (or .jsonl / .parquet file)")
    return _unique_runs(sources)


def _unique_runs(sources: list[Source]) -> list[Source]:
    names = [s.run for s in sources]
    if len(set(names)) == len(names):
        return sources
    return [Source(f"{s.run}#{i + 1}" if names.count(s.run) > 1 else s.run, s.path, s.kind)
            for i, s in enumerate(sources)]


def open_records(paths: Iterable[str | os.PathLike[str]] | Sequence[Source]) -> RecordsDB:
    """A fresh in-memory DuckDB with the `records` view over `paths`."""
    items = list(paths)
    sources = items if items and all(isinstance(s, Source) for s in items) else resolve_sources(items)
    con = duckdb.connect()
    try:
        structure = detect_structure(con, [s.path for s in sources if s.kind == "jsonl"])
        parts = [source_sql(s, structure) for s in sources]
        con.execute("CREATE VIEW records AS " + "\nUNION ALL BY NAME\n".join(parts))
    except duckdb.Error as problem:
        con.close()
        raise ContourError(f"cannot read records from {', '.join(str(s.path) for s in sources)}: "
                           f"{one_line(problem)}") from None
    return RecordsDB(con, list(sources), structure)


def objects_sql(path: Path) -> str:
    """The record objects of one JSONL file, as a JSON column `json`, in file order."""
    return (f"SELECT json FROM read_json_objects({quote(str(path))}, format='newline_delimited', "
            f"ignore_errors=true) WHERE json_type(json) = 'OBJECT' AND json_exists(json, '$.task') "
            f"AND json_exists(json, '$.base_task') AND json_exists(json, '$.key')")


def detect_structure(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> dict[str, Any]:
    """The union of the records' shapes in `files`, merged with BASE_STRUCTURE."""
    detected: dict[str, Any] = {}
    if files:
        union = " UNION ALL ".join(objects_sql(f) for f in files)
        text = con.execute(f"SELECT json_group_structure(json) FROM ({union})").fetchone()[0]
        value = json.loads(text) if text else {}
        detected = value if isinstance(value, dict) else {}
    merged = _merge(BASE_STRUCTURE, _widen(detected))
    ordered = {name: merged[name] for name in _ORDER}
    ordered.update((name, kind) for name, kind in merged.items() if name not in ordered)
    return ordered


def _widen(node: Any) -> Any:
    """json_group_structure's types made usable: unsigned to signed, NULL (no value seen) to None."""
    if isinstance(node, dict):
        return {key: _widen(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_widen(node[0])] if node else None
    return None if node == "NULL" else _WIDEN.get(node, node)


def _merge(base: Any, seen: Any) -> Any:
    """`seen` (the data's shape) merged into `base` (the fixed types)."""
    if seen is None:
        return _settle(base)
    if base is None or isinstance(base, str):
        return _settle(base if base is not None else seen)   # a fixed type (JSON included) wins
    if isinstance(base, dict) and isinstance(seen, dict):
        keys = list(base) + [k for k in seen if k not in base]
        merged = {k: _merge(base.get(k), seen.get(k)) for k in keys}
        return merged or "JSON"
    if isinstance(base, list) and isinstance(seen, list):
        return [_merge(base[0], seen[0])]
    return "JSON"                        # the data mixes shapes: keep its JSON


def _settle(node: Any) -> Any:
    """A type with nothing more to merge: empty structs and never-seen values become JSON."""
    if isinstance(node, dict):
        return {k: _settle(v) for k, v in node.items()} or "JSON"
    if isinstance(node, list):
        return [_settle(node[0])]
    return "JSON" if node is None else node


def source_sql(source: Source, structure: dict[str, Any]) -> str:
    """A SELECT of one source's records (JSONL typed by `structure`), with its `run` column."""
    run = quote(source.run)
    if source.kind == "parquet":
        return f"SELECT {run} AS run, * EXCLUDE (run) FROM read_parquet({quote(str(source.path))})" \
            if _parquet_has_run(source.path) else \
            f"SELECT {run} AS run, * FROM read_parquet({quote(str(source.path))})"
    return (f"SELECT {run} AS run, unnest(json_transform(json, {quote(json.dumps(structure))})) "
            f"FROM ({objects_sql(source.path)})")


def _parquet_has_run(path: Path) -> bool:
    with duckdb.connect() as con:
        names = [row[0] for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({quote(str(path))})").fetchall()]
    return "run" in names


def field_paths(structure: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted path into a structure, e.g. params.length, messages.role."""
    paths = []
    for name, node in structure.items():
        path = f"{prefix}{name}"
        paths.append(path)
        if isinstance(node, list) and node and isinstance(node[0], dict):
            node = node[0]
        if isinstance(node, dict):
            paths.extend(field_paths(node, path + "."))
    return paths


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def one_line(problem: BaseException) -> str:
    """DuckDB's message without its multi-line query excerpt."""
    lines = [line.strip() for line in str(problem).splitlines()]
    kept = [line for line in lines if line and not line.startswith("LINE ") and set(line) != {"^"}]
    return " ".join(kept)


@dataclass
class QueryResult:
    columns: list[str]
    rows: Iterator[tuple]


def run_sql(query: str, paths: Iterable[str | os.PathLike[str]], batch: int = 10_000) -> QueryResult:
    """Run one SQL statement over the `records` view of `paths`; rows stream in batches."""
    if not query.strip():
        raise ContourError("the SQL query is empty")
    db = open_records(paths)
    try:
        cursor = db.con.execute(query)
    except duckdb.Error as problem:
        db.close()
        raise ContourError(f"SQL error: {one_line(problem)}") from None
    columns = [d[0] for d in cursor.description] if cursor.description else []

    def rows() -> Iterator[tuple]:
        try:
            while True:
                chunk = cursor.fetchmany(batch)
                if not chunk:
                    return
                yield from chunk
        except duckdb.Error as problem:
            raise ContourError(f"SQL error: {one_line(problem)}") from None
        finally:
            db.close()
    return QueryResult(columns, rows() if columns else iter(()))
