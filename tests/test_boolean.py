import ast
import json
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

# The solver's own reading of each notation: token text -> token kind.
_TOKENS = {
    "python": {"True": 1, "False": 0, "and": "AND", "or": "OR", "^": "XOR", "not": "NOT"},
    "c": {"true": 1, "false": 0, "&&": "AND", "||": "OR", "^": "XOR", "!": "NOT"},
    "symbolic": {"T": 1, "F": 0, "&": "AND", "|": "OR", "^": "XOR", "~": "NOT"},
    "logic": {"T": 1, "F": 0, "∧": "AND", "∨": "OR", "⊕": "XOR", "¬": "NOT"},
    "words": {"TRUE": 1, "FALSE": 0, "AND": "AND", "OR": "OR", "XOR": "XOR", "NOT": "NOT"},
    "bits": {"1": 1, "0": 0, "&": "AND", "|": "OR", "^": "XOR", "!": "NOT"},
}


def _expression(text: str) -> str:
    return re.search(r"Expression: (.*)\n", text).group(1)


def solve_from_text(text: str, notation: str, precedence: bool = True) -> bool:
    """Independent solver: tokenise the rendered text, then recursive descent
    with NOT > XOR > AND > OR (XOR never meets AND/OR unparenthesised), or,
    without `precedence`, AND and OR at one level, read left to right."""
    table = _TOKENS[notation]
    words = sorted(table, key=len, reverse=True)
    pattern = "|".join(re.escape(w) for w in words) + r"|\(|\)"
    expr = _expression(text)
    tokens = re.findall(pattern, expr)
    assert "".join(tokens) == expr.replace(" ", ""), expr
    kinds = [table.get(t, t) for t in tokens]
    pos = 0

    def peek():
        return kinds[pos] if pos < len(kinds) else None

    def take():
        nonlocal pos
        pos += 1
        return kinds[pos - 1]

    def disjunction():
        if not precedence:
            value = exclusive()
            while peek() in ("AND", "OR"):
                op = take()
                rhs = exclusive()
                value = (value and rhs) if op == "AND" else (value or rhs)
            return value
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    def conjunction():
        value = exclusive()
        while peek() == "AND":
            take()
            value = exclusive() and value
        return value

    def exclusive():
        value = unary()
        while peek() == "XOR":
            take()
            value = unary() != value
        return value

    def unary():
        kind = take()
        if kind == "NOT":
            return not unary()
        if kind == "(":
            value = disjunction()
            assert take() == ")"
            return value
        assert kind in (0, 1), kind
        return bool(kind)

    result = disjunction()
    assert pos == len(kinds)
    return result


def python_eval(text: str) -> bool:
    """The Python notation must mean what it says to Python itself."""
    def ev(node):
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not ev(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            return ev(node.left) ^ ev(node.right)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        raise AssertionError(f"unexpected node {node!r}")

    return ev(ast.parse(_expression(text), mode="eval").body)


_INTROS = {"It uses Python syntax": "python", "It uses C operators": "c",
           "It uses symbols": "symbolic", "It uses logic notation": "logic",
           "It is written in words": "words", "It uses bits": "bits"}


def defensible_answers(text: str, params: dict) -> set[str]:
    """The value under every reading the text leaves open: AND before OR
    only where the text says so (else left to right as well), and Python's
    own grammar for Python syntax."""
    notation = next(n for intro, n in _INTROS.items() if intro in text)
    values = {solve_from_text(text, notation)}
    if "AND binds tighter than OR" not in text:
        values.add(solve_from_text(text, notation, precedence=False))
    if notation == "python":
        values.add(python_eval(text))
    return {str(v) for v in values}


def test_targets_match_independent_solver_over_grid():
    axes = {"length": [2, 3, 6, 12, 24], "depth": [0, 1, 3], "negation": [0.0, 0.5],
            "notation": ["python", "c", "symbolic", "logic", "words", "bits", "any"],
            "ops": ["and_or", "and_or_xor"], "mixed": [False, True]}
    task = get_task("boolean")
    n = trues = 0
    for params, test in grid_samples("boolean", axes, per_point=2):
        notation = test.genresult["notation"]
        value = solve_from_text(test.input, notation)
        assert test.target == str(value), test.input
        if notation == "python":
            assert python_eval(test.input) == value, test.input
        assert test.genresult["nesting"] == min(params["depth"], params["length"] - 2)
        assert test.response_enum == ["True", "False"]
        assert json.loads(json.dumps(test.genresult)) == test.genresult
        assert_scores_own_target(task, test)
        n += 1
        trues += value
    assert n >= 1000
    assert 0.4 < trues / n < 0.6


def test_knobs_show_in_the_structure():
    for _, test in grid_samples("boolean", {"mixed": [True]}, 30,
                                {"length": 8, "depth": 0, "ops": "and_or"}):
        assert test.genresult["xor_groups"] == 0
    assert any(t.genresult["mixed_groups"] for _, t in
               grid_samples("boolean", {"mixed": [True]}, 30, {"length": 8, "depth": 0}))
    assert all(t.genresult["nots"] == 0 for _, t in
               grid_samples("boolean", {"negation": [0.0]}, 30, {"length": 8}))


def _test(notation: str):
    task = get_task("boolean")
    params = task.schema.validate("boolean", {"notation": notation, "length": 3})
    return generate_test(task, 1, params, 0)


@pytest.mark.parametrize("notation,response,expected", [
    ("python", "not False is True; True and True is True.\n\nFinal Answer: True", "True"),
    ("python", "**Final Answer:** **False**", "False"),
    ("python", "So the value is $\\boxed{\\text{True}}$.", "True"),
    ("python", "Final Answer: false.", "False"),
    ("python", "Final Answer: True\nWait, the AND fails.\nFinal Answer: False", "False"),
    ("words", "final answer:   TRUE", "True"),
    ("words", "The expression isn't true... it evaluates to FALSE", "False"),
    ("symbolic", "Final Answer: F", "False"),
    ("symbolic", "Final Answer: F, don't you think", "False"),
    ("logic", "Final Answer: **T**", "True"),
    ("bits", "Final Answer: 1", "True"),
    ("bits", "Final Answer: 0.", "False"),
    # outside their own notation, T/F and 1/0 are not answers
    ("python", "Final Answer: T", None),
    ("words", "Final Answer: 1", None),
    ("python", "I am not sure how to do this.", None),
])
def test_extraction(notation, response, expected):
    task = get_task("boolean")
    test = _test(notation)
    verdict = task.score(response, test)
    assert verdict.normalized_answer == expected
    assert verdict.is_valid == (expected is not None)
    assert verdict.is_correct == (expected == test.target)


def test_no_answer_is_invalid_and_wrong_answer_is_valid():
    task = get_task("boolean")
    test = _test("python")
    verdict = task.score("I cannot solve it.", test)
    assert not verdict.is_valid and not verdict.is_correct
    wrong = "False" if test.target == "True" else "True"
    verdict = task.score(f"Final Answer: {wrong}", test)
    assert verdict.is_valid and not verdict.is_correct
