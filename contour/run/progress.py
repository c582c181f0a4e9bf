"""Progress display: a tqdm bar on a terminal, plain periodic lines otherwise.

Work that costs nothing (cache hits) is taken out of the total instead of
being counted as done, so the rate and the ETA describe real requests only.
Resumed samples never enter the total.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from tqdm import tqdm


def _terminal_columns(stream) -> int:
    """Width of the terminal behind `stream`; 0 when it is not a terminal or
    reports no size (a pty with no window, where a bar would draw nothing)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else 0
    except (AttributeError, OSError, ValueError):
        return 0


class Progress:
    def __init__(self, total: int, enabled: bool = True, stream=None, interval_s: float = 10.0):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and _terminal_columns(self.stream) > 0
        self.total = total
        self.done = 0
        self.cached = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_line = 0.0
        self._interval = interval_s
        self._bar = tqdm(total=total, file=self.stream, unit="req", dynamic_ncols=True) if self.tty else None

    def add_work(self, n: int) -> None:
        with self._lock:
            self.total += n
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()

    def completed(self, cache_hit: bool) -> None:
        with self._lock:
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
            elif self.enabled and time.monotonic() - self._last_line >= self._interval:
                self._print_line()

    def _print_line(self) -> None:
        self._last_line = time.monotonic()
        elapsed = self._last_line - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        print(f"progress: {self.done}/{self.total} requests, {self.cached} cached, "
              f"{rate:.2f} req/s, ETA {eta}", file=self.stream, flush=True)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
            elif self.enabled:
                self._print_line()
