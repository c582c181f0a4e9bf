"""Runs that meet faults end in a clear state (issue 10, items 3, 4, 10, 11, 12):
the exit code says whether the run is complete, a rerun fills every started
round, generation and template failures are records of their own, a resume
appends, and a complete run is never run twice."""

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from contour import exits
from tests import faultserver as fs
from tests.conftest import REPO, run_cli, run_contour
from tests.runhelp import (assert_stats_match_records, comparable, error_line, final_records,
                           online_args, records, run_folders, small_config, snapshot)

MODEL = fs.DEFAULT_MODEL


def digest(request: dict) -> int:
    return int(hashlib.sha256(request["messages"][-1]["content"].encode()).hexdigest(), 16)


def half_right(request: dict) -> str:
    """Solves the arithmetic test (an independent evaluation of the printed
    expression) and answers short ones right, longer ones right about half of
    the time, so points need different numbers of adaptive rounds."""
    expression = request["messages"][-1]["content"].rsplit("Evaluate:", 1)[1].rstrip(" =")
    value = eval(expression, {"__builtins__": {}})     # noqa: S307 - our own generator's digits and + - * ( )
    short = sum(expression.count(op) for op in "+-*") <= 1
    return f"Final Answer: {value if short or digest(request) % 2 else value + 1}"


def run(apibase, tmp_path, config, *extra, results="results", cache="c.sqlite"):
    return run_cli("--config", str(config), "--template", "zerocot-nosys", "--sampler", "greedy-2k",
                   "--model", MODEL, "--apibase", apibase, "--cache", str(tmp_path / cache),
                   "--results-dir", str(tmp_path / results), "--quiet", *extra)


def rounds_of(recs):
    """point -> round -> sorted sample indices."""
    out = defaultdict(lambda: defaultdict(list))
    for r in recs:
        out[r["task"]][r["step"]].append(r["sample"])
    return {p: {k: sorted(v) for k, v in rs.items()} for p, rs in out.items()}


def assert_whole_rounds(recs, count):
    for point, rounds in rounds_of(recs).items():
        assert sorted(rounds) == list(range(len(rounds))), point
        for k, samples in rounds.items():
            assert samples == list(range(k * count, (k + 1) * count)), (point, k)


# -- items 3 and 4: transient failures, then the same command ------------------

def test_transient_failures_then_rerun_give_a_fault_free_runs_keys(tmp_path):
    config = small_config(tmp_path, "{count: 4, max_rounds: 6, target_halfwidth: 0.2}", lengths=(2, 3, 4, 5))
    with fs.FaultServer(responder=half_right) as server:
        assert run(server.apibase, tmp_path, config, results="clean", cache="clean.sqlite").returncode == 0
    (clean,) = run_folders(tmp_path / "clean")
    want = final_records(clean)
    assert len({len(r) for r in rounds_of(want).values()}) > 1     # points took different round counts

    failing = lambda req: fs.server_error() if digest(req) % 3 == 0 else None
    with fs.FaultServer(responder=half_right, fault_for=failing) as server:
        proc = run(server.apibase, tmp_path, config, "--retries", "0")
    assert proc.returncode == exits.UNFINISHED, proc.stderr
    (note,) = proc.stderr.strip().splitlines()
    assert note.startswith("note: ") and "server_error" in note and "run the same command again" in note
    (folder,) = run_folders(tmp_path / "results")
    assert json.loads((folder / "manifest.json").read_text())["status"] == "incomplete"
    first = records(folder)

    with fs.FaultServer(responder=half_right) as server:
        proc = run(server.apibase, tmp_path, config, "--retries", "0")
        assert proc.returncode == 0, proc.stderr
        assert server.hits == len({r["extra"]["request_key"] for r in want} -
                                  {r["extra"]["request_key"] for r in first if not r["error"]})
    got = final_records(folder)
    assert sorted(r["key"] for r in got) == sorted(r["key"] for r in want)
    assert comparable(got) == comparable(want)
    assert_whole_rounds(got, 4)
    assert records(folder)[:len(first)] == first                 # appended, never rewritten
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    assert_stats_match_records(folder)


