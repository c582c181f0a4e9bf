"""Filling a record's inference fields from a server response or an error.

What is kept and what is scored (see `contour.run.reasoning` for the rules):
- `answer` is the message content as sent, `<think>` blocks included;
  `reasoning` is the server's parsed trace (`reasoning` or
  `reasoning_content`), as sent;
- extraction reads only the final answer: the content without its think
  blocks. A reply with no final answer (content null, or only thinking) is
  invalid;
- `is_truncated` is the server's finish_reason "length"; a truncated reply
  with reasoning and no final answer was cut off while thinking
  (`truncated_in_reasoning`), with the length of what it thought in
  `reasoning_chars` (and `reasoning_tokens` when the server counts them).
"""

from __future__ import annotations

from typing import Any

from contour.results.schema import ResultRecord
from contour.run.reasoning import server_reasoning, split_thinking, usage_reasoning_tokens
from contour.run.sampling import SPLIT_FIELD
from contour.spec.task import Scored, Test
from contour.tasks import get_task


def score_record(record: ResultRecord, response: dict[str, Any] | None, error: dict[str, Any] | None) -> None:
    """Fill the inference fields of `record` from a server response or an error."""
    if error is not None or response is None:
        record.error = error or {"type": "unknown", "message": "no response"}
        record.is_valid = record.is_correct = record.is_truncated = False
        return
    choice = response["choices"][0]
    message = choice.get("message") or {}
    content = message.get("content")
    record.answer = content
    record.usage = response.get("usage")
    record.timings = {"finish_reason": choice.get("finish_reason"),
                      "stop_reason": choice.get("stop_reason")}
    if SPLIT_FIELD in response:
        record.extra["shared_request"] = response[SPLIT_FIELD]
    parts = split_thinking(content)
    record.reasoning = server_reasoning(message)
    record.reasoning_chars = len(record.reasoning or "") + len(parts.thinking)
    record.reasoning_tokens = usage_reasoning_tokens(record.usage)
    if record.reasoning_tokens is None and record.reasoning_chars == 0 and not parts.unfinished:
        record.reasoning_tokens = 0     # nothing was reasoning: every token is answer
    task = get_task(record.base_task)
    test = Test(record.input, record.target, record.response_enum, record.guess_chance, record.genresult)
    try:
        verdict = task.score(parts.final, test)
    except Exception as exc:   # noqa: BLE001 - a scorer bug must not end an hours-long run
        # The answer is kept, so the record can be re-scored once the task is fixed.
        record.extra["scoring_error"] = f"{type(exc).__name__}: {exc}"
        verdict = Scored(None, None, False, False)
    record.extracted_answer = verdict.extracted_answer
    record.normalized_answer = verdict.normalized_answer
    record.is_valid = verdict.is_valid
    record.is_correct = verdict.is_correct
    record.is_truncated = choice.get("finish_reason") == "length"
    thought = record.reasoning_chars > 0 or parts.unfinished
    record.truncated_in_reasoning = record.is_truncated and thought and not parts.final.strip()
