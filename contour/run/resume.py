"""Finding and taking over an earlier attempt of a run.

A run folder is identified by the run's fingerprint (same command = same
fingerprint). Records already in the folder are kept and not requested
again; records that failed for a transient reason (timeout, connection,
5xx, rate limit, malformed reply) are dropped from the file and retried.
One runner at a time holds a folder's lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import click

from contour.run.client import TRANSIENT_ERRORS
from contour.errors import ContourError
from contour.results.writer import folder_name, read_manifest, records_path, repair_tail, unique_path
from contour.run.plan import RunSettings

LOCK_FILE = ".lock"


def find_resumable(results_dir: Path, fingerprint: str) -> Path | None:
    """The newest unfinished folder of the same run, if any."""
    if not results_dir.is_dir():
        return None
    found = []
    for folder in results_dir.iterdir():
        manifest = read_manifest(folder) if folder.is_dir() else None
        if manifest and manifest.get("fingerprint") == fingerprint and manifest.get("status") != "complete":
            found.append(folder)
    return max(found, key=lambda f: f.name) if found else None


@dataclass(frozen=True)
class Outcome:
    """What the engine remembers of a finished record (not the record itself,
    so memory stays small on long runs)."""

    step: int
    correct: bool
    truncated: bool
    error_type: str | None

    @classmethod
    def of(cls, record: dict[str, Any]) -> "Outcome":
        error = record.get("error")
        return cls(record["step"], bool(record.get("is_correct")), bool(record.get("is_truncated")),
                   error.get("type") if error else None)

    @property
    def retry_later(self) -> bool:
        return self.error_type in TRANSIENT_ERRORS


def load_finished(folder: Path, on_kept: Callable[[dict[str, Any]], None]) -> tuple[dict[str, Outcome], int]:
    """Outcomes of the records kept from an earlier attempt, by key, and the
    number dropped. Records that failed for a transient reason (and, defensively,
    repeats of a key) are dropped from the file so they are retried; the file
    is rewritten atomically and only when something was dropped. `on_kept` sees
    each kept record once, streamed, so the file is never held in memory."""
    path = records_path(folder)
    if not path.exists():
        return {}, 0
    damaged = repair_tail(path)
    if damaged:
        click.echo(f"note: removed truncated line {damaged} of {path} (a crash mid-write)", err=True)
    kept: dict[str, Outcome] = {}
    dropped = 0
    tmp = path.with_name(path.name + ".rewrite")
    try:
        with open(path, encoding="utf-8") as source, open(tmp, "w", encoding="utf-8") as copy:
            for lineno, line in enumerate(source, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    raise ContourError(f"{path}: line {lineno} is not valid JSON; move the file away "
                                       "or fix that line to resume this run") from None
                outcome = Outcome.of(record)
                if outcome.retry_later or record["key"] in kept:
                    dropped += 1
                    continue
                kept[record["key"]] = outcome
                on_kept(record)
                copy.write(line)
        if dropped:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return kept, dropped


def choose_folder(settings: RunSettings, fingerprint: str, results_dir: Path, output: Path | None) -> Path:
    """--output if given (it must be empty or hold this same run), else the
    newest unfinished folder of this run, else a new timestamped folder."""
    if output is not None:
        existing = read_manifest(output)
        if output.exists() and any(output.iterdir()) and (
                existing is None or existing.get("fingerprint") != fingerprint):
            raise ContourError(f"output folder {output} holds a different run; choose another --output")
        return output
    return find_resumable(results_dir, fingerprint) or unique_path(results_dir / folder_name(
        time.strftime("%Y%m%d-%H%M%S"), settings.config.name, settings.model_name(),
        settings.template.name, settings.sampler_name()))


def lock_folder(folder: Path):
    """Hold an exclusive lock on the run folder for the life of the run, so a
    second runner on the same folder stops at once instead of duplicating work."""
    handle = open(folder / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ContourError(f"run folder {folder} is in use by another runner; "
                           "wait for it to finish or stop it first") from None
    return handle
