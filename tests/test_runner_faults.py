"""The runner against a local fault-injecting server: every fault ends as a
good record after retry or as an error record, and the run finishes."""

import json
import signal
import subprocess
import sys
import time

import pytest

from tests import faultserver as fs
from tests.conftest import REPO, run_cli
from tests.runhelp import (assert_stats_match_records, final_records, online_args, quick_size, records,
                           run_online)

MODEL = fs.DEFAULT_MODEL
SERIAL = ("--threads", "1", "--parallel", "1", "--retries", "2", "--timeout", "1")


@pytest.mark.parametrize("fault,attempts", [
    (fs.server_error(), 2),
    (fs.rate_limited(0.2), 2),
    (fs.reset(), 2),
    (fs.slow(3), 2),
    (fs.malformed(), 2),
    (fs.empty_choices(), 2),
])
def test_transient_fault_then_success_gives_a_good_record(tmp_path, fault, attempts):
    with fs.FaultServer([fault]) as server:
        proc = run_online(server.apibase, MODEL, tmp_path, *SERIAL)
        assert proc.returncode == 0, proc.stderr
        hits = server.hits
    recs = records(tmp_path / "run")
    # Identical tests (small grids repeat) are identical requests, sent once.
    assert len(recs) == quick_size() and hits == sum(not r["cache_hit"] for r in recs) + 1
    assert all(r["error"] is None and r["is_valid"] is not None for r in recs)
    assert sorted(r["extra"]["attempts"] for r in recs)[-1] == attempts
    assert_stats_match_records(tmp_path / "run")


@pytest.mark.parametrize("script,error_type,code,status", [
    ([fs.empty_choices()] * 3, "empty_choices", 3, "incomplete"),
    ([fs.bad_request()], "client_error", 0, "complete"),
    ([fs.server_error()] * 3, "server_error", 3, "incomplete"),
])
def test_permanent_or_exhausted_fault_gives_an_error_record(tmp_path, script, error_type, code, status):
    with fs.FaultServer(script) as server:
        proc = run_online(server.apibase, MODEL, tmp_path, *SERIAL)
        assert proc.returncode == code, proc.stderr
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == status
    recs = records(tmp_path / "run")
    errors = [r for r in recs if r["error"]]
    assert len(recs) == quick_size() and len(errors) == 1
    assert errors[0]["error"]["type"] == error_type
    assert errors[0]["is_valid"] is False and errors[0]["is_correct"] is False
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["total"]["errors"] == {error_type: 1}
    assert_stats_match_records(tmp_path / "run")


def test_rerun_is_served_from_cache_and_transient_errors_are_retried(tmp_path):
    with fs.FaultServer([fs.server_error()] * 3) as server:
        assert run_online(server.apibase, MODEL, tmp_path, *SERIAL).returncode == 3
        first = records(tmp_path / "run")
        assert sum(bool(r["error"]) for r in first) == 1
        hits = server.hits
        proc = run_online(server.apibase, MODEL, tmp_path, *SERIAL)   # same command: resume
        assert proc.returncode == 0, proc.stderr
        assert server.hits == hits + 1          # only the failed request is sent again
        again = final_records(tmp_path / "run")
        assert len(again) == len(first) and len({r["key"] for r in again}) == len(again)
        assert not any(r["error"] for r in again)
        # Appended, not rewritten: the first attempt's lines are all still there.
        assert records(tmp_path / "run")[:len(first)] == first
        # A finished run started again in a new folder comes entirely from the cache.
        hits = server.hits
        assert run_online(server.apibase, MODEL, tmp_path, *SERIAL, out="run2").returncode == 0
        assert server.hits == hits
        assert all(r["cache_hit"] for r in records(tmp_path / "run2"))


def test_apikey_is_sent_but_never_written(tmp_path):
    secret = "sk-contour-SECRET-8472"
    with fs.FaultServer() as server:
        proc = run_online(server.apibase, MODEL, tmp_path, "--apikey", secret)
        assert proc.returncode == 0, proc.stderr
        assert server.last_headers.get("Authorization") == f"Bearer {secret}"
    with fs.FaultServer() as server:
        proc2 = run_cli(*online_args(server.apibase, MODEL, tmp_path / "env", tmp_path / "cache2.sqlite"),
                        env={"OPENAI_API_KEY": secret})
        assert proc2.returncode == 0
        assert server.last_headers.get("Authorization") == f"Bearer {secret}"
    for text in (proc.stdout, proc.stderr, proc2.stdout, proc2.stderr):
        assert secret not in text
    for path in list(tmp_path.rglob("*")):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def one_line_error(proc) -> str:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_unreachable_server_and_unknown_model(tmp_path):
    with fs.FaultServer() as server:
        line = one_line_error(run_online(server.apibase, "no-such-model", tmp_path))
        assert "no-such-model" in line and MODEL in line
    line = one_line_error(run_online(server.apibase, MODEL, tmp_path))   # stopped now
    assert "127.0.0.1" in line
    assert not (tmp_path / "run").exists()


