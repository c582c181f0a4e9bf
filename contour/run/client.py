"""HTTP client for an OpenAI-compatible chat completions server (vLLM and alike).

`ChatClient.complete(body)` never raises for server or network trouble: it
returns a `Completion` holding either the server's parsed JSON answer or an
error `{"type", "message", "status"}` whose type is one of this closed set:

- ``timeout``: no answer within the request timeout, on every attempt. Retried.
- ``connection``: the connection could not be opened, was reset or closed
  early, or the body was cut off. Retried.
- ``rate_limited``: HTTP 429 on every attempt. Retried, honouring Retry-After.
- ``server_error``: HTTP 5xx or 408 on every attempt. Retried (503 honours
  Retry-After too).
- ``client_error``: any other non-2xx status (400 context too long or bad
  sampler value, 401/403 bad key, 404 unknown model, 422 ...). The server
  rejected this exact request, so sending it again cannot help: not retried.
  The message is the server's own.
- ``malformed_response``: a 2xx whose body is not a JSON object, or whose
  `choices` or a choice's `message` has the wrong shape. Truncated bodies and
  proxy error pages are usually transient, so this is retried (bounded).
- ``empty_choices``: a 2xx JSON object with no or an empty `choices` list.
  Real servers give it transiently (an overloaded or restarting backend
  behind a proxy), so it is retried (bounded) like a malformed reply.
- ``max_time``: a streamed attempt was still producing tokens when
  `max_time` ran out. Not retried: it would only start the generation over.
- ``no_content``: a choice whose `message.content` is missing or null
  although generation was not cut off and no reasoning came with it. Not
  retried, for the same reason. (Null content with finish_reason "length" is
  a valid, truncated answer: reasoning models stop mid-thought that way, and
  the record must say so; null content beside a `reasoning` or
  `reasoning_content` trace is a reasoning model that gave no final answer.)

`TRANSIENT_ERRORS` is the retried subset. Retries follow `RetryPolicy`: at
most `max_retries` extra attempts, with exponential backoff and full jitter
between them; a Retry-After header replaces the draw (capped at backoff_max).
Streaming (the default, `contour.run.stream`): the request timeout is the
longest silence between two chunks (the wire's read timeout), so a long
generation that keeps producing tokens never times out, while a server that
stops sending is abandoned after `timeout` seconds of silence and retried;
`max_time`, if set, caps one attempt's total time, and running past it is
the error ``max_time``, not retried (the generation was still producing, a
retry would only start it over). A server that answers a streamed request
with plain JSON is read as such, so streaming is safe to leave on; turn it
off (`stream=False`, ``--no-stream``) only for a server that rejects the
``stream`` field. Without streaming the timeout bounds the whole wait for
the answer, and `max_time` shortens it.

The API key is sent in the Authorization header only; every message this
module produces is scrubbed of it, and of any credential in the URL
(`http://user:KEY@host`), which is shown as `http://***@host`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from contour import jsontext
from contour.errors import ContourError
from contour.run.reasoning import server_reasoning
from contour.masking import mask_url, redact, url_userinfo
from contour.run import stream as sse
from contour.run import wire as wires
from contour.run.loop import pause, run_sync
from contour.run.wire import TRANSPORTS, Reply, Wire, classify_status, open_wire

# The error types and which of them are transient live beside the record
# schema: resume and the tallies need them without importing this client.
from contour.results.failures import (
    CLIENT_ERROR, CONNECTION, EMPTY_CHOICES, ERROR_TYPES, MALFORMED_RESPONSE, MAX_TIME, NO_CONTENT,
    RATE_LIMITED, SERVER_ERROR, TIMEOUT, TRANSIENT_ERRORS,
)

_MAX_MESSAGE_CHARS = 500
# The model list is tiny: a generous but short bound keeps a dead server from
# stalling startup for the full (long) generation timeout.
_MODELS_TIMEOUT_S = 30.0


def normalize_apibase(url: str) -> str:
    """Return the API base ending in `/v1`, whatever form the user typed.

    Accepts `http://host:8000`, `.../`, `.../v1`, `.../v1/` and a pasted
    `.../v1/chat/completions`.
    """
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ContourError(f"--apibase {mask_url(url)!r}: expected an http:// or https:// URL, "
                           "e.g. http://127.0.0.1:8000/v1")
    base = text.rstrip("/")
    for suffix in ("/chat/completions", "/completions", "/models"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base if base.endswith("/v1") else base + "/v1"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is sent again."""

    max_retries: int = 5        # extra attempts after the first; 0 = never retry
    backoff_base: float = 0.5   # seconds; the cap of the first backoff draw
    backoff_max: float = 30.0   # seconds; no wait is longer, Retry-After included

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")

    def delay(self, retry_index: int, uniform: float, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry_index` (0-based).

        Full jitter (a uniform draw in [0, cap]) spreads the retries of many
        threads that failed together, so they do not hit a recovering server
        in lockstep. A server's Retry-After wins over the draw, still capped.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        cap = min(self.backoff_max, self.backoff_base * (2 ** retry_index))
        return uniform * cap


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)


@dataclass
class Completion:
    """The outcome of one chat completion request, after any retries."""

    response: dict[str, Any] | None   # the server's parsed JSON body, on success
    error: dict[str, Any] | None      # {"type", "message", "status"} on failure
    latency_s: float                  # wall time of complete(), retries and waits included
    attempts: int                     # requests actually sent
    # Of the successful attempt: time to first token and decode rate (None unless streamed).
    timings: sse.StreamTimings = sse.NO_TIMINGS

    @property
    def ok(self) -> bool:
        return self.response is not None


def server_error_message(text: str) -> str:
    """The server's own explanation, from vLLM's shape or any other."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        for value in (err, data.get("message"), data.get("detail")):
            if isinstance(value, str) and value:
                return value
        if isinstance(data.get("detail"), list):    # FastAPI validation errors
            return json.dumps(data["detail"])
    snippet = " ".join(text.split())
    return snippet or "(empty body)"


def check_chat_response(data: Any) -> tuple[str, str] | None:
    """None if `data` is a usable chat completion, else (error type, message)."""
    if not isinstance(data, dict):
        return MALFORMED_RESPONSE, f"expected a JSON object, got {type(data).__name__}"
    choices = data.get("choices")
    if choices is None or choices == []:
        return EMPTY_CHOICES, "the response has no choices"
    if not isinstance(choices, list):
        return MALFORMED_RESPONSE, f"'choices' is a {type(choices).__name__}, not a list"
    for i, choice in enumerate(choices):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            return MALFORMED_RESPONSE, f"choice {i} has no 'message' object"
        content = message.get("content")
        if content is None:
            # Cut off, or a reasoning model that thought and then said nothing:
            # an answer to score (as invalid), not a failed request.
            if choice.get("finish_reason") == "length" or server_reasoning(message) is not None:
                continue
            return NO_CONTENT, f"choice {i} has no message content"
        if not isinstance(content, str):
            return MALFORMED_RESPONSE, f"choice {i} content is a {type(content).__name__}"
    return None


@dataclass
class _Attempt:
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    retry_after: float | None = None    # seconds the server asked us to wait
    timings: sse.StreamTimings = sse.NO_TIMINGS


class ChatClient:
    """Sends chat completion requests to one OpenAI-compatible server.

    One instance is shared by all the runner's requests: `acomplete` is a
    coroutine on the process's shared loop (`contour.run.loop`), `complete`
    its blocking form for ordinary threads. The HTTP library
    behind it is a wire (`contour.run.wire`: aiohttp, the default, or
    requests, `transport`); it keeps up to `pool_size` keep-alive
    connections: size it to the number of requests in flight (threads x
    parallel), else surplus connections are opened and dropped, which costs
    only speed.
    """

    def __init__(self, apibase: str, api_key: str | None = None, timeout: float = 600.0,
                 retry: RetryPolicy = RetryPolicy(), *, transport: str | None = None,
                 pool_size: int = 16,
                 sleep: Callable[[float], Awaitable[None] | None] = asyncio.sleep,
                 rng: random.Random | None = None, stream: bool = True,
                 max_time: float | None = None) -> None:
        if timeout <= 0:
            raise ContourError(f"--timeout {timeout}: must be a positive number of seconds")
        if max_time is not None and max_time <= 0:
            raise ContourError(f"--max-time {max_time}: must be a positive number of seconds")
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size}")
        self.apibase = normalize_apibase(apibase)
        self._userinfo = url_userinfo(self.apibase)
        self.timeout = float(timeout)
        self.max_time = None if max_time is None else float(max_time)
        self.stream = stream
        self.retry = retry
        self._api_key = api_key or None
        self._headers = {"Content-Type": "application/json"}
        if self._api_key:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self.transport = transport or wires.DEFAULT_TRANSPORT
        self._wire: Wire = open_wire(self.transport, pool_size)
        self._completions_url = f"{self.apibase}/chat/completions"
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return (f"ChatClient({mask_url(self.apibase)!r}, timeout={self.timeout}, "
                f"stream={self.stream}, transport={self.transport!r})")

    def close(self) -> None:
        self._wire.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        # The whole userinfo first (http://***@host), then a password or token
        # on its own, wherever a server or library echoed it; a user name alone
        # is not secret and often a common word.
        userinfo = self._userinfo or ""
        password = userinfo.partition(":")[2] if ":" in userinfo else userinfo
        text = redact(text, self._api_key, userinfo, password)
        if len(text) > _MAX_MESSAGE_CHARS:
            text = text[:_MAX_MESSAGE_CHARS] + "..."
        return text

    # -- models -------------------------------------------------------------

    def _served(self) -> list[dict[str, Any]]:
        """The entries of GET /v1/models; ContourError if this is not a usable server."""
        url = f"{self.apibase}/models"
        timeout = min(self.timeout, _MODELS_TIMEOUT_S)
        reply = self._wire.get(url, self._headers, timeout)
        if reply.unreachable == TIMEOUT:
            raise ContourError(self._redact(f"--apibase {url}: no answer within {timeout:g} s"))
        if reply.unreachable is not None:
            raise ContourError(self._redact(
                f"--apibase {url}: cannot reach the server ({reply.reason})"))
        if reply.status in (401, 403):
            raise ContourError(self._redact(
                f"--apibase {url}: the server refused the API key (HTTP {reply.status}: "
                f"{server_error_message(reply.text)})"))
        if reply.status != 200:
            raise ContourError(self._redact(f"--apibase {url}: not an OpenAI-compatible API "
                                            f"(HTTP {reply.status})"))
        try:
            data = json.loads(reply.text)
        except ValueError:
            data = None
        models = data.get("data") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise ContourError(self._redact(f"--apibase {url}: not an OpenAI-compatible API "
                                            "(the answer has no model list)"))
        return [m for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def list_models(self) -> list[str]:
        """Ids of the served models."""
        return [m["id"] for m in self._served()]

    def check_model(self, name: str) -> None:
        """ContourError naming the model and the served ones if it is not served."""
        served = self.list_models()
        if name not in served:
            listing = ", ".join(served) if served else "none"
            raise ContourError(self._redact(f"--model {name!r} is not served by {self.apibase}; "
                                            f"served models: {listing}"))

    def max_model_len(self, name: str) -> int | None:
        """The context length the server reports for `name` (vLLM does), else None."""
        for model in self._served():
            length = model.get("max_model_len")
            if model["id"] == name and isinstance(length, int) and not isinstance(length, bool):
                return length
        return None

    # -- completions --------------------------------------------------------

    def complete(self, body: dict[str, Any]) -> Completion:
        """`acomplete`, from an ordinary thread (it runs on the shared loop)."""
        return run_sync(self.acomplete(body))

    async def acomplete(self, body: dict[str, Any]) -> Completion:
        """POST one chat completion, retrying transient failures; never raises for them.

        A body that cannot be serialised to JSON (NaN, a set) is the caller's
        bug, not the server's weather: the ValueError or TypeError propagates.
        """
        start = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            outcome = await self._attempt(body)
            retryable = outcome.error is not None and outcome.error["type"] in TRANSIENT_ERRORS
            if not retryable or attempts > self.retry.max_retries:
                return Completion(outcome.response, outcome.error,
                                  time.monotonic() - start, attempts, outcome.timings)
            await pause(self._sleep, self.retry.delay(attempts - 1, self._rng.random(),
                                                      outcome.retry_after))

    async def _attempt(self, body: dict[str, Any]) -> _Attempt:
        url = self._completions_url
        if self.stream:
            payload, timeout = sse.streaming_body(body), self.timeout
        else:
            payload = body
            timeout = self.timeout if self.max_time is None else min(self.timeout, self.max_time)
        data = jsontext.request_bytes(payload)   # NaN refused, as requests' json= would
        return self._judge(url, timeout, await self._wire.apost(
            url, data, self._headers, timeout=timeout, stream=self.stream, max_time=self.max_time))

    def _judge(self, url: str, timeout: float, reply: Reply) -> _Attempt:
        if reply.unreachable == TIMEOUT:
            return self._failure(TIMEOUT, f"no answer from {url} within {timeout:g} s", None)
        if reply.unreachable is not None:
            return self._failure(CONNECTION, f"{url}: {reply.reason}", None)
        if reply.failure is not None:
            return self._failure(*reply.failure, reply.status)
        status = reply.status
        assert status is not None
        if not 200 <= status < 300:
            retry_after = parse_retry_after(reply.retry_after) if status in (429, 503) else None
            message = f"HTTP {status}: {server_error_message(reply.text)}"
            return self._failure(classify_status(status), message, status, retry_after)
        problem = check_chat_response(reply.data)
        if problem is not None:
            return self._failure(problem[0], problem[1], status)
        return _Attempt(response=reply.data, timings=reply.timings)

    def _failure(self, kind: str, message: str, status: int | None,
                 retry_after: float | None = None) -> _Attempt:
        error = {"type": kind, "message": self._redact(message), "status": status}
        return _Attempt(error=error, retry_after=retry_after)