def test_a_round_an_earlier_attempt_started_is_filled(tmp_path):
    # Always wrong: after 4 samples the half-width of the design's first-round
    # interval (0.356, contour.run.adaptive) is under 0.4, so the rule stops
    # every point after round 0 ...
    config = small_config(tmp_path, "{count: 4, max_rounds: 3, target_halfwidth: 0.4}", lengths=(2, 3))
    wrong = fs.ok("Final Answer: 1000000")
    with fs.FaultServer(default=wrong) as server:
        assert run(server.apibase, tmp_path, config).returncode == 0
    (folder,) = run_folders(tmp_path / "results")
    recs = records(folder)
    assert {r["step"] for r in recs} == {0}
    # ... but an earlier attempt had started round 1 of one point (its one
    # record failed): that round is planned again, whole.
    started = dict(recs[0], key=recs[0]["task"] + "-5", sample=5, step=1, answer=None,
                   error={"type": "timeout", "message": "no answer", "status": None})
    with open(folder / "records.jsonl", "a") as f:
        f.write(json.dumps(started) + "\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "status": "incomplete"}))
    with fs.FaultServer(default=wrong) as server:
        assert run(server.apibase, tmp_path, config).returncode == 0
    got = final_records(folder)
    assert rounds_of(got)[recs[0]["task"]] == {0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}
    assert all(set(rounds) == {0} for point, rounds in rounds_of(got).items() if point != recs[0]["task"])
    assert_whole_rounds(got, 4)


def test_every_request_failing_exits_3_and_names_the_failure(tmp_path):
    config = small_config(tmp_path)
    with fs.FaultServer(default=fs.html()) as server:
        proc = run(server.apibase, tmp_path, config, "--retries", "0")
    assert proc.returncode == exits.UNFINISHED
    (note,) = proc.stderr.strip().splitlines()
    assert "16 malformed_response" in note and "server down" not in note
    (folder,) = run_folders(tmp_path / "results")
    assert json.loads((folder / "manifest.json").read_text())["status"] == "incomplete"


def _spawn(args):
    return subprocess.Popen([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    config = small_config(tmp_path, "{count: 30}", lengths=(2, 3, 4))
    with fs.FaultServer(default=fs.Fault(delay=0.02)) as server:
        args = online_args(server.apibase, MODEL, tmp_path / "run", tmp_path / "c.sqlite",
                           "--threads", "2", "--parallel", "2", "--quiet", config=config)
        proc = _spawn(args)
        deadline = time.time() + 60
        while server.hits < 10 and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == exits.INTERRUPTED
        (line,) = err.strip().splitlines()
        assert line == f"error: interrupted by SIGTERM; run the same command again to resume {tmp_path / 'run'}"
        assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "interrupted"
        assert 0 < len(records(tmp_path / "run")) < 90
        assert run_cli(*args).returncode == 0
        clean = online_args(server.apibase, MODEL, tmp_path / "clean", tmp_path / "c2.sqlite",
                            "--quiet", config=config)
        assert run_cli(*clean).returncode == 0
    assert comparable(final_records(tmp_path / "run")) == comparable(records(tmp_path / "clean"))


# -- item 10: generation and template failures ---------------------------------

def _flaky_task():
    from contour.spec.params import Int, ParamSchema
    from contour.spec.task import Instructions, Task, Test

    class FlakyGenerator(Task):
        name = "test-flaky-generator"
        description = "a task whose generator raises on some draws"
        schema = ParamSchema({"n": Int(1, 1, 9, "a number")})
        instructions = Instructions(direct="Say the number.", cot="Think, then say the number.")

        def generate(self, rng, params):
            value = rng.randint(0, 99)
            if value % 5 == 0:
                raise ValueError(f"cannot draw {value}")
            return Test(input=f"Say {value}.", target=str(value))

    return FlakyGenerator


def _invoke(*args):
    from contour.cli import run_command

    with CliRunner().isolation() as (out, err, _):
        code = exits.invoke(run_command, [str(a) for a in args])
        return code, out.getvalue().decode(), err.getvalue().decode()


def test_a_task_that_raises_gives_error_records_and_the_run_goes_on(tmp_path):
    from contour.tasks.registry import registered

    config = tmp_path / "flaky.yaml"
    config.write_text("precision: {p: {count: 40}}\ntasks:\n  - name: test-flaky-generator\n")
    with registered(_flaky_task()), fs.FaultServer() as server:
        args = ["--config", config, "--template", "zeroshot", "--sampler", "greedy-2k", "--model", MODEL,
                "--apibase", server.apibase, "--cache", tmp_path / "c.sqlite", "--output",
                tmp_path / "run", "--quiet"]
        code, _, err = _invoke(*args)
        failed = [r for r in records(tmp_path / "run") if r["error"]]
        assert code == exits.UNFINISHED, err
        sent = {r["extra"]["request_key"] for r in records(tmp_path / "run") if not r["error"]}
        assert failed and len(records(tmp_path / "run")) == 40 and server.hits == len(sent)
        assert {r["error"]["type"] for r in failed} == {"generation_error"}
        assert all("ValueError: cannot draw" in r["error"]["message"] for r in failed)
        assert f"{len(failed)} generation_error" in err
        # The rerun tries them again (the task may have been fixed); still failing, nothing sent.
        hits = server.hits
        assert _invoke(*args)[0] == exits.UNFINISHED and server.hits == hits
        assert len(final_records(tmp_path / "run")) == 40

        before = snapshot(tmp_path / "run")
        code, _, err = _invoke(*args[:-3], "--output", tmp_path / "ff", "--fail-fast", "--threads", "1",
                               "--parallel", "1", "--quiet")
        assert code == exits.USAGE_ERROR
        (line,) = err.strip().splitlines()
        first = min(r["sample"] for r in failed)
        assert line.startswith(f"error: 000_test-flaky-generator sample {first}: generating the test failed "
                               "(ValueError: cannot draw") and "--fail-fast" in line
        assert json.loads((tmp_path / "ff" / "manifest.json").read_text())["status"] == "stopped"
        assert [r["sample"] for r in records(tmp_path / "ff")] == list(range(first))
        assert snapshot(tmp_path / "run") == before


def test_a_template_that_fails_on_some_tests(tmp_path):
    template = tmp_path / "picky.jinja"
    # Fails for odd targets (the load-time probe's target, 30, is even).
    template.write_text('{%- if test.target|int is odd %}{{ no_such_variable }}{% endif -%}\n'
                        '[{"role": "user", "content": {{ test.input | tojson }}}]\n')
    config = small_config(tmp_path, "{count: 20}")
    with fs.FaultServer() as server:
        proc = run_cli("--config", str(config), "--template", str(template), "--sampler", "greedy-2k",
                       "--model", MODEL, "--apibase", server.apibase, "--cache", str(tmp_path / "c.sqlite"),
                       "--output", str(tmp_path / "run"), "--quiet")
    assert proc.returncode == exits.UNFINISHED, proc.stderr
    recs = records(tmp_path / "run")
    failed = [r for r in recs if r["error"]]
    assert len(recs) == 40 and failed and all(int(r["target"]) % 2 for r in failed)
    assert not any(int(r["target"]) % 2 for r in recs if not r["error"])
    assert {r["error"]["type"] for r in failed} == {"template_error"}
    assert all("no_such_variable" in r["error"]["message"] for r in failed)


# -- items 11 and 12: resume appends; a complete run is not run again ------------

def test_resume_appends_and_readers_skip_superseded_lines(tmp_path):
    config = small_config(tmp_path)
    with fs.FaultServer([fs.server_error()] * 5) as server:
        assert run(server.apibase, tmp_path, config, "--retries", "0", "--threads", "1",
                   "--parallel", "1").returncode == 3
        (folder,) = run_folders(tmp_path / "results")
        path = folder / "records.jsonl"
        inode, before = path.stat().st_ino, path.read_bytes()
        assert run(server.apibase, tmp_path, config).returncode == 0
    assert path.stat().st_ino == inode and path.read_bytes().startswith(before)
    assert len(records(folder)) == 16 + 5
    superseded = [json.loads(line) for line in (folder / "records.superseded.jsonl").read_text().splitlines()]
    assert [s["line"] for s in superseded] == [n for n, r in enumerate(records(folder), 1) if r["error"]]
    from contour.results.folders import stream_records

    keys = [r["key"] for r in stream_records(folder)]
    assert len(keys) == len(set(keys)) == 16
    proc = run_contour("evaluate", str(folder), "--level", "run", "--format", "csv", "--resamples", "0")
    assert proc.returncode == 0, proc.stderr
    rows = {row["table"]: row for row in csv.DictReader(io.StringIO(proc.stdout))}
    assert rows["runs"]["records"] == "16" and rows["run"]["n"] == "16" and rows["run"]["errors"] == "0"


@pytest.mark.parametrize("where", ["results-dir", "output"])
def test_a_complete_runs_command_reports_the_folder_and_sends_nothing(tmp_path, where):
    config = small_config(tmp_path)
    with fs.FaultServer() as server:
        extra = ["--output", str(tmp_path / "out")] if where == "output" else []
        assert run(server.apibase, tmp_path, config, *extra).returncode == 0
        folder = tmp_path / "out" if extra else run_folders(tmp_path / "results")[0]
        before, requests = snapshot(folder), len(server.requests)
        proc = run(server.apibase, tmp_path, config, *extra)
        assert proc.returncode == 0, proc.stderr
        assert len(server.requests) == requests          # not even the model list
    (line,) = proc.stderr.strip().splitlines()
    assert line == f"note: {folder} already holds this run, complete; nothing sent (use another " \
                   "--output to run it again)"
    assert snapshot(folder) == before
    if not extra:
        assert run_folders(tmp_path / "results") == [folder]


def test_a_generation_error_fails_every_completion_of_its_sample(tmp_path):
    from contour.tasks.registry import registered

    config = tmp_path / "flaky.yaml"
    config.write_text("precision: {p: {count: 20}}\ntasks:\n  - name: test-flaky-generator\n")
    hot = tmp_path / "hot.json"
    hot.write_text(json.dumps({"max_tokens": 16, "temperature": 1.0}))
    with registered(_flaky_task()), fs.FaultServer() as server:
        code, _, err = _invoke("--config", config, "--template", "zeroshot", "--sampler", hot, "--model",
                               MODEL, "--apibase", server.apibase, "--cache", tmp_path / "c.sqlite",
                               "--output", tmp_path / "run", "--completions", "3", "--quiet")
    assert code == exits.UNFINISHED, err
    recs = records(tmp_path / "run")
    failed = [r for r in recs if r["error"]]
    assert len(recs) == 60 and failed and len(failed) % 3 == 0
    by_sample = defaultdict(list)
    for r in failed:
        by_sample[r["sample"]].append((r["completion"], r["key"]))
    for sample, got in by_sample.items():
        assert sorted(got) == [(c, f"000_test-flaky-generator-{sample}" + (f".{c}" if c else ""))
                               for c in range(3)]
