"""Choosing a run's folder, and taking over an earlier attempt of the run.

A run folder is identified by the run's fingerprint (same command = same
fingerprint). Choosing the folder happens under a lock on the results
directory (its `.lock` file), and a new folder gets its manifest before that
lock is let go, so two identical commands started at the same instant end in
one folder: the second finds the first's folder and is refused by its lock.
One runner at a time holds a folder's lock, for the life of the run.

On resume, records already in the folder are kept and not requested again.
Records that failed for a reason worth retrying (a transient server failure,
or a task or template that raised) are retried: their lines are marked in
records.superseded.jsonl and the new records appended, so records.jsonl is
never rewritten and a resume needs no free disk for a copy of it. Every
round a point had started is planned again in full.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

import click

from contour.errors import ContourError
from contour.results.reader import DamagedLine, read_records
from contour.results.schema import MANIFEST_FILE
from contour.results.writer import (append_superseded, load_manifest, records_path,
                                    repair_tail, run_name, unique_path, write_error, write_json_atomic,
                                    folder_name)
from contour.results.failures import RETRY_ON_RESUME
from contour.results.tally import RecordClass, classify
from contour.run.plan import RunSettings

LOCK_FILE = ".lock"
COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine remembers of a finished record (not the record itself,
    so memory stays small on long runs)."""

    step: int
    correct: bool
    truncated: bool
    error_type: str | None
    kind: RecordClass           # how the tallies count it (contour.results.tally)
    completion: int = 0         # index among the test's completions (--completions)

    @classmethod
    def of(cls, record: dict[str, Any]) -> "Outcome":
        error = record.get("error")
        # Interned: a long run holds one Outcome per record, with few distinct types.
        error_type = sys.intern(str(error.get("type"))) if error else None
        completion = record.get("completion")
        return cls(record["step"], record.get("is_correct") is True, record.get("is_truncated") is True,
                   error_type, classify(record), completion if isinstance(completion, int) else 0)

    @property
    def retry_later(self) -> bool:
        return self.error_type in RETRY_ON_RESUME


@dataclass
class Earlier:
    """What an earlier attempt left: final outcomes by key, how many records
    are retried, and the highest round each point had started."""

    kept: dict[str, Outcome] = field(default_factory=dict)
    retried: int = 0
    started: dict[str, int] = field(default_factory=dict)


def load_finished(folder: Path, on_kept: Callable[[dict[str, Any]], None]) -> Earlier:
    """Stream the earlier records once: keep the final ones (`on_kept` sees
    each once), mark the ones to retry (and, defensively, repeats of a key)
    as superseded. Memory holds one Outcome per record, never the records."""
    path = records_path(folder)
    earlier = Earlier()
    if not path.exists():
        return earlier
    damaged = repair_tail(path)
    if damaged:
        click.echo(f"note: removed truncated line {damaged} of {path} (a crash mid-write)", err=True)
    marks: list[tuple[int, str]] = []
    for line in read_records(path, _refuse_to_resume, superseded=True):
        record = line.data
        step = record.get("step")
        if type(step) is not int:
            raise ContourError(f"{path}: line {line.line} is not a Contour record (no round "
                               "`step`); move the file away or fix that line to resume this run")
        earlier.started[line.point] = max(earlier.started.get(line.point, 0), step)
        if line.superseded:
            continue
        outcome = Outcome.of(record)
        if outcome.retry_later or line.key in earlier.kept:
            marks.append((line.line, line.key))
            earlier.retried += 1
            continue
        earlier.kept[line.key] = outcome
        on_kept(record)
    append_superseded(folder, marks)
    return earlier


def _refuse_to_resume(damage: DamagedLine) -> None:
    if damage.reason.startswith("not valid"):
        what = damage.reason.split(" (")[0]            # "not valid JSON", "not valid UTF-8"
    elif damage.reason.startswith("incomplete"):
        what = "not valid JSON"
    else:
        what = f"not a Contour record ({damage.reason})"
    raise ContourError(f"{damage.file}: line {damage.line} is {what}; move the file away "
                       "or fix that line to resume this run")


# -- choosing the folder ------------------------------------------------------

@dataclass
class Claimed:
    """A run folder this runner holds (its lock is open until `release`)."""

    folder: Path
    manifest: dict[str, Any]
    created: bool
    lock: IO[str] | None = None

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == COMPLETE

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()
            self.lock = None

    def discard(self) -> None:
        """Remove a folder this runner created, when setting up the run failed."""
        self.release()
        if self.created:
            shutil.rmtree(self.folder, ignore_errors=True)


