import json
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

_HOLDING = re.compile(r"^(?:and )?(\w+) (?:has the|is reading) (.+)$")
_SWAP = [re.compile(r"^(\w+) and (\w+) (?:swap|exchange) \w+\.$"),
         re.compile(r"^(\w+) trades \w+ with (\w+)\.$")]
# Every sentence that is not a swap must be one of these no-ops; anything
# else fails the solver, so an unforeseen phrasing cannot slip through.
_NO_OP = [re.compile(p) for p in (
    r"^\w+ and \w+ almost swap \w+, but change their minds\.$",
    r"^(\w+) offers to trade \w+ with (\w+), but \2 refuses\.$",
    r"^\w+ says that .+ is the nicest \w+\.$",
    r"^\w+ waves at \w+\.$",
    r"^\w+ looks closely at the \w+ in hand\.$",
)]


def solve_from_text(text: str) -> str:
    """Independent solver: read the holdings, replay the swaps, pick the option."""
    lines = text.splitlines()
    intro = lines[0].split(": ", 1)[1].rstrip(".")
    holds = {}
    for part in intro.split(", "):
        m = _HOLDING.match(part)
        assert m, part
        holds[m.group(1)] = m.group(2)
    for line in lines[1:]:
        m = re.match(r"^\d+\. (.*)$", line)
        if not m:
            continue
        sentence = m.group(1)
        swap = next((s.match(sentence) for s in _SWAP if s.match(sentence)), None)
        if swap:
            a, b = swap.groups()
            holds[a], holds[b] = holds[b], holds[a]
        else:
            assert any(p.match(sentence) for p in _NO_OP), sentence
    question = next(ln for ln in lines if ln.startswith("At the end"))
    options = {m.group(2): m.group(1) for m in
               (re.match(r"^(\([A-Z]\)) (.+)$", ln) for ln in lines) if m}
    m = re.match(r"At the end, which \w+ (?:does (\w+) have|is (\w+) reading)\?$", question)
    if m:
        return options[holds[m.group(1) or m.group(2)]]
    m = re.match(r"At the end, who (?:has the|is reading) (.+)\?$", question)
    assert m, question
    holder = [p for p, item in holds.items() if item == m.group(1)]
    assert len(holder) == 1
    return options[holder[0]]


def defensible_answers(text: str, params: dict) -> set[str]:
    """Every option naming what the replay ends with: confounders are read
    as no-ops, so one person holds each item and each option is distinct."""
    lines = text.splitlines()
    labelled = [m.groups() for m in (re.match(r"^(\([A-Z]\)) (.+)$", ln) for ln in lines) if m]
    right = solve_from_text(text)
    value = dict(labelled)[right]
    return {label for label, option in labelled if option == value}


def test_targets_match_independent_solver_over_grid():
    axes = {"people": [2, 3, 5, 9, 20], "swaps": [0, 1, 4, 12, 40],
            "confounders": [0, 3, 15], "question": ["holder", "item"]}
    task = get_task("shuffle")
    n = 0
    for params, test in grid_samples("shuffle", axes, per_point=7):
        assert test.target == solve_from_text(test.input), test.input
        assert test.response_enum == [f"({chr(65 + i)})" for i in range(params["people"])]
        g = test.genresult
        assert len(g["swaps"]) == params["swaps"]
        assert len(g["confounders"]) == params["confounders"]
        assert g["question"] == params["question"]
        if params["swaps"]:
            assert g["asked_swaps"] >= 1   # the question is about something that moved
        assert json.loads(json.dumps(test.genresult)) == test.genresult
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_every_theme_renders_and_solves():
    for theme in ["balls", "books", "gifts", "mixed"]:
        for _, test in grid_samples("shuffle", {"people": [2, 20]}, 20,
                                    {"theme": theme, "swaps": 10, "confounders": 10}):
            assert test.target == solve_from_text(test.input)


def _test():
    task = get_task("shuffle")
    params = task.schema.validate("shuffle", {"people": 4, "theme": "balls",
                                              "question": "holder"})
    return generate_test(task, 3, params, 0)


@pytest.mark.parametrize("response,expected", [
    ("Track: after swap 1 ...\n\nFinal Answer: (C)", "(C)"),
    ("**Final Answer:** **(B)**", "(B)"),
    ("So the holder is $\\boxed{D}$.", "(D)"),
    ("Final Answer: (a).", "(A)"),
    ("Final Answer: (A)\nWait, I missed swap 3.\nFinal Answer: (D)", "(D)"),
    ("final answer:   B", "(B)"),
    ("I am not sure who has it.", None),
])
def test_extraction(response, expected):
    assert get_task("shuffle").extract(response, _test()) == expected


def test_extraction_by_option_text():
    task = get_task("shuffle")
    test = _test()
    options = test.genresult["options"]
    response = f"Final Answer: {options[0].upper()}, not {options[2]}"
    assert task.extract(response, test) == "(C)"   # the last option named counts
    assert task.extract(f"Final Answer: **{options[1]}**.", test) == "(B)"


def test_no_answer_is_invalid():
    task = get_task("shuffle")
    test = _test()
    verdict = task.score("I cannot tell.", test)
    assert not verdict.is_valid and not verdict.is_correct
