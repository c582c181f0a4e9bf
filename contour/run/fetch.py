"""Getting the draws of one test: from the cache, else from the server.

`CompletionFetcher.lookup(draws)` looks up every draw's cache key and claims
the missing ones in one query and one transaction (the engine calls it once
for a whole step); `afetch(draws, ...)`, a coroutine on the shared loop,
sends the claimed ones in batches
(`contour.run.sampling.batches`; streamed or not, an `n`-request's choices
come apart by index), and hands each completion to the cache's writer
(`ResponseCache.store`), which commits it and releases its claim in one
transaction. A key another sender holds is waited for (`get_or_claim`) only
after this test's own requests went out.

Whether the server honours `n` is learned from its replies, once per run:
- all n choices come back: it does;
- fewer come back (the server ignored `n`): the missing completions are
  asked one request each, and so is everything after;
- a client error (4xx) to a request with `n` before `n` ever worked: the
  first completion is asked alone; if that succeeds the server refuses `n`
  (one request each from then on), else the error was about the request
  itself and is recorded for every completion of the batch.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, ContextManager, Sequence

from contour.run.cache import Claim, ResponseCache
from contour.run.client import CLIENT_ERROR
from contour.run.sampling import Draw, batch_body, batches, split_response
from contour.run.transport import AsyncTransport
from contour.run.stream import NO_TIMINGS, StreamTimings

# What the cache said about a draw's key: its response, a Claim to send it,
# or None (another sender holds it).
Found = dict[str, Any] | Claim | None


@dataclass
class Fetched:
    """What became of one draw."""

    draw: Draw
    response: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int           # HTTP attempts charged to it: a shared request's go to its first draw
    cache_hit: bool
    latency_s: float        # its request's wall time (a shared request's, for each), or the cache read
    timings: StreamTimings = NO_TIMINGS     # a streamed request's (a shared one's, for each)


class CompletionFetcher:
    def __init__(self, client: AsyncTransport, cache: ResponseCache, use_n: bool = True,
                 sending: Callable[[Callable[[], str]], ContextManager[Any]] | None = None):
        self.client = client
        self.cache = cache
        self.n_supported: bool | None = None if use_n else False
        # Marks a request in flight (the progress heartbeat), named lazily.
        self._sending = sending or (lambda label: nullcontext())

    def lookup(self, draws: Sequence[Draw]) -> dict[str, Found]:
        """Every draw's key looked up, the missing ones claimed (one query, one transaction)."""
        return self.cache.lookup_many([d.key for d in draws])

    async def afetch(self, draws: Sequence[Draw], found: dict[str, Found], claims: dict[int, Claim],
                     stop: threading.Event | None = None, looked_up_s: float = 0.0,
                     label: Callable[[int], str] | None = None) -> list[Fetched]:
        """Results in the order of `draws`; after `stop` is set, unsent draws are
        left out. Runs on the shared loop.

        `found`: the draws' `lookup`; `claims`: the claims among it, by
        completion (`held_claims`). A claim whose response goes to the cache
        leaves `claims` (the cache's writer releases it with the commit); one
        taken over from another sender joins it. The caller releases what is
        left (`release`), off the loop: a release is a blocking SQLite write.
        `label`: a completion's name while its request is in flight (default: its key)."""
        named: Callable[[Draw], Callable[[], str]] = (
            (lambda d: partial(str, d.key)) if label is None else (lambda d: partial(label, d.completion)))
        results: dict[int, Fetched] = {}
        waiting: list[Draw] = []
        for draw in draws:
            got = found.get(draw.key)
            if got is None:
                waiting.append(draw)
            elif not isinstance(got, Claim):
                results[draw.completion] = Fetched(draw, got, None, 0, True, looked_up_s)
        await self._send_claimed([d for d in draws if d.completion in claims], claims, results, stop,
                                 named)
        for draw in waiting:
            # Another sender holds it: wait for its value (polling, off the loop), or take it over.
            if stop is not None and stop.is_set():
                break
            waited = time.monotonic()
            got = await asyncio.to_thread(self.cache.get_or_claim, draw.key)
            if isinstance(got, Claim):
                claims[draw.completion] = got
                await self._send_claimed([draw], claims, results, stop, named)
            else:
                results[draw.completion] = Fetched(draw, got, None, 0, True, time.monotonic() - waited)
        return [results[d.completion] for d in draws if d.completion in results]

    def release(self, claims: dict[Any, Claim]) -> None:
        """Give back every claim left in `claims` and empty it (all are tried;
        the first failure is raised)."""
        problem: BaseException | None = None
        for claim in claims.values():
            try:
                self.cache.release(claim)
            except BaseException as exc:    # noqa: BLE001 - release the rest, raise the first
                problem = problem or exc
        claims.clear()
        if problem is not None:
            raise problem

    async def _send_claimed(self, pending: list[Draw], claims: dict[int, Claim],
                            results: dict[int, Fetched], stop: threading.Event | None,
                            named: Callable[[Draw], Callable[[], str]]) -> None:
        for batch in batches(pending, self.n_supported is not False):
            if stop is not None and stop.is_set():
                break
            for fetched in await self._send(batch, named):
                if fetched.response is not None:
                    # Committed with its claim's release, in the writer's next batch.
                    c = fetched.draw.completion
                    self.cache.store(fetched.draw.key, fetched.response, claims.get(c))
                    claims.pop(c, None)
                results[fetched.draw.completion] = fetched

    async def _single(self, draw: Draw, named: Callable[[Draw], Callable[[], str]]) -> Fetched:
        with self._sending(named(draw)):
            done = await self.client.acomplete(draw.body)
        return Fetched(draw, done.response, done.error, done.attempts, False, done.latency_s,
                       done.timings)

    async def _send(self, batch: list[Draw], named: Callable[[Draw], Callable[[], str]]) -> list[Fetched]:
        if len(batch) == 1 or self.n_supported is False:
            return [await self._single(d, named) for d in batch]
        with self._sending(named(batch[0])):
            done = await self.client.acomplete(batch_body(batch))
        if done.response is not None:
            parts = split_response(done.response, batch)
            out = [Fetched(d, part, None, done.attempts if i == 0 else 0, False, done.latency_s,
                           done.timings)
                   for i, (d, part) in enumerate(zip(batch, parts)) if part is not None]
            missing = [d for d, part in zip(batch, parts) if part is None]
            if missing:
                self.n_supported = False
                return out + [await self._single(d, named) for d in missing]
            self.n_supported = True
            return out
        error = done.error or {"type": "unknown", "message": "no response"}
        if error["type"] == CLIENT_ERROR and self.n_supported is None:
            first = await self._single(batch[0], named)
            first.attempts += done.attempts
            if first.response is not None:
                self.n_supported = False
                return [first] + [await self._single(d, named) for d in batch[1:]]
            return [first] + [Fetched(d, None, error, 0, False, done.latency_s, done.timings)
                              for d in batch[1:]]
        return [Fetched(d, None, error, done.attempts if i == 0 else 0, False, done.latency_s,
                        done.timings) for i, d in enumerate(batch)]


def held_claims(draws: Sequence[Draw], found: dict[str, Found]) -> dict[int, Claim]:
    """The claims a lookup won for these draws, by completion."""
    return {d.completion: got for d in draws if isinstance(got := found.get(d.key), Claim)}
