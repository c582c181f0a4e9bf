"""The aiohttp wire: every request of the process on one asyncio event loop.

Why: with requests, each request in flight holds a thread, and urllib3's
per-request machinery (pool bookkeeping, header parsing, a chunk iterator)
costs about 1 ms of CPU per request, under one GIL; at a few thousand
requests a second on a small machine that, not the server, was the limit.
Here one loop in one daemon thread multiplexes every socket, and a request
costs a few Python frames plus one hand-off to and from the loop.

Semantics are those of `contour.run.wire.RequestsWire`, exactly:
- the timeout is the longest silence between two reads (aiohttp's
  ``sock_read``, re-armed on every received chunk) and the longest wait for a
  connection (``sock_connect``); there is no total bound, so a generation that
  keeps streaming never times out, and --max-time is checked as data arrives
  by the shared `StreamReader`;
- a stream is read to its end after ``[DONE]`` so its connection goes back to
  the pool; a broken, stalled or overlong one is closed;
- each session keeps up to `pool_size` connections (the requests in flight:
  threads x parallel) and never stores cookies; a request waiting for a free
  one waits at most the timeout.

The loop is the process's shared one (`contour.run.loop`). `apost` runs on
it; `get` (the model list) is called from ordinary threads and blocks until
the loop has the answer.
"""

from __future__ import annotations

import base64
import os
import time
from functools import lru_cache

import aiohttp
from yarl import URL

from contour import jsontext
from contour.results.failures import CONNECTION, TIMEOUT
from contour.run import stream as sse
from contour.run.loop import run_sync
from contour.run.wire import Reply, not_json, stream_failure


def reason(exc: BaseException) -> str:
    """The innermost OS-level reason of an aiohttp failure ("Connection refused")."""
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        os_error = getattr(found, "os_error", None)     # ClientConnectorError keeps it here
        if isinstance(os_error, OSError) and os_error.strerror:
            return os_error.strerror
        if isinstance(found, OSError) and found.errno:
            # asyncio's own message names the address ("Connect call failed (...)").
            return os.strerror(found.errno)
        if isinstance(found, OSError) and found.strerror:
            return found.strerror
        found = found.__cause__ or found.__context__
    return str(exc) or type(exc).__name__


class AiohttpWire:
    """`Wire` over one aiohttp session on the shared loop; thread-safe."""

    def __init__(self, pool_size: int) -> None:
        self._session = run_sync(self._open(pool_size))

    @staticmethod
    async def _open(pool_size: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=pool_size, limit_per_host=0)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=None))

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Reply:
        target, headers = _credentials(url, headers)
        return run_sync(self._get(target, headers, timeout))

    def close(self) -> None:
        if not self._session.closed:
            run_sync(self._session.close())

    async def apost(self, url: str, payload: bytes, headers: dict[str, str], *, timeout: float,
                    stream: bool, max_time: float | None) -> Reply:
        sent_at = time.monotonic()
        target, headers = _credentials(url, headers)
        limits = _limits(timeout)
        try:
            async with self._session.post(target, data=payload, headers=headers,
                                          timeout=limits) as resp:
                status = resp.status
                if not 200 <= status < 300:
                    try:
                        text = (await resp.read()).decode("utf-8", "replace")
                    except (TimeoutError, aiohttp.ClientError) as exc:
                        text = f"(body lost: {reason(exc)})"
                    return Reply(status, retry_after=resp.headers.get("Retry-After"), text=text)
                if stream and resp.headers.get("Content-Type", "").startswith(sse.EVENT_STREAM):
                    return await _read_stream(resp, url, timeout, sent_at, max_time)
                # Not an event stream (streaming off, or a server that ignores `stream`).
                try:
                    body = await resp.read()
                except (TimeoutError, aiohttp.ClientError) as exc:
                    return Reply(status, failure=(CONNECTION, f"{url}: {reason(exc)}"))
                try:
                    return Reply(status, data=jsontext.loads(body))
                except ValueError:
                    return not_json(status)
        except TimeoutError:        # before the status line (aiohttp's are TimeoutErrors)
            return Reply(unreachable=TIMEOUT)
        except aiohttp.ClientError as exc:
            return Reply(unreachable=CONNECTION, reason=reason(exc))

    async def _get(self, url: URL, headers: dict[str, str], timeout: float) -> Reply:
        limits = _limits(timeout)
        try:
            async with self._session.get(url, headers=headers, timeout=limits) as resp:
                return Reply(resp.status, text=(await resp.read()).decode("utf-8", "replace"))
        except TimeoutError:
            return Reply(unreachable=TIMEOUT)
        except aiohttp.ClientError as exc:
            return Reply(unreachable=CONNECTION, reason=reason(exc))


@lru_cache(maxsize=16)     # one or two timeouts per run, asked for on every request
def _limits(timeout: float) -> aiohttp.ClientTimeout:
    # connect: also bounds the wait for a free connection of the pool, which
    # the requests wire never makes (it opens a surplus one); a request that
    # cannot get one within the timeout is a timeout, and retried.
    return aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout,
                                 sock_read=timeout)


def _credentials(url: str, headers: dict[str, str]) -> tuple[URL, dict[str, str]]:
    """The URL without its userinfo, and the headers with it as Basic auth.

    As requests does: credentials in the URL become the Authorization header,
    replacing an API key's (aiohttp would refuse the pair outright)."""
    target, auth = _parsed(url)
    return target, headers if auth is None else {**headers, "Authorization": auth}


@lru_cache(maxsize=64)      # a run posts to one URL per endpoint, thousands of times
def _parsed(url: str) -> tuple[URL, str | None]:
    parsed = URL(url, encoded=True)
    if parsed.user is None:
        return parsed, None
    pair = f"{parsed.user}:{parsed.password or ''}".encode("latin-1")   # what requests sends
    return parsed.with_user(None), "Basic " + base64.b64encode(pair).decode("ascii")


async def _read_stream(resp: aiohttp.ClientResponse, url: str, timeout: float, sent_at: float,
                       max_time: float | None) -> Reply:
    reader = sse.StreamReader(sent_at, max_time)
    clock = time.monotonic
    try:
        async for raw in resp.content.iter_any():
            # After the end marker the rest is read only so the connection goes back to the pool.
            if not reader.done:
                reader.feed(raw, clock())
        data, timings = reader.finish(clock())
    except sse.StreamProblem as exc:
        return stream_failure(exc, url, timeout, resp.status)
    except TimeoutError:
        if not reader.done:
            return stream_failure(sse.StreamStalled(), url, timeout, resp.status)
        return _finished(reader, url, timeout, resp.status)
    except aiohttp.ClientError as exc:
        if not reader.done:
            return stream_failure(sse.StreamCut(reason(exc)), url, timeout, resp.status)
        return _finished(reader, url, timeout, resp.status)
    return Reply(resp.status, data=data, timings=timings)


def _finished(reader: sse.StreamReader, url: str, timeout: float, status: int) -> Reply:
    """A stream that broke only after its end marker: its reply stands."""
    try:
        data, timings = reader.finish(time.monotonic())
    except sse.StreamProblem as exc:
        return stream_failure(exc, url, timeout, status)
    return Reply(status, data=data, timings=timings)
