"""JSON text on the runner's hot paths: stream events, cached responses, records,
request bodies.

orjson reads and writes it at a fraction of the standard library's cost
(measured here: a 190-byte stream event 2.0 -> 0.6 us to read, a 1.4 KB
record 10.6 -> 0.8 us to write). At one event per generated token and one
record and one cached response per request, json was the runner's largest
cost of its own after the HTTP library.

The standard library stays the reference: what orjson refuses goes to json,
so what is accepted is what json accepts (NaN, Infinity, lone surrogates),
and what is written is json's compact form (no spaces, characters as they
are) with the same values; only a very small float may be spelled another
way (0.00001 where json writes 1e-05, the same number). Two differences
remain, on values no server or task is expected to produce, both chosen:
- a non-finite float is written as null: json would write NaN, which is not
  JSON, and which DuckDB (`contour sql`) refuses;
- reading, an integer literal beyond 64 bits becomes a float. So only text
  that a server wrote is read here (its stream events and responses); result
  records, whose test fields a task wrote, are read with json.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# What a request body was sent as before: json.dumps(..., allow_nan=False), compact.
_REQUEST = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The value of a JSON text a server sent (ValueError when it is not JSON)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)     # json's verdict, and its value when it accepts more


def dumps(value: Any) -> str:
    """Compact JSON text of `value` (TypeError or ValueError as json raises them)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:   # a key that is not a string, an integer beyond 64 bits, a surrogate...
        return _COMPACT.encode(value)


def request_bytes(body: Any) -> bytes:
    """The UTF-8 JSON of a request body, refusing what json.dumps(allow_nan=False)
    refuses (ValueError for NaN or Infinity, TypeError for a set...).

    orjson writes a non-finite float as null instead of refusing it, so any
    text with a null in it (a None, a NaN, or just the word in a prompt) is
    left to json, as is anything orjson refuses; the rest never held a NaN.
    Bodies are built from YAML samplers and rendered text, so they hold only
    JSON's own types, where the two agree on every value."""
    try:
        data = orjson.dumps(body)
        if b"null" not in data:
            return data
    except TypeError:
        pass
    return _REQUEST.encode(body).encode("utf-8")


def dump_lines(values: list[Any]) -> bytes:
    """JSON Lines: each value's compact text and a newline, as UTF-8."""
    try:
        return b"".join([orjson.dumps(v, option=orjson.OPT_APPEND_NEWLINE) for v in values])
    except TypeError:
        return "".join([dumps(v) + "\n" for v in values]).encode("utf-8")
