"""Result folders (a run's records, manifest and stats, or its shards as one run),
streamed one record at a time, never the whole file. Evaluation and merge read
through here.

Records are read by `contour.results.reader`, the one reader resume and the
live stats use too. Evaluation's policy for a damaged line (a crash
mid-write leaves a truncated last line; a disk or copy error can damage one
in the middle): report it with its file and line number through
`on_damaged`, skip it, read the rest. Lines a resume superseded are skipped.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from contour.errors import ContourError
from contour.results.reader import (REQUIRED_FIELDS, DamagedLine, ignore_damaged, read_records,
                                    warn_damaged)
from contour.results.schema import MANIFEST_FILE, RECORDS_FILE, STATS_FILE
from contour.results.shards import DisjointPoints, group_runs

__all__ = ["REQUIRED_FIELDS", "DamagedLine", "ResultFolder", "join_shards", "open_result_folder",
           "report_to_stderr", "stream_records"]


@dataclass
class ResultFolder:
    """A result folder on disk and the identity files beside its records."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    # The shard folders (--shard i/n) this run is read from; empty: `path` alone.
    shards: list["ResultFolder"] = field(default_factory=list)

    @property
    def records_path(self) -> Path:
        return self.path / RECORDS_FILE

    @property
    def part_paths(self) -> list[Path]:
        """The folders whose records.jsonl make up this run, in reading order."""
        return [shard.path for shard in self.shards] if self.shards else [self.path]

    def records(self, on_damaged: Callable[[DamagedLine], None] | None = None
                ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The run's records, each with the index of its folder in `part_paths`:
        this folder's, or every shard's in shard order, checked to be disjoint
        (a ContourError names two shards that overlap)."""
        if not self.shards:
            for record in stream_records(self.path, on_damaged):
                yield 0, record
            return
        disjoint = DisjointPoints()
        for part, shard in enumerate(self.shards):
            for record in stream_records(shard.path, on_damaged):
                disjoint.check(record["task"], shard.path)
                yield part, record


def join_shards(folders: list[ResultFolder],
                warn: Callable[[str], None] = lambda text: print(f"warning: {text}", file=sys.stderr)
                ) -> list[ResultFolder]:
    """The runs among `folders`: the shard folders of one run become one
    ResultFolder (named after its first shard); missing shards are warned about."""
    runs = []
    for positions, group in group_runs([(f.path, f.manifest) for f in folders]):
        if group is None:
            runs.append(folders[positions[0]])
            continue
        parts = sorted((folders[i] for i in positions),
                       key=lambda f: int(f.manifest["shard"]["index"]))
        note = group.missing_note()
        if note:
            warn(note)
        runs.append(ResultFolder(parts[0].path, parts[0].manifest, {}, parts))
    return runs


def open_result_folder(path: str | os.PathLike[str]) -> ResultFolder:
    """Check that `path` is a result folder and read its manifest and stats.

    A missing folder or records file is a ContourError; a missing or broken
    manifest/stats file only leaves that metadata empty (warned on stderr).
    """
    folder = Path(path)
    if not folder.exists():
        raise ContourError(f"result folder '{path}' does not exist")
    if folder.is_file() and folder.name == RECORDS_FILE:
        folder = folder.parent
    if not folder.is_dir():
        raise ContourError(f"'{path}' is not a result folder (expected a directory holding {RECORDS_FILE})")
    if not (folder / RECORDS_FILE).is_file():
        raise ContourError(f"result folder '{path}' has no {RECORDS_FILE}")
    return ResultFolder(folder, _read_json(folder / MANIFEST_FILE), _read_json(folder / STATS_FILE))


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        print(f"warning: {path}: unreadable, ignored ({problem})", file=sys.stderr)
        return {}
    return value if isinstance(value, dict) else {}


report_to_stderr = warn_damaged


def stream_records(path: str | os.PathLike[str],
                   on_damaged: Callable[[DamagedLine], None] | None = report_to_stderr
                   ) -> Iterator[dict[str, Any]]:
    """Yield each record of a result folder (or a records.jsonl file) as a dict.

    Blank lines are skipped silently; any other unreadable line goes to
    `on_damaged` (None: skipped silently) and reading goes on. Lines a resume
    replaced by a later line (records.superseded.jsonl) are skipped.
    """
    for line in read_records(path, on_damaged or ignore_damaged):
        yield line.data
