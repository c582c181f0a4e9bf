"""The result record: one JSON object per line in `records.jsonl`.

Fields follow seed 004's schema, plus what a user needs to trust and resume
a run (`sample`, `seed`, `latency_s`, `cache_hit`, `error`), and what k
completions and reasoning models add (`completion`, `reasoning`, ...; see
`contour.run.scoring`). Offline records carry every field that exists
without inference; the inference fields (`answer`, `usage`, `timings`, the
answer fields and the flags) are null.

`schema_version` is the last field. Records written before it existed are
version 1 (readers treat a missing field as 1); such records may also lack
the fields added since (`completion`, `reasoning`, ...).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 2


@dataclass
class ResultRecord:
    task: str                    # point id: "003_arithmetic_depth-1_length-4"
    version: int                 # task version
    base_task: str               # registered task name
    key: str                     # "<task>-<sample>", "<task>-<sample>.<completion>" for completions
                                 # after the first: unique within a run, stable across runs
    sample: int                  # sample index within the point (round * count + i)
    step: int                    # round index of the point
    seed: int                    # global seed
    params: dict[str, Any]       # all task parameters of the point, plus `count`
    input: str
    target: str
    response_enum: list[str] | None
    guess_chance: float
    genresult: dict[str, Any]
    messages: list[dict[str, str]]
    model: str | None
    template: str
    sampler: str | None
    answer: str | None = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None       # {"finish_reason": ..., "stop_reason": ...}
    extracted_answer: str | None = None
    normalized_answer: str | None = None
    is_valid: bool | None = None
    is_correct: bool | None = None
    is_truncated: bool | None = None
    latency_s: float | None = None
    cache_hit: bool | None = None
    error: dict[str, Any] | None = None         # {"type": ..., "message": ..., "status": ...}
    completion: int = 0                         # completion index within the test (--completions)
    reasoning: str | None = None                # the server's parsed reasoning trace, as sent
    reasoning_chars: int | None = None          # its length plus that of <think> blocks in `answer`
    reasoning_tokens: int | None = None         # usage.completion_tokens_details.reasoning_tokens;
                                                # 0 with no reasoning at all, null when unknown
    truncated_in_reasoning: bool | None = None  # cut off for length before any final answer
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))


RECORDS_FILE = "records.jsonl"
MANIFEST_FILE = "manifest.json"
STATS_FILE = "stats.json"
# Lines of records.jsonl that a later line replaces (a resume retried them): see
# contour.results.writer.read_superseded. Every reader of the records skips them.
SUPERSEDED_FILE = "records.superseded.jsonl"
