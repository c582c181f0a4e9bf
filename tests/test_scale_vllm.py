"""Beyond one server, against real local vLLM (CPU, the tiny random model).

- Two vLLM servers as two endpoints: both answer, the records equal a
  one-endpoint run's (greedy), and killing one mid-run loses and duplicates
  nothing.
- `--engine vllm`: vllm.LLM in the runner's process gives the same keys and
  flags as the HTTP run of the same config, and a rerun comes from the cache.

The two servers run with prefix caching off and the equality runs keep one
request per server in flight: then each answer is computed alone, the same
way on either server, and greedy text can be compared exactly (with batches
or reused prefixes, near-tie tokens of a random model may flip).
"""

import json
import subprocess
import sys
import time

import pytest

from contour.local.server import (LocalServerConfig, LocalServerError, LocalVLLMServer, ensure_setup,
                                  is_setup, model_dir, vllm_python)
from tests.conftest import REPO
from tests.runhelp import assert_stats_match_records, online_args, quick_size, records
from tests.vllm_fixtures import _required as vllm_required
from tests.vllmdeps import DepsError, vllm_runner_env

# Two CPU servers share two cores with the runner: slower than the suite's default bound.
pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1200)]

FLAGS = ("is_valid", "is_correct", "is_truncated")


def sampler(tmp_path, max_tokens=16):
    path = tmp_path / "short.json"
    path.write_text(json.dumps({"max_tokens": max_tokens, "temperature": 0.0}))
    return str(path)


def start_server():
    server = LocalVLLMServer(LocalServerConfig.for_model(
        "tiny", enforce_eager=True, extra_args=["--no-enable-prefix-caching"]))
    try:
        ensure_setup()
        server.start()
    except LocalServerError as exc:
        pytest.fail(f"local vLLM server could not start: {exc}", pytrace=False)
    return server


