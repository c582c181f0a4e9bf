"""Getting the draws of one test: from the cache, else from the server.

`CompletionFetcher.fetch(draws)` claims every missing draw's cache key (in
completion order, so two processes never wait on each other in a cycle),
sends the claimed ones in batches (`contour.run.sampling.batches`), stores
each completion under its own key and releases the claims.

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

import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

from contour.run.cache import Claim, ResponseCache
from contour.run.client import CLIENT_ERROR, ChatClient
from contour.run.sampling import Draw, batch_body, batches, split_response


@dataclass
class Fetched:
    """What became of one draw."""

    draw: Draw
    response: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int           # HTTP attempts charged to it: a shared request's go to its first draw
    cache_hit: bool
    latency_s: float        # its request's wall time (a shared request's, for each), or the cache read


class CompletionFetcher:
    def __init__(self, client: ChatClient, cache: ResponseCache, use_n: bool = True):
        self.client = client
        self.cache = cache
        self.n_supported: bool | None = None if use_n else False

    def fetch(self, draws: Sequence[Draw], stop: threading.Event | None = None) -> list[Fetched]:
        """Results in the order of `draws`; after `stop` is set, unsent draws are left out."""
        results: dict[int, Fetched] = {}
        claims: dict[int, Claim] = {}
        try:
            for draw in draws:
                started = time.monotonic()
                got = self.cache.get_or_claim(draw.key)
                if isinstance(got, Claim):
                    claims[draw.completion] = got
                else:
                    results[draw.completion] = Fetched(draw, got, None, 0, True,
                                                       time.monotonic() - started)
            pending = [d for d in draws if d.completion in claims]
            for batch in batches(pending, self.n_supported is not False):
                if stop is not None and stop.is_set():
                    break
                for fetched in self._send(batch):
                    if fetched.response is not None:
                        self.cache.put(fetched.draw.key, fetched.response)
                    results[fetched.draw.completion] = fetched
        finally:
            for claim in claims.values():
                self.cache.release(claim)
        return [results[d.completion] for d in draws if d.completion in results]

    def _single(self, draw: Draw) -> Fetched:
        done = self.client.complete(draw.body)
        return Fetched(draw, done.response, done.error, done.attempts, False, done.latency_s)

    def _send(self, batch: list[Draw]) -> list[Fetched]:
        if len(batch) == 1 or self.n_supported is False:
            return [self._single(d) for d in batch]
        done = self.client.complete(batch_body(batch))
        if done.response is not None:
            parts = split_response(done.response, batch)
            out = [Fetched(d, part, None, done.attempts if i == 0 else 0, False, done.latency_s)
                   for i, (d, part) in enumerate(zip(batch, parts)) if part is not None]
            missing = [d for d, part in zip(batch, parts) if part is None]
            if missing:
                self.n_supported = False
                return out + [self._single(d) for d in missing]
            self.n_supported = True
            return out
        error = done.error or {"type": "unknown", "message": "no response"}
        if error["type"] == CLIENT_ERROR and self.n_supported is None:
            first = self._single(batch[0])
            first.attempts += done.attempts
            if first.response is not None:
                self.n_supported = False
                return [first] + [self._single(d) for d in batch[1:]]
            return [first] + [Fetched(d, None, error, 0, False, done.latency_s) for d in batch[1:]]
        return [Fetched(d, None, error, done.attempts if i == 0 else 0, False, done.latency_s)
                for i, d in enumerate(batch)]
