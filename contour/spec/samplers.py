"""Sampler files: the generation parameters sent with every request.

A sampler is a JSON file. Fields (all optional except `max_tokens`):
max_tokens (int, or "model" = the served context length, read from the
server's /v1/models at run start), temperature, top_p, top_k, min_p, stop
(string or list), seed, reasoning_effort, and `extra`: a mapping passed
through verbatim into the request body for server-specific options such as
`chat_template_kwargs` or `repetition_penalty`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contour.errors import ContourError
from contour.spec.files import find_file


def _number(low: float, high: float | None, integer: bool = False):
    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
            return False
        return v >= low and (high is None or v <= high)
    return check


_FIELDS = {
    "max_tokens": (lambda v: v == "model" or _number(1, None, True)(v), 'a positive integer or "model"'),
    "temperature": (_number(0, None), "a number >= 0"),
    "top_p": (lambda v: _number(0, 1)(v) and v > 0, "a number in (0, 1]"),
    "top_k": (_number(-1, None, True), "an integer >= -1"),
    "min_p": (_number(0, 1), "a number in [0, 1]"),
    "stop": (lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v)),
             "a string or a list of strings"),
    "seed": (_number(-2**63, 2**63 - 1, True), "an integer"),
    "reasoning_effort": (lambda v: v in ("minimal", "low", "medium", "high"),
                         'one of "minimal", "low", "medium", "high"'),
    "extra": (lambda v: isinstance(v, dict), "a mapping"),
}


@dataclass(frozen=True)
class Sampler:
    name: str
    path: Path
    params: dict[str, Any] = field(default_factory=dict)

    def with_max_tokens(self, max_tokens: int) -> "Sampler":
        return Sampler(self.name, self.path, {**self.params, "max_tokens": max_tokens})

    def request_body(self, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": messages}
        body.update({k: v for k, v in self.params.items() if k != "extra"})
        body.update(self.params.get("extra", {}))
        return body


def load_sampler(name: str) -> Sampler:
    path = find_file(name, "sampler", ".json", "sampler")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ContourError(f"sampler {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ContourError(f"sampler {path}: must be a JSON object")
    for key, value in raw.items():
        if key not in _FIELDS:
            raise ContourError(f"sampler {path}: unknown field '{key}' (known: {', '.join(_FIELDS)})")
        check, expected = _FIELDS[key]
        if not check(value):
            raise ContourError(f"sampler {path}: '{key}' must be {expected}, got {value!r}")
    if "max_tokens" not in raw:
        raise ContourError(f"sampler {path}: 'max_tokens' is required (servers otherwise "
                           "generate up to the context end)")
    return Sampler(path.stem, path, raw)
