"""Run statistics, kept current during the run and rewritten to stats.json.

Every counter is a sum over the run's records (resumed ones included), so the
file can always be checked against records.jsonl; `model_calls` counts
records the server answered in this run (not from the cache), `http_attempts`
every HTTP attempt including retries. Tokens per second use only completion
tokens the server generated during this session's wall time. `timings`
holds the p50/p90/p99 of latency, time to first token and decode tokens/s of
the records the server answered (`contour.results.timings`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from contour.results.timings import TimingSamples
from contour.results.writer import write_json_atomic


@dataclass
class Tally:
    records: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    http_attempts: int = 0
    valid: int = 0
    correct: int = 0
    truncated: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: Counter = field(default_factory=Counter)
    timings: TimingSamples = field(default_factory=TimingSamples)

    def add(self, record: dict[str, Any]) -> None:
        self.records += 1
        self.timings.add(record)
        usage = record.get("usage") or {}
        self.prompt_tokens += usage.get("prompt_tokens") or 0
        self.completion_tokens += usage.get("completion_tokens") or 0
        self.valid += bool(record.get("is_valid"))
        self.correct += bool(record.get("is_correct"))
        self.truncated += bool(record.get("is_truncated"))
        if record.get("error"):
            self.errors[record["error"].get("type", "unknown")] += 1
        elif record.get("cache_hit"):
            self.cache_hits += 1
        else:
            self.model_calls += 1
        self.http_attempts += (record.get("extra") or {}).get("attempts", 0)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("errors", "timings")}
        out["errors"] = dict(sorted(self.errors.items()))
        out["timings"] = self.timings.summary()
        out["error_count"] = sum(self.errors.values())
        return out


class RunStats:
    """Thread-safe tallies in total, per task and per point, plus session timing."""

    def __init__(self, path: Path, min_interval_s: float = 2.0):
        self.path = path
        self.total = Tally()
        self.per_task: dict[str, Tally] = {}
        self.per_point: dict[str, Tally] = {}
        self.session_completion_tokens = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_write = 0.0
        self._min_interval = min_interval_s
        self._sections: dict[str, Callable[[], Any]] = {}

    def add_section(self, name: str, provider: Callable[[], Any]) -> None:
        """Add `name: provider()` to every snapshot (e.g. per-endpoint counts)."""
        self._sections[name] = provider

    def add(self, record: dict[str, Any], from_this_session: bool) -> None:
        with self._lock:
            self.total.add(record)
            self.per_task.setdefault(record["base_task"], Tally()).add(record)
            self.per_point.setdefault(record["task"], Tally()).add(record)
            if from_this_session and not record.get("cache_hit") and not record.get("error"):
                self.session_completion_tokens += (record.get("usage") or {}).get("completion_tokens") or 0
        if from_this_session and time.monotonic() - self._last_write >= self._min_interval:
            self.write()

    def snapshot(self, final: bool = False) -> dict[str, Any]:
        with self._lock:
            wall = time.monotonic() - self.started
            return {
                "final": final,
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "wall_time_s": round(wall, 3),
                "session_completion_tokens": self.session_completion_tokens,
                "completion_tokens_per_s": round(self.session_completion_tokens / wall, 3) if wall > 0 else None,
                "total": self.total.as_dict(),
                "per_task": {k: v.as_dict() for k, v in sorted(self.per_task.items())},
                "per_point": {k: v.as_dict() for k, v in sorted(self.per_point.items())},
                **{name: provider() for name, provider in self._sections.items()},
            }

    def write(self, final: bool = False) -> None:
        data = self.snapshot(final)
        self._last_write = time.monotonic()
        write_json_atomic(self.path, data)

    def summary_table(self) -> str:
        snap = self.snapshot()
        header = f"{'task':<14}{'records':>8}{'valid':>7}{'correct':>8}{'trunc':>7}{'errors':>7}{'cached':>7}{'calls':>7}"
        rows = [header, "-" * len(header)]
        for name, t in list(snap["per_task"].items()) + [("TOTAL", snap["total"])]:
            rows.append(f"{name:<14}{t['records']:>8}{t['valid']:>7}{t['correct']:>8}{t['truncated']:>7}"
                        f"{t['error_count']:>7}{t['cache_hits']:>7}{t['model_calls']:>7}")
        rows.append(f"wall {snap['wall_time_s']:.1f}s, {snap['total']['completion_tokens']} completion tokens, "
                    f"{snap['completion_tokens_per_s'] or 0:.1f} generated tokens/s this session")
        return "\n".join(rows)
