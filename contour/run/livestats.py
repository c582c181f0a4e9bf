"""Run statistics, kept current during the run and rewritten to stats.json.

Every counter is a sum over the run's records (resumed ones included), so the
file can always be checked against records.jsonl, and it is counted by the
same `contour.results.tally.Tally` that evaluation uses: `n`, `correct`,
`valid` and `truncated` here equal evaluation's numbers for the same records
(permanent request errors in n as wrong; transient and sample errors, scorer
crashes and unscored records outside it, each counted on its own).
`model_calls` counts records the server answered in this run (not from the
cache), `http_attempts` every HTTP attempt including retries. Tokens per
second use only completion tokens the server generated during this
session's wall time. `timings`
holds the p50/p90/p99 of latency, time to first token and decode tokens/s of
the records the server answered (`contour.results.timings`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from contour.results.tally import RecordClass, Tally
from contour.results.writer import write_json_atomic


class RunStats:
    """Thread-safe tallies per point, rolled up per task and in total when read.

    A record is counted once, in its point's tally: `add` runs for every
    record of the run, a snapshot only every couple of seconds. Merging the
    points' tallies there gives the same counts and the same percentiles as
    counting every record at every level."""

    def __init__(self, path: Path, min_interval_s: float = 2.0):
        self.path = path
        self._points: dict[str, Tally] = {}
        self._task_of: dict[str, str] = {}      # point -> its base task
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
            point = record["task"]
            tally = self._points.get(point)
            if tally is None:
                tally = self._points[point] = Tally()
                self._task_of[point] = record["base_task"]
            kind = tally.add(record)
            answered = kind is RecordClass.SCORED or kind is RecordClass.SCORER_ERROR
            if from_this_session and answered and not record.get("cache_hit"):
                tokens = (record.get("usage") or {}).get("completion_tokens")
                self.session_completion_tokens += tokens if isinstance(tokens, int) else 0
        if from_this_session and time.monotonic() - self._last_write >= self._min_interval:
            self.write()

    def _rollup(self) -> tuple[Tally, dict[str, Tally]]:
        """The total and per-task tallies (call with the lock held)."""
        total, tasks = Tally(), dict[str, Tally]()
        for point, tally in self._points.items():
            task = self._task_of[point]
            if task not in tasks:
                tasks[task] = Tally()
            tasks[task].merge(tally)
            total.merge(tally)
        return total, tasks

    @property
    def total(self) -> Tally:
        with self._lock:
            return self._rollup()[0]

    def snapshot(self, final: bool = False) -> dict[str, Any]:
        with self._lock:
            wall = time.monotonic() - self.started
            total, tasks = self._rollup()
            return {
                "final": final,
                "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "wall_time_s": round(wall, 3),
                "session_completion_tokens": self.session_completion_tokens,
                "completion_tokens_per_s": round(self.session_completion_tokens / wall, 3) if wall > 0 else None,
                "total": total.as_dict(),
                "per_task": {k: v.as_dict() for k, v in sorted(tasks.items())},
                "per_point": {k: v.as_dict() for k, v in sorted(self._points.items())},
                **{name: provider() for name, provider in self._sections.items()},
            }

    def write(self, final: bool = False) -> None:
        data = self.snapshot(final)
        self._last_write = time.monotonic()
        write_json_atomic(self.path, data)

    def summary_table(self) -> str:
        snap = self.snapshot()
        header = (f"{'task':<14}{'records':>8}{'n':>7}{'valid':>7}{'correct':>8}{'trunc':>7}"
                  f"{'errors':>7}{'scorer':>7}{'cached':>7}{'calls':>7}")
        rows = [header, "-" * len(header)]
        for name, t in list(snap["per_task"].items()) + [("TOTAL", snap["total"])]:
            rows.append(f"{name:<14}{t['records']:>8}{t['n']:>7}{t['valid']:>7}{t['correct']:>8}"
                        f"{t['truncated']:>7}{t['error_count']:>7}{t['scorer_errors']:>7}"
                        f"{t['cache_hits']:>7}{t['model_calls']:>7}")
        rows.append(f"wall {snap['wall_time_s']:.1f}s, {snap['total']['completion_tokens']} completion tokens, "
                    f"{snap['completion_tokens_per_s'] or 0:.1f} generated tokens/s this session")
        rows.append("n = records in accuracy: answers plus permanent request errors (as wrong); "
                    "transient errors and scorer crashes are left out (docs/evaluation.md)")
        return "\n".join(rows)
