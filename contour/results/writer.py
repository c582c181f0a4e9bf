"""The results folder: records.jsonl (append-only), manifest.json, stats.json,
and records.superseded.jsonl (which lines a later line replaces).

Nothing here rewrites records.jsonl: a resume appends, and marks the lines it
replaces (transient failures it retries) in the small superseded file, which
every reader of the records skips (`read_superseded`). A write that fails
(a full disk, a read-only filesystem) raises one ContourError naming the file
and leaves what was already written as it was.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

from contour import jsontext
from contour.errors import ContourError
from contour.masking import mask_argv
from contour.results.schema import MANIFEST_FILE, RECORDS_FILE, SUPERSEDED_FILE, ResultRecord

_CHUNK = 1 << 20


def write_error(path: Path, exc: OSError, doing: str = "write") -> ContourError:
    return ContourError(f"cannot {doing} {path}: {exc.strerror or exc}")


def folder_name(timestamp: str, experiment: str, model: str | None,
                template: str, sampler: str | None) -> str:
    return "_".join([timestamp, run_name(experiment, model, template, sampler)])


def run_name(experiment: str, model: str | None, template: str, sampler: str | None) -> str:
    """The part of a run folder's name after its timestamp."""
    parts = [experiment, model or "offline", template, sampler or "nosampler"]
    return "_".join(re.sub(r"[^A-Za-z0-9.\-]+", "-", p).strip("-") for p in parts)


def unique_path(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists() or candidate.with_name(candidate.name + ".partial").exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file and rename, so readers never see half a file.
    On failure the old file is left as it was and no temporary file remains."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise write_error(path, exc) from None


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest, or None when it is missing or unreadable (for lenient readers)."""
    try:
        return load_manifest(folder)
    except ContourError:
        return None


def load_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest; None when there is none; a ContourError when it is damaged."""
    path = folder / MANIFEST_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise write_error(path, exc, "read") from None
    except UnicodeDecodeError:
        raise ContourError(f"{path} is damaged (not UTF-8 text); restore it or move the "
                           f"folder {folder} away") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContourError(f"{path} is damaged ({exc.msg} at line {exc.lineno}); restore it "
                           f"or move the folder {folder} away") from None
    if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), str):
        raise ContourError(f"{path} is damaged (not a Contour manifest); restore it or move "
                           f"the folder {folder} away")
    return data


class RecordWriter:
    """Appends records, one JSON line each, each in one write() system call.

    Thread-safe. A kill leaves at most one truncated last line, which
    `repair_tail` removes. A failed write (disk full) cuts its partial line
    off again and makes every later write fail too, so the file only ever
    holds whole records.
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._broken: ContourError | None = None
        try:
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise write_error(path, exc) from None

    def write(self, record: ResultRecord) -> None:
        self.write_many([asdict(record)])

    def write_many(self, datas: list[dict[str, Any]]) -> None:
        """Records already turned into dicts, in one write; a failure leaves none
        of them (the partial text is cut off again)."""
        if datas:
            self._write_bytes(jsontext.dump_lines(datas))

    def _write_bytes(self, data: bytes) -> None:
        with self._lock:
            if self._broken is not None:
                raise self._broken
            if self._fd is None:
                raise ContourError(f"{self.path} is closed")
            start = os.lseek(self._fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, start)
                except OSError:
                    pass
                self._broken = write_error(self.path, exc)
                raise self._broken from None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def repair_tail(path: Path) -> int | None:
    """Cut a truncated last line (a crash mid-write). Returns its line number.

    Reads only the end of the file to find the cut, and streams it to count
    lines, so memory stays flat whatever the file's size."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with open(path, "r+b") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return None
        cut = _after_last_newline(f, size)
        f.seek(0)
        lines = 0
        left = cut
        while left:
            chunk = f.read(min(_CHUNK, left))
            lines += chunk.count(b"\n")
            left -= len(chunk)
        try:
            f.truncate(cut)
        except OSError as exc:
            raise write_error(path, exc) from None
    return lines + 1


def _after_last_newline(f: Any, size: int) -> int:
    end = size
    while end > 0:
        start = max(0, end - _CHUNK)
        f.seek(start)
        found = f.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


# -- superseded lines ---------------------------------------------------------

def superseded_path(folder: Path) -> Path:
    return folder / SUPERSEDED_FILE


def read_superseded(folder: Path) -> dict[int, str]:
    """Line number (1-based, of records.jsonl) -> key of each superseded record.

    A reader skips line N only when the record there has that key, so a
    records file edited by hand is never silently thinned. A damaged line of
    this file (a crash mid-append) is ignored: its record is read again, and
    the resume that wrote it marks it once more.
    """
    out: dict[int, str] = {}
    try:
        handle = open(superseded_path(folder), "rb")
    except FileNotFoundError:
        return out
    with handle:
        for raw in handle:
            try:
                entry = json.loads(raw)
                out[int(entry["line"])] = str(entry["key"])
            except (ValueError, KeyError, TypeError):
                continue
    return out


def append_superseded(folder: Path, entries: Iterable[tuple[int, str]]) -> None:
    """Mark records.jsonl lines as replaced by a later line (append-only)."""
    text = "".join(json.dumps({"line": line, "key": key}) + "\n" for line, key in entries)
    if not text:
        return
    path = superseded_path(folder)
    try:
        with open(path, "a+b") as f:
            # A crash mid-append leaves a partial last line: end it first, so
            # it costs that one entry and not the next one too.
            if f.seek(0, os.SEEK_END) and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                text = "\n" + text
            f.write(text.encode("utf-8"))
    except OSError as exc:
        raise write_error(path, exc) from None


def command_line(argv: list[str] | None = None) -> list[str]:
    """sys.argv with --apikey's value and any credential in --apibase masked."""
    import sys

    return mask_argv(list(sys.argv if argv is None else argv))


def records_path(folder: Path) -> Path:
    return folder / RECORDS_FILE
