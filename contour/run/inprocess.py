"""`--engine vllm`: vLLM's `LLM` inside the runner's own process, no server.

The engine hands over all of a step's uncached requests at once
(`complete_batch`); they go to one `LLM.chat` call, which vLLM schedules with
continuous batching. Answers come back as the dict an OpenAI-compatible
server would send (`choices[i].message.content`, `finish_reason`,
`stop_reason`, `usage`), so scoring, the cache, the records and resume are
the HTTP path's, unchanged.

vLLM is imported only here and only when `--engine vllm` is asked for; it is
not a dependency of Contour. Its engine core runs in this process
(VLLM_ENABLE_V1_MULTIPROCESSING=0 unless set otherwise), so no child process
re-imports the command line's main module.

Sampling parameters follow the server's rules: the model's generation
config supplies defaults (as `vllm serve` does), the request's fields
override them; `reasoning_effort` and `chat_template_kwargs` go to the chat
template. A sampler field vLLM's `SamplingParams` does not know is a
ContourError before anything is written.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import yaml

from contour.errors import ContourError
from contour.run.client import CLIENT_ERROR, SERVER_ERROR, Completion, check_chat_response

# Request-body fields that become SamplingParams (same names in both APIs).
SAMPLING_FIELDS = frozenset({
    "max_tokens", "temperature", "top_p", "top_k", "min_p", "stop", "seed", "n",
    "presence_penalty", "frequency_penalty", "repetition_penalty", "ignore_eos", "min_tokens",
    "stop_token_ids", "skip_special_tokens", "spaces_between_special_tokens",
    "include_stop_str_in_output", "logit_bias", "bad_words",
})
# Fields that shape the chat template call instead.
CHAT_FIELDS = frozenset({"model", "messages", "chat_template_kwargs", "reasoning_effort"})


def parse_engine_args(pairs: Sequence[str]) -> dict[str, Any]:
    """`--engine-arg KEY=VALUE` pairs as keyword arguments for `vllm.LLM`.

    Values are read as YAML scalars: `2` is an int, `true` a bool, `bfloat16`
    a string.
    """
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise ContourError(f"--engine-arg {pair!r}: expected KEY=VALUE, e.g. "
                               "tensor_parallel_size=2")
        try:
            args[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            args[key] = text
    return args


def check_body_fields(body: dict[str, Any], source: str) -> None:
    """ContourError naming the first request field the in-process engine cannot honour."""
    unknown = sorted(set(body) - SAMPLING_FIELDS - CHAT_FIELDS)
    if unknown:
        raise ContourError(f"sampler {source}: field '{unknown[0]}' is not supported by "
                           f"--engine vllm (supported: {', '.join(sorted(SAMPLING_FIELDS | CHAT_FIELDS - {'model', 'messages'}))})")


def _import_vllm():
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as exc:
        raise ContourError(
            f"--engine vllm needs the vllm package in this Python ({sys.executable}), which "
            f"cannot import it ({exc}); install vllm there, or serve the model with "
            "`vllm serve` and pass --apibase instead") from None
    return vllm


@dataclass
class _Ticket:
    """One step's requests waiting for the engine, and, once answered, their completions."""

    bodies: list[dict[str, Any]]
    results: list[Completion] | None = None