def test_apibase_with_or_without_v1(tmp_path):
    with fs.FaultServer() as server:
        root = server.apibase.removesuffix("/v1")
        for i, base in enumerate([root, root + "/", root + "/v1", root + "/v1/"]):
            proc = run_online(base, MODEL, tmp_path, out=f"r{i}")
            assert proc.returncode == 0, (base, proc.stderr)


def test_inflight_never_exceeds_threads_times_parallel(tmp_path):
    with fs.FaultServer(default=fs.Fault(delay=0.05)) as server:
        proc = run_online(server.apibase, MODEL, tmp_path, "--threads", "2", "--parallel", "3")
        assert proc.returncode == 0, proc.stderr
        assert 1 < server.max_in_flight <= 6


def _spawn(args, **kw):
    return subprocess.Popen([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("how", ["kill9", "sigint"])
def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path, how):
    config = tmp_path / "big.yaml"
    config.write_text("precision: {p: {count: 30}}\ntasks:\n  - name: arithmetic\n"
                      "    manifold: {length: [2, 3, 4, 5]}\n")   # 4 points x 30 = 120 samples
    slow = fs.Fault(delay=0.02)
    with fs.FaultServer(default=slow) as server:
        args = online_args(server.apibase, MODEL, tmp_path / "run", tmp_path / "cache.sqlite",
                           "--threads", "2", "--parallel", "2", config=config)
        proc = _spawn(args)
        deadline = time.time() + 60
        while server.hits < 25 and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL if how == "kill9" else signal.SIGINT)
        proc.communicate(timeout=60)
        assert proc.returncode != 0
        answered_before = server.hits
        partial = len((tmp_path / "run" / "records.jsonl").read_text().splitlines())
        assert 0 < partial < 120
        resumed = _spawn(args)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        # Nothing already answered is sent again (at most the requests that
        # were in flight at the kill, answered but not yet recorded).
        assert server.hits - answered_before <= 120 - partial + 4
    with fs.FaultServer(default=slow) as server:
        args = online_args(server.apibase, MODEL, tmp_path / "clean", tmp_path / "cache3.sqlite",
                           config=config)
        assert run_cli(*args).returncode == 0
    got, want = final_records(tmp_path / "run"), records(tmp_path / "clean")
    assert len(got) == len({r["key"] for r in got}) == 120
    assert {r["key"] for r in got} == {r["key"] for r in want}
    strip = lambda r: {k: r[k] for k in ("key", "input", "target", "answer", "is_correct", "messages")}
    assert sorted(map(strip, got), key=lambda r: r["key"]) == sorted(map(strip, want), key=lambda r: r["key"])
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert_stats_match_records(tmp_path / "run")


def test_server_crash_then_same_command_completes_the_run(tmp_path):
    """The server dies mid-run: the rest become connection errors, the run
    ends resumable, and the same command (no --output) finishes it."""
    results = tmp_path / "results"
    base = ["--config", str(REPO / "configs" / "quick.yaml"), "--template", "zerocot-nosys",
            "--sampler", "greedy-2k", "--model", MODEL, "--cache", str(tmp_path / "c.sqlite"),
            "--results-dir", str(results), "--threads", "1", "--parallel", "1", "--retries", "0"]
    server = fs.FaultServer(default=fs.Fault(delay=0.01)).start()
    proc = _spawn([*base, "--apibase", server.apibase])
    while server.hits < 20:
        time.sleep(0.01)
    server.stop()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "run the same command again" in err and "connection" in err
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    first = records(folder)
    failed = [r for r in first if r["error"]]
    assert failed and all(r["error"]["type"] == "connection" for r in failed)
    assert json.loads((folder / "manifest.json").read_text())["status"] == "incomplete"
    with fs.FaultServer() as revived:
        proc = run_cli(*base, "--apibase", revived.apibase)
        assert proc.returncode == 0, proc.stderr
        assert revived.hits <= len(failed)
    assert [p for p in results.iterdir() if p.is_dir()] == [folder]
    final = final_records(folder)
    assert len(final) == len(first) == quick_size() and not any(r["error"] for r in final)
    assert len({r["key"] for r in final}) == len(final)
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    assert_stats_match_records(folder)


