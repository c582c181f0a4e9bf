"""`--where` and `--group-by` beside the evaluation's stream: DuckDB decides, record by record.

Evaluation reads records with `load.stream_records`; DuckDB reads the same
file in the same order (sql.read_sql drops the lines the streaming reader
skips) and yields, per record, its key, whether it passes the filter and its
group values. `RecordSelector` pairs the two streams by key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator, Sequence

from contour.errors import ContourError
from contour.evaluate.filters import compile_expression, group_value

Chooser = Callable[[dict], "tuple | None"]


class RecordSelector:
    """Which records pass `where`, and their `group_by` values, computed by DuckDB.

    `chooser(run)` gives a function to call on each record that
    `stream_records` yields for that run, in order: None for a record the
    filter drops, else the tuple of its group values.
    """

    def __init__(self, folders: Sequence[Path], where: str | None, group_by: Sequence[str],
                 batch: int = 20_000) -> None:
        from contour.evaluate.sql import Source, open_records, resolve_sources
        # The runs' records.jsonl, named as `contour sql` names them (the `run` column).
        named = resolve_sources([Path(folder) / "records.jsonl" for folder in folders])
        self.sources = [Source(s.run, s.path, "jsonl") for s in named]
        self.given_where, self.given_groups = where, list(group_by)
        self.db = open_records(self.sources)
        self.batch = batch
        columns, structure, con = self.db.columns(), self.db.schema, self.db.con
        try:
            self.where = (compile_expression(con, where, columns, structure, "--where expression", True)
                          if where is not None else None)
            self.groups = [compile_expression(con, g, columns, structure, "--group-by field", False)
                           for g in group_by]
            self.json_groups = self._bind_check()
        except ContourError:
            self.close()
            raise

    def _select(self) -> str:
        keep = f"coalesce(({self.where}), false)" if self.where is not None else "true"
        groups = "".join(f", ({g})" for g in self.groups)
        return f"SELECT key, {keep}{groups}"

    def _bind_check(self) -> list[bool]:
        """Bind once before streaming, so type errors are reported up front."""
        import duckdb
        from contour.evaluate.sql import one_line
        try:
            described = self.db.con.execute(f"DESCRIBE {self._select()} FROM records").fetchall()
        except duckdb.Error as problem:
            raise ContourError(f"invalid {self._described()}: {one_line(problem)}") from None
        where = self.given_where
        if where is not None and described[1][1] not in ("BOOLEAN", '"NULL"', "NULL"):
            raise ContourError(f"invalid --where expression {where!r}: it gives {described[1][1]} "
                               f"values, not true/false (compare it with something)")
        return [row[1] == "JSON" for row in described[2:]]

    def chooser(self, run: int) -> Chooser:
        """Pairs each record the stream yields with DuckDB's row for it, by key.

        A record without task, base_task or key (JSON null) has no DuckDB row and
        is dropped. DuckDB's JSON reader also accepts a few lines Python's rejects
        (a trailing comma); such an extra row is skipped. Any other disagreement is
        an error: a filter must never silently apply to the wrong records.
        """
        rows = self._rows(run)
        file = self.sources[run].path
        json_groups = self.json_groups

        def take() -> tuple | None:
            return next(rows, None)

        def choose(record: dict) -> tuple | None:
            if any(record.get(name) is None for name in ("task", "base_task", "key")):
                return None
            key = record["key"]
            expected = key if isinstance(key, str) else json.dumps(key)
            row = take()
            if row is not None and row[0] != expected:
                following = take()
                if following is not None and following[0] == expected:
                    row = following                  # DuckDB read a line Python rejected
                else:
                    raise ContourError(f"'{file}': DuckDB and the JSON reader disagree at record "
                                       f"{key!r}; --where/--group-by cannot be applied to this file")
            if row is None:
                raise ContourError(f"'{file}': DuckDB read fewer records than the JSON reader "
                                   f"(at {key!r}); --where/--group-by cannot be applied to this file")
            if not row[1]:
                return None
            return tuple(group_value(json.loads(v) if is_json and v is not None else v)
                         for v, is_json in zip(row[2:], json_groups))
        return choose

    def _rows(self, run: int) -> Iterator[tuple]:
        import duckdb
        from contour.evaluate.sql import one_line, source_sql
        query = f"{self._select()} FROM ({source_sql(self.sources[run], self.db.structure)}) AS records"
        try:
            cursor = self.db.con.cursor().execute(query)
            while True:
                chunk = cursor.fetchmany(self.batch)
                if not chunk:
                    return
                yield from chunk
        except duckdb.Error as problem:
            raise ContourError(f"{self._described()} failed on '{self.sources[run].path}': "
                               f"{one_line(problem)}") from None

    def _described(self) -> str:
        parts = [f"--where {self.given_where!r}"] if self.given_where is not None else []
        parts += [f"--group-by {g!r}" for g in self.given_groups]
        return " with ".join(parts)

    def close(self) -> None:
        self.db.close()
