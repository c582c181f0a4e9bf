import random
import re

import pytest

from contour.errors import ContourError
from contour.tasks import get_task
from contour.tasks.objects import CATEGORIES
from tests.taskcheck import assert_scores_own_target, grid_samples

# The solver's own number words; it shares only the category word lists
# (world knowledge) with the generator, never its rendering code.
_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve "
          "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()
_QUANTITY = {w: i for i, w in enumerate(_SMALL)} | {"a": 1, "an": 1}


def _noun_index() -> dict[str, str]:
    index = {}
    for category, items in CATEGORIES.items():
        for entry in items:
            for form in entry.split("/"):
                assert index.get(form, category) == category, form
                index[form] = category
    return index


_NOUNS = _noun_index()


# Produce that botany and the kitchen file differently: botanical fruits
# cooked as vegetables, and a vegetable eaten as a fruit. The solver's own
# knowledge, not the generator's lists.
_BOTANICAL_FRUITS = {"zucchini", "zucchinis", "eggplant", "eggplants", "tomato", "tomatoes",
                     "cucumber", "cucumbers", "pumpkin", "pumpkins", "pepper", "peppers",
                     "avocado", "avocados", "olive", "olives", "okra", "squash", "squashes"}
_BOTANICAL_VEGETABLES = {"rhubarb", "rhubarbs"}


def _botanical(noun: str) -> str:
    if noun in _BOTANICAL_FRUITS:
        return "fruits"
    if noun in _BOTANICAL_VEGETABLES:
        return "vegetables"
    return _NOUNS[noun]


def defensible_answers(text: str, params: dict) -> set[str]:
    """The count in the kitchen sense and, unless the text fixes that sense,
    in the botanical one too."""
    found = {str(solve_from_text(text))}
    if "kitchen sense" not in text:
        found.add(str(solve_from_text(text, _botanical)))
    return found


def solve_from_text(text: str, category_of=None) -> int:
    """Re-read the story sentence by sentence and keep a ledger of my items."""
    category_of = category_of or _NOUNS.__getitem__
    question = re.search(r"How many (.+) do I have\?", text)
    asked = question.group(1)
    body = text[:question.start()].strip()
    assert text[question.end():] in ("", " (Fruits and vegetables are meant in the everyday "
                                         "kitchen sense, not the botanical one.)"), text
    sentences = re.findall(r"[^.]+\.", body)
    opening = sentences[0].strip()
    assert opening.startswith("I have ") and opening.endswith(".")
    ledger: dict[str, int] = {}
    for part in re.split(r", and |, | and ", opening[len("I have "):-1]):
        qty, noun = part.split(" ", 1)
        assert noun not in ledger, "an item is listed twice"
        ledger[noun] = _QUANTITY[qty]
    # Plural and singular both name one ledger entry.
    aliases = {}
    for entry in (e for items in CATEGORIES.values() for e in items):
        singular, plural = entry.split("/")
        aliases[singular] = aliases[plural] = plural
    ledger = {aliases[n]: q for n, q in ledger.items()}

    for sentence in (s.strip() for s in sentences[1:]):
        if sentence.startswith("My "):
            continue  # someone else's possessions
        m = re.fullmatch(r"Then I (?:gave away|lost|sold) (.+)\.", sentence)
        if m:
            what = m.group(1)
            if what.startswith("all of my "):
                ledger[aliases[what[len("all of my "):]]] = 0
            elif what.startswith("my "):
                ledger[aliases[what[3:]]] -= 1
            else:
                qty, noun = re.fullmatch(r"(\w+) of my (.+)", what).groups()
                ledger[aliases[noun]] -= _QUANTITY[qty]
            continue
        m = re.fullmatch(r"Then I bought (\w+) (?:more )?(.+)\.", sentence)
        assert m, sentence
        ledger[aliases[m.group(2)]] += _QUANTITY[m.group(1)]
    assert all(v >= 0 for v in ledger.values())
    return sum(q for noun, q in ledger.items() if category_of(noun) == asked)


AXES = {"items": [1, 3, 6, 10, 16], "max_quantity": [1, 4, 12, 20],
        "distractors": [0.0, 0.5, 0.9], "changes": [0, 3, 8], "noise": [0, 4]}


def test_targets_match_independent_solver_over_grid():
    task = get_task("objects")
    n = 0
    seen_distractors = seen_changes = 0
    for params, test in grid_samples("objects", AXES, per_point=3):
        assert int(test.target) == solve_from_text(test.input), test.input
        g = test.genresult
        assert len(g["mentions"]) == params["items"]
        assert len(g["changes"]) == params["changes"] and len(g["noise"]) == params["noise"]
        assert g["has_distractors"] == (g["distractor_mentions"] > 0)
        assert any(m["relevant"] for m in g["mentions"])
        assert all(m["quantity"] <= params["max_quantity"] for m in g["mentions"])
        assert test.response_enum is None
        seen_distractors += g["has_distractors"]
        seen_changes += any(c["relevant"] for c in g["changes"])
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000
    assert seen_distractors > 300 and seen_changes > 100


def test_no_distractors_means_one_category():
    for _, test in grid_samples("objects", {"items": [8]}, 20, {"distractors": 0.0}):
        assert {m["relevant"] for m in test.genresult["mentions"]} == {True}


def test_word_lists_are_unambiguous():
    for items in CATEGORIES.values():
        assert len(items) >= 16
        for entry in items:
            singular, plural = entry.split("/")
            assert singular[0] not in "u", "article rule assumes no 'u' start"


def _a_test():
    return next(t for _, t in grid_samples("objects", {"items": [4]}, 1))


@pytest.mark.parametrize("response,expected", [
    ("I have a violin and two pianos, so 1 + 2 = 3.\n\nFinal Answer: 3", "3"),
    ("**Final Answer:** **12**", "12"),
    ("Counting everything gives $\\boxed{7}$.", "7"),
    ("Final Answer: 5.", "5"),
    ("Final Answer: 4\nWait, I forgot the flute.\nFinal Answer: 5", "5"),
    ("final answer:   9 musical instruments", "9"),
    ("Final Answer: seven", "7"),
    ("Final Answer: Twenty-three", "23"),
    ("Final Answer: 7 (a violin and six pianos)", "7"),
    ("I am not sure how to count these.", None),
])
def test_extraction(response, expected):
    assert get_task("objects").extract(response, _a_test()) == expected


def test_no_answer_is_invalid_and_bold_answer_counts():
    task = get_task("objects")
    test = _a_test()
    verdict = task.score("I cannot tell.", test)
    assert not verdict.is_valid and not verdict.is_correct
    verdict = task.score(f"**Final Answer:** {test.target}.", test)
    assert verdict.is_valid and verdict.is_correct


def test_produce_questions_state_the_kitchen_sense():
    asked_produce = 0
    for _, test in grid_samples("objects", {"items": [3, 8]}, 120, {"distractors": 0.5}):
        produce = test.genresult["category"] in ("fruits", "vegetables")
        assert ("kitchen sense" in test.input) == produce
        asked_produce += produce
    assert asked_produce > 50
    text = "I have three zucchinis and two potatoes. How many vegetables do I have?"
    assert defensible_answers(text, {}) == {"5", "2"}
