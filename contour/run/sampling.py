"""Sample identity, per-request seeds, and k completions per test: pure functions.

**Cache keys.** A *draw* is one completion of one test. Its cache key is
`request_key(body)` under greedy decoding, exactly as it always was (two
samples with the same prompt share one answer, which greedy decoding would
give again anyway), and `request_key(body, identity)` under stochastic
decoding (see `Sampler.stochastic`), where the identity is the test's
coordinate key (namespace, global seed, task, task version, point parameters
without `count`, sample index) plus the completion index. So every sample and
every completion is an independent draw, and a rerun of the same command finds
each one in the cache. The coordinate, not the grid position, names the point:
the same point in another config shares its draws.

**Per-request seeds.** With `"seed": "per-request"` the seed of completion c
of a test is `base + c`, where `base` is taken from a SHA-256 of the test's
identity (below 2**30, so `base + c` stays a positive 31-bit integer for any
practical k). vLLM seeds the children of an `n`-request `seed + i`, so one
request with `n = k` and k single requests draw the same answers.

**k completions.** The missing completions of a test are sent as one request
with `n` = their number when they are consecutive and the server accepts `n`
(vLLM does), else one request each. The reply is split into one response per
completion, each with its own choice, cached under that completion's own key,
so completions are resumed, counted and extended (a run with k = 8 after one
with k = 4 sends only the 4 new ones) on their own.

**Usage of a split reply.** Servers report the tokens of an `n`-request summed
over its choices. Each completion's share keeps the request's prompt tokens
(what it was conditioned on) and gets a share of the completion (and
reasoning) tokens: exactly `max_tokens` for a choice that stopped for length
when that accounts for the total consistently, the rest in proportion to the
length of each choice's text (largest remainders, so the shares add up to the
server's total exactly). Such usage carries `"estimated": true`; the server's
own usage of the request is kept under `contour_request`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Sequence

from contour.run.cache import request_key
from contour.run.reasoning import server_reasoning, split_thinking, usage_reasoning_tokens
from contour.spec.samplers import Sampler
from contour.spec.seeding import SAMPLE, coordinate_key

SEED_SPAN = 2 ** 30
SPLIT_FIELD = "contour_request"     # in a split response: {"n", "choice", "usage"} of the request


@dataclass(frozen=True)
class Draw:
    """One completion of one test, ready to send."""

    completion: int
    body: dict[str, Any]    # the request for this completion alone (what its key hashes)
    key: str
    seed: int | None        # the per-request seed in `body`, if any


def sample_identity(seed: int, task: str, version: int, params: dict[str, Any], sample: int) -> str:
    """The test's coordinate key: the same string that seeds its generation."""
    return coordinate_key(SAMPLE, seed, task, version, params, sample)


