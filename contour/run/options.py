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
from contour.spec.samplers import Sampler, load_sampler
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
    max_time: float | None = None
    stream: bool = True
    retries: int = 5
    cache: Path = Path("contour-cache.sqlite")
    shuffle: bool = False
    offline_rounds: int | None = None
    output: Path | None = None
    results_dir: Path = Path("results")
    quiet: bool = False
    completions: int = 1
    fail_fast: bool = False
    heartbeat: float = 30.0
    engine: str = "http"                 # "vllm": vllm.LLM in this process, no --apibase
    engine_args: tuple[str, ...] = ()    # --engine-arg KEY=VALUE for vllm.LLM
    shard: str | None = None             # "i/n": this process's share of the points
    transport: str | None = None         # "aiohttp" or "requests" (None: the default, aiohttp)


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


def prepare_online(opts: RunOptions) -> tuple[OnlineSettings, list[Point], str | None]:
    """The online part too: returns the settings, the points and the API base
    (None with --engine vllm, which needs none)."""
    model, sampler = opts.model, opts.sampler
    needs_apibase = opts.engine != "vllm"
    if not model or not sampler or (needs_apibase and not opts.apibase):
        needed = ("model", "sampler", "apibase") if needs_apibase else ("model", "sampler")
        missing = [f"--{k}" for k in needed if not getattr(opts, k)]
        raise ContourError(f"online runs need {', '.join(missing)} (or use --offline ROUNDS)")
    base, points = prepare(opts)
    settings = OnlineSettings(base.config, base.template, base.seed, base.precision, base.density,
                              base.degree, model=model, sampler=load_sampler(sampler))
    check_completions(opts.completions, settings.sampler)
    return settings, points, opts.apibase


def check_completions(completions: int, sampler: Sampler) -> None:
    if completions < 1:
        raise ContourError(f"--completions must be >= 1, got {completions}")
    if completions > 1 and not sampler.stochastic:
        raise ContourError(
            f"--completions {completions}: sampler {sampler.path} decodes greedily (temperature 0 "
            "or top_k 1), so every completion would be the same answer; use a sampling sampler "
            "(e.g. think-8k) or --completions 1")


def run(opts: RunOptions) -> Path:
    """Run (or generate offline) what `opts` describes; returns the run folder.
    Its manifest's status says whether the run is complete or has samples to
    retry (`contour.exits.status_exit_code`)."""
    from contour.run.shard import parse_shard

    shard = parse_shard(opts.shard)
    if opts.offline_rounds is not None:
        from contour.run.offline import write_offline

        if opts.completions != 1:
            raise ContourError("--completions applies to online runs; an --offline dataset holds "
                               "the tests only")
        if shard is not None:
            raise ContourError("--shard applies to online runs; an offline dataset is written "
                               "in seconds, so generate it whole (--offline without --shard)")

        settings, points = prepare(opts)
        folder, written = write_offline(settings, points, opts.offline_rounds,
                                        opts.results_dir, opts.output)
        if not opts.quiet:
            click.echo(f"wrote {written} records for {len(points)} points to {folder}")
        return folder
    from contour.run.engine import OnlineOptions, run_online
    from contour.run.inprocess import parse_engine_args

    online_settings, points, apibase = prepare_online(opts)
    sampler = online_settings.sampler
    if not opts.quiet and sampler.stochastic and isinstance(sampler.params.get("seed"), int):
        click.echo(f"note: sampler {sampler.name} samples with one fixed seed: on servers that honour "
                   "it, repeated prompts get the same answer; \"seed\": \"per-request\" gives each "
                   "request its own reproducible seed", err=True)
    online = OnlineOptions(
        apibase=apibase, apikey=opts.apikey or os.environ.get("OPENAI_API_KEY"),
        parallel=opts.parallel, threads=opts.threads, timeout=opts.timeout,
        max_time=opts.max_time, stream=opts.stream, retries=opts.retries,
        cache=Path(opts.cache), shuffle=opts.shuffle, quiet=opts.quiet,
        completions=opts.completions, fail_fast=opts.fail_fast, heartbeat=opts.heartbeat,
        engine=opts.engine, engine_args=parse_engine_args(opts.engine_args), shard=shard,
        transport=opts.transport)
    return run_online(online_settings, points, online, opts.results_dir, opts.output)
