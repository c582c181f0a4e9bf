"""Offline mode: a dataset of rendered tests, no server, no scoring.

The folder is built under a `.partial` name and renamed when complete, so an
error or an interrupt never leaves a half-written dataset that looks finished.
A dataset must be whole: a sample whose test cannot be generated or rendered
stops it with one error naming the point and sample (no error records here).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from contour.errors import ContourError
from contour.spec.checks import record_short_points, short_points
from contour.results.manifest import build_manifest, run_fingerprint
from contour.spec.manifold import Point
from contour.results.writer import RecordWriter, folder_name, records_path, unique_path, write_json_atomic
from contour.run.plan import RunSettings, SampleError, build_record
from contour.results.schema import MANIFEST_FILE, STATS_FILE


def write_offline(settings: RunSettings, points: list[Point], rounds: int,
                  results_dir: Path, output: Path | None = None,
                  argv: list[str] | None = None) -> tuple[Path, int]:
    mode = {"offline_rounds": rounds}
    fingerprint = run_fingerprint(settings, mode)
    if results_dir.exists() and not results_dir.is_dir() and output is None:
        raise ContourError(f"--results-dir {results_dir} is a file, not a folder")
    if output is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output = unique_path(results_dir / folder_name(
            stamp, settings.config.name, settings.model_name(), settings.template.name,
            settings.sampler_name()))
    elif output.exists():
        raise ContourError(f"output folder already exists: {output} (offline datasets are "
                           "never overwritten; choose another --output)")
    partial = output.with_name(output.name + ".partial")
    try:
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
    except OSError as exc:
        raise ContourError(f"cannot create {partial} ({exc.strerror or exc})") from None
    manifest = build_manifest(settings, points, fingerprint, mode, argv)
    started = time.monotonic()
    written = 0
    per_task: dict[str, int] = {}
    writer: RecordWriter | None = None
    try:
        writer = RecordWriter(records_path(partial))
        for point in points:
            count = settings.precision.count
            for round_ in range(rounds):
                for sample in range(round_ * count, (round_ + 1) * count):
                    try:
                        record = build_record(settings, point, sample, round_)
                    except SampleError as exc:
                        raise ContourError(f"{exc}; no dataset written") from None
                    writer.write(record)
                    written += 1
                    per_task[point.task] = per_task.get(point.task, 0) + 1
        writer.close()
        shorts = short_points(points, settings.seed, settings.precision.count * rounds)
        record_short_points(manifest, shorts)
        for short in shorts:
            click.echo(short.note(), err=True)
        manifest["status"] = "complete"
        write_json_atomic(partial / MANIFEST_FILE, manifest)
        write_json_atomic(partial / STATS_FILE, {
            "mode": "offline", "records": written, "points": len(points),
            "records_per_task": per_task, "wall_time_s": round(time.monotonic() - started, 3)})
        partial.rename(output)
    except BaseException:
        if writer is not None:
            writer.close()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return output, written
