"""Faults against the real local vLLM (tests/vllm_fixtures.py): SIGTERM mid-run
ends as "interrupted" with exit 130 and the same command finishes the run;
the command of a complete run then sends vLLM nothing."""

import json
import signal
import subprocess
import sys
import time

from contour import exits
from tests.conftest import REPO, run_cli
from tests.runhelp import final_records, online_args, small_config


def test_sigterm_then_resume_then_nothing_to_do(tiny_server, tmp_path):
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"max_tokens": 16, "temperature": 0.0}))
    config = small_config(tmp_path, "{count: 24}", lengths=(2, 3, 4))
    args = online_args(tiny_server.base_url, tiny_server.served_name, tmp_path / "run",
                       tmp_path / "c.sqlite", "--threads", "1", "--parallel", "2", "--quiet",
                       config=config, sampler=str(short))
    before = tiny_server.request_count()
    proc = subprocess.Popen([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while tiny_server.request_count() - before < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == exits.INTERRUPTED, err
    assert err.strip().startswith("error: interrupted by SIGTERM; run the same command again")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"

    resumed = run_cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    recs = final_records(tmp_path / "run")
    assert len(recs) == len({r["key"] for r in recs}) == 72 and not any(r["error"] for r in recs)

    counted = tiny_server.request_count()
    again = run_cli(*args)
    assert again.returncode == 0 and "already holds this run, complete" in again.stderr
    assert tiny_server.request_count() == counted
