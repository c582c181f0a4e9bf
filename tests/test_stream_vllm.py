"""Streaming against the real local vLLM (tests/vllm_fixtures.py).

The idle timeout is proven on a generation that really takes longer than
the timeout: the same request without streaming times out, streamed it
completes in one attempt. The fault server (tests/test_stream.py) covers
the streams vLLM will not produce on demand (silence, cuts, error events).
"""

from contour.run.client import TIMEOUT, ChatClient, RetryPolicy

PROMPT = [{"role": "user", "content": "Count to ten."}]


def long_body(model: str, **extra) -> dict:
    # ignore_eos makes vLLM generate exactly max_tokens, so the length is known.
    return {"model": model, "messages": PROMPT, "max_tokens": 1800, "temperature": 0.0,
            "ignore_eos": True, **extra}


def test_a_generation_longer_than_the_timeout_completes_when_streamed(tiny_server):
    base, model = tiny_server.base_url, tiny_server.served_name
    timer = ChatClient(base, timeout=120)
    # The first long generation can also pay the server's warm-up, which would
    # make the timeout below longer than a plain request takes: time the second.
    timer.complete(long_body(model))
    probe = timer.complete(long_body(model))
    assert probe.ok, probe.error
    assert probe.response["usage"]["completion_tokens"] == 1800
    assert probe.response["choices"][0]["finish_reason"] == "length"
    assert 0 < probe.timings.ttft_s < probe.latency_s and probe.timings.decode_tokens_per_s > 0
    # A third of the whole generation: far longer than any pause between tokens.
    timeout = probe.latency_s / 3

    plain = ChatClient(base, timeout=timeout, stream=False,
                       retry=RetryPolicy(max_retries=0)).complete(long_body(model))
    assert plain.error is not None and plain.error["type"] == TIMEOUT

    streamed = ChatClient(base, timeout=timeout,
                          retry=RetryPolicy(max_retries=0)).complete(long_body(model))
    assert streamed.ok, streamed.error
    assert streamed.attempts == 1 and streamed.latency_s > timeout
    assert streamed.response["usage"]["completion_tokens"] == 1800


def test_n_choices_stream_interleaved_and_match_the_plain_shape(tiny_server):
    base, model = tiny_server.base_url, tiny_server.served_name
    request = {"model": model, "messages": PROMPT, "max_tokens": 12, "temperature": 0.8, "n": 3,
               "seed": 7}
    streamed = ChatClient(base, timeout=60).complete(request)
    plain = ChatClient(base, timeout=60, stream=False).complete(request)
    assert streamed.ok and plain.ok
    for done in (streamed, plain):
        assert [c["index"] for c in done.response["choices"]] == [0, 1, 2]
        assert all(isinstance(c["message"]["content"], str) for c in done.response["choices"])
        assert 3 <= done.response["usage"]["completion_tokens"] <= 36     # summed over choices
    assert set(streamed.response["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert streamed.response["usage"]["prompt_tokens"] == plain.response["usage"]["prompt_tokens"]
    assert {c["finish_reason"] for c in streamed.response["choices"]} <= {"stop", "length"}
