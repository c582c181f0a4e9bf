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
  A well-formed but useless answer: the server would most likely give it
  again, so it is not retried.
- ``no_content``: a choice whose `message.content` is missing or null
  although generation was not cut off. Not retried, for the same reason.
  (Null content with finish_reason "length" is a valid, truncated answer:
  reasoning models stop mid-thought that way, and the record must say so.)

Retries follow `RetryPolicy`: at most `max_retries` extra attempts, with
exponential backoff and full jitter between them.

The API key is sent in the Authorization header only; every message this
module produces is scrubbed of it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from contour.errors import ContourError

TIMEOUT = "timeout"
CONNECTION = "connection"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
CLIENT_ERROR = "client_error"
MALFORMED_RESPONSE = "malformed_response"
EMPTY_CHOICES = "empty_choices"
NO_CONTENT = "no_content"

ERROR_TYPES = frozenset({TIMEOUT, CONNECTION, RATE_LIMITED, SERVER_ERROR, CLIENT_ERROR,
                         MALFORMED_RESPONSE, EMPTY_CHOICES, NO_CONTENT})
RETRIED_ERROR_TYPES = frozenset({TIMEOUT, CONNECTION, RATE_LIMITED, SERVER_ERROR,
                                 MALFORMED_RESPONSE})

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
        raise ContourError(f"--apibase {url!r}: expected an http:// or https:// URL, "
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

    @property
    def ok(self) -> bool:
        return self.response is not None


def classify_status(status: int) -> tuple[str, bool]:
    """(error type, retried?) for a non-2xx HTTP status."""
    if status == 429:
        return RATE_LIMITED, True
    if status >= 500 or status == 408:
        return SERVER_ERROR, True
    return CLIENT_ERROR, False


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
            if choice.get("finish_reason") == "length":
                continue
            return NO_CONTENT, f"choice {i} has no message content"
        if not isinstance(content, str):
            return MALFORMED_RESPONSE, f"choice {i} content is a {type(content).__name__}"
    return None


def _transport_reason(exc: BaseException) -> str:
    """The innermost OS-level reason of a requests/urllib3 exception chain."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror and not isinstance(e, requests.RequestException):
            return e.strerror
        stack.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *e.args])
    return str(exc)


@dataclass
class _Attempt:
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    retryable: bool = False
    retry_after: float | None = None


class ChatClient:
    """Sends chat completion requests to one OpenAI-compatible server.

    Safe to share between threads: each thread gets its own requests.Session
    (requests does not promise a Session is thread-safe), so each thread keeps
    its own keep-alive connection and nothing is shared but immutable settings.
    A `session` passed in is used by every thread as is; don't mutate it while
    requests are in flight.
    """

    def __init__(self, apibase: str, api_key: str | None = None, timeout: float = 600.0,
                 retry: RetryPolicy = RetryPolicy(), session: requests.Session | None = None,
                 *, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        if timeout <= 0:
            raise ContourError(f"--timeout {timeout}: must be a positive number of seconds")
        self.apibase = normalize_apibase(apibase)
        self.timeout = float(timeout)
        self.retry = retry
        self._api_key = api_key or None
        self._headers = {"Content-Type": "application/json"}
        if self._api_key:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self._shared_session = session
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"ChatClient({self.apibase!r}, timeout={self.timeout})"

    # -- sessions -----------------------------------------------------------

    def _session(self) -> requests.Session:
        if self._shared_session is not None:
            return self._shared_session
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # One thread sends one request at a time; retries are ours, not urllib3's.
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "***")
        if len(text) > _MAX_MESSAGE_CHARS:
            text = text[:_MAX_MESSAGE_CHARS] + "..."
        return text

    # -- models -------------------------------------------------------------

    def list_models(self) -> list[str]:
        """Ids of the served models; ContourError if this is not a usable server."""
        url = f"{self.apibase}/models"
        try:
            resp = self._session().get(url, headers=self._headers,
                                       timeout=min(self.timeout, _MODELS_TIMEOUT_S))
        except requests.Timeout:
            raise ContourError(f"--apibase {url}: no answer within "
                               f"{min(self.timeout, _MODELS_TIMEOUT_S):g} s") from None
        except requests.RequestException as exc:
            raise ContourError(self._redact(
                f"--apibase {url}: cannot reach the server ({_transport_reason(exc)})")) from None
        if resp.status_code in (401, 403):
            raise ContourError(self._redact(
                f"--apibase {url}: the server refused the API key (HTTP {resp.status_code}: "
                f"{server_error_message(resp.text)})"))
        if resp.status_code != 200:
            raise ContourError(f"--apibase {url}: not an OpenAI-compatible API "
                               f"(HTTP {resp.status_code})")
        try:
            data = resp.json()
        except ValueError:
            data = None
        models = data.get("data") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise ContourError(f"--apibase {url}: not an OpenAI-compatible API "
                               "(the answer has no model list)")
        return [m["id"] for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)]

    def check_model(self, name: str) -> None:
        """ContourError naming the model and the served ones if it is not served."""
        served = self.list_models()
        if name not in served:
            listing = ", ".join(served) if served else "none"
            raise ContourError(f"--model {name!r} is not served by {self.apibase}; "
                               f"served models: {listing}")

    # -- completions --------------------------------------------------------

    def complete(self, body: dict[str, Any]) -> Completion:
        """POST one chat completion, retrying transient failures; never raises for them."""
        start = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            outcome = self._attempt(body)
            if (outcome.response is not None or not outcome.retryable
                    or attempts > self.retry.max_retries):
                return Completion(outcome.response, outcome.error,
                                  time.monotonic() - start, attempts)
            self._sleep(self.retry.delay(attempts - 1, self._rng.random(), outcome.retry_after))

    def _attempt(self, body: dict[str, Any]) -> _Attempt:
        url = f"{self.apibase}/chat/completions"
        try:
            resp = self._session().post(url, json=body, headers=self._headers,
                                        timeout=self.timeout)
        except requests.Timeout:
            return self._failure(TIMEOUT, f"no answer from {url} within {self.timeout:g} s",
                                 None, True)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            return self._failure(CONNECTION, f"{url}: {_transport_reason(exc)}", None, True)
        except requests.RequestException as exc:
            # Invalid URL, bad header and the like: configuration, not weather.
            return self._failure(CONNECTION, f"{url}: {_transport_reason(exc)}", None, False)

        status = resp.status_code
        if not 200 <= status < 300:
            kind, retryable = classify_status(status)
            retry_after = None
            if status in (429, 503):
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            message = f"HTTP {status}: {server_error_message(resp.text)}"
            return self._failure(kind, message, status, retryable, retry_after)
        try:
            data = resp.json()
        except ValueError:
            return self._failure(MALFORMED_RESPONSE, "the response body is not valid JSON",
                                 status, True)
        problem = check_chat_response(data)
        if problem is not None:
            kind, message = problem
            return self._failure(kind, message, status, kind in RETRIED_ERROR_TYPES)
        return _Attempt(response=data)

    def _failure(self, kind: str, message: str, status: int | None, retryable: bool,
                 retry_after: float | None = None) -> _Attempt:
        error = {"type": kind, "message": self._redact(message), "status": status}
        return _Attempt(error=error, retryable=retryable, retry_after=retry_after)
