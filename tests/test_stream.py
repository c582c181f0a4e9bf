"""Streamed completions: SSE decoding, chunk assembly, idle timeout, --max-time.

The pure parts are fed hand-written streams in vLLM 0.32's shape; the I/O
part talks to tests/faultserver.py, which streams (and pauses, stalls, cuts
and errors) on demand. tests/test_runner_vllm.py covers a real vLLM stream.
"""

import json
import time

import pytest

from contour.run import stream as sse
from contour.run.client import (CLIENT_ERROR, CONNECTION, MAX_TIME, SERVER_ERROR, TIMEOUT,
                                TRANSIENT_ERRORS, ChatClient, RetryPolicy)
from tests.faultserver import (DEFAULT_CONTENT, Fault, FaultServer, no_streaming, stalls,
                               streaming, text_pieces)


def body(**params) -> dict:
    return {"model": "test-model", "messages": [{"role": "user", "content": "6 x 7?"}],
            "max_tokens": 16, **params}


def client_for(server: FaultServer, timeout: float = 5.0, retries: int = 2, **kw) -> ChatClient:
    return ChatClient(server.apibase, timeout=timeout, sleep=lambda s: None,
                      retry=RetryPolicy(max_retries=retries), **kw)


def chunk(index: int, delta: dict, finish: str | None = None, **extra) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish, **extra}]}


# -- SSE decoding ---------------------------------------------------------------

WIRE = (b": ping\n\ndata: {\"a\": 1}\n\n"
        b"data: first line\ndata:second line\n\n"
        b"event: message\r\nid: 7\r\ndata: crlf\r\n\r\n"
        b"data: [DONE]\n\n")
EVENTS = ['{"a": 1}', "first line\nsecond line", "crlf", "[DONE]"]


def test_sse_events_in_one_piece():
    assert sse.SseDecoder().feed(WIRE) == EVENTS


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_sse_events_split_anywhere(size):
    decoder, events = sse.SseDecoder(), []
    for i in range(0, len(WIRE), size):
        events += decoder.feed(WIRE[i:i + size])
    assert events == EVENTS and decoder.close() == []


def test_sse_last_event_without_blank_line_comes_out_at_close():
    decoder = sse.SseDecoder()
    assert decoder.feed(b"data: x\n\ndata: y") == ["x"]
    assert decoder.close() == ["y"]


# -- assembling chunks ------------------------------------------------------------