@pytest.fixture(scope="module")
def two_servers(request):
    if not is_setup() and not vllm_required(request.config):
        pytest.skip("the local vLLM is not set up (run scripts/setup_local_vllm.sh, or select "
                    "-m vllm to set it up now)")
    # Started one after the other from this (long-lived) thread: a server is
    # tied to the thread that started it (see contour.local.server).
    first = start_server()
    try:
        second = start_server()
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def settled_count(server, timeout=10.0):
    # vLLM updates its counter just after answering: wait until it stops moving.
    last, deadline = server.request_count(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server.request_count()
        if now == last:
            return now
        last = now
    return last


def answered_since(server, before) -> bool:
    # A busy CPU server can take longer than the probe's timeout to list its
    # metrics (seen in CI, two servers and a runner on two cores): not yet.
    try:
        return server.request_count() > before
    except OSError:
        return False


def runner(*args, timeout=600):
    return subprocess.run([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def by_key(recs):
    return {r["key"]: (r["answer"], r["usage"], r["timings"]["finish_reason"], *(r[f] for f in FLAGS))
            for r in recs}


def test_two_servers_both_answer_and_match_one_server(two_servers, tmp_path):
    a, b = two_servers
    short = sampler(tmp_path)
    one_before = settled_count(a)
    proc = runner(*online_args(a.base_url, "tiny", tmp_path / "one", tmp_path / "one.sqlite",
                               "--threads", "1", "--parallel", "1", sampler=short))
    assert proc.returncode == 0, proc.stderr
    a_before, b_before = settled_count(a), settled_count(b)
    assert a_before > one_before
    # Two in flight over two endpoints: least-in-flight keeps one on each.
    proc = runner(*online_args(f"{a.base_url},{b.base_url}", "tiny", tmp_path / "two",
                               tmp_path / "two.sqlite", "--threads", "2", "--parallel", "1", sampler=short))
    assert proc.returncode == 0, proc.stderr
    a_sent, b_sent = settled_count(a) - a_before, settled_count(b) - b_before
    assert a_sent > 0 and b_sent > 0

    one, two = records(tmp_path / "one"), records(tmp_path / "two")
    assert len(two) == quick_size() and by_key(two) == by_key(one)
    # Streamed through the pool, every answer keeps its time to first token.
    assert all(r["timings"]["ttft_s"] is not None for r in two if not r["cache_hit"])
    stats = json.loads((tmp_path / "two" / "stats.json").read_text())
    per = stats["endpoints"]
    assert per[a.base_url + "/v1"]["answered"] == a_sent and per[b.base_url + "/v1"]["answered"] == b_sent
    assert a_sent + b_sent == stats["total"]["model_calls"] == sum(not r["cache_hit"] for r in two)
    assert_stats_match_records(tmp_path / "two")


def test_killing_one_server_mid_run_loses_and_duplicates_nothing(two_servers, tmp_path):
    a, b = two_servers
    out = tmp_path / "run"
    args = online_args(f"{a.base_url},{b.base_url}", "tiny", out, tmp_path / "cache.sqlite",
                       "--threads", "4", "--parallel", "2", "--precision", "medium",
                       sampler=sampler(tmp_path, max_tokens=32))
    b_before = settled_count(b)
    proc = subprocess.Popen([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path, deadline = out / "records.jsonl", time.monotonic() + 300
        # vLLM counts a request when it finishes: under load the first 40 records may all
        # come from `a` while `b` is still working, so wait until `b` has answered too.
        b_answered = False
        while time.monotonic() < deadline and proc.poll() is None:
            b_answered = b_answered or answered_since(b, b_before)
            if b_answered and path.exists() and path.read_text().count("\n") >= 40:
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the run ended before the kill: make it longer"
        assert b_answered, "the second server answered nothing in 300 s"
        b.kill()
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    recs = records(out)
    keys = [r["key"] for r in recs]
    assert len(keys) == len(set(keys)), "a record is duplicated"
    assert not [r["error"] for r in recs if r["error"]], "a request was lost to the killed server"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    # Every point has all the rounds adaptive stopping asked for: nothing missing.
    per_point = {}
    for r in recs:
        per_point.setdefault(r["task"], set()).add(r["sample"])
    assert all(samples == set(range(len(samples))) and len(samples) % 8 == 0
               for samples in per_point.values())
    endpoints = json.loads((out / "stats.json").read_text())["endpoints"]
    dead = endpoints[b.base_url + "/v1"]
    assert dead["state"] == "drained" and dead["drained"] >= 1 and dead["answered"] > 0
    assert endpoints[a.base_url + "/v1"]["answered"] > dead["answered"]
    assert_stats_match_records(out)


# -- --engine vllm -------------------------------------------------------------

def in_process(tmp_path, out, short, *extra):
    try:
        env = vllm_runner_env(REPO)
    except DepsError as exc:
        pytest.fail(str(exc), pytrace=False)
    args = ["--config", str(REPO / "configs" / "quick.yaml"), "--template", "zerocot-nosys",
            "--sampler", short, "--engine", "vllm", "--model", str(model_dir("tiny")),
            "--engine-arg", "dtype=bfloat16", "--engine-arg", "max_model_len=2048",
            "--engine-arg", "enforce_eager=true", "--output", str(tmp_path / out),
            "--cache", str(tmp_path / "inproc.sqlite"), *extra]
    return subprocess.run([str(vllm_python()), str(REPO / "runner.py"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def test_engine_vllm_in_process_matches_http_and_reruns_from_cache(tiny_server, tmp_path):
    short = sampler(tmp_path)
    proc = runner(*online_args(tiny_server.base_url, tiny_server.served_name, tmp_path / "http",
                               tmp_path / "http.sqlite", sampler=short))
    assert proc.returncode == 0, proc.stderr

    proc = in_process(tmp_path, "inproc", short)
    assert proc.returncode == 0, proc.stderr[-3000:]
    http, inproc = records(tmp_path / "http"), records(tmp_path / "inproc")
    assert sorted(r["key"] for r in inproc) == sorted(r["key"] for r in http)
    flags = lambda recs: {r["key"]: (*(r[f] for f in FLAGS), r["timings"]["finish_reason"],
                                     r["usage"]["prompt_tokens"]) for r in recs}
    # Same chat template applied the same way: same prompt token counts too.
    assert flags(inproc) == flags(http)
    assert not any(r["error"] for r in inproc)
    assert all(r["usage"]["completion_tokens"] <= 16 for r in inproc)
    manifest = json.loads((tmp_path / "inproc" / "manifest.json").read_text())
    assert manifest["engine"] == "vllm" and manifest["apibase"] is None
    assert_stats_match_records(tmp_path / "inproc")

    proc = in_process(tmp_path, "rerun", short)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rerun = records(tmp_path / "rerun")
    assert all(r["cache_hit"] for r in rerun)
    assert {r["key"]: r["answer"] for r in rerun} == {r["key"]: r["answer"] for r in inproc}
    assert json.loads((tmp_path / "rerun" / "stats.json").read_text())["total"]["model_calls"] == 0
