"""Reasoning and answer tokens per point, task and run.

For every answered record (no `error`): whether it reasoned (`reasoning_chars`
> 0: a server-parsed trace or `<think>` blocks), its reasoning tokens
(`reasoning_tokens`: the server's count, 0 for a reply with no reasoning at
all, unknown when a trace came without a count) and its answer tokens
(completion tokens minus reasoning tokens, where both are known), and whether
it was cut off while still thinking (`truncated_in_reasoning`). Means are
over the records where the number is known; the `known` column says how many.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class ReasoningTally:
    __slots__ = ("records", "reasoned", "known", "reasoning_tokens", "answer_tokens",
                 "cut_off_thinking")

    def __init__(self) -> None:
        self.records = self.reasoned = self.known = 0
        self.reasoning_tokens = self.answer_tokens = self.cut_off_thinking = 0

    def add(self, record: dict[str, Any]) -> None:
        if record.get("error") is not None or record.get("timings") is None:
            return
        self.records += 1
        self.reasoned += bool(_count(record.get("reasoning_chars")))
        self.cut_off_thinking += record.get("truncated_in_reasoning") is True
        usage = record.get("usage")
        completion = _count(usage.get("completion_tokens")) if isinstance(usage, dict) else None
        reasoning = _count(record.get("reasoning_tokens"))
        if completion is not None and reasoning is not None:
            self.known += 1
            self.reasoning_tokens += min(reasoning, completion)
            self.answer_tokens += completion - min(reasoning, completion)

    def merge(self, other: "ReasoningTally") -> "ReasoningTally":
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass
class ReasoningMetrics:
    records: int
    reasoned: int                       # records with any reasoning
    known: int                          # records whose reasoning and answer tokens are known
    reasoning_tokens_mean: float | None
    answer_tokens_mean: float | None
    cut_off_thinking: int               # truncated before any final answer


def reasoning_metrics(tally: ReasoningTally) -> ReasoningMetrics:
    known = tally.known
    return ReasoningMetrics(
        tally.records, tally.reasoned, known,
        tally.reasoning_tokens / known if known else None,
        tally.answer_tokens / known if known else None,
        tally.cut_off_thinking)


class ReasoningCollector:
    """Tallies by (run index, point id); rolled up to tasks and runs on demand."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, str], ReasoningTally] = {}
        self.base_task: dict[tuple[int, str], str] = {}
        self.any_reasoning = False

    def add(self, run: int, record: dict[str, Any]) -> None:
        key = (run, record["task"])
        tally = self.cells.get(key)
        if tally is None:
            tally = self.cells[key] = ReasoningTally()
            self.base_task[key] = str(record["base_task"])
        tally.add(record)
        if not self.any_reasoning and (_count(record.get("reasoning_chars"))
                                       or _count(record.get("reasoning_tokens"))):
            self.any_reasoning = True

    def groups(self, level: str) -> dict[tuple, ReasoningTally]:
        out: dict[tuple, ReasoningTally] = {}
        for (run, point), tally in self.cells.items():
            task = self.base_task[(run, point)]
            key = {"run": (run,), "task": (run, task), "point": (run, task, point)}[level]
            out.setdefault(key, ReasoningTally()).merge(tally)
        return out
