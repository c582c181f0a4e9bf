"""A point's samples are distinct tests as far as its test space allows,
without giving up count-invariance; short points are named by `contour
grid`, by the run, and in the manifest."""

from __future__ import annotations

import json

from contour.spec.checks import estimate_space, short_points
from contour.spec.generation import forget_samples, generate_test, sample_space
from contour.spec.manifold import Point
from contour.spec.seeding import SAMPLE, coordinate_rng
from contour.tasks import get_task
from tests.conftest import run_cli, run_contour

BRACKETS_TWO = {"open": 1, "pairs": 0, "types": 2, "noise": 0.0, "spacing": "spaced"}


def _inputs(task, params, n, seed=0):
    return [generate_test(task, seed, params, i).input for i in range(n)]


def test_a_small_space_is_used_up_before_any_repeat():
    # open 1, pairs 0, types 2: exactly two tests, "( " and "[ ".
    task = get_task("brackets")
    inputs = _inputs(task, BRACKETS_TWO, 8)
    assert len(set(inputs[:2])) == 2
    assert set(inputs[2:]) <= set(inputs[:2])
    space = sample_space(task, 0, BRACKETS_TWO, 8)
    assert space.short and space.distinct == 2 and space.samples == 8
    assert not sample_space(task, 0, BRACKETS_TWO, 2).short


def test_tests_kept_by_the_short_point_check_are_the_ones_generation_gives():
    task = get_task("boolean")
    params = task.schema.validate("boolean", {"length": 3, "depth": 0, "negation": 0.0,
                                              "notation": "any", "mixed": True})
    forget_samples()
    fresh = [generate_test(task, 0, params, i) for i in range(300)]   # more than its 192 tests
    forget_samples()
    assert sample_space(task, 0, params, 300, keep=True).short
    kept = [generate_test(task, 0, params, i) for i in range(300)]
    assert kept == fresh and [generate_test(task, 0, params, i) for i in range(300)] == fresh


def test_raw_draws_would_repeat_but_samples_do_not():
    # 3 operands, no nesting, no NOT: 6 notations x 8 values x 4 operator
    # pairs = 192 tests; 64 independent draws repeat one almost surely.
    task = get_task("boolean")
    params = task.schema.validate("boolean", {"length": 3, "depth": 0, "negation": 0.0,
                                              "notation": "any", "mixed": True})
    raw = [task.generate(coordinate_rng(SAMPLE, 0, task.name, task.version, params, i),
                         dict(params)).input for i in range(64)]
    assert len(set(raw)) < 64
    assert len(set(_inputs(task, params, 64))) == 64
    space = estimate_space("boolean", params)
    assert space.kind in ("exact", "estimate") and abs(space.size - 192) <= 8


def test_samples_are_count_invariant_and_order_free():
    task = get_task("boolean")
    params = task.schema.validate("boolean", {"length": 3, "depth": 0, "negation": 0.0,
                                              "notation": "any", "mixed": True})
    forget_samples()
    first = _inputs(task, {**params, "count": 40}, 40)
    forget_samples()
    late = generate_test(task, 0, {**params, "count": 8}, 39).input   # asked first
    assert late == first[39]
    assert _inputs(task, params, 10) == first[:10]
    forget_samples()
    assert _inputs(task, params, 40, seed=1) != first


def test_short_points_and_their_lines():
    points = [Point(0, "brackets", get_task("brackets").version, BRACKETS_TWO, {"open": 1}, 0)]
    short = short_points(points, 0, 8)
    assert [s.distinct for s in short] == [2]
    assert short[0].line() == ("000_brackets_open-1: only 2 distinct tests for 8 samples; "
                               "the rest repeat them")
    assert short_points(points, 0, 2) == []


def _tiny_config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("name: tiny\nprecision:\n  low: {count: 6}\n"
                    "tasks:\n  - name: brackets\n    params: {pairs: 0, types: 2}\n"
                    "    manifold: {open: [1, 3]}\n")
    return path


