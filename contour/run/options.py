"""Turn command-line options into a validated run, then hand it to the
offline writer or the online engine. Every user mistake is caught here,
before any output is written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from contour.spec.config import load_config
from contour.errors import ContourError
from contour.spec.manifold import DENSITIES, resolve_grid
from contour.run.plan import RunSettings
from contour.spec.samplers import load_sampler
from contour.spec.templates import load_template


def prepare(opts: dict[str, Any]) -> tuple[RunSettings, list]:
    if opts["density"] not in DENSITIES:
        raise ContourError(f"unknown density '{opts['density']}' (choose from {', '.join(DENSITIES)})")
    if opts["degree"] < 0:
        raise ContourError(f"--degree must be >= 0, got {opts['degree']}")
    config = load_config(opts["config"])
    precision = config.precision(opts["precision"])
    template = load_template(opts["template"])
    sampler = load_sampler(opts["sampler"]) if opts["sampler"] else None
    points = resolve_grid(config, opts["degree"], opts["density"])
    settings = RunSettings(config, template, sampler, opts["model"], opts["seed"],
                           precision, opts["density"], opts["degree"])
    return settings, points


def run_from_options(opts: dict[str, Any]) -> Path:
    if opts["offline_rounds"] is None:
        missing = [f"--{k}" for k in ("model", "sampler", "apibase") if not opts[k]]
        if missing:
            raise ContourError(f"online runs need {', '.join(missing)} (or use --offline ROUNDS)")
    settings, points = prepare(opts)
    if opts["offline_rounds"] is not None:
        from contour.run.offline import write_offline

        folder, written = write_offline(settings, points, opts["offline_rounds"],
                                        opts["results_dir"], opts["output"])
        if not opts["quiet"]:
            click.echo(f"wrote {written} records for {len(points)} points to {folder}")
        return folder
    from contour.run.engine import OnlineOptions, run_online

    online = OnlineOptions(
        apibase=opts["apibase"], apikey=opts["apikey"] or os.environ.get("OPENAI_API_KEY"),
        parallel=opts["parallel"], threads=opts["threads"], timeout=opts["timeout"],
        retries=opts["retries"],
        cache=Path(opts["cache"]), shuffle=opts["shuffle"], quiet=opts["quiet"])
    return run_online(settings, points, online, opts["results_dir"], opts["output"])
