"""Filling a record's inference fields from a server response or an error."""

from __future__ import annotations

from typing import Any

from contour.results.schema import ResultRecord
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
    record.answer = message.get("content")
    record.usage = response.get("usage")
    record.timings = {"finish_reason": choice.get("finish_reason"),
                      "stop_reason": choice.get("stop_reason")}
    task = get_task(record.base_task)
    test = Test(record.input, record.target, record.response_enum, record.guess_chance, record.genresult)
    try:
        verdict = task.score(record.answer, test)
    except Exception as exc:   # noqa: BLE001 - a scorer bug must not end an hours-long run
        # The answer is kept, so the record can be re-scored once the task is fixed.
        record.extra["scoring_error"] = f"{type(exc).__name__}: {exc}"
        verdict = Scored(None, None, False, False)
    record.extracted_answer = verdict.extracted_answer
    record.normalized_answer = verdict.normalized_answer
    record.is_valid = verdict.is_valid
    record.is_correct = verdict.is_correct
    record.is_truncated = choice.get("finish_reason") == "length"
