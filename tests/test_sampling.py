"""Sample identity in cache keys, per-request seeds, batches and split replies."""

import hashlib
import json
from pathlib import Path

from hypothesis import given, strategies as st

from contour.run.cache import request_key
from contour.run.sampling import (SEED_SPAN, SPLIT_FIELD, apportion, base_seed, batch_body, batches,
                                  plan_draws, sample_identity, split_response)
from contour.spec.samplers import Sampler
from tests.faultserver import chat_completion

MESSAGES = [{"role": "user", "content": "Close the brackets: ("}]


def sampler(**params):
    return Sampler("s", Path("s.json"), {"max_tokens": 64, **params})


def old_request_key(body):
    """The key as Contour computed it before sample identity existed."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def identity(sample, seed=0, params=None):
    return sample_identity(seed, "brackets", 1, params or {"open": 1, "pairs": 0, "types": 1}, sample)


def test_greedy_keys_are_the_old_body_keys():
    greedy = sampler(temperature=0.0)
    for sample in range(3):
        [draw] = plan_draws(greedy, "m", MESSAGES, identity(sample), [0])
        assert draw.key == old_request_key(draw.body) == request_key(draw.body)
        assert draw.body == {"model": "m", "messages": MESSAGES, "max_tokens": 64, "temperature": 0.0}
    # Identical prompts share one greedy answer, as they always did.
    keys = {plan_draws(greedy, "m", MESSAGES, identity(s), [0])[0].key for s in range(5)}
    assert len(keys) == 1


def test_stochastic_keys_name_the_sample_and_completion():
    hot = sampler(temperature=1.0)
    draws = [d for s in range(4) for d in plan_draws(hot, "m", MESSAGES, identity(s), range(3))]
    assert len({d.key for d in draws}) == 12
    assert all(d.key != old_request_key(d.body) for d in draws)
    # Same coordinates, same keys: a rerun finds them.
    again = [d for s in range(4) for d in plan_draws(hot, "m", MESSAGES, identity(s), range(3))]
    assert [d.key for d in again] == [d.key for d in draws]
    # The point's coordinates, the global seed and the sample all name the draw.
    other = {plan_draws(hot, "m", MESSAGES, i, [0])[0].key
             for i in (identity(0, seed=1), identity(0, params={"open": 1, "pairs": 0, "types": 2}))}
    assert not other & {d.key for d in draws}
    # count is not part of a point's identity (count-invariance).
    assert identity(0, params={"open": 1, "pairs": 0, "types": 1, "count": 99}) == identity(0)


def test_per_request_seeds_are_reproducible_distinct_and_in_range():
    seeded = sampler(temperature=0.6, seed="per-request")
    draws = plan_draws(seeded, "m", MESSAGES, identity(3), range(4))
    base = base_seed(identity(3))
    assert 0 <= base < SEED_SPAN
    assert [d.seed for d in draws] == [d.body["seed"] for d in draws] == [base + c for c in range(4)]
    assert plan_draws(seeded, "m", MESSAGES, identity(3), range(4)) == draws
    assert len({base_seed(identity(s)) for s in range(200)}) == 200
    assert all(d.seed < 2**31 for d in draws)


def test_batches_are_runs_of_consecutive_completions():
    draws = plan_draws(sampler(temperature=1.0), "m", MESSAGES, identity(0), [0, 1, 2, 5, 6, 9])
    assert [[d.completion for d in b] for b in batches(draws, True)] == [[0, 1, 2], [5, 6], [9]]
    assert [[d.completion for d in b] for b in batches(draws, False)] == [[c] for c in (0, 1, 2, 5, 6, 9)]
    seeded = plan_draws(sampler(temperature=1.0, seed="per-request"), "m", MESSAGES, identity(0), [2, 3, 4])
    body = batch_body(seeded)
    # vLLM seeds the children of an n-request seed + i: the same draws as three single requests.
    assert body["n"] == 3 and body["seed"] == seeded[0].seed
    assert batch_body(seeded[:1]) == seeded[0].body


def test_split_reply_gives_one_response_per_completion_and_usage_adds_up():
    draws = plan_draws(sampler(temperature=1.0, max_tokens=8), "m", MESSAGES, identity(0), range(3))
    reply = chat_completion({**batch_body(draws), "messages": MESSAGES}, ["a b", "a b c d e", "x"])
    reply["choices"][1]["finish_reason"] = "length"   # 8 tokens exactly, by max_tokens
    reply["usage"]["completion_tokens"] = 8 + 2 + 1
    parts = split_response(reply, draws)
    assert [p["choices"][0]["message"]["content"] for p in parts] == ["a b", "a b c d e", "x"]
    assert all(p["choices"][0]["index"] == 0 and p[SPLIT_FIELD]["n"] == 3 for p in parts)
    assert [p[SPLIT_FIELD]["choice"] for p in parts] == [0, 1, 2]
    tokens = [p["usage"]["completion_tokens"] for p in parts]
    assert tokens == [2, 8, 1] and sum(tokens) == reply["usage"]["completion_tokens"]
    assert all(p["usage"]["prompt_tokens"] == reply["usage"]["prompt_tokens"] for p in parts)
    assert all(p["usage"]["estimated"] for p in parts)
    # A batch of one is the reply itself: greedy caches stay byte-identical.
    assert split_response(reply, draws[:1]) == [reply]


def test_split_reply_shares_reasoning_tokens_by_reasoning_length():
    draws = plan_draws(sampler(temperature=1.0), "m", MESSAGES, identity(0), range(2))
    reply = chat_completion({**batch_body(draws), "messages": MESSAGES}, ["<think>a b c</think>)", ")"])
    reply["usage"]["completion_tokens_details"] = {"reasoning_tokens": 30}
    reply["usage"]["completion_tokens"] = 40
    parts = split_response(reply, draws)
    reasoning = [p["usage"]["completion_tokens_details"]["reasoning_tokens"] for p in parts]
    assert reasoning == [30, 0]
    assert sum(p["usage"]["completion_tokens"] for p in parts) == 40


def test_split_reply_with_fewer_choices_marks_the_missing():
    draws = plan_draws(sampler(temperature=1.0), "m", MESSAGES, identity(0), range(3))
    reply = chat_completion({"messages": MESSAGES}, "only one")     # n ignored
    parts = split_response(reply, draws)
    assert parts[0]["choices"][0]["message"]["content"] == "only one" and parts[1:] == [None, None]


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**4), min_size=1, max_size=20))
def test_apportion_adds_up_and_stays_within_one_of_proportional(total, weights):
    shares = apportion(total, weights)
    assert sum(shares) == total and all(s >= 0 for s in shares)
    scale = sum(weights) or len(weights)
    for share, weight in zip(shares, weights if sum(weights) else [1] * len(weights)):
        assert abs(share - total * weight / scale) < 1 + 1e-9


def test_identity_key_differs_from_the_body_key():
    body = {"model": "m", "messages": MESSAGES, "max_tokens": 8}
    assert request_key(body, "x") != request_key(body) == old_request_key(body)
    assert request_key(body, "x") != request_key(body, "y")
