"""Synthetic result records and folders for the evaluation tests.

`make_record` builds one realistic ResultRecord dict (every schema field
present); `grid_run` builds a run over a small arithmetic-like grid whose
accuracy falls with difficulty; `write_run` writes a result folder.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from contour.results.schema import MANIFEST_FILE, RECORDS_FILE, STATS_FILE, ResultRecord


def point_id(index: int, task: str, params: dict[str, Any]) -> str:
    return f"{index:03d}_{task}_" + "_".join(f"{k}-{v}" for k, v in sorted(params.items()))


def make_record(point: str = "000_arithmetic_length-4", task: str = "arithmetic", sample: int = 0,
                params: dict[str, Any] | None = None, *, correct: bool | None = True,
                valid: bool | None = None, truncated: bool | None = False, tokens: int | None = 100,
                guess: float = 0.0, genresult: dict[str, Any] | None = None,
                error: dict[str, Any] | None = None, offline: bool = False, model: str = "model-a",
                template: str = "zeroshot", sampler: str = "greedy-2k", seed: int = 1,
                input_text: str | None = None, target: str = "42") -> dict[str, Any]:
    """One record as the runner writes it. `offline=True` nulls every inference field."""
    params = dict(params or {"length": 4}, count=8)
    record = ResultRecord(
        task=point, version=1, base_task=task, key=f"{point}-{sample}", sample=sample, step=0,
        seed=seed, params=params, input=input_text or f"Evaluate {point} #{sample}", target=target,
        response_enum=None, guess_chance=guess, genresult=dict(genresult or {}),
        messages=[{"role": "user", "content": f"Evaluate {point} #{sample}"}],
        model=None if offline else model, template=template, sampler=None if offline else sampler,
    )
    if not offline and error is None:
        record.answer = f"Final Answer: {target if correct else '0'}"
        record.usage = {"completion_tokens": tokens, "prompt_tokens": 50,
                        "total_tokens": (tokens or 0) + 50} if tokens is not None else None
        record.timings = {"finish_reason": "length" if truncated else "stop"}
        record.extracted_answer = target if correct else "0"
        record.normalized_answer = record.extracted_answer
        record.is_valid = (correct is not None) if valid is None else valid
        record.is_correct = correct
        record.is_truncated = truncated
        record.latency_s = 0.5
        record.cache_hit = False
    if error is not None:
        record.error = error
    return asdict(record)


def grid_run(seed: int = 0, model: str = "model-a", samples: int = 16, skill: float = 0.0,
             lengths: Iterable[int] = (2, 4, 8), depths: Iterable[int] = (0, 1, 2)) -> list[dict[str, Any]]:
    """An arithmetic-like run: accuracy falls with length and depth; `skill` shifts it.

    The test inputs depend only on the point and sample (never on `seed` or
    `model`), like seeded tests, so runs pair by key; the verdicts depend on
    `seed` and `skill`.
    """
    rng = random.Random(seed)
    records = []
    index = 0
    for length in lengths:
        for depth in depths:
            params = {"length": length, "depth": depth}
            point = point_id(index, "arithmetic", params)
            index += 1
            p = min(0.98, max(0.02, 1.0 - 0.07 * length - 0.15 * depth + skill))
            for sample in range(samples):
                truncated = rng.random() < 0.05 * depth
                correct = (not truncated) and rng.random() < p
                records.append(make_record(
                    point, "arithmetic", sample, params, correct=correct, truncated=truncated,
                    tokens=rng.randint(20, 400) + (4096 if truncated else 0), model=model,
                    genresult={"nesting": depth, "has_distractor": sample % 3 == 0}))
    for sample in range(samples):   # a two-way task with guess chance 1/2
        point = point_id(index, "boolean", {"depth": 1})
        records.append(make_record(point, "boolean", sample, {"depth": 1}, guess=0.5,
                                   correct=rng.random() < 0.8 + skill / 4, model=model,
                                   target="true", genresult={"has_distractor": False}))
    return records


def write_run(folder: Path, records: Iterable[dict[str, Any]], manifest: dict[str, Any] | None = None,
              tail: str = "") -> Path:
    """Write a result folder; `tail` is appended raw after the last line (to damage it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / RECORDS_FILE, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
        handle.write(tail)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest or {"seed": 1, "model": "model-a"}))
    (folder / STATS_FILE).write_text(json.dumps({"calls": 0}))
    return folder


def run_command(command, *args) -> "Ran":
    """A command as the CLI runs it: through contour.exits (one line, exit code)."""
    from click.testing import CliRunner

    from contour import exits
    with CliRunner().isolation() as (out, err, _):
        code = exits.invoke(command, [str(a) for a in args])
        return Ran(code, out.getvalue().decode(), err.getvalue().decode())


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr
