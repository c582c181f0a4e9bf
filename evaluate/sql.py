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
- DuckDB's `read_json` with the ResultRecord fields as explicit columns (its
  fast reader; no auto-detection, which fails on a line that is valid JSON but
  not an object); a damaged line (cut off, not UTF-8, not JSON, not an object)
  becomes a row of NULLs and is dropped with every row lacking `task`,
  `base_task` or `key`: the lines `load.stream_records` skips, in file order.
  Lines a resume superseded (records.superseded.jsonl) are left out too.
  A value of the wrong type becomes NULL, not an error. Top-level fields that
  ResultRecord does not declare are not read; fields it declares but an older
  record lacks (`completion`, `reasoning`, ...) are NULL.
- the STRUCT types are the union of every record's shape (the distinct
  `json_structure`s of the object-valued fields of all given files, one extra
  streaming pass), merged with the fixed types of the ResultRecord fields, so
  `error.type` exists even in a run without errors and a field present in one
  run is NULL in another.
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
from contour.results.writer import read_superseded

PARQUET_FILE = "records.parquet"

# Types of the ResultRecord fields that hold objects or lists: fixed parts, to which
# the data's own shape is added (params and genresult are wholly the data's).
BASE_STRUCTURE: dict[str, Any] = {
    "params": {}, "genresult": {}, "response_enum": ["VARCHAR"],
    "messages": [{"role": "VARCHAR", "content": "VARCHAR"}],
    "usage": {"completion_tokens": "BIGINT", "prompt_tokens": "BIGINT", "total_tokens": "BIGINT"},
    "timings": {"finish_reason": "VARCHAR"},
    "error": {"type": "VARCHAR", "message": "VARCHAR", "status": "BIGINT"},
    "extra": "JSON",
}
_DETECTED = ("params", "genresult", "usage", "timings", "error")   # small objects: shapes worth reading
_WIDEN = {"UBIGINT": "BIGINT", "UINTEGER": "BIGINT", "USMALLINT": "BIGINT", "UTINYINT": "BIGINT",
          "HUGEINT": "DOUBLE", "UHUGEINT": "DOUBLE"}


def _column_type(annotation: str) -> str:
    """The DuckDB type a ResultRecord field is read as (objects and lists as JSON)."""
    text = str(annotation)
    for word, kind in (("dict", "JSON"), ("list", "JSON"), ("bool", "BOOLEAN"), ("int", "BIGINT"),
                       ("float", "DOUBLE"), ("str", "VARCHAR")):
        if word in text:
            return kind
    return "JSON"


# One column per ResultRecord field, in its order; a field added there is read here too.
RECORD_COLUMNS: dict[str, str] = {f.name: _column_type(f.type) for f in fields(ResultRecord)}


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

    @property
    def schema(self) -> dict[str, Any]:
        """Every column's type: a type name, or the structure of an object / list column."""
        return {"run": "VARCHAR", **{name: self.structure.get(name, kind)
                                     for name, kind in RECORD_COLUMNS.items()}}

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
    con.execute("SET enable_progress_bar = false")      # it would print into the query's output
    try:
        structure = detect_structure(con, [s.path for s in sources if s.kind == "jsonl"])
        parts = [source_sql(s, structure) for s in sources]
        con.execute("CREATE VIEW records AS " + "\nUNION ALL BY NAME\n".join(parts))
    except duckdb.Error as problem:
        con.close()
        raise ContourError(f"cannot read records from {', '.join(str(s.path) for s in sources)}: "
                           f"{one_line(problem)}") from None
    return RecordsDB(con, list(sources), structure)


def read_sql(path: Path) -> str:
    """The records of one JSONL file, nested fields as JSON text, in file order.

    Lines a resume superseded (records.superseded.jsonl beside records.jsonl)
    are left out, as every reader of the records must: DuckDB numbers its rows
    in file order (one per non-blank line), and each superseded line number is
    turned into that row number.
    """
    columns = "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in RECORD_COLUMNS.items()) + "}"
    scan = (f"read_json({quote(str(path))}, format='newline_delimited', records=true, "
            f"ignore_errors=true, columns={columns})")
    present = "task IS NOT NULL AND base_task IS NOT NULL AND key IS NOT NULL"
    superseded = superseded_rows(path)
    if not superseded:
        return f"SELECT * FROM {scan} WHERE {present}"
    skip = ", ".join(quote(f"{row}:{key}") for row, key in superseded)
    return (f"SELECT * EXCLUDE (_row) FROM (SELECT row_number() OVER () AS _row, * FROM {scan}) "
            f"WHERE {present} AND (_row::VARCHAR || ':' || key) NOT IN ({skip})")


