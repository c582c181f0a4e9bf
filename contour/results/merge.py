"""`contour merge SHARD_DIR... --output DIR`: the shards of one run as one folder.

The merged folder is what the unsharded command would have written: every
shard's records (checked disjoint), a manifest with the run's own
fingerprint and no shard (so the unsharded command resumes it, e.g. to fill
in a missing shard), and stats recomputed from the records. Its stats'
`wall_time_s` is the longest shard's (shards run side by side) and
`completion_tokens_per_s` the shards' generated tokens over that time; each
shard's own figures are kept under `shards`.

It is written under `DIR.partial` and renamed at the end, so a failed merge
leaves no folder that looks finished; the shard folders are only read.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import click

from contour.errors import ContourError
from contour.results.folders import DamagedLine, ResultFolder, open_result_folder, stream_records
from contour.results.schema import MANIFEST_FILE, RECORDS_FILE, STATS_FILE
from contour.results.shards import DisjointPoints, ShardGroup, group_runs
from contour.results.writer import command_line, write_json_atomic
from contour.run.livestats import RunStats


@dataclass(frozen=True)
class MergeResult:
    folder: Path
    records: int
    shards: int
    missing: list[int]
    damaged: int


def _one_group(folders: list[ResultFolder]) -> ShardGroup:
    for folder in folders:
        if "shard" not in folder.manifest:
            raise ContourError(f"{folder.path} is not a shard folder (its {MANIFEST_FILE} has no "
                               "'shard'); contour merge joins the folders of a run started with --shard")
    groups = group_runs([(f.path, f.manifest) for f in folders])
    if len(groups) > 1:
        first, other = groups[0][1], groups[1][1]
        assert first is not None and other is not None
        raise ContourError(f"{first.ordered()[0]} and {other.ordered()[0]} are shards of different "
                           f"runs (run fingerprints {first.run_fingerprint} and "
                           f"{other.run_fingerprint}); merge the shards of one run at a time")
    group = groups[0][1]
    assert group is not None
    return group


def _check_output(output: Path) -> Path:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ContourError(f"--output {output} already exists and is not empty; choose a new folder")
    partial = output.with_name(output.name + ".partial")
    if not output.parent.is_dir():
        raise ContourError(f"--output {output}: folder {output.parent} does not exist")
    return partial


def merge_shards(paths: Sequence[str | Path], output: str | Path,
                 warn=lambda text: print(f"warning: {text}", file=sys.stderr),
                 argv: list[str] | None = None) -> MergeResult:
    """Merge the shard folders `paths` of one run into `output` (see the module doc)."""
    if not paths:
        raise ContourError("give the shard folders to merge")
    folders = [open_result_folder(p) for p in paths]
    group = _one_group(folders)
    output = Path(output)
    partial = _check_output(output)
    note = group.missing_note()
    if note:
        warn(note)
    by_index = {int(f.manifest["shard"]["index"]): f for f in folders}
    shards = [by_index[i] for i in sorted(by_index)]
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        written, damaged = _write_records(shards, partial, warn)
        stats = _write_stats(shards, partial)
        manifest = _merged_manifest(shards, group, argv)
        write_json_atomic(partial / MANIFEST_FILE, manifest)
        if output.exists():
            output.rmdir()      # checked empty above
        partial.rename(output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    assert stats["total"]["records"] == written
    return MergeResult(output, written, len(shards), group.missing, damaged)


def _write_records(shards: list[ResultFolder], partial: Path, warn) -> tuple[int, int]:
    disjoint = DisjointPoints()
    damaged: list[DamagedLine] = []
    written = 0
    with open(partial / RECORDS_FILE, "w", encoding="utf-8") as out:
        for shard in shards:
            for record in stream_records(shard.path, damaged.append):
                disjoint.check(record["task"], shard.path)
                out.write(_line(record))
                written += 1
    for problem in damaged:
        warn(str(problem))
    return written, len(damaged)


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _write_stats(shards: list[ResultFolder], partial: Path) -> dict[str, Any]:
    stats = RunStats(partial / STATS_FILE)
    for record in stream_records(partial / RECORDS_FILE, None):
        stats.add(record, from_this_session=False)
    snapshot = stats.snapshot(final=True)
    walls = [s.stats.get("wall_time_s") or 0.0 for s in shards]
    tokens = sum(s.stats.get("session_completion_tokens") or 0 for s in shards)
    wall = max(walls, default=0.0)
    snapshot.update(
        wall_time_s=round(wall, 3), session_completion_tokens=tokens,
        completion_tokens_per_s=round(tokens / wall, 3) if wall > 0 else None,
        shards={str(s.manifest["shard"]["index"]): {
            "folder": str(s.path), "wall_time_s": s.stats.get("wall_time_s"),
            "completion_tokens_per_s": s.stats.get("completion_tokens_per_s"),
            "records": (s.stats.get("total") or {}).get("records"),
            **({"endpoints": s.stats["endpoints"]} if "endpoints" in s.stats else {}),
        } for s in shards})
    write_json_atomic(partial / STATS_FILE, snapshot)
    return snapshot


def _merged_manifest(shards: list[ResultFolder], group: ShardGroup,
                     argv: list[str] | None) -> dict[str, Any]:
    manifest = dict(shards[0].manifest)
    manifest.pop("shard", None)
    mode = dict(manifest.get("mode") or {})
    mode.pop("shard", None)
    points: dict[str, Any] = {}
    for shard in shards:
        for point in shard.manifest.get("points") or []:
            points.setdefault(point.get("task"), point)
    complete = not group.missing and all(s.manifest.get("status") == "complete" for s in shards)
    manifest.update(
        fingerprint=group.run_fingerprint, mode=mode, status="complete" if complete else "incomplete",
        points=[points[k] for k in sorted(points, key=str)],
        created=min(str(s.manifest.get("created", "")) for s in shards),
        finished=max(str(s.manifest.get("finished", "")) for s in shards),
        merged_from=[{"folder": str(s.path), "shard": f"{s.manifest['shard']['index']}/{group.count}",
                      "status": s.manifest.get("status"), "engine": s.manifest.get("engine"),
                      "apibase": s.manifest.get("apibase"),
                      "command_line": s.manifest.get("command_line")} for s in shards],
        missing_shards=[f"{i}/{group.count}" for i in group.missing],
        merge_command_line=command_line(argv),
    )
    return manifest


@click.command("merge", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("shard_dirs", nargs=-1, metavar="SHARD_DIR...")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="The merged folder to write (must not exist, or be empty)")
def merge_command(shard_dirs: tuple[str, ...], output: Path) -> None:
    """Merge the shard folders of one run (`contour run --shard i/n`) into one folder.

    The result is the folder the unsharded command would have written:
    `contour evaluate` reads it as one run, and the unsharded command resumes
    it (e.g. to run a missing shard's points).
    """
    result = merge_shards(shard_dirs, output)
    missing = f", {len(result.missing)} shard(s) missing" if result.missing else ""
    click.echo(f"merged {result.records} records from {result.shards} shards{missing} into {result.folder}")
