"""movies: pick the film that belongs with a group by shared genres and themes.

A group of reference films is listed; every one of them carries a common
signature of labels: two or more genres, often with themes as well (e.g.
Biography + Drama + "true story"). Exactly one option carries the whole
signature too; every other option lacks every signature label except at
most the broadest genre. The film table (`data/movies.csv`: title, year, genres and themes
from a controlled vocabulary, both pipe-separated) was written for this
project. Genres are generous (up to five, every genre most viewers would
grant), because an option counts as wrong for *lacking* a genre, and a
missing obvious genre would make a wrong option look right.

Axes (each makes the problem harder for a different reason):
- `reference_count`: films in the group. Fewer films leave more labels
  shared by chance, so the common thread is less evident, and each film's
  genres must be recalled without support from the others; more films
  make a longer list to recall.
- `choice_count`: number of options; more candidates to recall and reject,
  and a uniform guess gets less likely.
- `distractors`: "unrelated" options share no label at all with the
  signature (any overlap already points at the answer); "related" options
  share the signature's broadest genre (the one most films of the table
  carry, e.g. Drama) and nothing else of it, so the shared genre no longer
  singles out the answer and the group's distinctive labels must be
  recalled. They never share a distinctive genre or a theme: a wrong
  option that lacked only one of the group's labels (a political history
  drama beside a group of biographical history dramas) would hinge on the
  exact tags of the table rather than on what the films are.

The signature is, by construction, exactly the set of labels that all
reference films share (their intersection), and the answer carries all of
it, so the target follows from the table and not from the text.
"""

from __future__ import annotations

import csv
import functools
import itertools
import random
import re
from pathlib import Path
from typing import Any, NamedTuple

from contour.spec import answers
from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import ChoiceTask, Instructions, Measure, Test
from contour.tasks.registry import register

DATA = Path(__file__).parent / "data" / "movies.csv"
_MAX_GROUP_TRIES = 20


class Film(NamedTuple):
    title: str
    year: int
    genres: tuple[str, ...]
    themes: tuple[str, ...]
    tags: frozenset[str]          # "g:<genre>" and "t:<theme>"


def _tags(genres: tuple[str, ...], themes: tuple[str, ...]) -> frozenset[str]:
    return frozenset([f"g:{g}" for g in genres] + [f"t:{t}" for t in themes])


@functools.lru_cache(maxsize=1)
def load_films() -> tuple[Film, ...]:
    """The film table, read once per process."""
    films = []
    with DATA.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            genres = tuple(row["genres"].split("|"))
            themes = tuple(t for t in row["themes"].split("|") if t)
            films.append(Film(row["title"], int(row["year"]), genres, themes,
                              _tags(genres, themes)))
    return tuple(films)


@functools.lru_cache(maxsize=None)
def signatures(min_members: int) -> tuple[tuple[frozenset[str], tuple[int, ...]], ...]:
    """Every label set of two or three labels, at least two of them genres,
    that at least `min_members` films carry, with those films' indices;
    sorted so the order never depends on hashing."""
    members: dict[frozenset[str], list[int]] = {}
    for i, film in enumerate(load_films()):
        for size in (2, 3):
            for combo in itertools.combinations(sorted(film.tags), size):
                if sum(tag.startswith("g:") for tag in combo) >= 2:
                    members.setdefault(frozenset(combo), []).append(i)
    found = [(sig, tuple(ids)) for sig, ids in members.items() if len(ids) >= min_members]
    return tuple(sorted(found, key=lambda item: sorted(item[0])))


def _common(films: list[Film]) -> frozenset[str]:
    return frozenset.intersection(*(f.tags for f in films))


def _genres_of(tags: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in tags if t.startswith("g:"))


def _draw_group(rng: random.Random, films: tuple[Film, ...], refs: int
                ) -> tuple[list[int], int, frozenset[str]]:
    """Reference film indices, the answer index and the shared signature.
    The answer is a group member that carries every label the others share,
    so the references' intersection is the signature exactly."""
    table = signatures(refs + 1)
    while True:
        _, ids = table[rng.randrange(len(table))]
        for _ in range(_MAX_GROUP_TRIES):
            group = rng.sample(ids, refs + 1)
            signature = _common([films[i] for i in group])
            order = list(group)
            rng.shuffle(order)
            for answer in order:
                others = [i for i in group if i != answer]
                if _common([films[i] for i in others]) == signature:
                    return others, answer, signature


