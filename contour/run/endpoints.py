"""Several OpenAI-compatible endpoints presented as one client.

`EndpointPool.acomplete(body)` has the contract of `ChatClient.acomplete`
(never raises for server or network trouble; returns a `Completion`), so the
engine does not know whether it talks to one server or to many:

- **Balancing**: each attempt goes to the healthy endpoint with the fewest
  requests in flight (ties: the one that has been sent the least). vLLM
  batches whatever it holds, so keeping every replica equally busy is what
  matters; least-in-flight does that without knowing their speeds.
- **Draining**: `drain_after` consecutive endpoint failures (connection
  errors, 5xx, timeouts; not 429 or a 4xx, which say nothing about the
  endpoint's health) take an endpoint out of rotation. The attempt that
  failed is sent again to another endpoint at once, without backoff.
- **Probing**: a drained endpoint is probed with GET /v1/models after
  `probe_interval_s` (doubling on each failed probe, up to 8x); when it
  answers and still serves the model it is back in rotation.
- **Retry budget**: as for one server, `retry.max_retries` extra attempts
  per request, with backoff when the next attempt goes to the same endpoint.
  An attempt lost on an endpoint that is drained by then is not charged
  (at most one such free attempt per endpoint), so killing one replica
  does not turn its in-flight requests into failed records.
- **Everything down**: the request goes to the endpoint whose probe is due
  soonest, so a total outage ends like a one-server outage (retries, then a
  transient error record that a resume retries), never a hang.

The cache key is built from the request body alone, so a response is the
same cached answer whatever endpoint produced it.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from contour.errors import ContourError
from contour.masking import mask_url
from contour.run.loop import pause, run_sync
from contour.run.client import (CONNECTION, SERVER_ERROR, TIMEOUT, TRANSIENT_ERRORS, ChatClient,
                                Completion, RetryPolicy, normalize_apibase)

# The failures that say the endpoint (not the request) is in trouble.
ENDPOINT_FAILURES = frozenset({CONNECTION, SERVER_ERROR, TIMEOUT})
_MAX_PROBE_BACKOFF = 8


def parse_apibases(values: str | Sequence[str] | None) -> list[str]:
    """Normalised API bases from `--apibase` given once, repeated, or as a comma list.

    A repeated endpoint is a ContourError: it would silently double its share.
    """
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    found: list[str] = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                base = normalize_apibase(part)
                if base in found:
                    raise ContourError(f"--apibase {base} is given twice")
                found.append(base)
    return found


@dataclass
class EndpointCounts:
    """What one endpoint did during this session (stats.json, `endpoints`)."""

    requests: int = 0           # attempts sent to it
    answered: int = 0           # attempts that came back as a usable completion
    failed: Counter = field(default_factory=Counter)   # attempts failed, by error type
    drained: int = 0            # times it was taken out of rotation
    recovered: int = 0          # times a probe put it back

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "answered": self.answered,
                "failed": dict(sorted(self.failed.items())), "drained": self.drained,
                "recovered": self.recovered}


@dataclass
class _Endpoint:
    client: ChatClient
    counts: EndpointCounts = field(default_factory=EndpointCounts)
    in_flight: int = 0
    consecutive_failures: int = 0
    down: bool = False
    probes_failed: int = 0
    next_probe: float = 0.0
    probing: bool = False


class EndpointPool:
    """`acomplete(body)` over several ChatClients; thread-safe; see the module doc.
    Its counts are shared by the loop (requests) and probe threads, hence the lock."""

    def __init__(self, clients: Sequence[ChatClient], retry: RetryPolicy = RetryPolicy(), *,
                 drain_after: int = 3, probe_interval_s: float = 10.0,
                 sleep: Callable[[float], Awaitable[None] | None] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        if not clients:
            raise ValueError("an endpoint pool needs at least one client")
        if drain_after < 1:
            raise ValueError(f"drain_after must be >= 1, got {drain_after}")
        self._endpoints = [_Endpoint(c) for c in clients]
        self.retry = retry
        self.drain_after = drain_after
        self.probe_interval_s = probe_interval_s
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._model: str | None = None

    @property
    def apibases(self) -> list[str]:
        return [e.client.apibase for e in self._endpoints]

    @property
    def transport(self) -> str:
        """The HTTP wire of its clients (one for all: open_endpoints builds them alike)."""
        return self._endpoints[0].client.transport

    def __repr__(self) -> str:
        return f"EndpointPool({self.apibases!r})"

    # -- startup checks -------------------------------------------------------

    def check_model(self, name: str) -> None:
        """Every endpoint must serve `name` (ContourError naming the one that does not)."""
        for endpoint in self._endpoints:
            endpoint.client.check_model(name)
        self._model = name

    def max_model_len(self, name: str) -> int | None:
        """The smallest context length any endpoint reports, so a request fits them all."""
        lengths = [n for n in (e.client.max_model_len(name) for e in self._endpoints) if n]
        return min(lengths) if lengths else None

    # -- completions ----------------------------------------------------------

    def complete(self, body: dict[str, Any]) -> Completion:
        return run_sync(self.acomplete(body))

    async def acomplete(self, body: dict[str, Any]) -> Completion:
        start = self._clock()
        attempts = charged = 0
        free_left = len(self._endpoints)
        previous: _Endpoint | None = None
        while True:
            endpoint = self._acquire(avoid=previous)
            attempts += 1
            try:
                outcome = await endpoint.client.acomplete(body)
            except BaseException:
                self._release(endpoint, None)
                raise
            self._release(endpoint, outcome.error)
            error = outcome.error
            if error is None or error["type"] not in TRANSIENT_ERRORS:
                return Completion(outcome.response, error, self._clock() - start, attempts,
                                  outcome.timings)
            if endpoint.down and free_left > 0 and self._any_up():
                free_left -= 1          # lost to a failing endpoint: send it elsewhere, uncharged
            else:
                charged += 1
                if charged > self.retry.max_retries:
                    return Completion(None, error, self._clock() - start, attempts)
                if not self._other_up(endpoint):
                    await pause(self._sleep, self.retry.delay(charged - 1, self._rng.random()))
            previous = endpoint

    def _acquire(self, avoid: _Endpoint | None) -> _Endpoint:
        with self._lock:
            self._start_due_probes()
            up = [e for e in self._endpoints if not e.down]
            if avoid is not None and len(up) > 1:
                up = [e for e in up if e is not avoid] or up
            if up:
                chosen = min(up, key=lambda e: (e.in_flight, e.counts.requests))
            else:
                # All drained: a real request is the probe, so an outage ends
                # like a one-server outage instead of a wait.
                chosen = min(self._endpoints, key=lambda e: (e.next_probe, e.in_flight))
            chosen.in_flight += 1
            chosen.counts.requests += 1
            return chosen

    def _release(self, endpoint: _Endpoint, error: dict[str, Any] | None) -> None:
        with self._lock:
            endpoint.in_flight -= 1
            if error is None:
                endpoint.counts.answered += 1
                endpoint.consecutive_failures = 0
                if endpoint.down:
                    self._mark_up(endpoint)
                return
            endpoint.counts.failed[error["type"]] += 1
            if error["type"] not in ENDPOINT_FAILURES:
                return
            endpoint.consecutive_failures += 1
            if endpoint.down:
                endpoint.next_probe = self._clock() + self._probe_delay(endpoint)
            elif endpoint.consecutive_failures >= self.drain_after:
                endpoint.down = True
                endpoint.counts.drained += 1
                endpoint.probes_failed = 0
                endpoint.next_probe = self._clock() + self.probe_interval_s

    def _mark_up(self, endpoint: _Endpoint) -> None:
        endpoint.down = False
        endpoint.consecutive_failures = 0
        endpoint.probes_failed = 0
        endpoint.counts.recovered += 1

    def _any_up(self) -> bool:
        with self._lock:
            return any(not e.down for e in self._endpoints)

    def _other_up(self, endpoint: _Endpoint) -> bool:
        with self._lock:
            return any(not e.down and e is not endpoint for e in self._endpoints)

    # -- probing --------------------------------------------------------------

    def _probe_delay(self, endpoint: _Endpoint) -> float:
        return self.probe_interval_s * min(2 ** endpoint.probes_failed, _MAX_PROBE_BACKOFF)

    def _start_due_probes(self) -> None:
        """Under the lock: start a probe thread for each drained endpoint whose time has come."""
        now = self._clock()
        for endpoint in self._endpoints:
            if endpoint.down and not endpoint.probing and now >= endpoint.next_probe:
                endpoint.probing = True
                threading.Thread(target=self._probe, args=(endpoint,), daemon=True,
                                 name=f"probe-{endpoint.client.apibase}").start()

    def _probe(self, endpoint: _Endpoint) -> None:
        try:
            served = endpoint.client.list_models()
            healthy = self._model is None or self._model in served
        except ContourError:
            healthy = False
        with self._lock:
            endpoint.probing = False
            if not endpoint.down:
                return
            if healthy:
                self._mark_up(endpoint)
            else:
                endpoint.probes_failed += 1
                endpoint.next_probe = self._clock() + self._probe_delay(endpoint)

    # -- reporting ------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Per-endpoint counts and state, keyed by API base (for stats.json)."""
        with self._lock:
            return {mask_url(e.client.apibase): {**e.counts.as_dict(), "in_flight": e.in_flight,
                                                 "state": "drained" if e.down else "up"}
                    for e in self._endpoints}

    def close(self) -> None:
        for endpoint in self._endpoints:
            endpoint.client.close()


def open_endpoints(apibases: Sequence[str], api_key: str | None, timeout: float,
                   retry: RetryPolicy, pool_size: int, stream: bool = True,
                   max_time: float | None = None,
                   transport: str | None = None) -> ChatClient | EndpointPool:
    """One ChatClient for one endpoint (unchanged behaviour), a pool for several.

    The pool's clients make one attempt each: retries are the pool's, so a
    retry can go to another endpoint.
    """
    if len(apibases) == 1:
        return ChatClient(apibases[0], api_key=api_key, timeout=timeout, retry=retry,
                          pool_size=pool_size, stream=stream, max_time=max_time,
                          transport=transport)
    clients = [ChatClient(base, api_key=api_key, timeout=timeout, retry=RetryPolicy(max_retries=0),
                          pool_size=pool_size, stream=stream, max_time=max_time,
                          transport=transport) for base in apibases]
    return EndpointPool(clients, retry)
