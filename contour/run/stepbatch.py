"""One step's draws through a batching transport (`--engine vllm`).

`fetch_step(transport, cache, draws)` is `CompletionFetcher.fetch` for a whole
step at once: every draw's cache key is looked up or claimed, the claimed
ones go to `transport.complete_batch` in one call (each draw's own body, one
completion each: the engine batches them itself, so `n` buys nothing here),
and each answer is stored under its own key before the claims are released.

Claims are taken in key order, so two batches (threads or processes) that
share requests can never each hold a claim the other waits for. A key that
appears twice in the step (a test repeated by a small grid, under greedy
decoding) is sent once and its repeats are answered from it, as the cache
would have answered them.
"""

from __future__ import annotations

import time
from typing import Sequence

from contour.run.cache import Claim, ResponseCache
from contour.run.client import Completion
from contour.run.fetch import Fetched
from contour.run.sampling import Draw
from contour.run.transport import BatchTransport


def fetch_step(transport: BatchTransport, cache: ResponseCache, draws: Sequence[Draw]) -> list[Fetched]:
    """What became of each draw, in the order of `draws`."""
    started = time.monotonic()
    cached: dict[str, dict] = {}
    claims: dict[str, Claim] = {}
    for key in sorted({d.key for d in draws}):
        got = cache.get_or_claim(key)
        if isinstance(got, Claim):
            claims[key] = got
        else:
            cached[key] = got
    looked_up = time.monotonic() - started
    bodies = {d.key: d.body for d in draws}
    sent = list(claims)
    answers: dict[str, Completion] = {}
    try:
        completions = transport.complete_batch([bodies[k] for k in sent]) if sent else []
        for key, completion in zip(sent, completions):
            answers[key] = completion
            if completion.response is not None:
                cache.put(key, completion.response)
    finally:
        for claim in claims.values():
            cache.release(claim)
    out: list[Fetched] = []
    seen: set[str] = set()
    for draw in draws:
        answer = answers.get(draw.key)
        if answer is None:
            out.append(Fetched(draw, cached[draw.key], None, 0, True, looked_up))
        elif draw.key in seen:
            out.append(Fetched(draw, answer.response, answer.error, 0, answer.response is not None,
                               answer.latency_s))
        else:
            seen.add(draw.key)
            out.append(Fetched(draw, answer.response, answer.error, answer.attempts, False,
                               answer.latency_s))
    return out
