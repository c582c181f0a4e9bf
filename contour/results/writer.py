"""The results folder: records.jsonl (append-only), manifest.json, stats.json."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

from contour.results.schema import MANIFEST_FILE, RECORDS_FILE, ResultRecord


def folder_name(timestamp: str, experiment: str, model: str | None,
                template: str, sampler: str | None) -> str:
    parts = [timestamp, experiment, model or "offline", template, sampler or "nosampler"]
    return "_".join(re.sub(r"[^A-Za-z0-9.\-]+", "-", p).strip("-") for p in parts)


def unique_path(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists() or candidate.with_name(candidate.name + ".partial").exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


class RecordWriter:
    """Appends records, one JSON line each, flushed as each one is written.

    Thread-safe. A line is written with a single write() call so a kill
    leaves at most one truncated last line, which `repair_tail` removes.
    """

    def __init__(self, path: Path):
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: ResultRecord) -> None:
        line = record.to_json() + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def repair_tail(path: Path) -> int | None:
    """Cut a truncated last line (a crash mid-write). Returns its line number."""
    if not path.exists():
        return None
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return None
    cut = data.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(cut)
    return data[:cut].count(b"\n") + 1


def command_line(argv: list[str] | None = None) -> list[str]:
    """sys.argv with the value of --apikey replaced, so no key is ever stored."""
    argv = list(sys.argv if argv is None else argv)
    out = []
    hide = False
    for arg in argv:
        if hide:
            out.append("***")
            hide = False
        elif arg == "--apikey":
            out.append(arg)
            hide = True
        elif arg.startswith("--apikey="):
            out.append("--apikey=***")
        else:
            out.append(arg)
    return out


def records_path(folder: Path) -> Path:
    return folder / RECORDS_FILE
