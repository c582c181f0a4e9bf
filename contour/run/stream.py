"""Streamed chat completions (server-sent events) assembled into one response.

Why stream: a non-streamed completion says nothing until it is finished, so
the only timeout one can put on it bounds the whole generation, and a long
but healthy reasoning generation (16k tokens at 30 tokens/s is 9 minutes)
times out and starts over on every retry. A streamed one sends a chunk per
token or so, which lets the runner tell "slow but producing" from "hung":

- ``--timeout`` is the longest silence allowed between two reads. This is
  requests' read timeout, which urllib3 sets on the socket, so it bounds
  every single ``recv`` while the body streams in, not the whole body
  (checked by tests/test_stream.py against a server that pauses).
- ``--max-time`` (optional) caps the total time of one attempt. It is checked
  whenever data arrives, so a server that falls silent is caught by the idle
  timeout instead; an attempt therefore ends at most one idle timeout past it.

The request body sent is the cache-keyed body plus ``stream: true`` and
``stream_options: {"include_usage": true}``; the key itself never sees them,
so streamed and non-streamed runs share one cache.

What the stream looks like (vLLM 0.32, ``chat_completion_stream_generator``):
one ``data: {...}`` event per chunk, each chunk carrying one choice's delta
(with ``n`` > 1 the choices arrive interleaved, told apart by ``index``); the
first delta of each choice has the role and empty content; a choice's last
chunk has ``finish_reason`` and ``stop_reason``; with ``include_usage`` a
final chunk with ``choices: []`` carries the usage summed over the choices;
``data: [DONE]`` ends the stream. An error after the 200 status line arrives
as ``data: {"error": {...}}``. Reasoning text arrives as ``delta.reasoning``
(vLLM) or ``delta.reasoning_content`` (older vLLM, DeepSeek, SGLang); the
assembled message keeps whichever key(s) the deltas used.

`ChunkAssembler` turns the chunks into the same dict a non-streamed reply
is (``choices[i].message.content``, ``finish_reason``, ``stop_reason``,
``usage``...), so everything downstream (validation, the cache, scoring)
cannot tell the two apart. It, `SseDecoder` and `StreamReader` are pure;
`read_event_stream` is the thin I/O edge over a requests response, and
`contour.run.aiowire` the one over an aiohttp response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import requests
from urllib3.exceptions import ReadTimeoutError

from contour import jsontext

STREAM_FIELDS = {"stream": True, "stream_options": {"include_usage": True}}
EVENT_STREAM = "text/event-stream"
# Keys of a delta that carry generated text, in the order they are kept.
_TEXT_KEYS = ("content", "reasoning", "reasoning_content")


def streaming_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body to send for a streamed request (the caller's dict is untouched)."""
    return {**body, **STREAM_FIELDS}


class StreamProblem(Exception):
    """Why a streamed 2xx reply could not be read into a completion."""


class StreamStalled(StreamProblem):
    """No data arrived for longer than the idle timeout."""


class StreamCut(StreamProblem):
    """The stream ended or broke before every choice finished."""


class StreamTooLong(StreamProblem):
    """The attempt was still streaming when --max-time ran out."""


class StreamMalformed(StreamProblem):
    """An event was not a JSON object."""


class StreamErrorEvent(StreamProblem):
    """The server reported an error inside the stream (after its 200 status)."""

    def __init__(self, status: int | None, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class SseDecoder:
    """Incremental server-sent-events parser: bytes in, event data strings out.

    Follows the WHATWG rules that matter here: lines end in LF or CRLF (a
    bare CR, which no server sends, is not a line end here);
    a blank line dispatches the event; ``data:`` lines of one event are
    joined with newlines; a single space after the colon is dropped; lines
    starting with ``:`` are comments (keep-alive pings); other fields
    (``event``, ``id``, ``retry``) are ignored.
    """

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        lines = (self._tail + chunk).split(b"\n")
        self._tail = lines.pop()        # an unfinished line waits for more
        events: list[str] = []
        data = self._data
        # One loop, no call per line: every token of every request passes here.
        for line in lines:
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line:
                if data:
                    events.append("\n".join(data))
                    data = []
            elif line[:6] == b"data: ":     # the usual form, a shortcut of the general one below
                data.append(line[6:].decode("utf-8", "replace"))
            elif line[:1] != b":":          # ":" starts a comment (a keep-alive ping)
                name, _, value = line.partition(b":")
                if name == b"data":
                    if value[:1] == b" ":
                        value = value[1:]
                    data.append(value.decode("utf-8", "replace"))
        self._data = data
        return events

    def close(self) -> list[str]:
        """Events left when the stream ends without a final blank line."""
        return self.feed(b"\n\n") if (self._tail or self._data) else []


@dataclass
class _Choice:
    index: int
    role: str = "assistant"
    parts: dict[str, list[str]] = field(default_factory=dict)
    finish_reason: str | None = None
    stop_reason: Any = None
    logprobs: list[Any] | None = None


@dataclass(frozen=True)
class StreamTimings:
    """When the tokens came, measured on this side of the connection.

    ttft_s: request sent -> the first chunk carrying generated text
        (content or reasoning), i.e. queueing + prefill + one decode step.
    decode_tokens_per_s: completion tokens after each choice's first,
        divided by the time from the first to the last token; None when
        fewer than two tokens or no usage was reported.
    """

    ttft_s: float | None
    decode_tokens_per_s: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"ttft_s": None if self.ttft_s is None else round(self.ttft_s, 4),
                "decode_tokens_per_s": None if self.decode_tokens_per_s is None
                else round(self.decode_tokens_per_s, 2)}


