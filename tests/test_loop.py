"""The shared event loop: the standard one, uvloop's on request."""

import asyncio
import os
import subprocess
import sys

import pytest

from contour.run.loop import new_loop, run_sync, shared_loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _loop_class(env: dict[str, str]) -> str:
    code = ("from contour.run.loop import shared_loop, run_sync\n"
            "import asyncio\n"
            "async def name():\n"
            "    return type(asyncio.get_running_loop()).__module__\n"
            "print(run_sync(name()))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_contour_loop_uvloop_picks_uvloop_where_installed():
    pytest.importorskip("uvloop", reason="uvloop is not installed on this platform (Windows)")
    assert _loop_class({"CONTOUR_LOOP": "uvloop"}).startswith("uvloop")


def test_the_shared_loop_is_the_standard_one_by_default():
    env = {k: v for k, v in os.environ.items() if k != "CONTOUR_LOOP"}
    assert _loop_class({**env, "CONTOUR_LOOP": ""}).startswith("asyncio")


def test_run_sync_runs_on_the_loop_thread_and_returns_its_value():
    async def where():
        await asyncio.sleep(0)
        return asyncio.get_running_loop()

    assert run_sync(where()) is shared_loop()


def test_run_sync_raises_what_the_coroutine_raises():
    async def fails():
        raise ValueError("from the loop")

    with pytest.raises(ValueError, match="from the loop"):
        run_sync(fails())


def test_new_loop_is_a_working_event_loop():
    loop = new_loop()
    try:
        assert loop.run_until_complete(asyncio.sleep(0, result=7)) == 7
    finally:
        loop.close()


def test_an_unknown_contour_loop_stops_the_run_with_one_line_before_anything_is_written(tmp_path):
    from tests import faultserver as fs
    from tests.conftest import run_cli
    from tests.runhelp import online_args

    with fs.FaultServer() as server:
        proc = run_cli(*online_args(server.apibase, fs.DEFAULT_MODEL, tmp_path / "run",
                                    tmp_path / "cache.sqlite"), env={"CONTOUR_LOOP": "uv-loop"})
        assert server.hits == 0
    assert proc.returncode == 2, proc.stderr
    assert "CONTOUR_LOOP='uv-loop'" in proc.stderr and "'uvloop'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache.sqlite").exists()


def test_contour_loop_names_are_case_and_space_blind(monkeypatch):
    from contour.run.loop import loop_choice

    for asked, chosen in [("", "asyncio"), (" UVLoop ", "uvloop"), ("asyncio", "asyncio")]:
        monkeypatch.setenv("CONTOUR_LOOP", asked)
        assert loop_choice() == chosen
