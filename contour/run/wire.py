"""One HTTP exchange with a chat server, as plain data: the only part of a
request that depends on the HTTP library.

`ChatClient` (`contour.run.client`) owns retries, the error taxonomy, the
messages and their redaction; a *wire* sends one request and says what came
back, as a `Reply`. Two wires exist, chosen with ``--transport``:

- ``aiohttp`` (`contour.run.aiowire.AiohttpWire`, the default): every request
  of the process runs on one asyncio event loop in one background thread,
  over one aiohttp session per endpoint. A request costs about a third of
  the CPU of the requests wire (no urllib3 machinery, no thread per socket),
  which is what lets the runner keep a fast server busy on a small machine.
- ``requests`` (`RequestsWire`): requests + urllib3, blocking, one thread per
  request in flight (its `apost` hands the call to a pool of `pool_size`
  threads). The long-proven path, kept selectable.

Both read a streamed body through the same `contour.run.stream.StreamReader`,
so they accept, assemble and time streams identically, and both map their
library's failures onto the same replies (checked by the tests, which run the
client's and the stream's I/O tests over both).
"""

from __future__ import annotations

import asyncio
import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from contour import jsontext
from contour.errors import ContourError
from contour.results.failures import (CLIENT_ERROR, CONNECTION, MALFORMED_RESPONSE, MAX_TIME,
                                      RATE_LIMITED, SERVER_ERROR, TIMEOUT)
from contour.run import stream as sse

TRANSPORTS = ("aiohttp", "requests")
DEFAULT_TRANSPORT = "aiohttp"


@dataclass
class Reply:
    """What one request got, before the client judges it.

    Exactly one of: `unreachable` (no status line: TIMEOUT or CONNECTION, and
    the OS-level `reason`), `failure` (a 2xx whose body could not be read
    into a reply: error type and finished message), a non-2xx `status` (with
    its body `text` and Retry-After header), or a 2xx with its `data`.
    """

    status: int | None = None
    unreachable: str | None = None
    reason: str = ""
    failure: tuple[str, str] | None = None
    retry_after: str | None = None
    text: str = ""
    data: Any = None
    timings: sse.StreamTimings = sse.NO_TIMINGS


class Wire(Protocol):
    async def apost(self, url: str, payload: bytes, headers: dict[str, str], *, timeout: float,
                    stream: bool, max_time: float | None) -> Reply: ...

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Reply: ...

    def close(self) -> None: ...


def classify_status(status: int) -> str:
    """The error type of a non-2xx HTTP status."""
    if status == 429:
        return RATE_LIMITED
    if status >= 500 or status == 408:
        return SERVER_ERROR
    return CLIENT_ERROR


def stream_failure(exc: sse.StreamProblem, url: str, timeout: float, status: int) -> Reply:
    """The reply of a streamed 2xx that went wrong while its body was read."""
    if isinstance(exc, sse.StreamStalled):
        return Reply(status, failure=(TIMEOUT, f"{url}: the stream fell silent for {timeout:g} s "
                                               "(--timeout)"))
    if isinstance(exc, sse.StreamCut):
        return Reply(status, failure=(CONNECTION, f"{url}: the stream broke off ({exc})"))
    if isinstance(exc, sse.StreamTooLong):
        return Reply(status, failure=(MAX_TIME, str(exc)))
    if isinstance(exc, sse.StreamErrorEvent):
        code = exc.status if exc.status and exc.status >= 400 else 500
        return Reply(exc.status, failure=(classify_status(code), f"error in the stream: {exc.message}"))
    return Reply(status, failure=(MALFORMED_RESPONSE, str(exc)))


def not_json(status: int) -> Reply:
    return Reply(status, failure=(MALFORMED_RESPONSE, "the response body is not valid JSON"))


def open_wire(transport: str | None, pool_size: int) -> Wire:
    """The wire named by ``--transport`` (None: the default)."""
    name = transport or DEFAULT_TRANSPORT
    if name == "requests":
        return RequestsWire(pool_size)
    if name == "aiohttp":
        from contour.run.aiowire import AiohttpWire

        return AiohttpWire(pool_size)
    raise ContourError(f"--transport {name!r}: choose one of {', '.join(TRANSPORTS)}")


# -- requests ------------------------------------------------------------------


def _pooled_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    # Retries are the client's (they know about 429 and Retry-After), not urllib3's.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # No cookie is ever stored, so concurrent responses never write shared state.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def transport_reason(exc: BaseException) -> str:
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


class RequestsWire:
    """requests + urllib3: blocking, one calling thread per request in flight.

    One requests.Session is shared by all threads, which is safe here because
    nothing mutates it after construction: the adapter is mounted once,
    headers go with each request, and cookies are refused (requests' own
    thread-safety caveats, psf/requests #2766 and #1871, are about mutating a
    session or talking to many hosts). Its urllib3 pool keeps up to
    `pool_size` keep-alive connections; surplus ones are opened and dropped,
    which costs only speed.
    """

    def __init__(self, pool_size: int) -> None:
        self._session = _pooled_session(pool_size)
        self._threads = ThreadPoolExecutor(pool_size, thread_name_prefix="requests")

    async def apost(self, url: str, payload: bytes, headers: dict[str, str], *, timeout: float,
                    stream: bool, max_time: float | None) -> Reply:
        return await asyncio.get_running_loop().run_in_executor(self._threads, functools.partial(
            self.post, url, payload, headers, timeout=timeout, stream=stream, max_time=max_time))

    def post(self, url: str, payload: bytes, headers: dict[str, str], *, timeout: float,
             stream: bool, max_time: float | None) -> Reply:
        sent_at = time.monotonic()
        try:
            # The timeout is urllib3's read timeout: the longest wait for any one recv.
            resp = self._session.post(url, data=payload, headers=headers, timeout=timeout,
                                      stream=stream)
        except requests.Timeout:
            return Reply(unreachable=TIMEOUT)
        except requests.RequestException as exc:
            return Reply(unreachable=CONNECTION, reason=transport_reason(exc))
        status = resp.status_code
        if not 200 <= status < 300:
            try:
                text = resp.text
            except requests.RequestException as exc:
                text = f"(body lost: {transport_reason(exc)})"
            return Reply(status, retry_after=resp.headers.get("Retry-After"), text=text)
        if stream and resp.headers.get("Content-Type", "").startswith(sse.EVENT_STREAM):
            try:
                data, timings = sse.read_event_stream(resp, sent_at, max_time)
            except sse.StreamProblem as exc:
                return stream_failure(exc, url, timeout, status)
            return Reply(status, data=data, timings=timings)
        # Not an event stream (streaming off, or a server that ignores `stream`).
        try:
            return Reply(status, data=jsontext.loads(resp.content))   # bytes: UTF-8, or json detects it
        except ValueError:
            return not_json(status)
        except requests.RequestException as exc:
            # With stream=True the body is read only now, so a lost connection surfaces here.
            return Reply(status, failure=(CONNECTION, f"{url}: {transport_reason(exc)}"))

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Reply:
        try:
            resp = self._session.get(url, headers=headers, timeout=timeout)
            return Reply(resp.status_code, text=resp.text)
        except requests.Timeout:
            return Reply(unreachable=TIMEOUT)
        except requests.RequestException as exc:
            return Reply(unreachable=CONNECTION, reason=transport_reason(exc))

    def close(self) -> None:
        self._session.close()
        self._threads.shutdown(wait=False, cancel_futures=True)
