import itertools
import random
import json

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}
_MATCH = {v: k for k, v in _PAIRS.items()}


def solve_from_text(text: str) -> str:
    """Independent solver: scan the rendered sequence with a stack."""
    sequence = text.split("Sequence:", 1)[1]
    stack = []
    for ch in sequence:
        if ch in _MATCH:
            stack.append(ch)
        elif ch in _PAIRS:
            assert stack and stack[-1] == _PAIRS[ch], sequence
            stack.pop()
    assert stack, "a prefix with nothing open has no completion"
    return " ".join(_MATCH[ch] for ch in reversed(stack))


def defensible_answers(text: str, params: dict) -> set[str]:
    """Letters are declared noise; the shortest completion is the only one."""
    return {solve_from_text(text)}


def test_targets_match_independent_solver_over_grid():
    axes = {"open": [1, 2, 5, 12, 40], "pairs": [0, 1, 4, 15, 60], "types": [1, 2, 4],
            "noise": [0.0, 0.3], "spacing": ["spaced", "none"]}
    task = get_task("brackets")
    n = 0
    for params, test in grid_samples("brackets", axes, per_point=4):
        assert test.target == solve_from_text(test.input), test.input
        g = test.genresult
        assert len(g["prefix"]) == 2 * params["pairs"] + params["open"]
        assert len(test.target.split()) == params["open"]
        kinds = params["types"]
        assert set(g["prefix"]) <= set("([{<"[:kinds] + ")]}>"[:kinds])
        assert (g["noise_symbols"] > 0) <= (params["noise"] > 0)
        assert test.response_enum is None
        assert json.loads(json.dumps(test.genresult)) == test.genresult
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_prefixes_are_uniform():
    # Every length-7 walk of one bracket kind that never closes more than it
    # opened and ends with one bracket open should be about equally likely.
    def valid(seq):
        depth = 0
        for ch in seq:
            depth += 1 if ch == "(" else -1
            if depth < 0:
                return False
        return depth == 1

    shapes = {"".join(s): 0 for s in itertools.product("()", repeat=7) if valid(s)}
    task = get_task("brackets")
    params = task.schema.validate("brackets", {"open": 1, "pairs": 3, "types": 2})
    for k in range(4200):
        prefix = task.generate(random.Random(k), dict(params)).genresult["prefix"]
        shapes[prefix.translate(str.maketrans("[]", "()"))] += 1
    assert len(shapes) == 14
    assert min(shapes.values()) > 0.75 * 4200 / 14
    assert max(shapes.values()) < 1.25 * 4200 / 14


def _test():
    task = get_task("brackets")
    params = task.schema.validate("brackets", {"open": 4, "pairs": 2})
    test = generate_test(task, 3, params, 0)
    assert "}" in test.target  # so the boxed cases exercise brace handling
    return test


@pytest.mark.parametrize("template,correct", [
    ("The stack holds {stack}.\nFinal Answer: {target}", True),
    ("**Final Answer:** **{compact}**", True),
    ("So we append $\\boxed{{{compact}}}$", True),
    ("Final Answer: $\\boxed{{{latex}}}$", True),
    ("Final Answer: {commas}.", True),
    ("Final Answer: `{target}`", True),
    ("final answer:   {compact}  ", True),
    ("Final Answer: {wrong}\nWait, one is missing.\nFinal Answer: {target}", True),
    ("Final Answer: {target}\nHmm, no.\nFinal Answer: {wrong}", False),
    ("Final Answer: {prefix} {target}", True),
    ("We must add {target} (the open ones, innermost first)", True),
    ("Final Answer: {wrong}", False),
])
def test_extraction(template, correct):
    task = get_task("brackets")
    test = _test()
    closers = test.target.split()
    response = template.format(
        target=test.target, compact="".join(closers), commas=", ".join(closers),
        wrong=" ".join(closers[:-1]), prefix=" ".join(test.genresult["prefix"]),
        stack=test.genresult["open_stack"], latex=" ".join(closers).replace("}", "\\}"))
    verdict = task.score(response, test)
    assert verdict.is_valid, response
    assert verdict.is_correct == correct, (response, verdict)


def test_no_answer_is_invalid():
    verdict = get_task("brackets").score("I cannot tell which brackets are open.", _test())
    assert not verdict.is_valid and not verdict.is_correct
