import csv
import re
from pathlib import Path

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

DATA = Path(__file__).resolve().parent.parent / "tasks" / "data" / "movies.csv"
GENRES = {"Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Drama",
          "Family", "Fantasy", "History", "Horror", "Music", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Sport", "Thriller", "War", "Western"}


def read_table() -> dict[str, tuple[set[str], set[str]]]:
    """title -> (genres, themes), read straight from the CSV."""
    with DATA.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    table = {r["title"]: (set(r["genres"].split("|")), set(r["themes"].split("|")))
             for r in rows}
    assert len(table) == len(rows), "duplicate titles"
    return table


TABLE = read_table()


def solve_from_text(text: str) -> tuple[str, set[str], list[tuple[str, str]]]:
    """Independent solver: look the titles up in the CSV, intersect the
    references' genres and themes, and pick the one option carrying them all.
    Returns the label, the shared genres and the (label, title) options."""
    first, *rest = text.splitlines()
    m = re.fullmatch(r"Which movie belongs with this group: (.+)\?", first)
    refs = m.group(1).split(", ")
    shared_genres = set.intersection(*(TABLE[t][0] for t in refs))
    shared_themes = set.intersection(*(TABLE[t][1] for t in refs))
    options = [re.fullmatch(r"(\([A-Z]\)) (.+)", ln).groups() for ln in rest
               if re.fullmatch(r"\([A-Z]\) .+", ln)]
    fits = [label for label, title in options
            if shared_genres <= TABLE[title][0] and shared_themes <= TABLE[title][1]]
    assert len(fits) == 1, (text, fits)
    return fits[0], shared_genres, options


def _film_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for genres, _ in TABLE.values():
        for g in genres:
            counts[g] = counts.get(g, 0) + 1
    return counts


FILM_COUNTS = _film_counts()


def defensible_answers(text: str, params: dict) -> set[str]:
    """The options that carry every label the group shares, and the wrong
    options too close to call: those sharing any of the group's labels
    beyond its broadest genre (the shared genre most films carry, such as
    Drama). A political history drama beside a group of biographical
    history dramas is such an option: telling it from the answer hinges
    on one tag of the table, not on what the films are."""
    first, *rest = text.splitlines()
    refs = re.fullmatch(r"Which movie belongs with this group: (.+)\?", first).group(1).split(", ")
    genres = set.intersection(*(TABLE[t][0] for t in refs))
    themes = set.intersection(*(TABLE[t][1] for t in refs))
    broadest = sorted(genres, key=lambda g: (-FILM_COUNTS[g], g))[0]   # ties: first by name
    options = [re.fullmatch(r"(\([A-Z]\)) (.+)", ln).groups() for ln in rest
               if re.fullmatch(r"\([A-Z]\) .+", ln)]
    found = set()
    for label, title in options:
        g, t = TABLE[title]
        if genres <= g and themes <= t:
            found.add(label)
        elif (g & genres) - {broadest} or t & themes:
            found.add(label)
    return found


def test_table_is_large_and_consistent():
    assert len(TABLE) >= 300
    for title, (genres, themes) in TABLE.items():
        assert genres <= GENRES, (title, genres - GENRES)
        assert 1 <= len(genres) <= 5 and themes and "" not in themes, title
        # Every biography is a true story, so the label never splits them.
        assert "Biography" not in genres or "true story" in themes, title
        assert ", " not in title and not title.endswith("?"), title
        assert all(t == t.lower().strip() for t in themes), title


def test_targets_match_independent_solver_over_grid():
    axes = {"reference_count": [2, 3, 5, 8], "choice_count": [2, 3, 5, 8, 12],
            "distractors": ["unrelated", "related"]}
    task = get_task("movies")
    n = 0
    for params, test in grid_samples("movies", axes, per_point=30):
        label, shared_genres, options = solve_from_text(test.input)
        assert test.target == label
        g = test.genresult
        assert len(shared_genres) >= 2 and set(g["selected_genres"]) == shared_genres
        assert len(g["reference_movies"]) == params["reference_count"]
        assert len(options) == params["choice_count"] == len(set(g["choices"]))
        shared = shared_genres | set(g["selected_themes"])
        for opt_label, title in options:
            if opt_label == label:
                continue
            genres, themes = TABLE[title]
            # No distractor carries the group's defining genres.
            assert not shared_genres <= genres, (title, shared_genres)
            assert title not in g["reference_movies"]
            if params["distractors"] == "unrelated":
                assert not (genres | themes) & shared, (title, shared)
            else:
                assert genres & shared_genres, (title, shared_genres)
                assert not themes & set(g["selected_themes"]), (title, shared)
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def _test(choices=6):
    return next(t for _, t in grid_samples("movies", {"choice_count": [choices]}, 1))


@pytest.mark.parametrize("template,correct", [
    ("The group are all crime dramas...\n\nFinal Answer: {label}", True),
    ("**Final Answer:** **{label}**", True),
    ("So the pick is $\\boxed{{{label}}}$.", True),
    ("Final Answer: {label}.", True),
    ("Final Answer: {other}\nWait, that one is a comedy.\nFinal Answer: {label}", True),
    ("final answer:   {lower}", True),
    ("Final Answer: {label} {title}", True),
    ("Final Answer: {title}", True),
    ("Final Answer: **{title}**", True),
    ("Final Answer: {other}", False),
])
def test_extraction(template, correct):
    task = get_task("movies")
    test = _test()
    label = test.target
    other = next(lb for lb in test.response_enum if lb != label)
    response = template.format(label=label, other=other, lower=label.lower(),
                               title=test.genresult["answer"])
    verdict = task.score(response, test)
    assert verdict.is_valid and verdict.is_correct == correct, (response, verdict)


def test_title_with_initials_or_punctuation_is_not_a_bare_letter():
    from contour.spec.task import Test
    task = get_task("movies")
    test = Test(input="", target="(A)", response_enum=["(A)", "(B)", "(C)", "(D)", "(E)"],
                guess_chance=0.2, genresult={"choices": [
                    "E.T. the Extra-Terrestrial", "Alien", "Aliens", "Airplane!", "Rocky"]})
    assert task.extract("Final Answer: E.T. the Extra-Terrestrial", test) == "(A)"
    assert task.extract("Final Answer: Aliens", test) == "(C)"
    assert task.extract("Final Answer: **Airplane!**", test) == "(D)"
    assert task.extract("Final Answer: D", test) == "(D)"


def test_no_answer_is_invalid():
    verdict = get_task("movies").score("These films have nothing in common.", _test())
    assert not verdict.is_valid and not verdict.is_correct


def test_related_options_share_only_the_broadest_genre():
    n = 0
    for _, test in grid_samples("movies", {"reference_count": [2, 3, 5]}, 60,
                                {"distractors": "related", "choice_count": 8}):
        label, shared_genres, options = solve_from_text(test.input)
        broadest = sorted(shared_genres, key=lambda g: (-FILM_COUNTS[g], g))[0]
        themes = set(test.genresult["selected_themes"])
        for opt_label, title in options:
            if opt_label != label:
                genres, own_themes = TABLE[title]
                assert genres & shared_genres == {broadest} and not own_themes & themes, title
                n += 1
    assert n > 1000


def test_reader_flags_an_option_that_lacks_only_one_tag():
    # The example: JFK shares History with the group, lacking Biography.
    text = ("Which movie belongs with this group: The Post, The King's Speech, Frost/Nixon?"
            "\n\nOptions:\n(A) JFK\n(B) Braveheart")
    assert defensible_answers(text, {}) == {"(A)", "(B)"}