NO_TIMINGS = StreamTimings(None, None)


class ChunkAssembler:
    """Folds ``chat.completion.chunk`` objects into one ``chat.completion`` dict."""

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.choices: dict[int, _Choice] = {}
        self.usage: dict[str, Any] | None = None
        self.done = False

    def add(self, chunk: Any) -> bool:
        """Take one parsed chunk; True when it carried generated text."""
        if not isinstance(chunk, dict):
            raise StreamMalformed(f"a stream event is a {type(chunk).__name__}, not a JSON object")
        error = chunk.get("error")
        if error is not None:
            raise _error_event(error)
        for key in ("id", "created", "model", "system_fingerprint"):
            if chunk.get(key) is not None:
                self.head[key] = chunk[key]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]     # continuous usage: the last one is the total
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise StreamMalformed(f"'choices' of a chunk is a {type(choices).__name__}")
        produced = False
        for item in choices:
            if not isinstance(item, dict) or not isinstance(item.get("index", 0), int):
                raise StreamMalformed("a chunk choice is not an object with an integer index")
            index = item.get("index", 0)
            choice = self.choices.get(index)
            if choice is None:
                choice = self.choices[index] = _Choice(index)
            delta = item.get("delta") or {}
            if not isinstance(delta, dict):
                raise StreamMalformed(f"choice {index} has a delta that is not an object")
            if delta.get("role"):
                choice.role = delta["role"]
            for key in _TEXT_KEYS:
                text = delta.get(key)
                if isinstance(text, str):
                    choice.parts.setdefault(key, []).append(text)
                    produced = produced or bool(text)
            logprobs = item.get("logprobs")
            if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
                choice.logprobs = (choice.logprobs or []) + logprobs["content"]
            if item.get("finish_reason") is not None:
                choice.finish_reason = item["finish_reason"]
                choice.stop_reason = item.get("stop_reason")
        return produced

    @property
    def finished(self) -> bool:
        return bool(self.choices) and all(c.finish_reason is not None for c in self.choices.values())

    def response(self) -> dict[str, Any]:
        choices = []
        for index in sorted(self.choices):
            c = self.choices[index]
            message: dict[str, Any] = {"role": c.role}
            texts = {key: "".join(parts) for key, parts in c.parts.items()}
            reasoned = any(texts.get(k) for k in _TEXT_KEYS[1:])
            # As in a non-streamed reply: no content at all after reasoning is null, not "".
            content = texts.get("content", "")
            message["content"] = content if content or not reasoned else None
            for key in _TEXT_KEYS[1:]:
                if key in texts:
                    message[key] = texts[key] or None
            choices.append({"index": index, "message": message,
                            "logprobs": None if c.logprobs is None else {"content": c.logprobs},
                            "finish_reason": c.finish_reason, "stop_reason": c.stop_reason})
        return {"id": self.head.get("id"), "object": "chat.completion",
                "created": self.head.get("created"), "model": self.head.get("model"),
                "choices": choices, "usage": self.usage,
                "system_fingerprint": self.head.get("system_fingerprint")}


def _error_event(error: Any) -> StreamErrorEvent:
    if isinstance(error, dict):
        code = error.get("code")
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        return StreamErrorEvent(status, str(error.get("message") or error))
    return StreamErrorEvent(None, str(error))


