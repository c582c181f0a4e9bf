"""A request cancelled inside the runner while the run goes on (a library's
stray cancellation; never seen with the standard loop, suspected once with
uvloop's) is neither lost silently nor allowed to take its step's other
samples with it: it becomes a retryable failure record that says so, the run
ends "incomplete", and the same command then completes it."""

import asyncio
import json
import threading

from contour.run import fetch as fetch_module
from contour.run.options import RunOptions, run
from tests import faultserver as fs
from tests.conftest import REPO
from tests.runhelp import assert_stats_match_records, final_records, quick_size, records

QUICK = str(REPO / "configs" / "quick.yaml")


def options(tmp_path, apibase, **kw):
    return RunOptions(config=QUICK, template="zerocot-nosys", sampler="greedy-2k",
                      model=fs.DEFAULT_MODEL, apibase=apibase, output=tmp_path / "run",
                      cache=tmp_path / "cache.sqlite", quiet=True, **kw)


def test_a_cancelled_request_becomes_a_retryable_record_and_its_siblings_are_kept(tmp_path, monkeypatch):
    real = fetch_module.CompletionFetcher.afetch
    calls, lock = [0], threading.Lock()
    slow_siblings = threading.Event()

    async def afetch(self, draws, *args, **kw):
        with lock:
            calls[0] += 1
            mine = calls[0]
        if mine == 3:
            # Cancelled while the step's other samples are still in flight.
            slow_siblings.set()
            raise asyncio.CancelledError()
        if slow_siblings.is_set() and mine <= 8:
            await asyncio.sleep(1.5)    # back only after the step thread's 1 s wait
        return await real(self, draws, *args, **kw)

    monkeypatch.setattr(fetch_module.CompletionFetcher, "afetch", afetch)
    with fs.FaultServer() as server:
        folder = run(options(tmp_path, server.apibase, threads=1, parallel=8))
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["status"] == "incomplete"
        recs = records(folder)
        # Every planned record is there: the cancelled one as a retryable failure.
        assert len({r["key"] for r in recs}) == len(recs) == quick_size()
        failed = [r for r in recs if r["error"]]
        assert len(failed) == 1 and failed[0]["error"]["type"] == "connection"
        assert "cancelled inside the runner" in failed[0]["error"]["message"]
        assert_stats_match_records(folder)

        monkeypatch.setattr(fetch_module.CompletionFetcher, "afetch", real)
        run(options(tmp_path, server.apibase, threads=1, parallel=8))
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    final = final_records(folder)
    assert len(final) == quick_size() and not any(r["error"] for r in final)
    assert_stats_match_records(folder)
