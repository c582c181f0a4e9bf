"""The process's one asyncio event loop, in one daemon thread.

Every request of a run is a coroutine on this loop (`contour.run.client`,
`contour.run.fetch`): a request in flight costs a task, not a thread, and the
engine's step threads hand a whole step to the loop at once (`submit`)
instead of one blocking call per request. Synchronous callers (the startup
checks, tests, a probe thread) use `run_sync`.

The loop is started on first use, and again in a forked child (which has
the object but not the thread). It is the standard asyncio loop unless
`CONTOUR_LOOP=uvloop` asks for uvloop's (a dependency everywhere but Windows).
On the runner's benchmark uvloop once cut the CPU per request by a tenth
to a fifth (in later runs it was within the noise of the standard loop),
and a full test run with it as the default once ended a two-server
vLLM run with one sample unrecorded. The one way the engine could lose a
sample so was a request's task being cancelled while the run went on; such
a sample is now a retryable failure record (`Engine._cancelled`), but since
the cancellation itself was never reproduced (30 runs of that test with
uvloop), uvloop stays opt-in.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
from concurrent.futures import Future
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

from contour.errors import ContourError

_T = TypeVar("_T")


LOOPS = ("asyncio", "uvloop")


def loop_choice() -> str:
    """The loop `CONTOUR_LOOP` asks for ("asyncio" when unset); a ContourError
    names any other value, so a typo is not silently the default."""
    asked = os.environ.get("CONTOUR_LOOP", "")
    name = asked.strip().lower() or "asyncio"
    if name not in LOOPS:
        raise ContourError(f"CONTOUR_LOOP={asked!r}: not an event loop Contour knows; "
                           "use 'asyncio' (the default) or 'uvloop'")
    return name


def new_loop() -> asyncio.AbstractEventLoop:
    if loop_choice() == "uvloop":
        try:
            import uvloop
        except ImportError:     # not installed (Windows): the standard loop does the same job
            print("note: CONTOUR_LOOP=uvloop, but uvloop is not installed here; using the "
                  "standard asyncio loop", file=sys.stderr)
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class _LoopThread:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = new_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="contour-loop", daemon=True)
        self.thread.start()


_shared: _LoopThread | None = None
_shared_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    global _shared
    with _shared_lock:
        if _shared is None or _shared.pid != os.getpid():
            _shared = _LoopThread()
        return _shared.loop


def submit(coro: Coroutine[Any, Any, _T]) -> Future[_T]:
    """Start `coro` on the shared loop; its concurrent Future (cancel() cancels the task)."""
    return asyncio.run_coroutine_threadsafe(coro, shared_loop())


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run `coro` on the shared loop and wait for it; never call this from the loop itself."""
    future = submit(coro)
    try:
        return future.result()
    except BaseException:
        future.cancel()     # an interrupted caller does not leave its request running
        raise


async def pause(sleep: Callable[[float], Awaitable[None] | None], seconds: float) -> None:
    """Wait `seconds` with `sleep`, which is asyncio.sleep or a test's stand-in
    (a plain function that records the wait and returns at once)."""
    waited = sleep(seconds)
    if inspect.isawaitable(waited):
        await waited