def test_interleaved_choices_are_assembled_by_index_with_final_usage():
    usage = {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    events = [chunk(1, {"role": "assistant", "content": ""}), chunk(0, {"role": "assistant", "content": ""}),
              chunk(0, {"content": "Final "}), chunk(1, {"content": "The "}),
              chunk(1, {"content": "end"}), chunk(0, {"content": "Answer: 4"}),
              chunk(1, {"content": ""}, "length"), chunk(0, {"content": "2"}, "stop", stop_reason="</s>"),
              {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [], "usage": usage}]
    response = sse.assemble([json.dumps(e) for e in events] + ["[DONE]"])
    assert [c["index"] for c in response["choices"]] == [0, 1]
    assert [c["message"]["content"] for c in response["choices"]] == ["Final Answer: 42", "The end"]
    assert [c["finish_reason"] for c in response["choices"]] == ["stop", "length"]
    assert [c["stop_reason"] for c in response["choices"]] == ["</s>", None]
    assert response["usage"] == usage and response["model"] == "m" and response["id"] == "c1"
    assert response["object"] == "chat.completion"


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content"])
def test_reasoning_deltas_keep_their_key(key):
    events = [chunk(0, {"role": "assistant", "content": ""}), chunk(0, {key: "Let me "}),
              chunk(0, {key: "think."}), chunk(0, {"content": "42"}, "stop")]
    message = sse.assemble(json.dumps(e) for e in events)["choices"][0]["message"]
    assert message["content"] == "42" and message[key] == "Let me think."
    other = {"reasoning": "reasoning_content", "reasoning_content": "reasoning"}[key]
    assert other not in message


def test_reasoning_cut_off_leaves_content_null_as_a_non_streamed_reply_does():
    events = [chunk(0, {"role": "assistant", "content": ""}), chunk(0, {"reasoning": "Hmm"}, "length")]
    choice = sse.assemble(json.dumps(e) for e in events)["choices"][0]
    assert choice["message"]["content"] is None and choice["finish_reason"] == "length"


def test_empty_generation_is_an_empty_string():
    events = [chunk(0, {"role": "assistant", "content": ""}), chunk(0, {"content": ""}, "stop")]
    assert sse.assemble(json.dumps(e) for e in events)["choices"][0]["message"]["content"] == ""


def test_stream_without_done_is_accepted_only_when_every_choice_finished():
    finished = [chunk(0, {"content": "a"}, "stop")]
    assert sse.assemble(json.dumps(e) for e in finished)["choices"][0]["message"]["content"] == "a"
    with pytest.raises(sse.StreamCut):
        sse.assemble([json.dumps(chunk(0, {"content": "a"}))])


def test_error_event_and_malformed_events():
    with pytest.raises(sse.StreamErrorEvent) as info:
        sse.assemble([json.dumps({"error": {"message": "boom", "type": "InternalServerError",
                                            "code": 500}})])
    assert info.value.status == 500 and info.value.message == "boom"
    for bad in ["{not json", "[1, 2]", json.dumps({"choices": "x"}),
                json.dumps({"choices": [{"index": "0", "delta": {}}]})]:
        with pytest.raises(sse.StreamMalformed):
            sse.assemble([bad])


def test_decode_rate():
    usage = {"completion_tokens": 11}
    assert sse.decode_tokens_per_s(usage, 1, 1.0, 3.0) == pytest.approx(5.0)
    assert sse.decode_tokens_per_s(usage, 1, 1.0, 1.0) is None
    assert sse.decode_tokens_per_s(None, 1, 1.0, 3.0) is None
    assert sse.decode_tokens_per_s({"completion_tokens": 2}, 2, 1.0, 3.0) is None


def test_streaming_body_leaves_the_keyed_body_alone():
    original = body()
    sent = sse.streaming_body(original)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert "stream" not in original


# -- against the fault server -------------------------------------------------------

@pytest.mark.usefixtures("each_transport")
def test_streamed_and_plain_replies_are_the_same_dict():
    with FaultServer() as server:
        streamed = client_for(server).complete(body(n=2, temperature=0.5))
        plain = client_for(server, stream=False).complete(body(n=2, temperature=0.5))
    for key in ("usage", "model", "object"):
        assert streamed.response[key] == plain.response[key]
    strip = [{k: c[k] for k in ("index", "finish_reason", "stop_reason")} for c in plain.response["choices"]]
    assert [{k: c[k] for k in ("index", "finish_reason", "stop_reason")}
            for c in streamed.response["choices"]] == strip
    assert [c["message"]["content"] for c in streamed.response["choices"]] == [DEFAULT_CONTENT] * 2
    assert streamed.timings.ttft_s is not None and plain.timings == sse.NO_TIMINGS


@pytest.mark.usefixtures("each_transport")
def test_a_generation_longer_than_the_timeout_completes_while_tokens_flow():
    # 12 pieces 0.15 s apart: about 1.8 s in all, never more than 0.15 s of silence.
    content = " ".join(f"w{i}" for i in range(12))
    with FaultServer([streaming(content, token_delay=0.15)]) as server:
        done = client_for(server, timeout=0.6, retries=0).complete(body())
    assert done.ok, done.error
    assert done.attempts == 1 and done.latency_s > 0.6 * 2
    assert done.response["choices"][0]["message"]["content"] == content
    assert 0 < done.timings.ttft_s < done.latency_s
    assert done.timings.decode_tokens_per_s > 0


@pytest.mark.usefixtures("each_transport")
def test_the_same_slow_generation_times_out_without_streaming():
    with FaultServer([Fault(delay=1.5, stream=False)]) as server:
        done = client_for(server, timeout=0.6, retries=0, stream=False).complete(body())
    assert done.error["type"] == TIMEOUT


@pytest.mark.usefixtures("each_transport")
def test_a_stream_that_falls_silent_is_abandoned_after_the_timeout_and_retried():
    with FaultServer([stalls(after_chunks=2)]) as server:
        started = time.monotonic()
        done = client_for(server, timeout=0.5).complete(body())
        elapsed = time.monotonic() - started
    assert done.ok and done.attempts == 2 and server.hits == 2
    assert elapsed >= 0.5       # the first attempt waited out its silence
    assert done.response["choices"][0]["message"]["content"] == DEFAULT_CONTENT


@pytest.mark.usefixtures("each_transport")
def test_silence_on_every_attempt_is_a_timeout_error():
    with FaultServer(default=stalls(after_chunks=1)) as server:
        done = client_for(server, timeout=0.3, retries=1).complete(body())
    assert done.error["type"] == TIMEOUT and done.attempts == 2
    assert "silent" in done.error["message"] and "--timeout" in done.error["message"]


@pytest.mark.usefixtures("each_transport")
def test_a_stream_cut_mid_body_is_a_connection_error_and_retried():
    with FaultServer([Fault(cut_after=1)]) as server:
        done = client_for(server).complete(body())
    assert done.ok and done.attempts == 2


@pytest.mark.usefixtures("each_transport")
def test_max_time_caps_a_streaming_attempt_and_is_not_retried():
    content = " ".join(f"w{i}" for i in range(30))
    with FaultServer(default=streaming(content, token_delay=0.1)) as server:
        done = client_for(server, timeout=5.0, max_time=0.5).complete(body())
    assert done.error["type"] == MAX_TIME and done.attempts == 1 and server.hits == 1
    assert MAX_TIME not in TRANSIENT_ERRORS and "--max-time" in done.error["message"]


@pytest.mark.usefixtures("each_transport")
@pytest.mark.parametrize("code, kind, attempts", [(500, SERVER_ERROR, 3), (400, CLIENT_ERROR, 1)])
def test_an_error_event_inside_the_stream(code, kind, attempts):
    error = {"message": "went wrong", "type": "X", "param": None, "code": code}
    with FaultServer(default=Fault(error_event=error)) as server:
        done = client_for(server, retries=2).complete(body())
    assert done.error["type"] == kind and done.attempts == attempts
    assert "went wrong" in done.error["message"]


@pytest.mark.usefixtures("each_transport")
def test_a_server_without_streaming_answers_plain_json():
    with FaultServer(default=no_streaming("Final Answer: 7")) as server:
        done = client_for(server).complete(body())
    assert done.ok and done.response["choices"][0]["message"]["content"] == "Final Answer: 7"
    assert done.timings == sse.NO_TIMINGS
    assert server.last_body["stream"] is True


@pytest.mark.usefixtures("each_transport")
@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_streamed_reasoning_reaches_the_message(field):
    with FaultServer(default=streaming("Final Answer: 3", reasoning="one plus two"),
                     reasoning_field=field) as server:
        done = client_for(server).complete(body())
    message = done.response["choices"][0]["message"]
    assert message[field] == "one plus two" and message["content"] == "Final Answer: 3"


@pytest.mark.usefixtures("each_transport")
def test_streamed_n_choices_with_their_own_contents_come_apart_by_index():
    texts = ["Final Answer: 1", "so the answer is Final Answer: 22", "Final Answer: 333 end"]
    with FaultServer(default=streaming(texts, reasoning="think hard")) as server:
        done = client_for(server).complete({**body(), "n": 3})
    choices = done.response["choices"]
    assert [c["message"]["content"] for c in choices] == texts
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert all(c["message"]["reasoning_content"] == "think hard" for c in choices)
    assert done.response["usage"]["completion_tokens"] == sum(len(t.split()) + 2 for t in texts)


def test_fault_server_cuts_text_into_pieces():
    assert "".join(text_pieces("a  b c ")) == "a  b c "
    assert text_pieces("") == []


def test_zero_max_time_is_a_user_error():
    from contour.errors import ContourError
    with pytest.raises(ContourError, match="--max-time"):
        ChatClient("http://127.0.0.1:1", max_time=0)
    assert CONNECTION in TRANSIENT_ERRORS


# -- the runner, end to end -----------------------------------------------------------

def _one_point_config(tmp_path, count: int = 2):
    config = tmp_path / "one.yaml"
    config.write_text(f"precision: {{p: {{count: {count}}}}}\ntasks:\n  - name: arithmetic\n")
    return config


@pytest.mark.parametrize("transport", ["aiohttp", "requests"])
def test_runner_records_ttft_and_retries_a_stalled_stream(tmp_path, transport):
    from tests.runhelp import records, run_online

    with FaultServer([stalls(after_chunks=1)]) as server:
        proc = run_online(server.apibase, "test-model", tmp_path, "--threads", "1", "--parallel", "1",
                          "--timeout", "0.5", "--transport", transport,
                          config=_one_point_config(tmp_path))
        assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    assert len(recs) == 2 and all(r["error"] is None for r in recs)
    assert sorted(r["extra"]["attempts"] for r in recs) == [1, 2]
    for r in recs:
        assert 0 < r["timings"]["ttft_s"] <= r["latency_s"]
        assert r["timings"]["finish_reason"] == "stop"
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["transport"] == transport


def test_runner_no_stream_and_max_time_flags(tmp_path):
    from tests.runhelp import records, run_online

    with FaultServer() as server:
        proc = run_online(server.apibase, "test-model", tmp_path, "--no-stream", "--max-time", "30",
                          config=_one_point_config(tmp_path))
        assert proc.returncode == 0, proc.stderr
        assert all("stream" not in r.body for r in server.completion_requests)
    recs = records(tmp_path / "run")
    assert all(r["timings"]["ttft_s"] is None and r["error"] is None for r in recs)


def test_runner_max_time_error_is_recorded_once(tmp_path):
    from tests.runhelp import records, run_online

    content = " ".join(f"w{i}" for i in range(40))
    with FaultServer(default=streaming(content, token_delay=0.05)) as server:
        proc = run_online(server.apibase, "test-model", tmp_path, "--max-time", "0.3",
                          config=_one_point_config(tmp_path, count=1))
        assert proc.returncode == 0, proc.stderr
        assert server.hits == 1
    (rec,) = records(tmp_path / "run")
    assert rec["error"]["type"] == MAX_TIME and rec["extra"]["attempts"] == 1