def find_run(settings: RunSettings, fingerprint: str, results_dir: Path,
             output: Path | None) -> tuple[Path, dict[str, Any]] | None:
    """The folder of an earlier attempt of this run (and its manifest), if
    any: --output, else the newest folder of this fingerprint in results_dir.
    Reads only. A damaged manifest that may be this run's is an error."""
    if output is not None:
        _check_output(output)
        # Listed before the manifest is read: a runner of this command an instant
        # ahead writes its lock and temporary files (dot files), then the manifest,
        # then everything else, so a file listed here beside a manifest that is
        # still missing afterwards is someone else's data, never that runner's.
        names = [p.name for p in output.iterdir()] if output.is_dir() else []
        manifest = load_manifest(output) if output.is_dir() else None
        if manifest is None:
            if any(not name.startswith(".") and name != MANIFEST_FILE for name in names):
                raise ContourError(f"--output {output} is not empty and holds no Contour run "
                                   "(no manifest.json); choose another --output")
            return None
        if manifest.get("fingerprint") != fingerprint:
            raise ContourError(f"--output {output} holds a different run; choose another --output")
        return output, manifest
    _check_results_dir(results_dir)
    if not results_dir.is_dir():
        return None
    pattern = re.compile(r"\d{8}-\d{6}_" + re.escape(run_name(
        settings.config.name, settings.model_name(), settings.template.name,
        settings.sampler_name())) + r"(-\d+)?")
    found = []
    for folder in results_dir.iterdir():
        if not folder.is_dir():
            continue
        try:
            manifest = load_manifest(folder)
        except ContourError:
            if pattern.fullmatch(folder.name):
                raise    # it may be an unfinished attempt of this very run
            continue
        if manifest is None and pattern.fullmatch(folder.name) and records_path(folder).exists():
            raise ContourError(f"{folder} holds records but no {MANIFEST_FILE}; it may be an "
                               "unfinished attempt of this run: restore the manifest or move "
                               "the folder away")
        if manifest is not None and manifest.get("fingerprint") == fingerprint:
            found.append((folder.name, folder, manifest))
    if not found:
        return None
    _, folder, manifest = max(found, key=lambda f: f[0])
    return folder, manifest


def claim_folder(settings: RunSettings, fingerprint: str, results_dir: Path, output: Path | None,
                 new_manifest: Callable[[], dict[str, Any]]) -> Claimed:
    """The folder this run writes to, locked: the earlier attempt's, or a new
    one with its manifest already written. A complete run's folder is returned
    unlocked (`complete`), for the caller to report."""
    if output is not None:
        return _claim_output(settings, fingerprint, output, new_manifest)
    _check_results_dir(results_dir)
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        dir_lock = open(results_dir / LOCK_FILE, "a+")
    except OSError as exc:
        raise ContourError(f"--results-dir {results_dir}: cannot write there "
                           f"({exc.strerror or exc})") from None
    with dir_lock:
        fcntl.flock(dir_lock, fcntl.LOCK_EX)    # held only while choosing: milliseconds
        found = find_run(settings, fingerprint, results_dir, None)
        if found is not None:
            folder, manifest = found
            if manifest.get("status") == COMPLETE:
                return Claimed(folder, manifest, created=False)
            return Claimed(folder, manifest, created=False, lock=lock_folder(folder))
        folder = unique_path(results_dir / folder_name(
            time.strftime("%Y%m%d-%H%M%S"), settings.config.name, settings.model_name(),
            settings.template.name, settings.sampler_name()))
        return _create(folder, new_manifest, "--results-dir", results_dir)


def _claim_output(settings: RunSettings, fingerprint: str, output: Path,
                  new_manifest: Callable[[], dict[str, Any]]) -> Claimed:
    found = find_run(settings, fingerprint, output.parent, output)
    if found is not None and found[1].get("status") == COMPLETE:
        return Claimed(output, found[1], created=False)
    if not output.exists():
        try:
            return _create(output, new_manifest, "--output", output)
        except FileExistsError:
            pass    # another runner made it an instant ago: take the path below
    lock = lock_folder(output)
    try:
        found = find_run(settings, fingerprint, output.parent, output)   # again, under the lock
        if found is not None:
            return Claimed(output, found[1], created=False, lock=lock)
        manifest = new_manifest()
        write_json_atomic(output / MANIFEST_FILE, manifest)
        return Claimed(output, manifest, created=False, lock=lock)
    except BaseException:
        lock.close()
        raise


def _create(folder: Path, new_manifest: Callable[[], dict[str, Any]], flag: str, where: Path) -> Claimed:
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise
    except OSError as exc:
        raise ContourError(f"{flag} {where}: cannot create {folder} ({exc.strerror or exc})") from None
    # Locked before anything else is written; if another runner locked it
    # first (an --output race), the folder is theirs and stays.
    claimed = Claimed(folder, {}, created=True, lock=lock_folder(folder))
    try:
        claimed.manifest = new_manifest()
        write_json_atomic(folder / MANIFEST_FILE, claimed.manifest)
    except BaseException:
        claimed.discard()
        raise
    return claimed


def _check_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise ContourError(f"--output {output} is a file, not a folder; choose another --output")


def _check_results_dir(results_dir: Path) -> None:
    if results_dir.exists() and not results_dir.is_dir():
        raise ContourError(f"--results-dir {results_dir} is a file, not a folder")


def lock_folder(folder: Path) -> IO[str]:
    """Hold an exclusive lock on the run folder for the life of the run, so a
    second runner on the same folder stops at once instead of duplicating work."""
    try:
        handle = open(folder / LOCK_FILE, "a+")
    except OSError as exc:
        raise write_error(folder / LOCK_FILE, exc) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ContourError(f"run folder {folder} is in use by another runner; "
                           "wait for it to finish or stop it first") from None
    return handle
