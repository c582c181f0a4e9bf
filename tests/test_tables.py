import csv
import io
import json
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples


def parse_table(block: str) -> list[dict[str, str]]:
    """Rows as header -> text, from any of the three renderings."""
    block = block.strip()
    if block.startswith("["):
        return [{k: str(v) for k, v in obj.items()} for obj in json.loads(block)]
    if block.startswith("|"):
        lines = [ln for ln in block.splitlines() if not re.fullmatch(r"\|[-|]+\|", ln)]
        cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
        return [dict(zip(cells[0], row)) for row in cells[1:]]
    table = list(csv.reader(io.StringIO(block)))
    return [dict(zip(table[0], row)) for row in table[1:]]


_CONDITION = re.compile(r"^(.+?) is (?:(greater than|less than|at least|at most) (-?\d+)|(.+))$")
_QUESTIONS = [
    (re.compile(r"^How many \w+ are there in the table(.*)\?$"), "count"),
    (re.compile(r"^What is the total (.+?) of the \w+ in the table(.*)\?$"), "sum"),
    (re.compile(r"^What is the (highest|lowest) (.+?) among the \w+ in the table(.*)\?$"), "ext"),
    (re.compile(r"^Which \w+ has the (highest|lowest) (.+?) among the \w+ in the table(.*)\? "
                r"Answer with the \w+ exactly as written in the table\.$"), "arg"),
]


def solve_from_text(text: str) -> str:
    """Independent solver: the one answer of the question."""
    found = answers_from_text(text)
    assert len(found) == 1, ("tie", text)
    return found[0]


def answers_from_text(text: str) -> list[str]:
    """Parse the rendered table and the question sentence; every answer
    (several only when rows tie for a "which" question)."""
    head, question = text.split("\n\nQuestion: ")
    rows = parse_table(head.split("\n\n", 1)[1])
    header = list(rows[0])
    by_lower = {h.lower(): h for h in header}
    for pattern, kind in _QUESTIONS:
        m = pattern.match(question)
        if m:
            break
    else:
        raise AssertionError(question)
    groups = m.groups()
    clause = groups[-1]
    kept = rows
    if clause:
        assert clause.startswith(" whose ")
        for part in clause[len(" whose "):].split(" and whose "):
            c = _CONDITION.match(part)
            assert c, part
            col = by_lower[c.group(1)]
            if c.group(4) is not None:
                kept = [r for r in kept if r[col] == c.group(4)]
            else:
                t = int(c.group(3))
                test = {"greater than": int.__gt__, "less than": int.__lt__,
                        "at least": int.__ge__, "at most": int.__le__}[c.group(2)]
                kept = [r for r in kept if test(int(r[col]), t)]
    assert kept, question
    if kind == "count":
        return [str(len(kept))]
    if kind == "sum":
        return [str(sum(int(r[by_lower[groups[0]]]) for r in kept))]
    col = by_lower[groups[1]]
    values = [int(r[col]) for r in kept]
    best = max(values) if groups[0] == "highest" else min(values)
    if kind == "ext":
        return [str(best)]
    return [r[header[0]] for r in kept if int(r[col]) == best]


def defensible_answers(text: str, params: dict) -> set[str]:
    """The filter's bounds are explicit ("greater than" vs "at least"); a
    "which" question has as many answers as rows tie for the extreme."""
    return set(answers_from_text(text))


def test_targets_match_independent_solver_over_grid():
    axes = {"rows": [2, 5, 20, 80], "columns": [3, 5, 8], "conditions": [0, 1, 2, 3],
            "format": ["markdown", "csv", "json"], "operation": ["count", "sum", "max", "argmax",
                                                              "min", "argmin"]}
    task = get_task("tables")
    n = 0
    for params, test in grid_samples("tables", axes, per_point=2):
        assert test.target == solve_from_text(test.input), test.input
        g = test.genresult
        assert len(g["header"]) == params["columns"]
        assert len(g["conditions"]) == params["conditions"]
        assert g["operation"] == params["operation"]
        assert test.input.count("\n") >= params["rows"]
        assert test.response_enum is None
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_mixed_operation_draws_every_operation():
    seen = {t.genresult["operation"] for _, t in grid_samples("tables", {"rows": [12]}, 120,
                                                               {"conditions": 2})}
    assert seen == {"count", "sum", "max", "min", "argmax", "argmin"}


def _test(op: str):
    return next(t for _, t in grid_samples("tables", {"rows": [15]}, 1, {"operation": op}))


@pytest.mark.parametrize("op", ["count", "sum", "max"])
def test_numeric_extraction(op):
    task = get_task("tables")
    test = _test(op)
    value = int(test.target)
    for response, correct in [
        (f"Let me filter the rows.\nRow 1 matches...\n\nFinal Answer: {value}", True),
        (f"**Final Answer:** **{value:,}**", True),
        (f"So the result is $\\boxed{{{value}}}$.", True),
        (f"Final Answer: {value}.", True),
        (f"Final Answer: {value + 1}\nWait, I miscounted.\nFinal Answer: {value}", True),
        (f"final answer:   {value}", True),
        (f"Final Answer: {value + 3}", False),
    ]:
        verdict = task.score(response, test)
        assert verdict.is_valid and verdict.is_correct == correct, (response, verdict)


def test_name_extraction():
    task = get_task("tables")
    test = _test("argmax")
    name = test.target
    for response, correct in [
        (f"Comparing the matching rows...\n\nFinal Answer: {name}", True),
        (f"**Final Answer:** **{name}**", True),
        (f"The top one is $\\boxed{{\\text{{{name}}}}}$.", True),
        (f"Final Answer: {name.upper()}.", True),
        (f"Final Answer:   {'  '.join(name.split())} ", True),
        (f"Final Answer: {name}, with the highest value", True),
        (f"{name}", True),
        ("Final Answer: Nobody In Particular", False),
        (f"Final Answer: {next(k for k in test.genresult['keys'] if k != name)}", False),
    ]:
        verdict = task.score(response, test)
        assert verdict.is_valid and verdict.is_correct == correct, (response, verdict)


def test_last_named_row_counts():
    task = get_task("tables")
    test = next(t for _, t in grid_samples("tables", {"rows": [30]}, 40, {"operation": "argmax",
                                                                          "conditions": 0})
                if len(t.genresult["matching_keys"]) > 1)
    other = next(k for k in test.genresult["matching_keys"] if k != test.target)
    assert task.score(f"Final Answer: {other} ... no, actually {test.target}", test).is_correct
    assert not task.score(f"Final Answer: {test.target} ... no, actually {other}", test).is_correct


@pytest.mark.parametrize("op", ["sum", "argmin"])
def test_no_answer_is_invalid(op):
    verdict = get_task("tables").score("I could not read the table.", _test(op))
    assert not verdict.is_valid and not verdict.is_correct