def test_shuffle_is_a_seeded_order(tmp_path):
    def order(out, *extra):
        with fs.FaultServer() as server:
            proc = run_online(server.apibase, MODEL, tmp_path, "--threads", "1", "--parallel", "1",
                              *extra, out=out)
            assert proc.returncode == 0, proc.stderr
        return [r["key"] for r in records(tmp_path / out)]

    plain, shuffled, again = order("a"), order("b", "--shuffle"), order("c", "--shuffle")
    assert sorted(plain) == sorted(shuffled) and plain != shuffled
    assert shuffled == again
    assert order("d", "--shuffle", "--seed", "5") != shuffled


def _precision_run(tmp_path, precision: str, default: fs.Fault, out: str):
    config = tmp_path / f"{out}.yaml"
    config.write_text(f"precision: {{p: {precision}}}\ntasks:\n  - name: arithmetic\n"
                      "    manifold: {length: [3, 4]}\n")
    with fs.FaultServer(default=default) as server:
        proc = run_online(server.apibase, MODEL, tmp_path, config=config, out=out)
        assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / out)
    rounds = {}
    for r in recs:
        rounds.setdefault(r["task"], set()).add(r["step"])
    return recs, rounds


def _rounds_until_narrow(count: int, max_rounds: int, target: float) -> int:
    """Rounds an always-wrong point needs: the first round whose exact interval
    (scipy's Clopper-Pearson at the design's level for that round) is narrow enough."""
    from scipy.stats import binomtest
    from contour.run.adaptive import round_levels

    levels = round_levels(count, max_rounds, target)
    for r in range(max_rounds):
        ci = binomtest(0, (r + 1) * count).proportion_ci(levels[r], method="exact")
        if (ci.high - ci.low) / 2 <= target:
            return r + 1
    return max_rounds


def test_adaptive_rounds_run_until_the_interval_is_narrow_enough(tmp_path):
    wrong = fs.ok("Final Answer: 1000000")
    needed = _rounds_until_narrow(4, 5, 0.15)
    assert 1 < needed < 5
    recs, rounds = _precision_run(tmp_path, "{count: 4, max_rounds: 5, target_halfwidth: 0.15}", wrong, "a")
    assert all(steps == set(range(needed)) for steps in rounds.values()) and len(recs) == 2 * 4 * needed
    assert sorted(r["sample"] for r in recs if r["task"].endswith("length-3")) == list(range(4 * needed))
    recs, rounds = _precision_run(tmp_path, "{count: 4, max_rounds: 2, target_halfwidth: 0.01}", wrong, "b")
    assert all(steps == {0, 1} for steps in rounds.values())        # max_rounds caps it
    assert _rounds_until_narrow(4, 5, 0.36) == 1
    recs, rounds = _precision_run(tmp_path, "{count: 4, max_rounds: 5, target_halfwidth: 0.36}", wrong, "c")
    assert all(steps == {0} for steps in rounds.values())           # narrow enough at once


def test_adaptive_rounds_stop_when_truncation_is_too_high(tmp_path):
    # The rule looks at the rounds before the one just finished (so the accuracy
    # reported is not selected for being low): a truncation stop comes after round 2.
    cut = fs.ok("Final Answer: 1", finish_reason="length")
    recs, rounds = _precision_run(
        tmp_path, "{count: 4, max_rounds: 5, target_halfwidth: 0.01, max_truncation: 0.5}", cut, "t")
    assert all(r["is_truncated"] for r in recs)
    assert all(steps == {0, 1} for steps in rounds.values())


