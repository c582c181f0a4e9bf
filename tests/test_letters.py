import json
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from contour.tasks.letters import BANDS
from tests.taskcheck import assert_scores_own_target, grid_samples


def solve_from_text(text: str) -> int:
    """Independent solver: read the asked letters and the word list back from
    the text and count matches with a case-insensitive regex."""
    question, listing = text.split("\n\nWords: ")
    letters = re.findall(r"'([a-z])'", question)
    assert letters, question
    pattern = re.compile("[" + "".join(letters) + "]", re.IGNORECASE)
    return len(pattern.findall(listing))


def defensible_answers(text: str, params: dict) -> set[str]:
    """The prompt says case does not matter, so there is one count."""
    return {str(solve_from_text(text))}


def test_targets_match_independent_solver_over_grid():
    axes = {"words": [1, 3, 8, 20, 60], "word_length": list(BANDS), "letters": [1, 2, 3],
            "case": ["lower", "title", "upper", "mixed", "random"], "density": [0.0, 0.5, 1.0]}
    task = get_task("letters")
    n = 0
    for params, test in grid_samples("letters", axes, per_point=1):
        assert int(test.target) == solve_from_text(test.input), test.input
        g = test.genresult
        shown = test.input.split("Words: ")[1].split(", ")
        assert len(shown) == params["words"] == len(g["words"])
        low, high = BANDS[params["word_length"]]
        assert all(low <= len(w) <= high for w in shown)
        assert [w.casefold() for w in shown] == g["words"]
        assert len(g["letters"]) == params["letters"]
        if params["density"] == 1.0:
            assert g["words_with_letter"] == params["words"]
        assert test.response_enum is None
        assert json.loads(json.dumps(test.genresult)) == test.genresult
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 900
    # a second pass at mid-grid points with more samples each
    for _, test in grid_samples("letters", {"words": [5, 10], "letters": [1, 2]}, 60,
                                {"case": "random", "word_length": "any"}):
        assert int(test.target) == solve_from_text(test.input), test.input
        n += 1
    assert n >= 1000


def test_case_mutations_are_applied():
    def shown(case):
        return [t.input.split("Words: ")[1] for _, t in
                grid_samples("letters", {"case": [case]}, 20, {"words": 10})]
    assert all(s == s.lower() for s in shown("lower"))
    assert all(s == s.upper() for s in shown("upper"))
    assert all(w[0].isupper() and w[1:] == w[1:].lower()
               for s in shown("title") for w in s.split(", "))
    assert any(s != s.lower() and s != s.upper() for s in shown("random"))


def test_word_list_is_clean():
    from contour.tasks.letters import _all_words
    words = _all_words()
    assert len(words) >= 3000
    assert len(set(words)) == len(words)
    assert all(re.fullmatch(r"[a-z]{3,14}", w) for w in words)


def _test():
    task = get_task("letters")
    params = task.schema.validate("letters", {"words": 6})
    return generate_test(task, 1, params, 0)


@pytest.mark.parametrize("template,correct", [
    ("strawberry has 3, mirror has 2, so the total is {t}.\n\nFinal Answer: {t}", True),
    ("**Final Answer:** **{t}**", True),
    ("Adding up: $\\boxed{{{t}}}$", True),
    ("Final Answer: {t}.", True),
    ("Final Answer: {w}\nWait, I missed one.\nFinal Answer: {t}", True),
    ("Final Answer: {t}\nHmm, recount.\nFinal Answer: {w}", False),
    ("final answer:   {t} letters", True),
    ("Final Answer: {w}", False),
])
def test_extraction(template, correct):
    task = get_task("letters")
    test = _test()
    response = template.format(t=test.target, w=int(test.target) + 1)
    verdict = task.score(response, test)
    assert verdict.is_valid, response
    assert verdict.is_correct == correct, (response, verdict)


def test_no_answer_is_invalid():
    verdict = get_task("letters").score("I lost count of the letters.", _test())
    assert not verdict.is_valid and not verdict.is_correct
