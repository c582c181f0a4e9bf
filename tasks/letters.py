"""letters: count how often given letters occur across a list of words.

Axes (each makes the problem harder for a different reason):
- `words`: how many words are listed; every word is one more count to add.
- `word_length`: "short" (3-5 letters), "medium" (6-8), "long" (9-14) or
  "any"; long words are split into several tokens, hiding their letters.
- `letters`: how many distinct letters are counted together; each word must
  be scanned for all of them at once.
- `case`: "lower", "title", "upper", "mixed" (each word one of those three)
  or "random" (every letter's case drawn on its own); changed case changes
  the tokens a model sees, and counting is case-insensitive.
- `density`: share of words drawn from those that contain a counted letter;
  more hits mean larger totals and more repeated letters within a word.

Words come from `data/words.txt`, a list of common English words written for
this project. Ground truth is the sum of per-word letter counts taken from
the lower-case words before their case is changed.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import Any

from contour.spec.params import Choice, Float, Int, ParamSchema
from contour.spec.task import Instructions, Measure, NumberTask, Test
from contour.tasks.registry import register

BANDS = {"short": (3, 5), "medium": (6, 8), "long": (9, 14), "any": (3, 14)}
# A letter is only asked about if enough words in the band hold it, so rare
# letters (q, x, z) do not force the same few words again and again.
_MIN_WORDS_WITH_LETTER = 25


@lru_cache(maxsize=1)
def _all_words() -> tuple[str, ...]:
    text = (resources.files("contour.tasks") / "data" / "words.txt").read_text("utf-8")
    return tuple(w for w in (ln.strip() for ln in text.splitlines()) if w and w[0] != "#")


def _mask(letters: str) -> int:
    return sum(1 << (ord(c) - 97) for c in set(letters))


@lru_cache(maxsize=None)
def _band(name: str) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]]:
    """(word, letter mask) pairs in the band, and the letters it may ask about."""
    low, high = BANDS[name]
    words = tuple((w, _mask(w)) for w in _all_words() if low <= len(w) <= high)
    askable = tuple(c for c in string.ascii_lowercase
                    if sum(1 for _, m in words if m & _mask(c)) >= _MIN_WORDS_WITH_LETTER)
    return words, askable


@lru_cache(maxsize=None)
def _with_letter(band: str, letter: int) -> frozenset[int]:
    """Positions in the band of the words that hold the letter (a bit)."""
    return frozenset(i for i, (_, m) in enumerate(_band(band)[0]) if m & letter)


def _holding(band: str, mask: int) -> int:
    """How many words of the band hold a letter of `mask`."""
    bits = [1 << b for b in range(26) if mask >> b & 1]
    return len(frozenset().union(*(_with_letter(band, bit) for bit in bits)))


def _draw(rng: random.Random, band: str, mask: int, holding: bool, k: int) -> list[str]:
    """k words of the band that hold a letter of `mask` (or, unless
    `holding`, none), drawn uniformly by rejection rather than from a
    materialised pool: a band has thousands of words and a point asks for
    thousands of letter sets. Repeats only when too few words qualify."""
    words = _band(band)[0]
    qualifying = _holding(band, mask) if holding else len(words) - _holding(band, mask)
    picked: list[str] = []
    seen: set[int] = set()
    while len(picked) < k:
        i = rng.randrange(len(words))
        if bool(words[i][1] & mask) != holding or (i in seen and k <= qualifying):
            continue
        seen.add(i)
        picked.append(words[i][0])
    return picked


def _recase(rng: random.Random, word: str, case: str) -> str:
    if case == "mixed":
        case = rng.choice(["lower", "title", "upper"])
    if case == "title":
        return word.capitalize()
    if case == "upper":
        return word.upper()
    if case == "random":
        return "".join(c.upper() if rng.random() < 0.5 else c for c in word)
    return word


def _upper_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / max(1, len(letters))


def _quoted(letters: str) -> str:
    names = [f"'{c}'" for c in letters]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@register
class Letters(NumberTask):
    name = "letters"
    version = 2
    description = "Count how many times given letters appear across a list of words."
    schema = ParamSchema({
        "words": Int(5, 1, 60, "number of words listed"),
        "word_length": Choice("medium", list(BANDS), "word length band"),
        "letters": Int(1, 1, 3, "distinct letters counted together"),
        "case": Choice("lower", ["lower", "title", "upper", "mixed", "random"],
                       "how the words' letter case is changed"),
        "density": Float(0.5, 0.0, 1.0, "share of words that contain a counted letter"),
    })
    instructions = Instructions(
        direct="Count the letters as asked. "
               "Respond with only the total as 'Final Answer: <integer>'.",
        cot="Count the letters as asked. Think step by step, "
            "then end with a line 'Final Answer: <integer>'.",
    )

    measures = {
        "words": Measure("words", lambda t: len(t.genresult["words"])),
        "word_length": Measure("letters per word", lambda t: sum(
            len(w) for w in t.genresult["words"]) / len(t.genresult["words"])),
        "letters": Measure("letters counted", lambda t: len(t.genresult["letters"])),
        "case": Measure("upper-case share", lambda t: _upper_share(t.input.split("Words: ", 1)[1])),
        "density": Measure("words holding a letter", lambda t: t.genresult["words_with_letter"]),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        band = params["word_length"]
        letters = "".join(sorted(rng.sample(_band(band)[1], params["letters"])))
        mask = _mask(letters)
        n = params["words"]
        hits = sum(rng.random() < params["density"] for _ in range(n))
        if _holding(band, mask) == len(_band(band)[0]):
            hits = n     # every word of the band holds a counted letter
        chosen = _draw(rng, band, mask, True, hits) + _draw(rng, band, mask, False, n - hits)
        rng.shuffle(chosen)
        shown = [_recase(rng, w, params["case"]) for w in chosen]
        per_word = [sum(Counter(w)[c] for c in letters) for w in chosen]
        if len(letters) == 1:
            ask = f"How many times does the letter {_quoted(letters)} appear"
        else:
            ask = f"How many times do the letters {_quoted(letters)} appear altogether"
        return Test(
            input=f"{ask} in the following words? Upper- and lower-case forms count alike.\n\n"
                  f"Words: {', '.join(shown)}",
            target=str(sum(per_word)),
            genresult={"letters": letters, "words": chosen, "per_word": per_word,
                       "words_with_letter": sum(1 for c in per_word if c),
                       "max_in_one_word": max(per_word)},
        )