def test_grid_names_short_points(tmp_path):
    result = run_contour("grid", "--config", str(_tiny_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    shorts = [ln for ln in result.stdout.splitlines() if ln.startswith("short: ")]
    # open 1: 2 tests; open 3: 8 tests, enough for 6 samples
    assert shorts == ["short: 000_brackets_open-1: only 2 distinct tests for 6 samples; "
                      "the rest repeat them"]


def test_offline_run_reports_and_records_short_points(tmp_path):
    out = tmp_path / "run"
    result = run_cli("--config", str(_tiny_config(tmp_path)), "--template", "zeroshot-nosys",
                     "--offline", "1", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert ("note: 000_brackets_open-1: only 2 distinct tests for 6 samples; the rest "
            "repeat them") in result.stderr.splitlines()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["short_points"] == [
        {"task": "000_brackets_open-1", "samples": 6, "distinct_tests": 2}]
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    open3 = [r["input"] for r in records if r["task"] == "000_brackets_open-3"]
    assert len(open3) == len(set(open3)) == 6


def test_online_run_reports_and_records_short_points(tmp_path):
    from tests import faultserver as fs
    from tests.runhelp import records, run_online

    config = _tiny_config(tmp_path)
    with fs.FaultServer([]) as server:
        proc = run_online(server.apibase, fs.DEFAULT_MODEL, tmp_path, "--threads", "1",
                          "--parallel", "1", config=config)
    assert proc.returncode == 0, proc.stderr
    assert ("note: 000_brackets_open-1: only 2 distinct tests for 6 samples; the rest "
            "repeat them") in proc.stderr.splitlines()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["short_points"] == [
        {"task": "000_brackets_open-1", "samples": 6, "distinct_tests": 2}]
    assert len(records(tmp_path / "run")) == 12


def test_a_sample_whose_draw_raises_fails_alone_and_always():
    import pytest

    from contour.spec.params import Int, ParamSchema
    from contour.spec.task import Instructions, Task, Test
    from contour.tasks.registry import registered

    class Picky(Task):
        name = "test-picky"
        description = "a generator that cannot draw multiples of 3"
        schema = ParamSchema({"n": Int(1, 1, 9, "unused")})
        instructions = Instructions(direct="Say it.", cot="Think, then say it.")

        def generate(self, rng, params):
            value = rng.randrange(12)
            if value % 3 == 0:
                raise ValueError(f"cannot draw {value}")
            return Test(input=f"Say {value}.", target=str(value))

    with registered(Picky) as task:
        params = task.schema.validate(task.name, {})
        outcomes = []
        for i in range(20):
            try:
                outcomes.append(generate_test(task, 0, params, i).input)
            except ValueError:
                outcomes.append(None)
        assert None in outcomes and len([o for o in outcomes if o]) >= 8
        done = [o for o in outcomes if o]
        assert len(set(done[:8])) == 8          # 8 values are drawable: all of them first
        forget_samples()
        for i in reversed(range(20)):           # any order, same outcome
            if outcomes[i] is None:
                with pytest.raises(ValueError):
                    generate_test(task, 0, params, i)
            else:
                assert generate_test(task, 0, params, i).input == outcomes[i]
        assert 0 <= generate_test(task, 0, params, outcomes.index(done[0])).guess_chance < 1


def test_coordinate_keys_are_the_json_of_the_whole_coordinate():
    """The key is built from a memoised point JSON; it must stay the exact text
    of json.dumps([namespace, seed, task, version, point, index]) (request keys
    of sampled runs hash it), whatever the parameters' types."""
    from contour.spec.seeding import coordinate_key, coordinate_rng, coordinate_rngs

    def plain(ns, seed, task, version, params, index):
        point = {k: v for k, v in params.items() if k != "count"}
        return json.dumps([ns, seed, task, version, point, index], sort_keys=True, separators=(",", ":"))

    cases = [{"b": True, "a": 1, "count": 4}, {"b": 1, "a": 1}, {"x": 0.0}, {"x": -0.0},
             {"w": "é\u2028", "n": None, "l": [1, True, {"z": "ü"}]}, {}]
    for params in cases:
        for index, seed in ((0, 3), (7, 1), (7, True), (123456, 3)):
            key = coordinate_key("sample", seed, "arithmetic", 2, params, index)
            assert key == plain("sample", seed, "arithmetic", 2, params, index)
            stream = coordinate_rngs("sample", 3, "arithmetic", 2, params)
            assert stream(index).random() == coordinate_rng("sample", 3, "arithmetic", 2, params,
                                                            index).random()


def test_the_first_request_does_not_wait_for_every_test_of_the_run_to_be_drawn(tmp_path):
    """The short-point check draws every sample of the run; it runs beside the
    first steps, so their requests go out before it is done, and each test
    is still drawn once (its draw is kept for the step that asks for it)."""
    import threading
    import time

    from contour.run.options import RunOptions, run
    from contour.spec.params import Int, ParamSchema
    from contour.spec.task import UNBOUNDED, Instructions, Task, Test
    from contour.tasks.registry import registered
    from tests import faultserver as fs

    drawn: list[str] = []
    lock = threading.Lock()

    class Slow(Task):
        name = "test-slow-draw"
        description = "a generator that takes 2 ms a test"
        blind_guess = UNBOUNDED     # no chance simulation: every draw counted is a sample's
        schema = ParamSchema({"n": Int(1, 1, 40, "which point")})
        instructions = Instructions(direct="Say it.", cot="Think, then say it.")

        def generate(self, rng, params):
            time.sleep(0.002)
            value = rng.randrange(10**9)
            test = Test(input=f"Point {params['n']}: say {value}.", target=str(value))
            with lock:
                drawn.append(test.input)
            return test

    at_first_request: list[int] = []

    def first(request):
        with lock:
            if not at_first_request:
                at_first_request.append(len(drawn))
        return None

    points, count = 20, 10
    config = tmp_path / "slow.yaml"
    config.write_text(f"name: slow\nprecision: {{p: {{count: {count}}}}}\n"
                      f"tasks:\n  - name: test-slow-draw\n    manifold: {{n: {list(range(1, points + 1))}}}\n")
    with registered(Slow), fs.FaultServer(fault_for=first) as server:
        forget_samples()
        folder = run(RunOptions(config=str(config), template="zerocot-nosys", model=fs.DEFAULT_MODEL, sampler="greedy-2k",
                                apibase=server.apibase, threads=1, parallel=2, cache=tmp_path / "c.sqlite",
                                output=tmp_path / "run", quiet=True))
    samples = points * count
    assert at_first_request and at_first_request[0] < samples / 2, (at_first_request, samples)
    records = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    assert len(records) == samples and server.hits == samples
    assert len(drawn) == len(set(drawn)) == samples        # every test drawn once, no more
    assert sorted(r["input"] for r in records) == sorted(drawn)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["short_points"] == [] and manifest["status"] == "complete"
