"""The run manifest: what was run, with which versions, by which command."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict
from typing import Any

import contour
from contour.spec.manifold import Point
from contour.results.writer import command_line
from contour.run.plan import RunSettings
from contour.tasks import get_task


def run_fingerprint(settings: RunSettings, mode: dict[str, Any]) -> str:
    """Identity of a run: same fingerprint = same tests, same requests.

    Used to find an unfinished run to resume; `mode` holds what else decides
    the records (offline rounds, or the served model's request settings).
    """
    identity = {
        "config": settings.config.raw, "template": settings.template.source,
        "sampler": settings.sampler_params(),
        "model": settings.model_name(), "seed": settings.seed,
        "precision": asdict(settings.precision), "density": settings.density,
        "degree": settings.degree, "mode": mode,
        "task_versions": {e.name: e.version for e in settings.config.tasks},
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_manifest(settings: RunSettings, points: list[Point], fingerprint: str,
                   mode: dict[str, Any], argv: list[str] | None = None) -> dict[str, Any]:
    return {
        "contour_version": contour.__version__,
        "fingerprint": fingerprint,
        "status": "running",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command_line": command_line(argv),
        "experiment": settings.config.name,
        "config_path": settings.config.path,
        "config": settings.config.raw,
        "seed": settings.seed,
        "model": settings.model_name(),
        "template": {"name": settings.template.name, "path": str(settings.template.path),
                     "source": settings.template.source},
        "sampler": _sampler_entry(settings),
        "precision": asdict(settings.precision),
        "density": settings.density,
        "degree": settings.degree,
        "mode": mode,
        "task_versions": {p.task: get_task(p.task).version for p in points},
        "points": [{"task": p.point_id, "base_task": p.task, "degree": p.degree,
                    "axes": p.axes, "params": p.params} for p in points],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _sampler_entry(settings: RunSettings) -> dict[str, Any] | None:
    sampler = settings.sampler_file()
    if sampler is None:
        return None
    return {"name": sampler.name, "path": str(sampler.path), "params": sampler.params}
