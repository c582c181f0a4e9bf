"""`--where` and `--group-by`: expressions over the record fields, run by DuckDB.

An expression is a DuckDB SQL expression over the columns of the `records`
view (sql.py), with the older spellings still accepted:

    genresult.has_distractors == true and params.length >= 8
    base_task in ["arithmetic", "boolean"]      double quotes make a string
    error.type == 'timeout'   extracted_answer == null   messages.0.role == 'user'

Rewrites before DuckDB sees the text (strings are never touched):
- `"text"` is a string unless it names a record field or follows a `.`;
- `== null` / `!= null` become `IS NULL` / `IS NOT NULL`;
- a number inside a path indexes a list from 0: `messages.0.role` is `messages[1].role`;
- `\\'` inside a single-quoted string is a quote (`'it\\'s'`).

Every field an expression names is checked, whole path included, against
the union of the records' shapes: `genresult.has_distractor` where the task
writes `has_distractors` is one error naming the close matches (difflib),
never a filter that silently keeps nothing.

Evaluation reads records with `load.stream_records`; DuckDB reads the same
file in the same order (sql.read_sql drops the lines the streaming reader
skips), so `RecordSelector` pairs the two streams row by row by their keys.
DuckDB is imported only when an expression is given.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from contour.errors import ContourError

Chooser = Callable[[dict], "tuple | None"]

_TOKEN = re.compile(r"""
    (?P<single>'(?:[^'\\]|\\.|'')*')
  | (?P<double>"(?:[^"\\]|\\.)*")
  | (?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+))*)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)
  | (?P<compare>==|!=|<>|=)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def to_sql(expression: str, columns: Sequence[str] = ()) -> str:
    """Rewrite the older spellings of an expression into DuckDB SQL (see module doc)."""
    return _rewrite(expression, columns)[0]


def _rewrite(expression: str, columns: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The SQL text, and (SQL offset, original offset) where each token starts."""
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(expression)]
    out: list[str] = []
    offsets: list[tuple[int, int]] = []
    length = 0
    known = {c.lower() for c in columns}
    for i, (kind, text, start) in enumerate(tokens):
        if kind == "single":
            text = text.replace("\\'", "''")
        elif kind == "double":
            body = re.sub(r'\\(["\\])', r"\1", text[1:-1])
            after_dot = bool(out) and out[-1].endswith(".")
            if not after_dot and body.lower() not in known:
                text = "'" + body.replace("'", "''") + "'"
        elif kind == "path" and re.search(r"\.[0-9]", text):
            text = re.sub(r"\.([0-9]+)", lambda m: f"[{int(m.group(1)) + 1}]", text)
        elif kind == "compare" and _next_word(tokens, i) == "null":
            text = "IS" if text in ("==", "=") else "IS NOT"
        offsets.append((length, start))
        out.append(text)
        length += len(text)
    return "".join(out), offsets


def _original_position(offsets: list[tuple[int, int]], position: int) -> int:
    """The 0-based offset in the user's text of a 0-based offset in the rewritten SQL."""
    earlier = [o for o in offsets if o[0] <= position]
    if not earlier:
        return 0
    sql_start, start = earlier[-1]
    return start + position - sql_start


def _next_word(tokens: list[tuple[str, str, int]], i: int) -> str | None:
    for kind, text, _ in tokens[i + 1:]:
        if kind != "space":
            return text.lower() if kind == "path" else None
    return None


def compile_expression(con: "duckdb.DuckDBPyConnection", given: str, columns: Sequence[str],
                       structure: dict[str, Any], option: str, as_filter: bool) -> str:
    """The SQL of one --where (`as_filter`) or --group-by expression, checked.

    DuckDB's own parser reads it (json_serialize_sql); a syntax error names the
    1-based position in `given`; every field path it names must exist in
    `structure`.
    """
    from contour.evaluate.sql import field_paths
    if not given.strip():
        raise ContourError(f"invalid {option} {given!r}: it is empty")
    _check_parentheses(given, option)
    sql, offsets = _rewrite(given, columns)
    prefix = "SELECT * FROM records WHERE (" if as_filter else "SELECT ("
    statement = prefix + sql + (")" if as_filter else ") FROM records")
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [statement]).fetchone()[0])
    if tree.get("error"):
        at = int(tree.get("position") or len(prefix)) - len(prefix)
        reason = tree.get("error_message") or "syntax error"
        if at >= len(sql):
            at, reason = len(sql), "the expression ends too early"
        position = _original_position(offsets, at) + 1
        raise ContourError(f"invalid {option} {given!r} at position {position}: {reason}")
    statements = tree.get("statements", [])
    node = statements[0]["node"] if len(statements) == 1 else {}
    if node.get("type") != "SELECT_NODE" or node.get("modifiers") or node.get("group_expressions"):
        raise ContourError(f"invalid {option} {given!r}: give one expression, not a query")
    paths: list[list[str]] = []
    _collect_paths(node["where_clause"] if as_filter else node["select_list"], paths)
    known = field_paths(structure)
    for path in paths:
        problem = _missing(path, structure, known)
        if problem:
            raise ContourError(f"invalid {option} {given!r}: {problem}")
    return sql


