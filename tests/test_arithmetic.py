import ast
import operator

import pytest

from contour.errors import ContourError
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def solve_from_text(text: str) -> int:
    """Independent solver: parse the rendered text with Python's own grammar."""
    expr = text.removeprefix("Evaluate:").removesuffix("=").strip()

    def ev(node):
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Constant):
            return node.value
        raise AssertionError(f"unexpected node {node!r}")

    return ev(ast.parse(expr, mode="eval").body)


def defensible_answers(text: str, params: dict) -> set[str]:
    """The prompt states the precedence, so Python's grammar is the only reading."""
    return {str(solve_from_text(text))}


def test_targets_match_independent_solver_over_grid():
    axes = {"length": [2, 3, 5, 8, 16], "depth": [0, 1, 3, 6], "digits": [1, 3],
            "ops": ["+-", "+-*"], "spacing": ["normal", "none", "random"]}
    task = get_task("arithmetic")
    n = 0
    for params, test in grid_samples("arithmetic", axes, per_point=5, fixed={"negatives": True}):
        assert int(test.target) == solve_from_text(test.input), test.input
        # depth is exact, as far as the operands allow (two cannot nest)
        assert test.genresult["nesting"] == min(params["depth"], params["length"] - 2)
        assert test.input.count("(") - test.input.count("(-") >= test.genresult["nesting"]
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_spacing_none_removes_whitespace():
    for _, test in grid_samples("arithmetic", {"length": [6]}, 20, {"spacing": "none", "depth": 2}):
        expr = test.input.removeprefix("Evaluate: ").removesuffix(" =")
        assert " " not in expr


@pytest.mark.parametrize("response,expected", [
    ("Let me compute. 3*4 = 12, then 12 - 5 = 7.\n\nFinal Answer: 7", "7"),
    ("**Final Answer:** **-12**", "-12"),
    ("The result is $\\boxed{42}$.", "42"),
    ("Final Answer: 1,234.", "1234"),
    ("Final Answer: 5\nWait, I made an error.\nFinal Answer: 6", "6"),
    ("final answer:   19", "19"),
    ("I am not sure how to do this.", None),
])
def test_extraction(response, expected):
    task = get_task("arithmetic")
    test = next(t for _, t in grid_samples("arithmetic", {"length": [3]}, 1))
    assert task.extract(response, test) == expected


def test_no_answer_is_invalid():
    task = get_task("arithmetic")
    test = next(t for _, t in grid_samples("arithmetic", {"length": [3]}, 1))
    verdict = task.score("I cannot solve it.", test)
    assert not verdict.is_valid and not verdict.is_correct
