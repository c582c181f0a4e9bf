"""The project as a newcomer meets it: a regular install, the console script,
the packaged files, and the two entry points of `run` agreeing."""

import json
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, run_contour


def _flags(help_text: str) -> set[str]:
    return set(re.findall(r"(?m)^\s+(--[a-z][a-z0-9-]*)", help_text))


def test_runner_py_and_contour_run_list_the_same_flags():
    runner, contour_run = run_cli("--help"), run_contour("run", "--help")
    assert runner.returncode == 0 and contour_run.returncode == 0
    flags = _flags(runner.stdout)
    assert {"--config", "--template", "--sampler", "--offline", "--cache"} <= flags
    assert flags == _flags(contour_run.stdout)


def test_files_lists_the_shipped_files_by_name():
    proc = run_contour("files")
    assert proc.returncode == 0, proc.stderr
    for name in ("quick", "full", "zerocot-nosys", "greedy-2k"):
        assert re.search(rf"(?m)^\s+{re.escape(name)}\s+/", proc.stdout)


def test_a_local_file_wins_over_the_shipped_one(tmp_path):
    (tmp_path / "zerocot-nosys.jinja").write_text(
        '[{"role": "user", "content": {{ ("LOCAL " ~ test.input) | tojson }}}]')
    out = tmp_path / "out"
    proc = run_cli("--config", "quick", "--template", "zerocot-nosys", "--offline", "1",
                   "--output", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first = json.loads((out / "records.jsonl").open().readline())
    assert first["messages"][0]["content"].startswith("LOCAL ")


@pytest.mark.slow
def test_regular_install_works_from_an_empty_directory(tmp_path):
    """`pip install <clone>` (not editable) into a fresh venv: the console script
    runs the packaged quick config offline from an empty folder, and evaluate reads it."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(wheels), str(REPO)], check=True, capture_output=True, timeout=300)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The dependencies come from the test environment (no downloads); Contour itself
    # only from the wheel: the clone is never on the path.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    empty = tmp_path / "empty"
    empty.mkdir()
    contour = str(env_dir / "bin" / "contour")

    files = subprocess.run([contour, "files"], cwd=empty, capture_output=True, text=True, timeout=120)
    assert files.returncode == 0, files.stderr
    quick = re.search(r"(?m)^\s+quick\s+(\S+)$", files.stdout).group(1)
    assert Path(quick).is_file() and str(REPO) not in quick
    run = subprocess.run([contour, "run", "--config", quick, "--template", "zerocot-nosys",
                          "--sampler", "greedy-2k", "--offline", "1", "--quiet"],
                         cwd=empty, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    folders = list((empty / "results").iterdir())
    assert len(folders) == 1 and (folders[0] / "records.jsonl").stat().st_size > 0
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["sampler"]["name"] == "greedy-2k" and str(REPO) not in manifest["template"]["path"]
    evaluated = subprocess.run([contour, "evaluate", str(folders[0])], cwd=empty, capture_output=True,
                               text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "128 of 128 records have no verdict (an offline dataset" in evaluated.stdout


def test_mypy_is_clean():
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("module", ["contour.tasks", "contour.spec", "contour.run", "contour.results",
                                    "contour.local", "contour.evaluate", "contour.cli",
                                    "contour.tasks.arithmetic", "contour.results.manifest"])
def test_each_package_imports_first_in_a_fresh_interpreter(module):
    """Import order must never matter (the stage packages import each other's faces)."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
