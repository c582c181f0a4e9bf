"""What the engine sends requests through, and how it is chosen.

Three transports share one interface (`Transport`): a `ChatClient` for one
HTTP endpoint, an `EndpointPool` for several, and `InProcessVLLM` for
`--engine vllm`. The HTTP ones also have the coroutine `acomplete(body)`
(`AsyncTransport`): the engine's requests run on one event loop. A
transport that has `complete_batch(bodies)` instead (`BatchTransport`) is
handed a whole step at once.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

from contour.errors import ContourError
from contour.masking import mask_url
from contour.run.client import Completion, RetryPolicy

ENGINES = ("http", "vllm")


class Transport(Protocol):
    def check_model(self, name: str) -> None: ...
    def max_model_len(self, name: str) -> int | None: ...
    def complete(self, body: dict[str, Any]) -> Completion: ...
    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Transport, Protocol):
    """An HTTP transport: the engine sends its requests as coroutines on the shared loop."""

    async def acomplete(self, body: dict[str, Any]) -> Completion: ...


@runtime_checkable
class BatchTransport(Transport, Protocol):
    def complete_batch(self, bodies: Sequence[dict[str, Any]]) -> list[Completion]: ...


def open_transport(engine: str, apibase: str | None, model: str, *, api_key: str | None,
                   timeout: float, retries: int, pool_size: int,
                   engine_args: dict[str, Any] | None = None, stream: bool = True,
                   max_time: float | None = None, transport: str | None = None) -> Transport:
    """The transport for `--engine` (and `--apibase` for http); nothing is checked yet."""
    if engine == "vllm":
        if apibase:
            raise ContourError("--apibase is not used with --engine vllm (the model runs in "
                               "this process); drop one of them")
        if transport:
            raise ContourError("--transport applies only to --engine http (with --engine vllm "
                               "nothing goes over HTTP)")
        from contour.run.inprocess import InProcessVLLM

        return InProcessVLLM.load(model, engine_args)
    if engine != "http":
        raise ContourError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine_args:
        raise ContourError("--engine-arg applies only to --engine vllm")
    from contour.run.endpoints import open_endpoints, parse_apibases

    return open_endpoints(parse_apibases(apibase), api_key, timeout,
                          RetryPolicy(max_retries=retries), pool_size, stream=stream, max_time=max_time,
                          transport=transport)


def describe(transport: Any) -> dict[str, Any]:
    """What the manifest says about where answers came from: the engine, the HTTP wire
    (--transport) and the API base(s), URL credentials masked."""
    apibases: Sequence[str] | None = getattr(transport, "apibases", None)
    if apibases is not None:
        return {"engine": "http", "transport": getattr(transport, "transport", None),
                "apibase": [mask_url(a) for a in apibases]}
    if isinstance(transport, BatchTransport):
        return {"engine": "vllm", "apibase": None}
    return {"engine": "http", "transport": getattr(transport, "transport", None),
            "apibase": mask_url(transport.apibase)}
