import socket
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from contour.run.client import (CLIENT_ERROR, CONNECTION, EMPTY_CHOICES, ERROR_TYPES,
                            MALFORMED_RESPONSE, NO_CONTENT, RATE_LIMITED, SERVER_ERROR, TIMEOUT,
                            TRANSIENT_ERRORS, ChatClient, RetryPolicy, check_chat_response,
                            normalize_apibase, parse_retry_after, server_error_message)
from contour.errors import ContourError
from tests.faultserver import (DEFAULT_CONTENT, Fault, FaultServer, bad_request, empty_choices,
                               html, malformed, ok, rate_limited, reset, server_error, slow, vllm_error)

SECRET = "sk-test-0123456789abcdef"

# Every test here runs over both wires (aiohttp and requests).
pytestmark = pytest.mark.usefixtures("each_transport")


def body(content: str = "What is 6 x 7?", **params) -> dict:
    return {"model": "test-model", "messages": [{"role": "user", "content": content}],
            "max_tokens": 16, "temperature": 0.0, **params}


class Sleeps(list):
    """An injected sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(server: FaultServer, max_retries: int = 3, timeout: float = 5.0,
                api_key: str | None = SECRET, backoff_max: float = 30.0) -> tuple[ChatClient, Sleeps]:
    sleeps = Sleeps()
    client = ChatClient(server.apibase, api_key=api_key, timeout=timeout,
                        retry=RetryPolicy(max_retries=max_retries, backoff_max=backoff_max),
                        sleep=sleeps)
    return client, sleeps


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- pure parts ---------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
    ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1"),
    ("  https://api.example.com/v1/chat/completions ", "https://api.example.com/v1"),
    ("https://example.com/openai", "https://example.com/openai/v1"),
    ("http://h:1/v1/models", "http://h:1/v1"),
])
def test_normalize_apibase(given, expected):
    assert normalize_apibase(given) == expected


@pytest.mark.parametrize("bad", ["localhost:8000", "", "ftp://h/v1", "http://"])
def test_normalize_apibase_rejects_non_http(bad):
    with pytest.raises(ContourError, match="apibase"):
        normalize_apibase(bad)


def test_backoff_is_exponential_full_jitter_and_capped():
    policy = RetryPolicy(max_retries=9, backoff_base=0.5, backoff_max=30.0)
    assert [policy.delay(k, 1.0) for k in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(3, 0.0) == 0.0
    assert policy.delay(3, 0.25) == 1.0
    assert policy.delay(0, 0.9, retry_after=7.0) == 7.0
    assert policy.delay(0, 0.9, retry_after=300.0) == 30.0


def test_retry_policy_validates():
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_parse_retry_after():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=20), usegmt=True), now) == 20.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=20), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize("text, expected", [
    ('{"error": {"message": "too long", "type": "BadRequestError", "param": null, "code": 400}}',
     "too long"),
    ('{"error": "plain string"}', "plain string"),
    ('{"detail": "Not Found"}', "Not Found"),
    ('{"message": "nope"}', "nope"),
    ("<html>\n<body>Bad   Gateway</body></html>", "<html> <body>Bad Gateway</body></html>"),
    ("", "(empty body)"),
])
def test_server_error_message_shapes(text, expected):
    assert server_error_message(text) == expected


@pytest.mark.parametrize("data, expected", [
    ({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}, None),
    ({"choices": [{"message": {"content": None}, "finish_reason": "length"}]}, None),
    ({"choices": [{"message": {"content": ""}, "finish_reason": "stop"}]}, None),
    ([], MALFORMED_RESPONSE),
    ({"choices": "x"}, MALFORMED_RESPONSE),
    ({"choices": [{"text": "hi"}]}, MALFORMED_RESPONSE),
    ({"choices": [{"message": {"content": 3}}]}, MALFORMED_RESPONSE),
    ({"id": "x"}, EMPTY_CHOICES),
    ({"choices": []}, EMPTY_CHOICES),
    ({"choices": [{"message": {"role": "assistant"}, "finish_reason": "stop"}]}, NO_CONTENT),
])
def test_check_chat_response(data, expected):
    problem = check_chat_response(data)
    assert (problem and problem[0]) == expected


def test_error_type_sets():
    assert TRANSIENT_ERRORS < ERROR_TYPES
    assert not {CLIENT_ERROR, NO_CONTENT} & TRANSIENT_ERRORS
    assert EMPTY_CHOICES in TRANSIENT_ERRORS       # real servers give it transiently


# -- against the fault server -------------------------------------------------

@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "not-streamed"])
def test_valid_completion_in_vllm_shape(stream):
    with FaultServer() as server:
        client, sleeps = make_client(server)
        client.stream = stream
        done = client.complete(body(n=3, temperature=0.7))
    assert done.ok and done.error is None and done.attempts == 1 and not sleeps
    assert [c["message"]["content"] for c in done.response["choices"]] == [DEFAULT_CONTENT] * 3
    assert done.response["choices"][0]["finish_reason"] == "stop"
    assert done.response["usage"]["completion_tokens"] == 3 * len(DEFAULT_CONTENT.split())
    assert done.latency_s > 0
    sent = dict(server.last_body)
    assert (sent.pop("stream", None), sent.pop("stream_options", None)) == (
        (True, {"include_usage": True}) if stream else (None, None))
    assert sent == body(n=3, temperature=0.7)
    assert server.last_headers["Authorization"] == f"Bearer {SECRET}"
    assert (done.timings.ttft_s is not None) == stream


def test_no_authorization_header_without_key():
    with FaultServer() as server:
        client, _ = make_client(server, api_key=None)
        assert client.complete(body()).ok
    assert "Authorization" not in server.last_headers


@pytest.mark.parametrize("fault", [server_error(500), server_error(502), server_error(503),
                                   Fault(status=408), reset(), malformed(), empty_choices(), html()],
                         ids=["500", "502", "503", "408", "reset", "malformed", "empty", "html"])
def test_transient_fault_then_success(fault):
    with FaultServer([fault]) as server:
        client, sleeps = make_client(server)
        done = client.complete(body())
    assert done.ok and done.attempts == 2 and server.hits == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5


@pytest.mark.parametrize("fault, kind, status", [
    (server_error(500), SERVER_ERROR, 500),
    (rate_limited(), RATE_LIMITED, 429),
    (reset(), CONNECTION, None),
    (malformed(), MALFORMED_RESPONSE, 200),
    (empty_choices(), EMPTY_CHOICES, 200),
])
def test_retries_are_bounded(fault, kind, status):
    with FaultServer(default=fault) as server:
        client, sleeps = make_client(server, max_retries=3)
        done = client.complete(body())
    assert not done.ok and done.response is None
    assert done.error["type"] == kind and done.error["status"] == status
    assert done.attempts == 4 and server.hits == 4 and len(sleeps) == 3


def test_retry_after_seconds_is_honoured():
    with FaultServer([rate_limited(2), rate_limited("0")]) as server:
        client, sleeps = make_client(server)
        done = client.complete(body())
    assert done.ok and done.attempts == 3
    assert sleeps == [2.0, 0.0]


def test_retry_after_http_date_is_honoured_and_capped():
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    with FaultServer([rate_limited(later), rate_limited(3600)]) as server:
        client, sleeps = make_client(server, backoff_max=25.0)
        done = client.complete(body())
    assert done.ok
    assert 17.0 <= sleeps[0] <= 20.0
    assert sleeps[1] == 25.0


def test_slow_response_times_out_then_retries():
    with FaultServer([slow(3.0)]) as server:
        client, sleeps = make_client(server, timeout=0.3)
        done = client.complete(body())
    assert done.ok and done.attempts == 2


def test_timeout_on_every_attempt():
    with FaultServer(default=slow(3.0)) as server:
        client, _ = make_client(server, timeout=0.2, max_retries=1)
        done = client.complete(body())
    assert done.error["type"] == TIMEOUT and done.error["status"] is None
    assert done.attempts == 2 and server.hits == 2
    assert "0.2 s" in done.error["message"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_errors_are_returned_at_once_with_the_server_message(status):
    message = f"rejected with {status}: This model's maximum context length is 2048 tokens."
    with FaultServer([bad_request(message, status)]) as server:
        client, sleeps = make_client(server)
        done = client.complete(body())
    assert done.error == {"type": CLIENT_ERROR, "message": f"HTTP {status}: {message}",
                          "status": status}
    assert done.attempts == 1 and server.hits == 1 and not sleeps


@pytest.mark.parametrize("fault, kind", [
    (Fault(body={"choices": [{"index": 0, "message": {"role": "assistant", "content": None},
                              "finish_reason": "stop"}]}), NO_CONTENT),
])
def test_useless_answers_are_errors_not_retried(fault, kind):
    with FaultServer([fault]) as server:
        client, sleeps = make_client(server)
        done = client.complete(body())
    assert done.error["type"] == kind and done.error["status"] == 200
    assert done.attempts == 1 and server.hits == 1


def test_truncated_answer_without_content_is_valid():
    fault = Fault(body={"choices": [{"message": {"content": None, "reasoning_content": "Let"},
                                     "finish_reason": "length"}]})
    with FaultServer([fault]) as server:
        client, _ = make_client(server)
        assert client.complete(body()).ok


def test_length_finish_is_passed_through():
    with FaultServer([ok("partial", finish_reason="length")]) as server:
        client, _ = make_client(server)
        done = client.complete(body())
    assert done.response["choices"][0]["finish_reason"] == "length"


def test_api_key_never_appears_in_errors():
    echo = bad_request(f"invalid api key {SECRET}", 401)
    with FaultServer([echo], default=server_error()) as server:
        client, _ = make_client(server, max_retries=0)
        first = client.complete(body())
        second = client.complete(body())
        assert SECRET not in repr(client)
    assert first.error["type"] == CLIENT_ERROR and "***" in first.error["message"]
    assert SECRET not in str(first) + str(second)
    down, _ = make_client(server, max_retries=0)    # the server is stopped now
    assert SECRET not in str(down.complete(body()))
    with pytest.raises(ContourError) as raised:
        down.list_models()
    assert SECRET not in str(raised.value)


def test_unreachable_server_is_an_error_completion_and_a_contour_error():
    apibase = f"http://127.0.0.1:{free_port()}/v1"
    client = ChatClient(apibase, retry=RetryPolicy(max_retries=1), sleep=Sleeps())
    done = client.complete(body())
    assert done.error["type"] == CONNECTION and done.attempts == 2
    with pytest.raises(ContourError, match=rf"{apibase}/models: cannot reach the server"):
        client.list_models()


def test_models_and_context_length():
    with FaultServer(models=["a", "b"], max_model_len=4096) as server:
        client, _ = make_client(server)
        assert client.list_models() == ["a", "b"]
        client.check_model("b")
        assert client.max_model_len("a") == 4096
        assert client.max_model_len("zzz") is None
        with pytest.raises(ContourError, match=r"'zzz' is not served .*served models: a, b"):
            client.check_model("zzz")


def test_not_an_openai_server():
    with FaultServer() as server:
        client = ChatClient(server.url + "/elsewhere")
        with pytest.raises(ContourError, match=r"/elsewhere/v1/models: not an OpenAI-compatible API"):
            client.list_models()


def test_shared_by_many_threads():
    with FaultServer(responder=lambda r: "echo " + r["messages"][-1]["content"]) as server:
        client = ChatClient(server.apibase, pool_size=8)
        results: dict[str, str] = {}
        lock = threading.Lock()

        def worker(t: int) -> None:
            for i in range(25):
                prompt = f"t{t}-{i}"
                done = client.complete(body(prompt))
                with lock:
                    results[prompt] = done.response["choices"][0]["message"]["content"]

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.close()
    assert len(results) == 400 and all(v == "echo " + k for k, v in results.items())
    assert server.hits == 400 and set(server.content_counts().values()) == {1}


def test_vllm_error_shape_helper():
    assert vllm_error("m", "BadRequestError", 400)["error"]["code"] == 400


def test_unserialisable_body_is_the_callers_bug():
    with FaultServer() as server:
        client, _ = make_client(server)
        with pytest.raises(ValueError):
            client.complete(body(temperature=float("nan")))
        with pytest.raises(TypeError):
            client.complete(body(stop={"a set"}))
    assert server.hits == 0


def test_the_transport_is_chosen_by_name(each_transport):
    with FaultServer() as server:
        client = ChatClient(server.apibase)
        assert client.transport == each_transport and each_transport in repr(client)
        assert client.complete(body()).ok
        client.close()
    with pytest.raises(ContourError, match="--transport 'curl'"):
        ChatClient("http://127.0.0.1:1", transport="curl")


def test_transport_applies_only_to_http():
    from contour.run.transport import open_transport

    with pytest.raises(ContourError, match="--transport applies only to --engine http"):
        open_transport("vllm", None, "m", api_key=None, timeout=5, retries=0, pool_size=1,
                       transport="requests")
