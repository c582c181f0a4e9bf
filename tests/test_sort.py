import json
import random
import re

import pytest

from contour.errors import ContourError
from contour.spec import task as contract
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples


def _before(a: str, b: str) -> bool:
    """a < b letter by letter, ignoring case; a proper prefix comes first."""
    for x, y in zip(a.lower(), b.lower()):
        if x != y:
            return x < y
    return len(a) < len(b)


def solve_from_text(text: str) -> list[str]:
    """Independent solver: read the words back and insertion-sort them."""
    descending = "reverse alphabetical" in text.splitlines()[0]
    words = re.search(r"^Words: (.+)$", text, re.MULTILINE).group(1).split()
    out: list[str] = []
    for w in words:
        i = 0
        while i < len(out) and (_before(out[i], w) != descending):
            i += 1
        out.insert(i, w)
    return out


def defensible_answers(text: str, params: dict) -> set[str]:
    """Every ordering that sorts the words ignoring case: more than one only
    if two words were equal ignoring case (they would be interchangeable)."""
    words = solve_from_text(text)
    folded = [w.casefold() for w in words]
    if len(set(folded)) < len(folded):
        return {", ".join(words), ", ".join(reversed(words))}
    return {", ".join(words)}


AXES = {"length": [2, 3, 7, 15, 30, 60], "case": ["none", "capitalised", "random"],
        "prefix": [0, 1, 2, 3, 4], "order": ["ascending", "descending"]}


def test_targets_match_independent_solver_over_grid():
    task = get_task("sort")
    n = 0
    for params, test in grid_samples("sort", AXES, per_point=6):
        solved = solve_from_text(test.input)
        assert test.target == ", ".join(solved), test.input
        shown = test.genresult["words"]
        assert len(shown) == params["length"] == len({w.lower() for w in shown})
        if params["case"] == "none":
            assert all(w.islower() for w in shown)
        assert test.response_enum is None
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_prefix_clusters_share_letters():
    # With clustering, most sorted neighbours share at least k letters.
    for k in (2, 3, 4):
        for _, test in grid_samples("sort", {"length": [10]}, 30, {"prefix": k}):
            words = [w.lower() for w in test.genresult["sorted"]]
            shared = sum(1 for a, b in zip(words, words[1:]) if a[:k] == b[:k])
            assert shared >= len(words) // 2, words


def test_case_mutations_happen():
    mutated = sum(t.genresult["mutated"] for _, t in
                  grid_samples("sort", {"case": ["capitalised", "random"]}, 20, {"length": 10}))
    assert mutated > 100


def _fixed_test():
    return contract.Test("Sort...\nWords: Cherry apple banana", "apple, banana, Cherry",
                genresult={"words": ["Cherry", "apple", "banana"]})


@pytest.mark.parametrize("response,correct", [
    ("apple < banana < cherry, so:\n\nFinal Answer: apple, banana, Cherry", True),
    ("**Final Answer:** **apple, banana, cherry**", True),
    ("The order is $\\boxed{apple, banana, cherry}$.", True),
    ("Final Answer: apple, banana, cherry.", True),
    ("Final Answer: banana, apple, cherry\nWait, a comes first.\n"
     "Final Answer: apple, banana, cherry", True),
    ("final answer:   APPLE BANANA   cherry", True),
    ("Final Answer: apple, banana and cherry", True),
    ("Final Answer: The sorted list is: apple, banana, cherry", True),
    ("Final Answer:\n1. apple\n2. banana\n3. cherry\n\nHope this helps.", True),
    ("Final Answer:\n- apple\n- banana\n- cherry", True),
    ("Final Answer: `apple`, `banana`, `cherry`", True),
    ("Final Answer: apple, cherry, banana", False),
    ("Final Answer: apple, banana", False),
    ("Final Answer: apple, banana, cherry, cherry", False),
])
def test_scoring_of_realistic_responses(response, correct):
    verdict = get_task("sort").score(response, _fixed_test())
    assert verdict.is_valid
    assert verdict.is_correct == correct, verdict


@pytest.mark.parametrize("response", ["", "I cannot sort these.\n\nFinal Answer: ???",
                                      "Final Answer:"])
def test_no_answer_is_invalid(response):
    verdict = get_task("sort").score(response, _fixed_test())
    assert not verdict.is_valid and not verdict.is_correct


def test_last_line_fallback_without_marker():
    verdict = get_task("sort").score("Let me sort.\napple, banana, Cherry", _fixed_test())
    assert verdict.is_valid and verdict.is_correct
