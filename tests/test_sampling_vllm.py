"""Sampled decoding and k completions against the real local vLLM (tiny random model).

Its text is gibberish (so answers are simply invalid) and never asserted
exactly; what is asserted is what the server counts: its finished-request
counter (`vllm:request_success_total`, one per generated answer, so n=4 adds
4) and its HTTP request counter (`http_requests_total` of the chat route).
"""

import json
import time

from contour.local.server import sum_metric
from tests.conftest import run_contour
from tests.runhelp import assert_stats_match_records, records, run_online

ONE_INPUT = ("precision: {p: {count: 16}}\ntasks:\n  - name: brackets\n"
             "    params: {open: 1, pairs: 0, types: 1}\n")
TWO_POINTS = ("precision: {p: {count: 3}}\ntasks:\n  - name: brackets\n"
              "    params: {pairs: 0, types: 1}\n    manifold: {open: [1, 2]}\n")
CHAT = "/v1/chat/completions"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def hot_sampler(tmp_path, **params):
    return str(write(tmp_path, "hot.json", json.dumps({"max_tokens": 8, "temperature": 1.0, **params})))


def counts(server):
    text = server.metrics_text()
    return (sum_metric(text, "vllm:request_success_total", model_name=server.served_name),
            sum_metric(text, "http_requests_total", handler=CHAT))


def settled(server, expected_answers, timeout=10.0):
    """The counters once the engine has counted `expected_answers` (it may lag the reply)."""
    deadline = time.monotonic() + timeout
    while (now := counts(server))[0] < expected_answers and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def test_sixteen_samples_of_one_input_are_sixteen_draws_and_a_rerun_sends_none(tiny_server, tmp_path):
    config = write(tmp_path, "one.yaml", ONE_INPUT)
    answers0, posts0 = counts(tiny_server)
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, config=config,
                      sampler=hot_sampler(tmp_path))
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    assert len(recs) == 16 and len({r["input"] for r in recs}) == 1
    assert settled(tiny_server, answers0 + 16) == (answers0 + 16, posts0 + 16)
    assert len({r["answer"] for r in recs}) > 1
    assert not any(r["cache_hit"] or r["error"] for r in recs)

    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, config=config,
                      sampler=hot_sampler(tmp_path), out="rerun")
    assert proc.returncode == 0, proc.stderr
    time.sleep(0.5)
    assert counts(tiny_server) == (answers0 + 16, posts0 + 16)
    rerun = records(tmp_path / "rerun")
    assert all(r["cache_hit"] for r in rerun)
    assert {r["key"]: r["answer"] for r in rerun} == {r["key"]: r["answer"] for r in recs}


def test_four_completions_are_one_request_per_test_and_evaluate_reports_pass_at_k(tiny_server, tmp_path):
    config = write(tmp_path, "two.yaml", TWO_POINTS)
    answers0, posts0 = counts(tiny_server)
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, "--completions", "4",
                      config=config, sampler=hot_sampler(tmp_path))
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    tests = {(r["task"], r["sample"]) for r in recs}
    assert len(tests) == 6 and len(recs) == 24 and len({r["key"] for r in recs}) == 24
    # One HTTP request per test (n=4); the engine counts each of its 4 answers.
    assert settled(tiny_server, answers0 + 24) == (answers0 + 24, posts0 + 6)
    for test in tests:
        mine = [r for r in recs if (r["task"], r["sample"]) == test]
        assert sorted(r["completion"] for r in mine) == [0, 1, 2, 3]
        assert all(r["error"] is None and isinstance(r["is_correct"], bool) for r in mine)
        assert {r["extra"]["shared_request"]["n"] for r in mine} == {4}
        assert sum(r["extra"]["attempts"] for r in mine) == 1
        # The server's usage for the request, shared out exactly.
        request_usage = mine[0]["extra"]["shared_request"]["usage"]
        assert sum(r["usage"]["completion_tokens"] for r in mine) == request_usage["completion_tokens"]
    assert_stats_match_records(tmp_path / "run")

    proc = run_contour("evaluate", str(tmp_path / "run"), "--level", "point")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("k completions per test, per point")[1]
    for header in ("pass@1", "pass@4", "maj@4", "agreement"):
        assert header in table
    points = {r["task"] for r in recs}
    assert all(point in table for point in points)


def test_per_request_seeds_reproduce_sampled_answers(tiny_server, tmp_path):
    config = write(tmp_path, "one.yaml", ONE_INPUT.replace("count: 16", "count: 4"))
    sampler = hot_sampler(tmp_path, seed="per-request")
    answers = []
    for name in ("a", "b"):
        proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, "--completions", "2",
                          "--threads", "1", "--parallel", "1", "--cache", str(tmp_path / f"{name}.sqlite"),
                          config=config, sampler=sampler, out=name)
        assert proc.returncode == 0, proc.stderr
        recs = sorted(records(tmp_path / name), key=lambda r: r["key"])
        assert not any(r["cache_hit"] for r in recs)
        answers.append([r["answer"] for r in recs])
    assert answers[0] == answers[1]
    assert len(set(answers[0])) > 1
