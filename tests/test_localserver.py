"""Tests against a real vLLM server serving the tiny random model.

Its output is gibberish and not stable across settings: nothing here
asserts generated text, only the protocol around it.
"""

import json
import time
import urllib.error
import urllib.request

from contour.local.server import REQUEST_COUNTER, sum_metric

# The server is on loopback: never route to it through an http_proxy.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(server, body, path="/v1/chat/completions"):
    """POST JSON; returns (status, parsed body) for successes and HTTP errors alike."""
    req = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with _opener.open(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def chat(server, content="Say something.", **params):
    body = {"model": server.served_name, "messages": [{"role": "user", "content": content}]}
    return post(server, {**body, **params})


def assert_error_body(body, status):
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["code"] == status
    assert "type" in error


def wait_for_count(server, expected, timeout=10.0):
    # The engine may update its counters just after the response is sent.
    deadline = time.monotonic() + timeout
    while (count := server.request_count()) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_models_lists_served_name(tiny_server):
    assert tiny_server.served_name in tiny_server.models()


def test_chat_completion_stops_at_max_tokens(tiny_server):
    # ignore_eos: a random model may emit its EOS early; this pins "length".
    status, body = chat(tiny_server, max_tokens=8, ignore_eos=True)
    assert status == 200, body
    assert body["model"] == tiny_server.served_name
    [choice] = body["choices"]
    assert choice["finish_reason"] == "length"
    assert isinstance(choice["message"]["content"], str)
    usage = body["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_stop_string_gives_finish_reason_stop(tiny_server):
    # Greedy output is repeatable on one server with nothing else running,
    # so a stop string taken from a first answer is hit by the second.
    params = {"max_tokens": 8, "temperature": 0, "ignore_eos": True}
    status, first = chat(tiny_server, **params)
    assert status == 200, first
    text = first["choices"][0]["message"]["content"]
    if not text:  # only special tokens came out: nothing to stop on
        assert first["choices"][0]["finish_reason"] in ("stop", "length")
        return
    stop = text[0]
    status, second = chat(tiny_server, stop=[stop], **params)
    assert status == 200, second
    choice = second["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["stop_reason"] == stop
    assert second["usage"]["completion_tokens"] <= 8


def test_max_tokens_above_context_is_400(tiny_server):
    status, body = chat(tiny_server, max_tokens=tiny_server.config.max_model_len + 1)
    assert status == 400, body
    assert_error_body(body, 400)


def test_unknown_model_is_404(tiny_server):
    status, body = post(
        tiny_server,
        {"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
    )
    assert status == 404, body
    assert_error_body(body, 404)


def test_request_counter_counts_exactly_the_requests_sent(tiny_server):
    before = wait_for_count(tiny_server, 0)
    for i in range(3):
        status, body = chat(tiny_server, content=f"request {i}", max_tokens=2)
        assert status == 200, body
    assert wait_for_count(tiny_server, before + 3) == before + 3

    # Rejected requests never reach the engine, so they do not count.
    assert chat(tiny_server, max_tokens=10**6)[0] == 400
    assert chat(tiny_server, model="nope", max_tokens=1)[0] == 404
    time.sleep(0.5)
    assert tiny_server.request_count() == before + 3


def test_sum_metric_parses_prometheus_text():
    text = "\n".join(
        [
            "# HELP vllm:request_success_total Count of successfully processed requests.",
            "# TYPE vllm:request_success_total counter",
            'vllm:request_success_total{engine="0",finished_reason="stop",model_name="a"} 2.0',
            'vllm:request_success_total{engine="0",finished_reason="length",model_name="a"} 3.0',
            'vllm:request_success_total{engine="0",finished_reason="length",model_name="b"} 7.0',
            'vllm:request_success_created{engine="0",finished_reason="stop",model_name="a"} 1.7e+09',
        ]
    )
    assert sum_metric(text, REQUEST_COUNTER) == 12.0
    assert sum_metric(text, REQUEST_COUNTER, model_name="a") == 5.0
    assert sum_metric(text, REQUEST_COUNTER, model_name="a", finished_reason="stop") == 2.0
    assert sum_metric(text, "vllm:missing") == 0.0