def superseded_rows(path: Path) -> list[tuple[int, str]]:
    """(DuckDB row number, key) of each superseded line of a records.jsonl.

    DuckDB's reader skips blank lines (whitespace only, as bytes.strip() sees
    it) and gives every other line a row, a damaged one included.
    """
    if path.name != RECORDS_FILE:
        return []
    entries = read_superseded(path.parent)
    if not entries:
        return []
    last, row, found = max(entries), 0, []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number > last:
                break
            if raw.strip():
                row += 1
                if number in entries:
                    found.append((row, entries[number]))
    return found


def detect_structure(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> dict[str, Any]:
    """Each object- or list-valued field's type: the union of its shapes in `files`, merged
    with BASE_STRUCTURE. Fields ResultRecord adds later without a base are read as JSON.

    DuckDB lists the distinct shapes (json_structure, a few per task) in one
    streaming pass; their union is taken here. (json_group_structure would do
    both at once, but holds memory in proportion to the file.)
    """
    detected: dict[str, Any] = {}
    wanted = [c for c in _DETECTED if c in RECORD_COLUMNS]
    if files and wanted:
        union = " UNION ALL ".join(f"SELECT {', '.join(wanted)} FROM ({read_sql(f)})" for f in files)
        # An empty object's shape is "JSON", like a mixed one's: count it as no value.
        shape = "list(DISTINCT json_structure(CASE WHEN json_type({0}) = 'OBJECT' " \
                "AND len(json_keys({0})) = 0 THEN NULL ELSE {0} END))"
        shapes = con.execute(f"SELECT {', '.join(shape.format(c) for c in wanted)} FROM ({union})").fetchone()
        for name, texts in zip(wanted, shapes):
            merged = None
            for text in texts or []:
                if text is not None:                  # SQL NULL: the field is missing or null
                    merged = _union(merged, json.loads(text))
            detected[name] = merged
    nested = [name for name, kind in RECORD_COLUMNS.items() if kind == "JSON"]
    return {name: _merge(BASE_STRUCTURE.get(name, "JSON"), _widen(detected.get(name)))
            for name in nested}


_NUMBERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "DOUBLE", "FLOAT"}


def _union(a: Any, b: Any) -> Any:
    """The shape that holds values of shapes a and b (json_structure's notation)."""
    if a is None or a == "NULL":
        return b
    if b is None or b == "NULL":
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _union(a.get(k), b.get(k)) for k in dict.fromkeys([*a, *b])}
    if isinstance(a, list) and isinstance(b, list):
        return [_union(a[0] if a else None, b[0] if b else None)]
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return a
        if a in _NUMBERS and b in _NUMBERS:
            return "DOUBLE" if "DOUBLE" in (a, b) or "FLOAT" in (a, b) else "BIGINT"
    return "JSON"


def _widen(node: Any) -> Any:
    """json_group_structure's types made usable: unsigned to signed, NULL (no value seen) to
    None, an object's keys in name order."""
    if isinstance(node, dict):
        # Sorted: DuckDB lists the distinct shapes in no fixed order (it differs between
        # versions), and a struct's field order must not change from one run to the next.
        return {key: _widen(node[key]) for key in sorted(node)}
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
        rest = "* EXCLUDE (run)" if _parquet_has_run(source.path) else "*"
        return f"SELECT {run} AS run, {rest} FROM read_parquet({quote(str(source.path))})"
    columns = [f"json_transform({name}, {quote(json.dumps(structure[name]))}) AS {name}"
               if name in structure and structure[name] != "JSON" else name for name in RECORD_COLUMNS]
    return f"SELECT {run} AS run, {', '.join(columns)} FROM ({read_sql(source.path)})"


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
