"""Progress display: a tqdm bar on a terminal, plain periodic lines otherwise.

Work that costs nothing (cache hits) is taken out of the total instead of
being counted as done, so the rate and the ETA describe real requests only.
Resumed samples never enter the total.

Heartbeat: requests register while they are in flight (`sending`), and when
nothing has completed for `heartbeat_s` a line says how many are in flight
and how long the oldest has waited, e.g.

    waiting: 8 requests in flight, oldest 95s (003_arithmetic_depth-1-4); last completion 60s ago

repeated every `heartbeat_s` while the silence lasts, so a hung server or a
slow generation is visible without a completion to trigger a progress line.
On a terminal the line is written above the bar.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from typing import Any, Callable

from tqdm import tqdm


def _terminal_columns(stream) -> int:
    """Width of the terminal behind `stream`; 0 when it is not a terminal or
    reports no size (a pty with no window, where a bar would draw nothing)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    def __init__(self, total: int, enabled: bool = True, stream=None, interval_s: float = 10.0,
                 heartbeat_s: float | None = 30.0, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and _terminal_columns(self.stream) > 0
        self.total = total
        self.done = 0
        self.cached = 0
        self._lock = threading.Lock()
        self._clock = clock
        self._started = clock()
        self._last_line = 0.0
        self._interval = interval_s
        self._bar = tqdm(total=total, file=self.stream, unit="req", dynamic_ncols=True) if self.tty else None
        # In-flight requests: ticket -> (started, label). Dicts keep insertion
        # order, so the first entry is always the oldest.
        self._in_flight: dict[int, tuple[float, str | Callable[[], str]]] = {}
        self._tickets = itertools.count()
        self._last_completion = self._started
        self._last_beat = self._started
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None
        if enabled and heartbeat_s:
            self._beater = threading.Thread(target=self._beat_loop, name="contour-heartbeat",
                                            daemon=True)
            self._beater.start()

    def sending(self, label: str | Callable[[], str]) -> _InFlight:
        """Marks one request as in flight for the heartbeat while the `with` block
        runs. `label` names it, or makes its name when a heartbeat needs it (most
        requests finish long before one does)."""
        return _InFlight(self._in_flight, next(self._tickets), self._clock, label)

    def heartbeat(self) -> str | None:
        """The heartbeat line due now, if any (and marks it printed)."""
        now = self._clock()
        with self._lock:
            quiet = now - max(self._last_completion, self._last_beat)
            if not self._heartbeat_s or quiet < self._heartbeat_s:
                return None
            self._last_beat = now
            since = now - self._last_completion
        # list() copies the dict in one C call (no other thread runs meanwhile);
        # insertion order is start order, so the first is the oldest.
        flying = list(self._in_flight.values())
        count = len(flying)
        oldest = flying[0] if flying else None
        if oldest is None:
            return f"waiting: no request in flight; last completion {since:.0f}s ago"
        started, label = oldest
        name = label() if callable(label) else label
        return (f"waiting: {count} request{'s' if count != 1 else ''} in flight, oldest "
                f"{now - started:.0f}s ({name}); last completion {since:.0f}s ago")

    def _beat_loop(self) -> None:
        step = min(1.0, (self._heartbeat_s or 4.0) / 4)
        while not self._stop.wait(step):
            line = self.heartbeat()
            if line is not None:
                self._write(line)

    def note(self, line: str) -> None:
        """A line of its own among the progress output (above the bar on a
        terminal); nothing when progress is off (--quiet)."""
        if self.enabled:
            self._write(line)

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def add_work(self, n: int) -> None:
        with self._lock:
            self.total += n
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()

    def completed(self, cache_hit: bool) -> None:
        with self._lock:
            self._last_completion = self._clock()
            if cache_hit:
                self.cached += 1
                self.total -= 1
            else:
                self.done += 1
            if self._bar is not None:
                self._bar.total = self.total
                if not cache_hit:
                    self._bar.update(1)
                self._bar.set_postfix(cached=self.cached, refresh=cache_hit)
            elif self.enabled and self._clock() - self._last_line >= self._interval:
                self._print_line()

    def _print_line(self) -> None:
        self._last_line = self._clock()
        elapsed = self._last_line - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        print(f"progress: {self.done}/{self.total} requests, {self.cached} cached, "
              f"{rate:.2f} req/s, ETA {eta}", file=self.stream, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._beater is not None:
            self._beater.join()
        with self._lock:
            if self._bar is not None:
                self._bar.close()
            elif self.enabled:
                self._print_line()


class _InFlight:
    """One request in the in-flight table while a `with` block runs (a plain
    class: this runs once per request, where a generator-based context manager
    costs several times more)."""

    __slots__ = ("_table", "_ticket", "_clock", "_label")

    def __init__(self, table: dict[int, Any], ticket: int, clock: Callable[[], float],
                 label: str | Callable[[], str]) -> None:
        self._table, self._ticket, self._clock, self._label = table, ticket, clock, label

    def __enter__(self) -> None:
        self._table[self._ticket] = (self._clock(), self._label)     # one dict op: atomic under the GIL

    def __exit__(self, *exc: object) -> None:
        self._table.pop(self._ticket, None)
