"""A full disk under the output or under the cache (issue 10, item 1): the run
stops within seconds of the first failed write, with one line naming the file,
whole records only and a resumable folder; a resume while the disk is still
full fails the same way without needing room for a copy of the records; once
space is freed the same command finishes with the records an uninterrupted
run writes. Real small tmpfs filesystems, so root is needed."""

import json
import subprocess
import sys
import threading
import time

import pytest

from tests import faultserver as fs
from tests.conftest import REPO, run_cli
from tests.mounts import fill, tmpfs
from tests.runhelp import (assert_stats_match_records, comparable, error_line, final_records, records,
                           run_folders, small_config, snapshot)

MODEL = fs.DEFAULT_MODEL
STOP_WITHIN_S = 10


class StuckOnce:
    """Answers after `delay`, except one request, which hangs for a minute the
    first time it is sent: the runner must not wait for it to stop."""

    def __init__(self, delay: float = 0.02):
        self.delay, self.armed, self.seen = delay, True, 0
        self.lock = threading.Lock()

    def __call__(self, request):
        with self.lock:
            self.seen += 1
            if self.armed and self.seen == 5:
                self.armed = False
                return fs.Fault(delay=60)
        return fs.Fault(delay=self.delay)


def _args(tmp_path, apibase, results, cache):
    config = small_config(tmp_path, "{count: 30}", lengths=(2, 3, 4))
    return ["--config", str(config), "--template", "zerocot-nosys", "--sampler", "greedy-2k",
            "--model", MODEL, "--apibase", apibase, "--cache", str(cache), "--results-dir", str(results),
            "--threads", "2", "--parallel", "2", "--timeout", "120", "--quiet"]


def _fill_when(enough, store):
    """Wait until `enough()`, then fill `store` to the last byte."""
    deadline = time.monotonic() + 60
    while not enough():
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.01)
    fill(store)


def _clean_run(tmp_path, server):
    assert run_cli(*_args(tmp_path, server.apibase, tmp_path / "clean", tmp_path / "clean.sqlite")).returncode == 0
    (folder,) = run_folders(tmp_path / "clean")
    return final_records(folder)


def _start_and_fill(args, results, store):
    """Start the runner, fill `store` once 10 records are written, and demand
    that the runner ends within STOP_WITHIN_S (one request hangs meanwhile)."""
    proc = subprocess.Popen([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def written() -> int:
        folders = run_folders(results)
        path = folders[0] / "records.jsonl" if folders else None
        return len(path.read_bytes().splitlines()) if path and path.exists() else 0

    _fill_when(lambda: written() >= 10, store)
    try:
        proc.wait(timeout=STOP_WITHIN_S)      # a deadline: the stuck request is still in flight
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the runner did not stop within {STOP_WITHIN_S} s of the disk filling up")
    _, err = proc.communicate()
    return subprocess.CompletedProcess(args, proc.returncode, "", err)


def _lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


def _assert_only_whole_records(folder):
    for line in (folder / "records.jsonl").read_bytes().splitlines(keepends=True):
        assert line.endswith(b"\n") and json.loads(line)["key"]
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert json.loads((folder / "manifest.json").read_text())["status"] in ("stopped", "running")


def test_disk_full_under_the_output(tmp_path):
    store = tmp_path / "store"
    with tmpfs(store, "16m"), fs.FaultServer(fault_for=StuckOnce()) as server:
        results = store / "results"
        args = _args(tmp_path, server.apibase, results, tmp_path / "c.sqlite")
        proc = _start_and_fill(args, results, store)
        (folder,) = run_folders(results)
        line = error_line(proc)
        assert "No space left on device" in line and str(folder) in line and "resume" in line
        _assert_only_whole_records(folder)
        kept = snapshot(folder)

        # Still full: the resume fails the same way, needing no room for a copy.
        hits = server.hits
        line = error_line(run_cli(*args))
        assert "No space left on device" in line and server.hits == hits
        assert snapshot(folder) == kept

        (store / "filler").unlink()
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr
        assert run_folders(results) == [folder]
        assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
        before = _lines(kept["records.jsonl"])
        assert records(folder)[:len(before)] == before          # appended to, never rewritten
        assert comparable(final_records(folder)) == comparable(_clean_run(tmp_path, server))
        assert_stats_match_records(folder)


def test_disk_full_under_the_cache(tmp_path):
    store = tmp_path / "store"
    with tmpfs(store, "16m"), fs.FaultServer(fault_for=StuckOnce()) as server:
        results = tmp_path / "results"
        cache = store / "c.sqlite"
        args = _args(tmp_path, server.apibase, results, cache)
        proc = _start_and_fill(args, results, store)
        (folder,) = run_folders(results)
        line = error_line(proc)
        assert f"--cache {cache}: cannot write (database or disk is full)" in line and str(folder) in line
        _assert_only_whole_records(folder)
        assert json.loads((folder / "manifest.json").read_text())["status"] == "stopped"

        (store / "filler").unlink()
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr
        assert run_folders(results) == [folder]
        assert comparable(final_records(folder)) == comparable(_clean_run(tmp_path, server))
        assert_stats_match_records(folder)
