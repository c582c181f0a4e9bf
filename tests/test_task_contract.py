"""The contract every registered task keeps; a new task is checked for free.

For each task, at its default parameters and at the first and last point
of its configs/full.yaml grid at degrees 0 and 2:
- its parameter schema round-trips and rejects what it should;
- a test survives the record round trip (JSON and back) and scores alike;
- generation is deterministic and count-invariant;
- the target, written as the instructions ask, extracts and scores correct;
  another test's target scores valid and wrong; no response is invalid;
- guess_chance lies in [0, 1), and multiple-choice targets are options.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict
from pathlib import Path

import pytest

from contour.errors import ContourError
from contour.spec.chance import guess_chance
from contour.spec.config import load_config
from contour.spec.generation import forget_samples, generate_test
from contour.spec.manifold import resolve_entry
from contour.spec.task import SIMULATED, UNBOUNDED, UNIFORM, Test
from contour.tasks import get_task, task_names

FULL = Path(__file__).resolve().parent.parent / "configs" / "full.yaml"
SEED = 11


def contract_points(name: str) -> list[dict]:
    task = get_task(name)
    points = [task.schema.validate(name, {})]
    for entry in (e for e in load_config(FULL).tasks if e.name == name):
        for degree in (0, 2):
            grid = resolve_entry(entry, degree, "normal")
            points += [grid[0].params, grid[-1].params]
    return points


CASES = [(name, i) for name in task_names() for i in range(len(contract_points(name)))]


@pytest.fixture(params=CASES, ids=[f"{n}-{i}" for n, i in CASES])
def case(request):
    name, i = request.param
    return get_task(name), contract_points(name)[i]


@pytest.mark.parametrize("name", task_names())
def test_schema_round_trips_and_rejects(name):
    task = get_task(name)
    schema = task.schema
    defaults = schema.validate(name, {})
    assert schema.validate(name, defaults) == defaults
    assert len(schema.describe()) == len(schema.params)
    with pytest.raises(ContourError, match=f"task '{name}': unknown parameter 'no_such_knob'"):
        schema.validate(name, {"no_such_knob": 1})
    for pname, p in schema.params.items():
        where = f"task '{name}': parameter '{pname}'"
        if p.kind == "int":
            for bad in (p.low - 1, p.high + 1):
                with pytest.raises(ContourError, match=f"{where} = {bad} is out of range"):
                    schema.validate(name, {pname: bad})
            with pytest.raises(ContourError, match=f"{where} must be an integer"):
                schema.validate(name, {pname: p.low + 0.5})
        elif p.kind == "float":
            with pytest.raises(ContourError, match=f"{where} = .* is out of range"):
                schema.validate(name, {pname: p.high + 1})
        elif p.kind == "choice":
            with pytest.raises(ContourError, match=f"{where} must be one of"):
                schema.validate(name, {pname: "no-such-value"})
        else:
            with pytest.raises(ContourError, match=f"{where} must be true or false"):
                schema.validate(name, {pname: "yes"})
    assert task.blind_guess in (UNIFORM, SIMULATED, UNBOUNDED)


def _record_round_trip(test: Test) -> Test:
    """What scoring reads back from records.jsonl."""
    fields = json.loads(json.dumps(asdict(test)))
    return Test(fields["input"], fields["target"], fields["response_enum"],
                fields["guess_chance"], fields["genresult"])


def test_record_round_trip(case):
    task, params = case
    for i in range(3):
        test = generate_test(task, SEED, params, i)
        back = _record_round_trip(test)
        assert back == test, "genresult must be plain JSON (lists, not tuples; str keys)"
        for response in (f"Final Answer: {test.target}", "Final Answer: 0", "no idea"):
            assert task.score(response, back) == task.score(response, test)


def test_deterministic_and_count_invariant(case):
    task, params = case
    first = [generate_test(task, SEED, params, i) for i in range(6)]
    forget_samples()
    # Asked out of order, with `count` among the parameters, in a fresh process state.
    again = [generate_test(task, SEED, {**params, "count": 3}, i) for i in (5, 2, 0, 1, 4, 3)]
    assert [again[2], again[3], again[1], again[5], again[4], again[0]] == first
    forget_samples()
    assert [generate_test(task, SEED, {**params, "count": 16}, i) for i in range(3)] == first[:3]
    # generate itself is a pure function of its random stream
    assert task.generate(random.Random(5), dict(params)) == task.generate(random.Random(5), dict(params))
    assert generate_test(task, SEED + 1, params, 0) != first[0]


def test_target_scores_correct_and_other_answers_wrong(case):
    task, params = case
    tests = [generate_test(task, SEED, params, i) for i in range(12)]
    for test in tests:
        for response in (f"Final Answer: {test.target}",
                         f"Let me think step by step.\n...\n\nFinal Answer: {test.target}"):
            verdict = task.score(response, test)
            assert verdict.is_valid and verdict.is_correct, (response, verdict)
        for response in (None, ""):
            verdict = task.score(response, test)
            assert not verdict.is_valid and not verdict.is_correct
        # Wrong answers of the right kind: other options, other tests' targets,
        # a number one off.
        candidates = [o for o in test.response_enum or [] if o != test.target]
        candidates += [t.target for t in tests]
        if test.target.lstrip("-").isdigit():
            candidates.append(str(int(test.target) + 1))
        own = task.normalize(test.target, test)
        wrong = [w for w in candidates if task.extract(f"Final Answer: {w}", test) is not None
                 and task.normalize(w, test) != own]
        assert wrong, "every point must have more than one possible answer"
        verdict = task.score(f"Final Answer: {wrong[0]}", test)
        assert verdict.is_valid and not verdict.is_correct, (wrong[0], verdict)


def test_guess_chance_and_options(case):
    task, params = case
    for i in range(4):
        test = generate_test(task, SEED, params, i)
        assert 0 <= test.guess_chance < 1
        assert test.guess_chance == guess_chance(task, params, test)
        if task.blind_guess == UNIFORM:
            assert test.response_enum and test.guess_chance == pytest.approx(1 / len(test.response_enum))
        if test.response_enum is not None:
            assert test.target in test.response_enum
            assert len(set(test.response_enum)) == len(test.response_enum)


def test_every_measure_reads_a_number(case):
    task, params = case
    test = generate_test(task, SEED, params, 0)
    for pname in task.schema.params:
        label, value = task.measure(pname, test)
        assert label and math.isfinite(value), (pname, label, value)
