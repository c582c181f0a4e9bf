"""Turn command-line options into a validated run, then hand it to the
offline writer or the online engine. Every user mistake is caught here,
before any output is written."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from contour.errors import ContourError
from contour.run.plan import OnlineSettings, RunSettings
from contour.spec.config import load_config
from contour.spec.manifold import DENSITIES, Point, resolve_grid
from contour.spec.samplers import load_sampler
from contour.spec.templates import load_template


@dataclass(frozen=True)
class RunOptions:
    """Every option of `contour run` (and `python runner.py`), as the CLI parsed them."""

    config: str
    template: str
    seed: int = 0
    precision: str | None = None
    density: str = "normal"
    degree: int = 0
    model: str | None = None
    sampler: str | None = None
    apibase: str | None = None
    apikey: str | None = None
    parallel: int = 4
    threads: int = 4
    timeout: float = 600.0
    retries: int = 5
    cache: Path = Path("contour-cache.sqlite")
    shuffle: bool = False
    offline_rounds: int | None = None
    output: Path | None = None
    results_dir: Path = Path("results")
    quiet: bool = False


def prepare(opts: RunOptions) -> tuple[RunSettings, list[Point]]:
    """The offline part of a run (config, grid, template), validated."""
    if opts.density not in DENSITIES:
        raise ContourError(f"unknown density '{opts.density}' (choose from {', '.join(DENSITIES)})")
    if opts.degree < 0:
        raise ContourError(f"--degree must be >= 0, got {opts.degree}")
    config = load_config(opts.config)
    precision = config.precision(opts.precision)
    template = load_template(opts.template)
    points = resolve_grid(config, opts.degree, opts.density)
    sampler = load_sampler(opts.sampler) if opts.sampler else None
    return RunSettings(config, template, opts.seed, precision, opts.density, opts.degree,
                       offline_sampler=sampler), points


def prepare_online(opts: RunOptions) -> tuple[OnlineSettings, list[Point], str]:
    """The online part too: returns the settings, the points and the API base."""
    if not (opts.model and opts.sampler and opts.apibase):
        missing = [f"--{k}" for k in ("model", "sampler", "apibase") if not getattr(opts, k)]
        raise ContourError(f"online runs need {', '.join(missing)} (or use --offline ROUNDS)")
    base, points = prepare(opts)
    settings = OnlineSettings(base.config, base.template, base.seed, base.precision, base.density,
                              base.degree, model=opts.model, sampler=load_sampler(opts.sampler))
    return settings, points, opts.apibase


def run(opts: RunOptions) -> Path:
    """Run (or generate offline) what `opts` describes; returns the run folder."""
    if opts.offline_rounds is not None:
        from contour.run.offline import write_offline

        settings, points = prepare(opts)
        folder, written = write_offline(settings, points, opts.offline_rounds,
                                        opts.results_dir, opts.output)
        if not opts.quiet:
            click.echo(f"wrote {written} records for {len(points)} points to {folder}")
        return folder
    from contour.run.engine import OnlineOptions, run_online

    online_settings, points, apibase = prepare_online(opts)
    online = OnlineOptions(
        apibase=apibase, apikey=opts.apikey or os.environ.get("OPENAI_API_KEY"),
        parallel=opts.parallel, threads=opts.threads, timeout=opts.timeout,
        retries=opts.retries, cache=Path(opts.cache), shuffle=opts.shuffle, quiet=opts.quiet)
    return run_online(online_settings, points, online, opts.results_dir, opts.output)