def decode_tokens_per_s(usage: dict[str, Any] | None, choices: int,
                        first: float | None, last: float | None) -> float | None:
    tokens = (usage or {}).get("completion_tokens")
    if not isinstance(tokens, int) or first is None or last is None or last <= first:
        return None
    after_first = tokens - max(choices, 1)
    return after_first / (last - first) if after_first > 0 else None


def assemble(events: Iterable[str]) -> dict[str, Any]:
    """The response of a whole recorded stream (its ``data`` payloads, in order)."""
    assembler = ChunkAssembler()
    for data in events:
        if _fold(assembler, data):
            break
    return _finish(assembler)


def _fold(assembler: ChunkAssembler, data: str) -> bool:
    """Take one event; True at the end marker."""
    if _is_done(data):
        assembler.done = True
        return True
    assembler.add(_parse(data))
    return False


def _is_done(data: str) -> bool:
    return data.strip() == "[DONE]"


def _parse(data: str) -> Any:
    try:
        return jsontext.loads(data)
    except ValueError:
        raise StreamMalformed("a stream event is not valid JSON") from None


def _finish(assembler: ChunkAssembler) -> dict[str, Any]:
    # A stream without [DONE] is accepted when every choice has finished
    # (some servers omit the marker); otherwise the answer is incomplete.
    if not assembler.finished:
        if assembler.done:
            return assembler.response()   # [DONE] with open choices: the validator decides
        raise StreamCut("the stream ended before the completion finished")
    return assembler.response()


class StreamReader:
    """The pure core of reading one streamed reply: raw bytes in, each with
    the time it arrived; the assembled reply and its timings out. Both
    transports (`read_event_stream` here, `contour.run.aiowire`) drive it, so
    they cannot differ in what they accept or how they time it."""

    def __init__(self, sent_at: float, max_time: float | None = None) -> None:
        self.sent_at = sent_at
        self.max_time = max_time
        self._deadline = None if max_time is None else sent_at + max_time
        self._decoder = SseDecoder()
        self._assembler = ChunkAssembler()
        self._first: float | None = None
        self._last: float | None = None

    @property
    def done(self) -> bool:
        """The end marker arrived (what follows is only read to free the connection)."""
        return self._assembler.done

    def feed(self, raw: bytes, now: float) -> None:
        """Take bytes that arrived at `now`; StreamTooLong past --max-time."""
        assembler = self._assembler
        if assembler.done:
            return
        for data in self._decoder.feed(raw):
            if _is_done(data):
                assembler.done = True
                break
            if assembler.add(_parse(data)):
                self._last = now
                if self._first is None:
                    self._first = now
        if self._deadline is not None and now > self._deadline and not assembler.done:
            raise StreamTooLong(f"still streaming after --max-time {self.max_time:g} s")

    def finish(self, now: float) -> tuple[dict[str, Any], StreamTimings]:
        """At the end of the body: the reply and its timings (StreamCut if unfinished)."""
        assembler = self._assembler
        if not assembler.done:
            for data in self._decoder.close():
                if _fold(assembler, data):
                    break
        response = _finish(assembler)
        first, last = self._first, self._last
        if first is None:
            first = last = now      # nothing generated (e.g. EOS at once): ttft = the end
        timings = StreamTimings(first - self.sent_at,
                                decode_tokens_per_s(assembler.usage, len(assembler.choices), first, last))
        return response, timings


def read_event_stream(resp: requests.Response, sent_at: float,
                      max_time: float | None = None,
                      clock=time.monotonic) -> tuple[dict[str, Any], StreamTimings]:
    """Read a streamed 2xx response to its end; the assembled reply and its timings.

    Raises StreamStalled (silence longer than the read timeout), StreamCut
    (connection lost or stream ended early), StreamTooLong (--max-time),
    StreamMalformed or StreamErrorEvent.
    """
    reader = StreamReader(sent_at, max_time)
    try:
        for raw in resp.iter_content(chunk_size=None):
            # After the end marker the rest is read only so the connection goes back to the pool.
            if not reader.done:
                reader.feed(raw, clock())
    except requests.exceptions.ConnectionError as exc:
        if not reader.done:
            # requests wraps urllib3's read timeout in a ConnectionError while streaming.
            if any(isinstance(a, ReadTimeoutError) for a in exc.args):
                raise StreamStalled() from None
            raise StreamCut(_reason(exc)) from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        if not reader.done:
            raise StreamCut(_reason(exc)) from None
    finally:
        resp.close()
    return reader.finish(clock())


def _reason(exc: BaseException) -> str:
    """The innermost message of an exception chain (urllib3 nests several)."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    return str(exc) or type(exc).__name__
