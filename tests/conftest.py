import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.vllm_fixtures"]

import contour  # noqa: E402

if not Path(contour.__file__).resolve().is_relative_to(REPO):
    pytest.exit(f"these tests belong to {REPO} but import contour from {contour.__file__}; "
                f"run them from {REPO} (python -m pytest)", returncode=4)


VLLM_FIXTURES = {"tiny_server", "smollm2_server"}
BROWSER_FIXTURES = {"browser"}


def pytest_collection_modifyitems(config, items):
    """Mark tests by the real parts they need, so `-m "not vllm and not browser"` works."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & VLLM_FIXTURES:
            item.add_marker(pytest.mark.vllm)
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python runner.py ARGS` (or `-m contour` when args[0] is a subcommand marker)."""
    cmd = [sys.executable, str(REPO / "runner.py"), *args]
    return subprocess.run(cmd, cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def run_contour(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "contour", *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(params=["aiohttp", "requests"])
def each_transport(request, monkeypatch) -> str:
    """Runs a test once per HTTP wire (`--transport`), by switching the default
    of every client the test makes in this process."""
    from contour.run import wire

    monkeypatch.setattr(wire, "DEFAULT_TRANSPORT", request.param)
    return request.param


@pytest.fixture
def quick_config() -> Path:
    return REPO / "configs" / "quick.yaml"
