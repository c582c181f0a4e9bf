"""Command line: a thin layer over the library. Errors become one line + exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from contour import exits

_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _run_options(f):
    options = [
        click.option("--config", required=True,
                     help="YAML experiment configuration file, or a shipped one by name (contour files)"),
        click.option("--template", required=True, help="Prompt template file (or name in templates/)"),
        click.option("--seed", type=int, default=0, show_default=True, help="Random seed"),
        click.option("--precision", default=None,
                     help="Precision block from the config (default: the first defined)"),
        click.option("--density", default="normal", show_default=True,
                     help="Grid sampling density: normal, lowdef or corner"),
        click.option("--degree", type=int, default=0, show_default=True,
                     help="Degree for tasks that do not set their own"),
        click.option("--model", default=None, help="Model name as served (required online)"),
        click.option("--sampler", default=None, help="Sampler parameters file (required online)"),
        click.option("--apibase", multiple=True,
                     help="API base URL, with or without /v1 (required online); repeat it or "
                          "give a comma list to spread requests over several servers"),
        click.option("--engine", type=click.Choice(["http", "vllm"]), default="http",
                     show_default=True,
                     help="http: send to --apibase; vllm: run --model with vllm.LLM in this "
                          "process (needs the vllm package)"),
        click.option("--engine-arg", "engine_args", multiple=True, metavar="KEY=VALUE",
                     help="Keyword argument for vllm.LLM with --engine vllm (repeatable), "
                          "e.g. tensor_parallel_size=2"),
        click.option("--shard", default=None, metavar="I/N",
                     help="Run only shard I of N (1-based) of the points; "
                          "merge the N folders with `contour merge`"),
        click.option("--apikey", default=None,
                     help="API key (default: $OPENAI_API_KEY); never written anywhere"),
        click.option("--parallel", type=click.IntRange(1), default=4, show_default=True,
                     help="Concurrent completions per step"),
        click.option("--threads", type=click.IntRange(1), default=4, show_default=True,
                     help="Concurrent steps"),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=600.0,
                     show_default=True,
                     help="Longest silence in seconds before a request is abandoned and retried "
                          "(streamed: between two chunks; --no-stream: the whole wait)"),
        click.option("--max-time", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Cap in seconds on one attempt's total time, even while tokens stream "
                          "(default: none); running past it is an error, not retried"),
        click.option("--transport", type=click.Choice(["aiohttp", "requests"]), default=None,
                     help="HTTP library for --engine http: aiohttp (default: one event loop, "
                          "the least CPU per request) or requests (one thread per request)"),
        click.option("--stream/--no-stream", default=True, show_default=True,
                     help="Stream completions (SSE); --no-stream for servers that reject it"),
        click.option("--retries", type=click.IntRange(0), default=5, show_default=True,
                     help="Retries per request on 429, 5xx, timeouts and connection errors"),
        click.option("--cache", default="contour-cache.sqlite", show_default=True,
                     help="Response cache database file"),
        click.option("--shuffle", is_flag=True, help="Run steps in a seeded random order"),
        click.option("--completions", type=click.IntRange(1), default=1, show_default=True,
                     metavar="K", help="Completions per test (one request with n=K where the "
                     "server accepts it); needs a sampling sampler when K > 1"),
        click.option("--offline", "offline_rounds", type=click.IntRange(1), default=None,
                     metavar="ROUNDS",
                     help="Generate ROUNDS x count samples per point with no inference"),
        click.option("--output", type=click.Path(path_type=Path), default=None,
                     help="Explicit output folder (default: results/<timestamp>_...)"),
        click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"),
                     show_default=True, help="Parent folder of run folders"),
        click.option("--quiet", is_flag=True, help="No progress output"),
        click.option("--fail-fast", is_flag=True,
                     help="Stop at the first sample whose test cannot be generated or rendered "
                          "(default: record it as a generation_error/template_error and go on)"),
        click.option("--heartbeat", type=click.FloatRange(min=0), default=30.0, show_default=True,
                     help="Seconds without a completion before a line shows the requests in "
                          "flight and the oldest one's age (0: never)"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.command("run", context_settings=_HELP)
@_run_options
def run_command(**opts) -> int:
    """Run an experiment against an OpenAI-compatible server, or generate it offline.

    Exit codes: 0 complete; 2 usage, input or environment error; 3 finished with
    failures (the same command retries them); 130 interrupted (the same command
    resumes); 1 internal error.
    """
    from contour.results.writer import read_manifest
    from contour.run.options import RunOptions, run

    opts["apibase"] = ",".join(opts["apibase"]) or None
    folder = run(RunOptions(**opts))
    return exits.status_exit_code((read_manifest(folder) or {}).get("status"))


@click.command("grid", context_settings=_HELP)
@click.option("--config", required=True, help="YAML experiment configuration file")
@click.option("--degree", type=int, default=0, show_default=True)
@click.option("--density", default="normal", show_default=True)
@click.option("--precision", default=None,
              help="Precision block whose samples per point are checked (default: the first)")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed of the run whose samples are checked")
@click.option("--check", is_flag=True,
              help="Check the whole config instead: distinct tests per point and a structural "
                   "difficulty measure along every axis, at every degree (exit 3 on warnings)")
def grid_command(config: str, degree: int, density: str, precision: str | None, seed: int,
                 check: bool) -> int:
    """Print the resolved grid of points of a config for a degree and density.

    Points whose test space is smaller than the samples the precision block
    may ask (count x max_rounds) are named, one line each."""
    from contour.spec.checks import check_config, describe_check, samples_per_point, short_points
    from contour.spec.config import load_config
    from contour.spec.manifold import describe_grid, resolve_grid

    cfg = load_config(config)
    block = cfg.precision(precision)
    samples = samples_per_point(block)
    if check:
        reports = check_config(cfg, seed, samples)
        click.echo(describe_check(cfg, reports, samples, block.name))
        return exits.UNFINISHED if any(r.warnings for r in reports) else exits.OK
    points = resolve_grid(cfg, degree, density)
    click.echo(describe_grid(cfg, degree, density))
    for short in short_points(points, seed, samples):
        click.echo(f"short: {short.line()}")
    return exits.OK


@click.command("tasks", context_settings=_HELP)
def tasks_command() -> None:
    """List the registered tasks and their parameters."""
    from contour.tasks import get_task, task_names

    for name in task_names():
        task = get_task(name)
        click.echo(f"{name} (v{task.version}): {task.description}")
        for line in task.schema.describe():
            click.echo(f"    {line}")


@click.command("files", context_settings=_HELP)
def files_command() -> None:
    """List the shipped configs, templates and samplers, by name and path."""
    from contour import data_dir
    from contour.spec.files import shipped_names

    for folder, suffix in (("configs", ".yaml"), ("templates", ".jinja"), ("sampler", ".json")):
        click.echo(f"{folder}:")
        for name in shipped_names(folder, suffix):
            click.echo(f"    {name:<20} {data_dir(folder) / (name + suffix)}")


@click.group(context_settings=_HELP)
def cli() -> None:
    """Contour: difficulty-manifold benchmarks for LLM reasoning."""


cli.add_command(run_command)
cli.add_command(grid_command)
cli.add_command(tasks_command)
cli.add_command(files_command)


def _mount_commands() -> None:
    from contour.local.demo import demo_command
    from contour.evaluate.cli import evaluate_command
    from contour.evaluate.data_cli import export_command, sql_command
    from contour.results.merge import merge_command

    cli.add_command(evaluate_command, "evaluate")
    cli.add_command(sql_command, "sql")
    cli.add_command(export_command, "export")
    cli.add_command(merge_command, "merge")
    cli.add_command(demo_command, "demo")


def invoke(command: click.Command, args: list[str] | None = None) -> int:
    """Run a click command under Contour's exit-code table (contour.exits)."""
    return exits.invoke(command, args, prog_name=_prog_name(command))


def _prog_name(command: click.Command) -> str:
    return os.path.basename(sys.argv[0]) if command is run_command else "contour"


def main() -> None:
    _mount_commands()
    exits.main(cli, prog_name=_prog_name(cli))


def runner_main() -> None:
    exits.main(run_command, prog_name=_prog_name(run_command))
