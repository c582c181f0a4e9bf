"""Every public command answers --help; the small commands work."""

import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli, run_contour


@pytest.mark.parametrize("args", [["grid"], ["tasks"], ["evaluate"], ["demo"], ["run"], []])
def test_contour_commands_have_help(args):
    proc = run_contour(*args, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout


def test_runner_help_lists_every_seed_flag():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for flag in ["--config", "--template", "--seed", "--precision", "--density", "--degree", "--model",
                 "--sampler", "--apibase", "--apikey", "--parallel", "--threads", "--timeout", "--cache",
                 "--shuffle", "--offline"]:
        assert flag in proc.stdout


def test_localserver_help():
    proc = subprocess.run([sys.executable, "-m", "contour.local.server", "--help"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "--model" in proc.stdout


def test_tasks_lists_all_thirteen():
    proc = run_contour("tasks")
    assert proc.returncode == 0
    names = [line.split(" ")[0] for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert sorted(names) == sorted(["arithmetic", "boolean", "brackets", "cars", "dates", "letters", "movies",
                                    "objects", "sequence", "shapes", "shuffle", "sort", "tables"])


def test_grid_prints_points_and_rejects_bad_density():
    proc = run_contour("grid", "--config", str(REPO / "configs" / "full.yaml"), "--degree", "2",
                       "--density", "corner")
    assert proc.returncode == 0 and "total:" in proc.stdout
    bad = run_contour("grid", "--config", str(REPO / "configs" / "full.yaml"), "--density", "sparse")
    assert bad.returncode != 0 and bad.stderr.strip().splitlines() == [
        "error: unknown density 'sparse' (choose from normal, lowdef, corner)"]


def test_full_config_generates_all_tasks_at_degrees_0_1_2(tmp_path):
    import json

    for degree in ("0", "1", "2"):
        out = tmp_path / f"d{degree}"
        proc = run_cli("--config", str(REPO / "configs" / "full.yaml"), "--template", "zerocot-nosys",
                       "--degree", degree, "--offline", "1", "--output", str(out), "--quiet")
        assert proc.returncode == 0, proc.stderr
        tasks = {json.loads(line)["base_task"] for line in (out / "records.jsonl").open()}
        assert len(tasks) == 13
