"""A small, safe expression language for `--where`, and field paths for `--group-by`.

Grammar (nothing is ever handed to Python's `eval`):

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand]
    operand  := literal | list | field | "(" expr ")"
    list     := "[" [literal ("," literal)*] "]"
    literal  := number | 'string' | "string" | true | false | null
    field    := name ("." name)*         e.g. genresult.has_distractor, params.length,
                                         usage.completion_tokens, messages.0.role

Semantics (chosen so that no record can make a filter crash):
- a field that is missing anywhere along its path is null;
- `==`/`!=` compare JSON values; booleans never equal numbers (true != 1);
- `<`, `<=`, `>`, `>=` hold only between two numbers or two strings, else false;
- `a in [..]` is list membership, `'x' in field` is substring (string) or key
  (object) membership, anything else is false;
- an operand standing alone is tested for truth: false, null, 0, "" and []
  are false;
- the first name of a field must be a record field (see ResultRecord), so a
  typo such as `genresul.x` is an error rather than a silent empty result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from typing import Any, Callable

from contour.errors import ContourError
from contour.results.schema import ResultRecord

Record = dict
Predicate = Callable[[Record], bool]
Getter = Callable[[Record], Any]

RECORD_FIELDS = frozenset(f.name for f in fields(ResultRecord))
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
_CONSTANTS = {"true": True, "false": False, "null": None}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str      # number, string, name, keyword, op, punct, end
    text: str
    pos: int       # 0-based offset into the expression


class _Syntax(Exception):
    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.pos = pos


def _tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "\"'":
                raise _Syntax("unterminated string", pos)
            raise _Syntax(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup
        if kind != "space":
            word = match.group()
            if kind == "name" and word in _KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, word, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    return re.sub(r"\\(.)", lambda m: m.group(1), body)


def field_getter(path: str, pos: int = 0) -> Getter:
    """A function that reads a dotted field path from a record (null if missing)."""
    parts = path.split(".")
    if parts[0] not in RECORD_FIELDS:
        raise _Syntax(f"unknown record field {parts[0]!r} (known: {', '.join(sorted(RECORD_FIELDS))})", pos)
    head, rest = parts[0], [int(p) if p.isdigit() else p for p in parts[1:]]
    if not rest:
        return lambda record: record.get(head)

    def get(record: Record) -> Any:
        value = record.get(head)
        for part in rest:
            if isinstance(value, dict):
                value = value.get(part if isinstance(part, str) else str(part))
            elif isinstance(value, list) and isinstance(part, int) and part < len(value):
                value = value[part]
            else:
                return None
        return value
    return get


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    compare = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
               ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[op]

    def check(a: Any, b: Any) -> bool:
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return compare(a, b)
        return False
    return check


def _contains(a: Any, b: Any) -> bool:
    if isinstance(b, list):
        return any(_equal(a, item) for item in b)
    if isinstance(a, str) and isinstance(b, (str, dict)):
        return a in b
    return False


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal, "!=": lambda a, b: not _equal(a, b),
    "<": _ordered("<"), "<=": _ordered("<="), ">": _ordered(">"), ">=": _ordered(">="),
    "in": _contains, "not in": lambda a, b: not _contains(a, b),
}


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, word: str, offset: int = 0) -> bool:
        token = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return token.kind == "keyword" and token.text == word

    def expect(self, text: str, what: str) -> None:
        if self.peek.text != text or self.peek.kind not in ("punct",):
            raise _Syntax(f"expected {what}, found {_describe(self.peek)}", self.peek.pos)
        self.take()

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        if self.peek.kind != "end":
            raise _Syntax(f"unexpected {_describe(self.peek)}", self.peek.pos)
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.is_word("or"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.is_word("and"):
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def parse_not(self) -> Predicate:
        if self.is_word("not"):
            self.take()
            inner = self.parse_not()
            return lambda r: not inner(r)
        return self.parse_compare()

    def parse_compare(self) -> Predicate:
        if self.peek.text == "(" and self.peek.kind == "punct":
            self.take()
            inner = self.parse_or()
            self.expect(")", "')'")
            if self.peek.kind == "op" or self.is_word("in") or (self.is_word("not") and self.is_word("in", 1)):
                raise _Syntax("a parenthesised condition cannot be compared", self.peek.pos)
            return inner
        left = self.parse_operand()
        op = None
        if self.peek.kind == "op" or self.is_word("in"):
            op = self.take().text
        elif self.is_word("not") and self.is_word("in", 1):
            self.i += 2
            op = "not in"
        if op is None:
            return lambda r: _truthy(left(r))
        right = self.parse_operand()
        if self.peek.kind == "op" or self.is_word("in"):
            raise _Syntax(f"comparisons cannot be chained; use 'and' before {_describe(self.peek)}",
                          self.peek.pos)
        compare = _COMPARE[op]
        return lambda r: compare(left(r), right(r))

    def parse_operand(self) -> Getter:
        token = self.peek
        if token.kind == "name":
            self.take()
            return field_getter(token.text, token.pos)
        if token.kind == "punct" and token.text == "[":
            value = self.parse_list()
            return lambda r: value
        value = self.parse_literal("a value (field, number, string, true/false/null or list)")
        return lambda r: value

    def parse_literal(self, what: str) -> Any:
        token = self.peek
        if token.kind == "number":
            self.take()
            return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        if token.kind == "string":
            self.take()
            return _unquote(token)
        if token.kind == "keyword" and token.text in _CONSTANTS:
            self.take()
            return _CONSTANTS[token.text]
        raise _Syntax(f"expected {what}, found {_describe(token)}", token.pos)

    def parse_list(self) -> list[Any]:
        self.take()
        items: list[Any] = []
        if self.peek.kind == "punct" and self.peek.text == "]":
            self.take()
            return items
        while True:
            items.append(self.parse_literal("a literal inside the list"))
            if self.peek.kind == "punct" and self.peek.text == ",":
                self.take()
                continue
            self.expect("]", "',' or ']'")
            return items


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value != []


def _describe(token: Token) -> str:
    return "end of expression" if token.kind == "end" else repr(token.text)


def compile_where(expression: str) -> Predicate:
    """Compile a --where expression into a predicate over record dicts.

    Raises ContourError naming the expression and the 1-based position of
    the problem.
    """
    if not expression.strip():
        raise ContourError(f"invalid --where expression {expression!r}: it is empty")
    try:
        return _Parser(expression).parse()
    except _Syntax as problem:
        raise ContourError(f"invalid --where expression {expression!r} at position "
                           f"{problem.pos + 1}: {problem}") from None


def compile_field(path: str) -> Getter:
    """Compile a --group-by field path; ContourError if it is not one."""
    text = path.strip()
    match = _TOKEN.fullmatch(text)
    if not text or match is None or match.lastgroup != "name":
        raise ContourError(f"invalid field {path!r}: expected a dotted path such as "
                           f"params.length or genresult.has_distractor")
    try:
        return field_getter(text)
    except _Syntax as problem:
        raise ContourError(f"invalid field {path!r}: {problem}") from None


def group_value(value: Any) -> Any:
    """A hashable stand-in for a field value (lists and objects as canonical JSON)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value