def base_seed(identity: str) -> int:
    digest = hashlib.sha256(f"request-seed:{identity}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SEED_SPAN


def plan_draws(sampler: Sampler, model: str, messages: list[dict[str, str]], identity: str,
               completions: Sequence[int]) -> list[Draw]:
    """The draws of the given completion indices of one test."""
    base = sampler.request_body(model, messages)
    draws = []
    for c in completions:
        body, seed = base, None
        if sampler.per_request_seed:
            seed = base_seed(identity) + c
            body = {**base, "seed": seed}
        key = request_key(body, json.dumps([identity, c]) if sampler.stochastic else None)
        draws.append(Draw(c, body, key, seed))
    return draws


def batches(draws: Sequence[Draw], use_n: bool) -> list[list[Draw]]:
    """Runs of consecutive completions (one `n`-request each), or one draw per request."""
    out: list[list[Draw]] = []
    for draw in draws:
        if use_n and out and out[-1][-1].completion + 1 == draw.completion:
            out[-1].append(draw)
        else:
            out.append([draw])
    return out


def batch_body(batch: Sequence[Draw]) -> dict[str, Any]:
    """The request for a batch: the first draw's body (its seed), with `n` when > 1."""
    body = dict(batch[0].body)
    if len(batch) > 1:
        body["n"] = len(batch)
    return body


def split_response(response: dict[str, Any], batch: Sequence[Draw]) -> list[dict[str, Any] | None]:
    """One single-choice response per draw of the batch; None where the reply has no such choice.

    A batch of one gets the response itself, unchanged."""
    if len(batch) == 1:
        return [response]
    choices = response.get("choices") or []
    by_index: dict[int, dict[str, Any]] = {}
    for position, choice in enumerate(choices):
        index = choice.get("index")
        by_index.setdefault(index if isinstance(index, int) and not isinstance(index, bool)
                            else position, choice)
    present = [by_index.get(j) for j in range(len(batch))]
    found = [c for c in present if c is not None]
    max_tokens = batch[0].body.get("max_tokens")
    shares = iter(share_usage(response.get("usage"), found,
                              max_tokens if isinstance(max_tokens, int) else None))
    common = {k: v for k, v in response.items() if k not in ("choices", "usage")}
    out: list[dict[str, Any] | None] = []
    for j, choice in enumerate(present):
        if choice is None:
            out.append(None)
            continue
        out.append({**common, "choices": [{**choice, "index": 0}], "usage": next(shares),
                    SPLIT_FIELD: {"n": len(batch), "choice": j, "usage": response.get("usage")}})
    return out


def share_usage(usage: Any, choices: Sequence[dict[str, Any]],
                max_tokens: int | None) -> list[dict[str, Any] | None]:
    """Each choice's share of a request's usage (rules in the module doc)."""
    if not isinstance(usage, dict):
        return [None] * len(choices)
    prompt = _count(usage.get("prompt_tokens"))
    total = _count(usage.get("completion_tokens"))
    if total is None:
        return [{"prompt_tokens": prompt, "completion_tokens": None, "estimated": True}
                for _ in choices]
    texts = [_texts(choice) for choice in choices]
    tokens = _completion_shares(total, choices, [len(a) + len(r) for a, r in texts], max_tokens)
    reasoning_total = usage_reasoning_tokens(usage)
    reasoning = (apportion(reasoning_total, [len(r) for _, r in texts])
                 if reasoning_total is not None else None)
    shares: list[dict[str, Any] | None] = []
    for i, n in enumerate(tokens):
        share: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": n,
                                 "total_tokens": None if prompt is None else prompt + n,
                                 "estimated": True}
        if reasoning is not None:
            share["completion_tokens_details"] = {"reasoning_tokens": min(reasoning[i], n)}
        shares.append(share)
    return shares


def _count(value: Any) -> int | None:
    """A token count, or None for anything that is not one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _texts(choice: dict[str, Any]) -> tuple[str, str]:
    """(answer text, reasoning text) of a choice, for apportioning its tokens."""
    found = choice.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    content = message.get("content") if isinstance(message.get("content"), str) else ""
    parts = split_thinking(content)
    return parts.final, (server_reasoning(message) or "") + parts.thinking


def _completion_shares(total: int, choices: Sequence[dict[str, Any]], weights: list[int],
                       max_tokens: int | None) -> list[int]:
    cut = [i for i, c in enumerate(choices) if c.get("finish_reason") == "length"]
    rest = [i for i in range(len(choices)) if i not in cut]
    if max_tokens is not None and cut:
        exact = max_tokens * len(cut)
        if exact == total if not rest else exact <= total:
            shares = [0] * len(choices)
            for i in cut:
                shares[i] = max_tokens
            for i, n in zip(rest, apportion(total - exact, [weights[i] for i in rest])):
                shares[i] = n
            return shares
    return apportion(total, weights)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` into integers proportional to `weights` that add up to it exactly.

    Largest remainder (Hamilton) method in integer arithmetic; equal weights
    when all are zero; ties go to the earlier position."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    scale = sum(weights)
    shares = [total * w // scale for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % scale), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares
