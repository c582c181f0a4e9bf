"""Sampler files: the generation parameters sent with every request.

A sampler is a JSON file. Fields (all optional except `max_tokens`):
max_tokens (int, or "model" = the served context length, read from the
server's /v1/models at run start), temperature, top_p, top_k, min_p, stop
(string or list), seed, reasoning_effort, and `extra`: a mapping passed
through verbatim into the request body for server-specific options such as
`chat_template_kwargs` or `repetition_penalty`.

Decoding is *greedy* (deterministic) when `temperature` is 0 or `top_k` is 1;
every other sampler is *stochastic*, including one that omits `temperature`
(the server's default then applies, which is sampling at temperature 1 on
vLLM and the OpenAI API). Under stochastic decoding every sample is an
independent draw: the response cache keys it by the sample's identity as well
as by the request body (see `contour.run.sampling`).

`seed` is an integer sent as is, or "per-request": each request then carries
its own seed derived from the test's coordinates, so a sampled run is
reproducible on servers that honour `seed` (vLLM does) while every sample is
still a different draw. A fixed integer seed under stochastic decoding makes
every request with the same prompt the same draw on such servers. Under greedy
decoding "per-request" sends no seed: it would change nothing but the cache key.

Fields that change the shape of the reply are refused, in `extra` too: `n`
(use `--completions K`), `stream`, `logprobs`, `top_logprobs`, `echo`,
`best_of`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contour.errors import ContourError
from contour.spec.files import find_file, read_text

PER_REQUEST = "per-request"


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
    "seed": (lambda v: v == PER_REQUEST or _number(-2**63, 2**63 - 1, True)(v),
             f'an integer or "{PER_REQUEST}"'),
    "reasoning_effort": (lambda v: v in ("minimal", "low", "medium", "high"),
                         'one of "minimal", "low", "medium", "high"'),
    "extra": (lambda v: isinstance(v, dict), "a mapping"),
}

# Fields that change what a reply looks like: the runner reads exactly one
# non-streamed choice per completion, and asks for several itself.
_REFUSED = {
    "n": "ask for several completions per test with --completions K",
    "stream": "the runner decides how replies are transferred",
    "logprobs": "the runner records no log-probabilities",
    "top_logprobs": "the runner records no log-probabilities",
    "echo": "an echoed prompt would be scored as part of the answer",
    "best_of": "the server would pick one of several answers; use --completions K to keep them all",
}


@dataclass(frozen=True)
class Sampler:
    name: str
    path: Path
    params: dict[str, Any] = field(default_factory=dict)

    def with_max_tokens(self, max_tokens: int) -> "Sampler":
        return Sampler(self.name, self.path, {**self.params, "max_tokens": max_tokens})

    @property
    def stochastic(self) -> bool:
        """False for greedy decoding (temperature 0 or top_k 1), else True."""
        return not (self.params.get("temperature") == 0 or self.params.get("top_k") == 1)

    @property
    def per_request_seed(self) -> bool:
        """Whether each request gets its own seed (only under stochastic decoding)."""
        return self.params.get("seed") == PER_REQUEST and self.stochastic

    def request_body(self, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The body of one request; a per-request seed is added by the caller."""
        body: dict[str, Any] = {"model": model, "messages": messages}
        body.update({k: v for k, v in self.params.items()
                     if k != "extra" and not (k == "seed" and v == PER_REQUEST)})
        body.update(self.params.get("extra", {}))
        return body


def load_sampler(name: str) -> Sampler:
    path = find_file(name, "sampler", ".json", "sampler")
    try:
        raw = json.loads(read_text(path, "sampler"))
    except json.JSONDecodeError as exc:
        raise ContourError(f"sampler {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ContourError(f"sampler {path}: must be a JSON object")
    for key, value in raw.items():
        _check_refused(path, key, "")
        if key not in _FIELDS:
            raise ContourError(f"sampler {path}: unknown field '{key}' (known: {', '.join(_FIELDS)})")
        check, expected = _FIELDS[key]
        if not check(value):
            raise ContourError(f"sampler {path}: '{key}' must be {expected}, got {value!r}")
    for key in raw.get("extra", {}):
        _check_refused(path, key, "extra.")
        if key in _FIELDS:
            # One place per parameter: the greedy/stochastic rule reads the top level.
            raise ContourError(f"sampler {path}: 'extra.{key}' is a sampler field; "
                               f"set '{key}' at the top level")
    if "max_tokens" not in raw:
        raise ContourError(f"sampler {path}: 'max_tokens' is required (servers otherwise "
                           "generate up to the context end)")
    return Sampler(path.stem, path, raw)


def _check_refused(path: Path, key: str, prefix: str) -> None:
    if key in _REFUSED:
        raise ContourError(f"sampler {path}: '{prefix}{key}' is not allowed: {_REFUSED[key]}")
