"""Latency, time to first token and decode rate of records, and their percentiles.

Shared by the live stats file (`contour.run.livestats`) and evaluation, so
both report the same numbers. Only records that the server answered count:
a cache hit's latency is a disk read, and a failed request's is the retry
schedule, neither says anything about the model. `ttft_s` and
`decode_tokens_per_s` exist only for streamed requests (see
`contour.run.stream`); `latency_s` is the whole request, retries included.

Percentiles are numpy's default (linear interpolation between order
statistics), over every value kept: exact, at 8 bytes a value.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

METRICS = ("latency_s", "ttft_s", "decode_tokens_per_s")
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def timing_values(record: dict[str, Any]) -> tuple[float | None, float | None, float | None] | None:
    """(latency, ttft, decode rate) of a record the server answered, else None."""
    if record.get("error") or record.get("cache_hit") is not False:
        return None
    found = record.get("timings")
    timings: dict[str, Any] = found if isinstance(found, dict) else {}
    return (_number(record.get("latency_s")), _number(timings.get("ttft_s")),
            _number(timings.get("decode_tokens_per_s")))


def percentiles(values: array | np.ndarray) -> dict[str, float] | None:
    """{"p50", "p90", "p99"} of the values; None when there are none."""
    if len(values) == 0:
        return None
    data = np.frombuffer(values, dtype=np.float64) if isinstance(values, array) else values
    found = np.quantile(data, list(QUANTILES.values()))
    return {name: round(float(v), 4) for name, v in zip(QUANTILES, found)}


class TimingSamples:
    """Every timing value of a group of records, for exact percentiles."""

    __slots__ = ("latency_s", "ttft_s", "decode_tokens_per_s")

    def __init__(self) -> None:
        self.latency_s = array("d")
        self.ttft_s = array("d")
        self.decode_tokens_per_s = array("d")

    def add(self, record: dict[str, Any]) -> None:
        values = timing_values(record)
        if values is None:
            return
        for column, value in zip((self.latency_s, self.ttft_s, self.decode_tokens_per_s), values):
            if value is not None:
                column.append(value)

    def merge(self, other: "TimingSamples") -> "TimingSamples":
        for name in self.__slots__:
            getattr(self, name).extend(getattr(other, name))
        return self

    def summary(self) -> dict[str, dict[str, float] | None]:
        """{"latency_s": {"p50", "p90", "p99"} or None, "ttft_s": ..., "decode_tokens_per_s": ...}"""
        return {name: percentiles(getattr(self, name)) for name in self.__slots__}
