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

selection.py runs the checked expressions beside the evaluation's stream.
DuckDB is imported only when an expression is given.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import TYPE_CHECKING, Any, Sequence

from contour.errors import ContourError

if TYPE_CHECKING:
    import duckdb

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
