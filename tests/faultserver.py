"""A local OpenAI-compatible server that misbehaves on request.

Each POST to /v1/chat/completions takes the next `Fault` from a script, then
the default one once the script is used up. With no script it answers at once
and validly, in vLLM's shape (usage, finish_reason, stop_reason, n choices), so
it also serves as the far end of a throughput benchmark.

    with FaultServer([server_error(), rate_limited(2)]) as server:
        client = ChatClient(server.apibase)
        ...
        assert server.hits == 3

Every request is recorded (path, headers, JSON body) for assertions.

`fault_for(request)` picks a fault per request (None: the script, then the
default), e.g. to fail a fixed, content-chosen subset of prompts.

A request with ``"stream": true`` is answered with server-sent events in
vLLM 0.32's shape (a role chunk per choice, text chunks interleaved by
choice index, a finishing chunk per choice, a usage chunk when
``stream_options.include_usage`` is set, ``data: [DONE]``), unless the fault
says ``stream=False`` (a server without streaming, which answers plain JSON).
`Fault.token_delay`, `stall_after` and `error_event` shape the stream. A
fault's `content`, `null_content`, `reasoning`, and the server's
`reasoning_field` and `honour_n`, mean the same streamed or not: the
reasoning trace streams first under the server's reasoning field, per-choice
contents stream interleaved, and the final usage is the non-streamed one.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

DEFAULT_MODEL = "test-model"
DEFAULT_CONTENT = "Final Answer: 42"


@dataclass(frozen=True)
class Fault:
    """One scripted behaviour. The defaults are an instant, valid completion."""

    status: int = 200
    body: dict[str, Any] | list[Any] | bytes | None = None   # None: a completion for the request
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0              # seconds to wait before answering
    reset: bool = False             # drop the connection with a TCP RST, answer nothing
    content: str | None = None      # generated text; None: the server's responder decides
    finish_reason: str = "stop"
    reasoning: str | None = None    # a parsed reasoning trace, sent in the server's reasoning field
                                    # (streamed: first, as delta.<reasoning_field>)
    null_content: bool = False      # content null, as a reasoning parser sends when cut off thinking
    # Streaming (only for a request that asks for it):
    stream: bool = True             # False: answer plain JSON anyway (a server without streaming)
    token_delay: float = 0.0        # seconds between two text chunks
    stall_after: int | None = None  # fall silent (until stop()) after this many text chunks
    cut_after: int | None = None    # drop the connection mid-body after this many text chunks
    error_event: dict[str, Any] | None = None   # sent as `data: {"error": ...}` instead of finishing


def ok(content: str | None = None, finish_reason: str = "stop") -> Fault:
    return Fault(content=content, finish_reason=finish_reason)


def server_error(status: int = 500) -> Fault:
    return Fault(status=status, body=vllm_error("internal error", "InternalServerError", status))


def rate_limited(retry_after: str | float | None = None) -> Fault:
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return Fault(status=429, headers=headers,
                 body=vllm_error("too many requests", "RateLimitError", 429))


def reset() -> Fault:
    return Fault(reset=True)


def slow(seconds: float) -> Fault:
    return Fault(delay=seconds)


def malformed() -> Fault:
    return Fault(body=b'{"id": "chatcmpl-1", "choices": [{"message": ')


def html(status: int = 200) -> Fault:
    """A proxy's or load balancer's HTML page where JSON was expected."""
    return Fault(status=status, content_type="text/html",
                 body=b"<html><body><h1>Service Temporarily Unavailable</h1></body></html>")


def empty_choices() -> Fault:
    return Fault(body={"id": "chatcmpl-1", "object": "chat.completion", "choices": []})


def bad_request(message: str = "This model's maximum context length is 2048 tokens.",
                status: int = 400) -> Fault:
    return Fault(status=status, body=vllm_error(message, "BadRequestError", status))


def streaming(content: str | list[str] | None = None, token_delay: float = 0.0, **kw: Any) -> Fault:
    return Fault(content=content, token_delay=token_delay, **kw)


def stalls(after_chunks: int, token_delay: float = 0.0) -> Fault:
    """A stream that sends `after_chunks` text chunks, then nothing (connection open)."""
    return Fault(stall_after=after_chunks, token_delay=token_delay)


def no_streaming(content: str | None = None) -> Fault:
    return Fault(content=content, stream=False)


def text_pieces(content: str) -> list[str]:
    """Content cut into token-like pieces (a word and its trailing space)."""
    return re.findall(r"\s*\S+\s*", content) or ([content] if content else [])


def vllm_error(message: str, kind: str, code: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def chat_completion(request: dict[str, Any], content: str | list[str] | None,
                    finish_reason: str = "stop", reasoning: str | None = None,
                    reasoning_field: str = "reasoning_content", honour_n: bool = True) -> dict[str, Any]:
    """A completion in vLLM's shape, extra keys included, answering `request`.

    `content` is one text for every choice or one per choice (None: null
    content, as a reasoning parser sends for a reply cut off while thinking);
    with `reasoning`, the usage counts its words as reasoning tokens, as vLLM
    does with a reasoning parser. `honour_n=False` answers one choice whatever
    `n` asks, like servers that ignore it."""
    n = int(request.get("n") or 1) if honour_n else 1
    texts = content if isinstance(content, list) else [content] * n
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
    reasoning_tokens = len(reasoning.split()) if reasoning else 0
    completion_tokens = sum(len((t or "").split()) + reasoning_tokens for t in texts[:n])
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", DEFAULT_MODEL),
        "choices": [{
            "index": i,
            "message": {"role": "assistant", "content": texts[i], "refusal": None,
                        "annotations": None, "audio": None, "function_call": None,
                        "tool_calls": [], reasoning_field: reasoning},
            "logprobs": None,
            "finish_reason": finish_reason,
            "stop_reason": None,
        } for i in range(n)],
        "service_tier": None,
        "system_fingerprint": None,
        "usage": {"prompt_tokens": prompt_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "completion_tokens": completion_tokens,   # summed over choices, as vLLM does
                  "prompt_tokens_details": None,
                  **({"completion_tokens_details": {"reasoning_tokens": n * reasoning_tokens}}
                     if reasoning else {})},
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any           # parsed JSON, the raw text if it was not JSON, None for a GET


class FaultServer:
    """ThreadingHTTPServer on 127.0.0.1 at a free port; a context manager."""

    def __init__(self, script: Iterable[Fault] = (), default: Fault = Fault(),
                 models: Iterable[str] = (DEFAULT_MODEL,),
                 responder: Callable[[dict[str, Any]], str | list[str]] | None = None,
                 max_model_len: int = 2048, honour_n: bool = True,
                 reasoning_field: str = "reasoning_content",
                 fault_for: Callable[[dict[str, Any]], Fault | None] | None = None) -> None:
        self.models = list(models)
        self.max_model_len = max_model_len
        self.default = default
        self.responder = responder or (lambda request: DEFAULT_CONTENT)
        self.honour_n = honour_n
        self.reasoning_field = reasoning_field
        self.fault_for = fault_for
        self._script: deque[Fault] = deque(script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.hits = 0                       # chat completion requests received
        self.in_flight = 0                  # chat completion requests being answered now
        self.max_in_flight = 0              # the most ever answered at once
        self.requests: list[Recorded] = []  # every request, in arrival order
        self._httpd: ThreadingHTTPServer | None = None
        self._address: tuple[str, int] | None = None

    # -- scripting and inspection -------------------------------------------

    def push(self, *faults: Fault) -> None:
        """Append to the script (taken before the default)."""
        with self._lock:
            self._script.extend(faults)

    def _next_fault(self, request: Any = None) -> Fault:
        chosen = self.fault_for(request) if self.fault_for and isinstance(request, dict) else None
        with self._lock:
            self.hits += 1
            if chosen is not None:
                return chosen
            return self._script.popleft() if self._script else self.default

    def _record(self, item: Recorded) -> None:
        with self._lock:
            self.requests.append(item)

    @property
    def completion_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    @property
    def last_headers(self) -> dict[str, str]:
        return self.completion_requests[-1].headers

    @property
    def last_body(self) -> Any:
        return self.completion_requests[-1].body

    def content_counts(self) -> Counter[str]:
        """How often each prompt (last message's content) was requested."""
        return Counter(str(r.body["messages"][-1]["content"]) for r in self.completion_requests)

    # -- lifecycle ----------------------------------------------------------

    @property
    def url(self) -> str:
        """Its address; still valid after stop(), to test a server that went away."""
        if self._address is None:
            raise RuntimeError("FaultServer was never started")
        return f"http://{self._address[0]}:{self._address[1]}"

    @property
    def apibase(self) -> str:
        return self.url + "/v1"

    def start(self) -> FaultServer:
        handler = type("Handler", (_Handler,), {"fault_server": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._address = self._httpd.server_address[:2]
        # The default backlog (5) drops connections under a benchmark's burst.
        self._httpd.socket.listen(128)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()        # wakes handlers sleeping in a slow() fault
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fault_server: FaultServer
    protocol_version = "HTTP/1.1"   # keep-alive, as a real server does
    # Headers and body go out in two writes; with Nagle on, the body waits for
    # the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        server = self.fault_server
        server._record(Recorded(self.path, dict(self.headers), None))
        if self.path.rstrip("/") == "/v1/models":
            data = {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "vllm", "root": m,
                 "parent": None, "max_model_len": server.max_model_len} for m in server.models]}
            self._send(200, json.dumps(data).encode())
        else:
            self._send(404, json.dumps({"detail": "Not Found"}).encode())

    def do_POST(self) -> None:
        server = self.fault_server
        with server._lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            self._answer_post(server)
        finally:
            with server._lock:
                server.in_flight -= 1

    def _answer_post(self, server: "FaultServer") -> None:
        body = self._read_body()
        server._record(Recorded(self.path, dict(self.headers), body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, json.dumps({"detail": "Not Found"}).encode())
            return
        fault = server._next_fault(body)
        if fault.delay and server._stopping.wait(fault.delay):
            self.close_connection = True
            return
        if fault.reset:
            # SO_LINGER with a zero timeout turns close() into a TCP RST.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        request = body if isinstance(body, dict) else {}
        if (fault.status == 200 and fault.body is None and fault.stream
                and request.get("stream") is True):
            content = fault.content if fault.content is not None else server.responder(request)
            self._stream(server, request, fault, None if fault.null_content else content)
            return
        if isinstance(fault.body, bytes):
            payload = fault.body
        elif fault.body is not None:
            payload = json.dumps(fault.body).encode()
        else:
            content = fault.content if fault.content is not None else server.responder(request)
            if fault.null_content:
                content = None
            payload = json.dumps(chat_completion(request, content, fault.finish_reason, fault.reasoning,
                                                 server.reasoning_field, server.honour_n)).encode()
        try:
            self._send(fault.status, payload, fault.headers, fault.content_type)
        except OSError:
            self.close_connection = True    # the client gave up (its timeout) first

    def _stream(self, server: "FaultServer", request: dict[str, Any], fault: Fault,
                content: str | list[str] | None) -> None:
        n = int(request.get("n") or 1) if server.honour_n else 1
        texts = content if isinstance(content, list) else [content] * n
        head = {"id": f"chatcmpl-{time.monotonic_ns()}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": request.get("model", DEFAULT_MODEL)}
        # Per choice: its token-like pieces, the reasoning trace first.
        thinking = [(server.reasoning_field, p) for p in text_pieces(fault.reasoning or "")]
        pieces = [thinking + [("content", p) for p in text_pieces(texts[i] or "")] for i in range(n)]

        def chunk(index: int, delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
            return {**head, "choices": [{"index": index, "delta": delta, "logprobs": None,
                                         "finish_reason": None, **extra}]}

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        # Events are framed into a buffer that is written before every pause
        # and at the end, so an undelayed stream costs one write (a benchmark
        # then measures the client, not this server).
        self._pending: list[bytes] = []
        try:
            for i in range(n):
                self._event(chunk(i, {"role": "assistant", "content": ""}))
            # Round r sends every choice's r-th piece: choices interleave by index.
            for r in range(max((len(p) for p in pieces), default=0)):
                if fault.stall_after is not None and r >= fault.stall_after:
                    self._flush()
                    server._stopping.wait()     # silent, connection open, until stop()
                    self.close_connection = True
                    return
                if fault.cut_after is not None and r >= fault.cut_after:
                    self._flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault.token_delay:
                    self._flush()
                    if server._stopping.wait(fault.token_delay):
                        self.close_connection = True
                        return
                for i in range(n):
                    if r < len(pieces[i]):
                        key, piece = pieces[i][r]
                        self._event(chunk(i, {key: piece}))
            if fault.error_event is not None:
                self._event({"error": fault.error_event})
            else:
                for i in range(n):
                    self._event(chunk(i, {"content": ""}, finish_reason=fault.finish_reason,
                                      stop_reason=None))
                if (request.get("stream_options") or {}).get("include_usage"):
                    usage = chat_completion(request, texts, fault.finish_reason, fault.reasoning,
                                            server.reasoning_field, server.honour_n)["usage"]
                    self._event({**head, "choices": [], "usage": usage})
            self._frame(b"data: [DONE]\n\n")
            self._frame(b"")
            self._flush()
        except OSError:
            self.close_connection = True    # the client gave up first

    def _event(self, data: dict[str, Any]) -> None:
        self._frame(b"data: " + json.dumps(data).encode() + b"\n\n")

    def _frame(self, data: bytes) -> None:
        self._pending.append(b"%x\r\n%s\r\n" % (len(data), data))

    def _flush(self) -> None:
        if self._pending:
            self.wfile.write(b"".join(self._pending))
            self.wfile.flush()
            self._pending = []
