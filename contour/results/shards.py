"""Putting the shard folders of one run back together (`--shard i/n`).

A shard folder's manifest holds `"shard": {"index", "count",
"run_fingerprint"}`. Folders with the same run fingerprint are shards of one
run. They must agree on the count and not repeat an index (ContourError);
missing shards are allowed but named (`ShardGroup.missing_note`). That their
records are disjoint is checked while they are read (`DisjointPoints`),
point by point: a record's key is its point id plus a sample number, so
disjoint points mean disjoint keys, at the memory cost of one entry per point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from contour.errors import ContourError


@dataclass(frozen=True)
class ShardInfo:
    index: int
    count: int
    run_fingerprint: str

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(manifest: dict[str, Any] | None, folder: Path) -> ShardInfo | None:
    """The shard a folder holds, from its manifest; None for a whole run."""
    entry = (manifest or {}).get("shard")
    if entry is None:
        return None
    try:
        info = ShardInfo(int(entry["index"]), int(entry["count"]), str(entry["run_fingerprint"]))
    except (TypeError, KeyError, ValueError):
        raise ContourError(f"{folder}/manifest.json: 'shard' must hold index, count and "
                           f"run_fingerprint, got {entry!r}") from None
    if not 1 <= info.index <= info.count:
        raise ContourError(f"{folder}/manifest.json: shard {info} is out of range")
    return info


@dataclass
class ShardGroup:
    """The folders given for one sharded run, by shard index."""

    run_fingerprint: str
    count: int
    folders: dict[int, Path] = field(default_factory=dict)

    @property
    def missing(self) -> list[int]:
        return [i for i in range(1, self.count + 1) if i not in self.folders]

    def ordered(self) -> list[Path]:
        return [self.folders[i] for i in sorted(self.folders)]

    def missing_note(self) -> str | None:
        if not self.missing:
            return None
        names = ", ".join(f"{i}/{self.count}" for i in self.missing)
        given = ", ".join(str(f) for f in self.ordered())
        return (f"run {self.run_fingerprint}: shard(s) {names} missing (given: {given}); "
                f"results cover {len(self.folders)} of {self.count} shards")


def group_runs(items: Sequence[tuple[Path, dict[str, Any] | None]]
               ) -> list[tuple[list[int], ShardGroup | None]]:
    """(folder, manifest) pairs grouped into runs, in the order each run first appears:
    the positions of its folders, and its ShardGroup (None for a whole run).

    A folder without shard info is a run by itself. Raises ContourError for a
    folder given twice, shards that disagree on the count, or a repeated index.
    """
    out: list[tuple[list[int], ShardGroup | None]] = []
    by_run: dict[str, int] = {}
    seen: dict[Path, int] = {}
    for position, (folder, manifest) in enumerate(items):
        real = folder.resolve()
        if real in seen:
            raise ContourError(f"result folder {folder} is given twice")
        seen[real] = position
        info = shard_of(manifest, folder)
        if info is None:
            out.append(([position], None))
            continue
        slot = by_run.get(info.run_fingerprint)
        if slot is None:
            by_run[info.run_fingerprint] = len(out)
            out.append(([position], ShardGroup(info.run_fingerprint, info.count, {info.index: folder})))
            continue
        indices, group = out[slot]
        assert group is not None
        if info.count != group.count:
            raise ContourError(f"{folder} is shard {info} but {group.ordered()[0]} of the same run "
                               f"is one of {group.count} shards; use the folders of one --shard split")
        if info.index in group.folders:
            raise ContourError(f"{group.folders[info.index]} and {folder} are both shard {info} "
                               "of the same run; give one of them")
        group.folders[info.index] = folder
        indices.append(position)
    return out


class DisjointPoints:
    """Checks, record by record, that no point appears in two shards."""

    def __init__(self) -> None:
        self._owner: dict[str, Path] = {}

    def check(self, point: str, folder: Path) -> None:
        owner = self._owner.setdefault(point, folder)
        if owner != folder:
            raise ContourError(f"{owner} and {folder} both hold records of point {point}: "
                               "shards of one run must be disjoint")