class InProcessVLLM:
    """A `vllm.LLM` behind the engine's transport interface, with batches."""

    def __init__(self, llm: Any, sampling_params: Callable[..., Any], model: str,
                 defaults: dict[str, Any] | None = None) -> None:
        """Wrap a loaded `vllm.LLM`; `load()` is the way in from the command line."""
        self._llm = llm
        self._SamplingParams = sampling_params
        self.model = model
        self._defaults = dict(defaults or {})
        self._turn = threading.Condition()
        self._busy = False
        self._waiting: list[_Ticket] = []
        self._ids = itertools.count()

    @classmethod
    def load(cls, model: str, engine_args: dict[str, Any] | None = None) -> "InProcessVLLM":
        """Import vLLM and load `model` (ContourError if either fails)."""
        vllm = _import_vllm()
        try:
            llm = vllm.LLM(model=model, **(engine_args or {}))
        except TypeError as exc:
            raise ContourError(f"--engine-arg: vllm.LLM rejected the arguments ({exc})") from None
        except Exception as exc:   # noqa: BLE001 - vLLM raises many kinds for an unloadable model
            raise ContourError(f"--model {model!r}: vLLM could not load it "
                               f"({type(exc).__name__}: {exc})") from None
        # The model's generation config supplies defaults, as under `vllm serve`.
        defaults = llm.llm_engine.model_config.get_diff_sampling_param() or {}
        return cls(llm, vllm.SamplingParams, model, defaults)

    def __repr__(self) -> str:
        return f"InProcessVLLM({self.model!r})"

    # -- the transport interface ---------------------------------------------

    def check_model(self, name: str) -> None:
        """The model is the one loaded; nothing to check against a server."""

    def max_model_len(self, name: str) -> int | None:
        return self._llm.llm_engine.model_config.max_model_len

    def complete(self, body: dict[str, Any]) -> Completion:
        return self.complete_batch([body])[0]

    def complete_batch(self, bodies: Sequence[dict[str, Any]]) -> list[Completion]:
        """Answer `bodies` (one step's requests) in one LLM.chat call.

        Steps that arrive while the engine is busy are combined into the next
        call (a step is never split), so --threads N gives vLLM batches of up
        to N steps. A call that vLLM rejects as a whole is retried one request
        at a time, so one bad prompt (e.g. longer than the context) costs only
        its own record, as a 400 does over HTTP.
        """
        ticket = _Ticket(list(bodies))
        with self._turn:
            self._waiting.append(ticket)
            while ticket.results is None and self._busy:
                self._turn.wait()
            if ticket.results is not None:
                return ticket.results
            self._busy = True
            tickets, self._waiting = self._waiting, []
        try:
            self._answer_tickets(tickets)
        finally:
            with self._turn:
                self._busy = False
                for t in tickets:       # an exception must not leave a waiter hanging
                    if t.results is None:
                        t.results = [self._failure(RuntimeError("batch aborted"), time.monotonic())
                                     for _ in t.bodies]
                self._turn.notify_all()
        return ticket.results   # type: ignore[return-value]

    def _answer_tickets(self, tickets: list["_Ticket"]) -> None:
        start = time.monotonic()
        bodies = [body for t in tickets for body in t.bodies]
        results: list[Completion | None] = [None] * len(bodies)
        groups: dict[str, list[int]] = {}
        for i, body in enumerate(bodies):
            groups.setdefault(repr(sorted(self._template_kwargs(body).items())), []).append(i)
        for indices in groups.values():
            try:
                outputs = self._chat([bodies[i] for i in indices])
            except Exception:    # noqa: BLE001 - find the request(s) at fault one by one
                outputs = None
            for n, i in enumerate(indices):
                if outputs is not None:
                    results[i] = self._answer(bodies[i], outputs[n], start)
                    continue
                try:
                    results[i] = self._answer(bodies[i], self._chat([bodies[i]])[0], start)
                except Exception as exc:  # noqa: BLE001 - becomes this record's error
                    results[i] = self._failure(exc, start)
        at = 0
        for t in tickets:
            t.results = results[at:at + len(t.bodies)]   # type: ignore[assignment]
            at += len(t.bodies)

    def close(self) -> None:
        """vLLM frees its engine when the process ends; nothing to close early."""

    # -- helpers ------------------------------------------------------------

    def _template_kwargs(self, body: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        effort = body.get("reasoning_effort")
        if effort is not None:
            kwargs.update(reasoning_effort=effort, enable_thinking=effort != "none")
        kwargs.update(body.get("chat_template_kwargs") or {})
        return kwargs

    def _sampling(self, body: dict[str, Any]):
        params = {**self._defaults, **{k: v for k, v in body.items() if k in SAMPLING_FIELDS}}
        return self._SamplingParams(**params)

    def _chat(self, bodies: list[dict[str, Any]]) -> list[Any]:
        kwargs = self._template_kwargs(bodies[0])
        return self._llm.chat([b["messages"] for b in bodies], [self._sampling(b) for b in bodies],
                              use_tqdm=False, chat_template_kwargs=kwargs or None)

    def _answer(self, body: dict[str, Any], output: Any, start: float) -> Completion:
        prompt_tokens = len(output.prompt_token_ids or [])
        completion_tokens = sum(len(o.token_ids) for o in output.outputs)
        response = {
            "id": f"contour-vllm-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": i,
                         "message": {"role": "assistant", "content": o.text},
                         "finish_reason": o.finish_reason,
                         "stop_reason": o.stop_reason}
                        for i, o in enumerate(output.outputs)],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
        problem = check_chat_response(response)
        if problem is not None:
            return Completion(None, {"type": problem[0], "message": problem[1], "status": None},
                              time.monotonic() - start, 1)
        return Completion(response, None, time.monotonic() - start, 1)

    @staticmethod
    def _failure(exc: Exception, start: float) -> Completion:
        # A request vLLM validates and refuses (too long, bad value) is the
        # request's fault, like an HTTP 400; anything else is the engine's.
        kind = CLIENT_ERROR if isinstance(exc, (ValueError, TypeError)) else SERVER_ERROR
        message = f"vLLM: {type(exc).__name__}: {exc}"[:500]
        return Completion(None, {"type": kind, "message": message, "status": None},
                          time.monotonic() - start, 1)
