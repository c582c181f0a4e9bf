"""Offline mode: a dataset of rendered tests, no server, no scoring.

The folder is built under a `.partial` name and renamed when complete, so an
error or an interrupt never leaves a half-written dataset that looks finished.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from contour.errors import ContourError
from contour.results.manifest import build_manifest, run_fingerprint
from contour.spec.manifold import Point
from contour.results.writer import RecordWriter, folder_name, records_path, unique_path, write_json_atomic
from contour.run.plan import RunSettings, build_record
from contour.results.schema import MANIFEST_FILE, STATS_FILE


def write_offline(settings: RunSettings, points: list[Point], rounds: int,
                  results_dir: Path, output: Path | None = None,
                  argv: list[str] | None = None) -> tuple[Path, int]:
    mode = {"offline_rounds": rounds}
    fingerprint = run_fingerprint(settings, mode)
    if output is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output = unique_path(results_dir / folder_name(
            stamp, settings.config.name, settings.model_name(), settings.template.name,
            settings.sampler_name()))
    elif output.exists():
        raise ContourError(f"output folder already exists: {output} (offline datasets are "
                           "never overwritten; choose another --output)")
    partial = output.with_name(output.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    manifest = build_manifest(settings, points, fingerprint, mode, argv)
    started = time.monotonic()
    writer = RecordWriter(records_path(partial))
    written = 0
    per_task: dict[str, int] = {}
    try:
        for point in points:
            count = settings.precision.count
            for round_ in range(rounds):
                for sample in range(round_ * count, (round_ + 1) * count):
                    writer.write(build_record(settings, point, sample, round_))
                    written += 1
                    per_task[point.task] = per_task.get(point.task, 0) + 1
    except BaseException:
        writer.close()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    writer.close()
    manifest["status"] = "complete"
    write_json_atomic(partial / MANIFEST_FILE, manifest)
    write_json_atomic(partial / STATS_FILE, {
        "mode": "offline", "records": written, "points": len(points),
        "records_per_task": per_task, "wall_time_s": round(time.monotonic() - started, 3)})
    partial.rename(output)
    return output, written