def _check_parentheses(given: str, option: str) -> None:
    """Balanced parentheses outside strings (the expression is wrapped in a pair of its own)."""
    opened: list[int] = []
    for match in _TOKEN.finditer(given):
        if match.group() == "(":
            opened.append(match.start())
        elif match.group() == ")":
            if not opened:
                raise ContourError(f"invalid {option} {given!r} at position {match.start() + 1}: "
                                   f"')' without a matching '('")
            opened.pop()
    if opened:
        raise ContourError(f"invalid {option} {given!r} at position {opened[-1] + 1}: "
                           f"'(' is never closed")


def _collect_paths(node: Any, found: list[list[str]]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect_paths(item, found)
        return
    if not isinstance(node, dict) or node.get("class") in ("LAMBDA", "SUBQUERY"):
        return          # lambda parameters and subqueries name other things
    path = _path_of(node)
    if path is not None:
        found.append(path)
        return
    for value in node.values():
        _collect_paths(value, found)


def _path_of(node: dict) -> list[str] | None:
    """The field path of a column reference, struct field or list element; else None."""
    if node.get("class") == "COLUMN_REF":
        names = list(node["column_names"])
        return names[1:] if len(names) > 1 and names[0].lower() == "records" else names
    kind = node.get("type")
    if node.get("class") == "OPERATOR" and kind in ("STRUCT_EXTRACT", "ARRAY_EXTRACT"):
        inner, key = node["children"][0], node["children"][1]
        base = _path_of(inner)
        literal = key.get("literal", {}) if key.get("class") == "CONSTANT" else {}
        if base is None or not literal:
            return None
        return base + ([literal["text"]] if kind == "STRUCT_EXTRACT" else [f"[{literal['text']}]"])
    return None


def _missing(path: list[str], structure: dict[str, Any], known: list[str]) -> str | None:
    """Why `path` names no field of any record, or None if it does (or cannot be checked)."""
    node: Any = structure
    walked: list[str] = []
    for part in path:
        if part.startswith("["):
            if isinstance(node, list):
                node = node[0]
                walked.append(part)
                continue
            return None if node == "JSON" else f"'{_show(walked)}' is not a list"
        if isinstance(node, list):
            return None                 # DuckDB explains list-versus-field mistakes itself
        if not isinstance(node, dict):
            return None if node == "JSON" else (
                f"'{_show(walked)}' is a {node}, not an object with field {part!r}")
        name = part if part in node else next((k for k in node if k.lower() == part.lower()), None)
        if name is None:
            return _unknown(_show(walked + [part]), walked, node, known)
        walked.append(name)
        node = node[name]
    return None


def _unknown(shown: str, walked: list[str], parent: dict[str, Any], known: list[str]) -> str:
    """The error for a missing field: its nearest siblings, else the same name elsewhere."""
    name = shown.rsplit(".", 1)[-1]
    close = [_show(walked + [k]) for k in difflib.get_close_matches(name, list(parent), n=3, cutoff=0.6)]
    if not close:
        elsewhere = {path: path.rsplit(".", 1)[-1] for path in known}
        close = [path for path in known
                 if elsewhere[path] in difflib.get_close_matches(name, set(elsewhere.values()), n=3,
                                                                 cutoff=0.8)][:3]
    message = f"no record has the field '{shown}'"
    if close:
        return message + "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if walked:
        fields = sorted(parent)
        listed = ", ".join(fields[:12]) + (", ..." if len(fields) > 12 else "")
        return message + f"; {_show(walked)} has: {listed}"
    return message


def _show(parts: list[str]) -> str:
    return ".".join(parts).replace(".[", "[")


def group_value(value: Any) -> Any:
    """A hashable stand-in for a field value (lists and objects as canonical JSON)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


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