@functools.lru_cache(maxsize=1)
def genre_counts() -> dict[str, int]:
    """How many films of the table carry each genre tag."""
    counts: dict[str, int] = {}
    for film in load_films():
        for tag in film.tags:
            if tag.startswith("g:"):
                counts[tag] = counts.get(tag, 0) + 1
    return counts


def broadest_genre(signature: frozenset[str]) -> str:
    """The signature genre most films carry (ties: the first by name)."""
    counts = genre_counts()
    return min(_genres_of(signature), key=lambda g: (-counts[g], g))


def _pick_distractors(rng: random.Random, films: tuple[Film, ...], exclude: set[int],
                      signature: frozenset[str], n: int, mode: str) -> list[int] | None:
    """n films that clearly lack the signature: "unrelated" ones share no
    label with it, "related" ones share exactly its broadest genre."""
    if mode == "unrelated":
        allowed: frozenset[str] = frozenset()
    else:
        allowed = frozenset([broadest_genre(signature)])
    pool = [i for i in range(len(films))
            if i not in exclude and films[i].tags & signature == allowed]
    return rng.sample(pool, n) if len(pool) >= n else None


@register
class Movies(ChoiceTask):
    name = "movies"
    version = 2
    description = "Pick the film that shares a group's genres and themes."
    schema = ParamSchema({
        "reference_count": Int(3, 2, 8, "number of films in the reference group"),
        "choice_count": Int(4, 2, 12, "number of answer options"),
        "distractors": Choice("unrelated", ["unrelated", "related"],
                              "wrong options share no label with the group, or as many "
                              "labels as possible while lacking one of its genres"),
    })
    instructions = Instructions(
        direct="The films in the group share some genres and themes; exactly one option "
               "shares all of them. Respond with only the option letter in parentheses, "
               "like (A), as 'Final Answer: (<letter>)'.",
        cot="The films in the group share some genres and themes; exactly one option "
            "shares all of them. Think step by step, then end with a line "
            "'Final Answer: (<letter>)' naming one option, like (A).",
    )

    measures = {
        "choice_count": Measure("options", lambda t: len(t.genresult["choices"])),
        # Fewer films show the common thread fewer times.
        "reference_count": Measure("missing evidence (1 / films shown)",
                                   lambda t: 1 / len(t.genresult["reference_movies"])),
        "distractors": Measure("labels options share with the group", lambda t: sum(
            t.genresult["distractor_overlap"]) / len(t.genresult["distractor_overlap"])),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        films = load_films()
        n_choices = params["choice_count"]
        while True:
            refs, answer, signature = _draw_group(rng, films, params["reference_count"])
            wrong = _pick_distractors(rng, films, set(refs) | {answer}, signature,
                                      n_choices - 1, params["distractors"])
            if wrong is not None:
                break
        options = [answer] + wrong
        rng.shuffle(options)
        labels = answers.choice_labels(n_choices)
        titles = [films[i].title for i in options]
        ref_titles = [films[i].title for i in refs]
        lines = [f"Which movie belongs with this group: {', '.join(ref_titles)}?", "",
                 "Options:"]
        lines += [f"{label} {title}" for label, title in zip(labels, titles)]
        return Test(
            input="\n".join(lines),
            target=labels[options.index(answer)],
            response_enum=labels,
            genresult={
                "reference_movies": ref_titles,
                "choices": titles,
                "answer": films[answer].title,
                "selected_genres": sorted(t[2:] for t in signature if t.startswith("g:")),
                "selected_themes": sorted(t[2:] for t in signature if t.startswith("t:")),
                "distractor_overlap": [len(films[i].tags & signature) for i in wrong],
            },
        )

    def extract(self, response: str, test: Test) -> str | None:
        region = answers.answer_region(response)
        if region is None:
            return None
        enum = test.response_enum or []
        # A bracketed label is the clearest commitment; otherwise a full title
        # is tried before bare letters, so "E.T. the Extra-Terrestrial" is not
        # read as option (E).
        if re.search(r"\([A-Za-z]\)", region):
            label = answers.extract_choice(region, enum)
            if label is not None:
                return label
        return _option_by_title(region, test) or answers.extract_choice(region, enum)


def _option_by_title(region: str, test: Test) -> str | None:
    """A bare title ("Final Answer: Hacksaw Ridge") names its option."""
    # Markup is removed here rather than with strip_markup, which would also
    # drop the trailing punctuation some titles end with ("Airplane!").
    text = _DECORATION.sub(lambda m: m.group(1) or "", region)
    return answers.last_named(text, zip(test.genresult.get("choices", []), test.response_enum or []))


_DECORATION = re.compile(r"\*\*|__|`|\$|\\text\{([^}]*)\}")
