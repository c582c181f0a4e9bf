"""The main job on the embedded default: a real local vLLM serving
SmolLM2-135M-Instruct on 127.0.0.1, the quick config run against it, the
summary printed, an HTML report written, and the server stopped."""

from __future__ import annotations

import time
from pathlib import Path

import click

from contour.run.options import RunOptions, run


def run_demo(config: str, template: str, sampler: str, results_dir: Path, model: str,
             precision: str | None, threads: int, parallel: int) -> Path:
    from contour.local.server import LocalServerConfig, LocalVLLMServer, ensure_setup

    ensure_setup()
    click.echo(f"starting a local vLLM server for {model} (about a minute on a CPU)...", err=True)
    started = time.monotonic()
    with LocalVLLMServer(LocalServerConfig.for_model(model)) as server:
        click.echo(f"server ready at {server.base_url} after {time.monotonic() - started:.0f}s", err=True)
        folder = run(RunOptions(
            config=config, template=template, sampler=sampler, model=server.served_name,
            apibase=server.base_url, precision=precision, parallel=parallel, threads=threads,
            timeout=300.0, cache=results_dir / "demo-cache.sqlite", shuffle=True,
            results_dir=results_dir))
    report = write_report(folder)
    click.echo(f"total time {time.monotonic() - started:.0f}s")
    click.echo(f"HTML report: {report}")
    return folder


def write_report(folder: Path) -> Path:
    from contour.evaluate import write_html_report

    report = folder / "report.html"
    write_html_report([folder], report)
    return report


@click.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", default="configs/quick.yaml", show_default=True)
@click.option("--template", default="zerocot-nosys", show_default=True)
@click.option("--sampler", default="greedy-2k", show_default=True)
@click.option("--model", type=click.Choice(["smollm2", "tiny"]), default="smollm2", show_default=True)
@click.option("--precision", default=None)
@click.option("--threads", type=click.IntRange(1), default=4, show_default=True)
@click.option("--parallel", type=click.IntRange(1), default=4, show_default=True)
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
def demo_command(config, template, sampler, model, precision, threads, parallel, results_dir) -> int:
    """Serve a small real model locally with vLLM and run an experiment against it.

    Exit codes as for `contour run` (3: the run finished with samples to retry)."""
    from contour.exits import status_exit_code
    from contour.results.writer import read_manifest

    folder = run_demo(config, template, sampler, results_dir, model, precision, threads, parallel)
    return status_exit_code((read_manifest(folder) or {}).get("status"))
