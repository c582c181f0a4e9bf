"""contour.jsontext (orjson on the hot paths) against the standard library,
which stays the reference: the same values read and written, json's verdict
and json's text wherever orjson refuses, and the two chosen differences."""

import json
import math

import pytest

from contour import jsontext
from tests.faultserver import chat_completion

EVENT = ('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1733200000,"model":"m",'
         '"choices":[{"index":0,"delta":{"content":" l\\u00e4uft \\"x\\"\\n"},"logprobs":null,'
         '"finish_reason":null}]}')
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _values():
    response = chat_completion({"messages": [{"role": "user", "content": "2+2?"}], "n": 2}, "Final Answer: 4")
    record = {"task": "arithmetic/length=3", "input": "Évaluer: 3 × 4 = ?", "target": "12",
              "genresult": {"chain": [3, "*", [4, "-", -1]], "nesting": 1}, "guess_chance": 0.0125,
              "latency_s": 0.0421, "usage": {"prompt_tokens": 50, "completion_tokens": 7},
              "timings": {"ttft_s": 0.001, "decode_tokens_per_s": None}, "is_valid": True,
              "extra": {"request_seed": 2**63 - 1, "emoji": "🙂", "empty": {}, "list": []}}
    return [response, record, json.loads(EVENT), [1.5, -0.0, 1e22, 0.1 + 0.2, 1 / 3], "plain", None]


@pytest.mark.parametrize("value", _values())
def test_dumps_writes_json_compact_text_of_the_same_value(value):
    text = jsontext.dumps(value)
    assert text == COMPACT.encode(value)
    assert json.loads(text) == value


def test_a_very_small_float_may_be_spelled_another_way_but_is_the_same_number():
    assert json.loads(jsontext.dumps({"x": 1e-05})) == {"x": 1e-05}


@pytest.mark.parametrize("value", [{1: "int key"}, {"big": 2**80}, {True: None}])
def test_what_orjson_refuses_to_write_is_written_as_json_writes_it(value):
    assert jsontext.dumps(value) == COMPACT.encode(value)
    assert jsontext.dump_lines([{"a": 1}, value]) == (
        COMPACT.encode({"a": 1}) + "\n" + COMPACT.encode(value) + "\n").encode("utf-8")


def test_a_lone_surrogate_is_json_text_but_no_utf8_line():
    assert jsontext.dumps({"s": "\ud800"}) == COMPACT.encode({"s": "\ud800"})
    with pytest.raises(UnicodeEncodeError):     # as the records file's encoding always refused it
        jsontext.dump_lines([{"s": "\ud800"}])


def test_what_json_cannot_write_either_raises_as_json_raises():
    with pytest.raises(TypeError):
        jsontext.dumps({"x": {1, 2}})


def test_a_non_finite_float_is_written_as_null_not_as_invalid_json():
    assert json.loads(jsontext.dumps({"a": math.nan, "b": math.inf})) == {"a": None, "b": None}


def test_dump_lines_is_json_lines():
    values = _values()
    text = jsontext.dump_lines(values).decode("utf-8")
    assert text.endswith("\n") and [json.loads(line) for line in text.splitlines()] == values


@pytest.mark.parametrize("text", [EVENT, EVENT.encode(), json.dumps(_values()[0]), ' {"a": [1, 2.5, "x"]} ',
                                  '{"a": NaN, "b": -Infinity}', '"\\ud800"', '{"a":1,"a":2}', "[1e400]"])
def test_loads_reads_what_json_reads(text):
    got, want = jsontext.loads(text), json.loads(text)
    assert json.dumps(got) == json.dumps(want)      # NaN != NaN, so compared as text


def test_loads_reads_utf16_as_json_does():
    data = json.dumps({"a": "ü"}).encode("utf-16")
    assert jsontext.loads(data) == {"a": "ü"}


@pytest.mark.parametrize("text", ["", "{", '{"a":1} x', "nope", "[1,]", "\ufeff{}"])
def test_loads_refuses_what_json_refuses(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        jsontext.loads(text)


def test_an_integer_beyond_64_bits_is_read_as_a_float_the_chosen_difference():
    assert jsontext.loads("123456789012345678901234567890") == pytest.approx(1.2345678901234568e29)


REQUEST = json.JSONEncoder(allow_nan=False)


def _bodies():
    messages = [{"role": "system", "content": "Réponds en français 🙂"},
                {"role": "user", "content": "Evaluate: 868 - 853 + 477 ="}]
    return [{"model": "m", "messages": messages, "temperature": 0.6, "top_p": 0.95, "max_tokens": 32768,
             "seed": 2**63 - 1, "stream": True, "stream_options": {"include_usage": True}},
            {"model": "m", "messages": messages, "stop": None, "n": 4},       # a None: json's text
            {"model": "m", "messages": [{"role": "user", "content": "is null nullable?"}]},
            {"model": "m", "seed": 2**80, "logit_bias": {"50256": -100}},     # orjson refuses: json's
            {"model": "m", "messages": [{"role": "user", "content": "\ud800"}]}]


@pytest.mark.parametrize("body", _bodies())
def test_a_request_body_is_sent_as_the_same_json_value_json_would_send(body):
    data = jsontext.request_bytes(body)
    assert isinstance(data, bytes)
    assert json.loads(data) == json.loads(REQUEST.encode(body)) == body


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_request_body_with_a_non_finite_float_is_refused_as_json_refuses_it(bad):
    # Anywhere in the body, also where orjson would have written null.
    for body in ({"temperature": bad}, {"messages": [{"content": "x", "weight": [1.0, bad]}]}):
        with pytest.raises(ValueError):
            REQUEST.encode(body)
        with pytest.raises(ValueError):
            jsontext.request_bytes(body)


def test_a_request_body_json_cannot_write_raises_as_json_raises():
    with pytest.raises(TypeError):
        jsontext.request_bytes({"stop": {"a set"}})