def test_two_runners_sharing_one_cache_send_each_request_once(tmp_path):
    config = tmp_path / "shared.yaml"
    config.write_text("precision: {p: {count: 20}}\ntasks:\n  - name: arithmetic\n"
                      "    params: {digits: 3}\n    manifold: {length: [3, 4, 5]}\n")
    with fs.FaultServer(default=fs.Fault(delay=0.02)) as server:
        runners = [_spawn(online_args(server.apibase, MODEL, tmp_path / f"run{i}", tmp_path / "shared.sqlite",
                                      "--threads", "2", "--parallel", "2", config=config))
                   for i in range(2)]
        for proc in runners:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        bodies = [json.dumps(r.body, sort_keys=True) for r in server.completion_requests]
    a, b = records(tmp_path / "run0"), records(tmp_path / "run1")
    assert len(a) == len(b) == 60
    assert len(bodies) == len(set(bodies))                    # no request reached the server twice
    assert len(set(bodies)) == len({r["extra"]["request_key"] for r in a})
    assert sum(not r["cache_hit"] for r in a + b) == len(bodies)
    assert all(x["answer"] == y["answer"] for x, y in zip(sorted(a, key=lambda r: r["key"]),
                                                           sorted(b, key=lambda r: r["key"])))


def test_a_scorer_bug_is_recorded_and_the_run_goes_on(tmp_path):
    from contour.spec.config import parse_config
    from contour.spec.manifold import resolve_grid
    from contour.spec.params import Int, ParamSchema
    from contour.run.plan import OnlineSettings
    from contour.run.engine import OnlineOptions, run_online as run_engine
    from contour.spec.samplers import load_sampler
    from contour.spec.task import Instructions, Task, Test
    from contour.tasks.registry import registered
    from contour.spec.templates import load_template

    class BrokenScorer(Task):
        name = "test-broken-scorer"
        description = "a task whose scorer raises on some answers"
        schema = ParamSchema({"n": Int(1, 1, 9, "a number")})
        instructions = Instructions(direct="Say a number.", cot="Think, then say a number.")

        def generate(self, rng, params):
            return Test(input=f"Say {rng.randint(0, 99)}.", target="1")

        def extract(self, response, test):
            raise IndexError("bug in extraction")

    with registered(BrokenScorer):
        config = parse_config({"precision": {"p": {"count": 5}},
                               "tasks": [{"name": "test-broken-scorer"}]}, "inline.yaml")
        with fs.FaultServer() as server:
            settings = OnlineSettings(config, load_template("zeroshot"), 0, config.precision(None),
                                      "normal", 0, model=MODEL, sampler=load_sampler("greedy-2k"))
            options = OnlineOptions(apibase=server.apibase, apikey=None, cache=tmp_path / "c.sqlite", quiet=True)
            folder = run_engine(settings, resolve_grid(config), options, tmp_path / "results")
    recs = records(folder)
    assert len(recs) == 5
    for r in recs:
        assert r["answer"] == fs.DEFAULT_CONTENT and r["is_valid"] is False and r["is_correct"] is False
        assert r["extra"]["scoring_error"] == "IndexError: bug in extraction"
        assert r["extra"]["attempts"] == 1


def test_a_second_runner_on_the_same_folder_stops_with_one_line(tmp_path):
    with fs.FaultServer(default=fs.Fault(delay=0.05)) as server:
        args = online_args(server.apibase, MODEL, tmp_path / "run", tmp_path / "c.sqlite",
                           "--threads", "1", "--parallel", "1")
        first = _spawn(args)
        while server.hits < 3:
            time.sleep(0.01)
        line = one_line_error(run_cli(*args))
        assert "in use by another runner" in line
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    recs = records(tmp_path / "run")
    assert len(recs) == len({r["key"] for r in recs}) == quick_size()


def test_resume_cuts_a_half_written_last_line_and_refuses_a_damaged_middle(tmp_path):
    with fs.FaultServer() as server:
        assert run_online(server.apibase, MODEL, tmp_path).returncode == 0
        path = tmp_path / "run" / "records.jsonl"
        lines = path.read_text().splitlines(keepends=True)
        # A crash mid-write: the last record is half there and the manifest says running.
        path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
        manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
        (tmp_path / "run" / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
        hits = server.hits
        proc = run_online(server.apibase, MODEL, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert f"removed truncated line {len(lines)}" in proc.stderr
        assert server.hits == hits        # the lost record's answer is in the cache
        assert path.read_text().splitlines(keepends=True)[:-1] == lines[:-1]
        assert len(records(tmp_path / "run")) == len(lines)

        damaged = lines[:3] + ["{not json\n"] + lines[3:]
        path.write_text("".join(damaged))
        (tmp_path / "run" / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
        line = one_line_error(run_online(server.apibase, MODEL, tmp_path))
        assert "line 4 is not valid JSON" in line and str(path) in line
        assert path.read_text() == "".join(damaged)
        assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "manifest.json", "records.jsonl",
                                                                 "stats.json"]
