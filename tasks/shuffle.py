"""shuffle: track items that people hold through a sequence of pairwise swaps.

Each person starts with one distinct item (a coloured ball, a book or a gift);
a numbered list of events follows, some of them swaps ("Alice and Bob swap
balls."), some of them confounders that change nothing. The question asks
either who holds a given item at the end or which item a given person holds,
as multiple choice over every person (or every item).

Axes (each makes the problem harder for a different reason):
- `people`: number of people, which is also the number of items and of
  options; more state to carry, and a uniform guess gets less likely.
- `swaps`: number of swaps; every swap is one more state update, and one
  slip anywhere in the chain corrupts the answer.
- `confounders`: number of events that change nothing but read like they
  might ("Carol and Dave almost swap balls, but change their minds.",
  "Erin says that the red ball is the nicest ball."); they test whether the model
  tells a real swap from a near miss instead of reacting to names and items.
- `question`: "holder" (who holds item X), "item" (what does P hold) or
  "mixed" (either, per test); the two directions need the state looked up
  from opposite sides.
- `theme`: "balls", "books", "gifts" or "mixed"; surface variety only.

The question is about an item (or person) touched by at least one swap
whenever there is a swap, so that reading the starting assignment back is
not an answer. Ground truth comes from simulating the generated swap list on
a holder table; the rendered text is never read back.
"""

from __future__ import annotations

import random
from typing import Any

from contour.spec import answers
from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import ChoiceTask, Measure, Test
from contour.tasks.registry import register

NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Kevin", "Laura", "Mallory", "Nadia", "Oscar", "Peggy",
         "Quentin", "Rupert", "Sybil", "Trent"]

# Each theme: the noun (singular, plural), the item names, and how a
# holding is phrased at the start.
THEMES: dict[str, dict[str, Any]] = {
    "balls": {
        "noun": "ball", "plural": "balls",
        "items": ["red ball", "orange ball", "yellow ball", "green ball", "blue ball",
                  "purple ball", "pink ball", "white ball", "black ball", "brown ball",
                  "grey ball", "silver ball", "gold ball", "teal ball", "maroon ball",
                  "navy ball", "beige ball", "crimson ball", "lime ball", "violet ball"],
        "start": "{p} has the {i}",
    },
    "books": {
        "noun": "book", "plural": "books",
        "items": ["Frankenstein", "Moby Dick", "Dracula", "Ulysses", "Emma",
                  "Middlemarch", "Walden", "Hamlet", "The Odyssey", "Jane Eyre",
                  "Great Expectations", "Persuasion", "Don Quixote", "War and Peace",
                  "The Iliad", "Little Women", "Heart of Darkness", "The Trial",
                  "Candide", "Wuthering Heights"],
        "start": "{p} is reading {i}",
    },
    "gifts": {
        "noun": "gift", "plural": "gifts",
        "items": ["scarf", "kite", "lamp", "watch", "vase", "puzzle", "drum", "candle",
                  "wallet", "mug", "globe", "compass", "camera", "teapot", "notebook",
                  "umbrella", "backpack", "telescope", "yo-yo", "harmonica"],
        "start": "{p} has the {i}",
    },
}

# Swap phrasings; all mean the same exchange of whatever the two hold.
_SWAPS = ["{a} and {b} swap {pl}.", "{a} trades {pl} with {b}.",
          "{a} and {b} exchange {pl}."]

# Confounders: each names people (and sometimes an item) and changes nothing.
# The near-miss kinds use the swap vocabulary on purpose.
_CONFOUNDERS = {
    "almost": "{a} and {b} almost swap {pl}, but change their minds.",
    "refuse": "{a} offers to trade {pl} with {b}, but {b} refuses.",
    "praise": "{a} says that the {i} is the nicest {noun}.",
    "wave": "{a} waves at {b}.",
    "look": "{a} looks closely at the {noun} in hand.",
}
_CONFOUNDER_KINDS = sorted(_CONFOUNDERS)


def simulate(people: list[str], items: list[str], swaps: list[list[int]]) -> list[int]:
    """holder[i] = index of the person holding item i after the swaps."""
    holds = list(range(len(people)))        # holds[p] = item index person p holds
    for a, b in swaps:
        holds[a], holds[b] = holds[b], holds[a]
    holder = [0] * len(items)
    for p, i in enumerate(holds):
        holder[i] = p
    return holder


def _moves_of(question: str, asked: int, swaps: list[list[int]]) -> int:
    """How many swaps change the asked item's holder (or the asked person's item)."""
    if question == "item":
        return sum(asked in pair for pair in swaps)
    where, count = asked, 0
    for a, b in swaps:
        if where in (a, b):
            where, count = (b if where == a else a), count + 1
    return count


@register
class Shuffle(ChoiceTask):
    name = "shuffle"
    version = 2
    description = "Track which person holds which item through a sequence of swaps."
    schema = ParamSchema({
        "people": Int(5, 2, 20, "number of people (= items = answer options)"),
        "swaps": Int(5, 0, 60, "number of pairwise swaps"),
        "confounders": Int(0, 0, 30, "number of events that look relevant but change nothing"),
        "question": Choice("mixed", ["holder", "item", "mixed"],
                           "ask who holds an item, what a person holds, or either"),
        "theme": Choice("mixed", ["balls", "books", "gifts", "mixed"], "what is swapped"),
    })
    measures = {
        "people": Measure("people", lambda t: len(t.genresult["people"])),
        "swaps": Measure("swaps", lambda t: len(t.genresult["swaps"])),
        "confounders": Measure("confounders", lambda t: len(t.genresult["confounders"])),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        n = params["people"]
        theme = params["theme"] if params["theme"] != "mixed" else rng.choice(sorted(THEMES))
        spec = THEMES[theme]
        people = rng.sample(NAMES, n)
        items = rng.sample(spec["items"], n)
        swaps = [rng.sample(range(n), 2) for _ in range(params["swaps"])]

        # Confounders sit at random places between (and around) the swaps.
        events: list[dict[str, Any]] = [{"kind": "swap", "a": a, "b": b} for a, b in swaps]
        confounders = []
        for _ in range(params["confounders"]):
            kind = rng.choice(_CONFOUNDER_KINDS)
            a, b = rng.sample(range(n), 2)
            conf = {"kind": kind, "a": a, "b": b, "item": rng.randrange(n)}
            events.insert(rng.randint(0, len(events)), conf)
        for pos, ev in enumerate(events):
            if ev["kind"] != "swap":
                confounders.append({"position": pos + 1, "kind": ev["kind"]})

        holder = simulate(people, items, swaps)
        touched = sorted({p for pair in swaps for p in pair})
        question = params["question"] if params["question"] != "mixed" else rng.choice(
            ["holder", "item"])
        # Item i starts with person i, so the indices of people touched by a
        # swap are also the indices of the items that moved.
        asked = rng.choice(touched) if touched else rng.randrange(n)
        if question == "holder":
            options = rng.sample(people, n)
            answer = people[holder[asked]]
            q_text = (f"At the end, who is reading {items[asked]}?" if theme == "books"
                      else f"At the end, who has the {items[asked]}?")
            asked_name = items[asked]
        else:
            options = rng.sample(items, n)
            answer = items[holder.index(asked)]
            q_text = (f"At the end, which book is {people[asked]} reading?" if theme == "books"
                      else f"At the end, which {spec['noun']} does {people[asked]} have?")
            asked_name = people[asked]

        lines = [self._intro(theme, people, items)]
        if events:
            lines.append("Then the following happens, in order:")
            for pos, ev in enumerate(events, 1):
                lines.append(f"{pos}. {self._event(rng, theme, people, items, ev)}")
        else:
            lines.append("Nothing else happens.")
        labels = answers.choice_labels(n)
        lines.append(q_text)
        lines.append("Options:")
        lines.extend(f"{label} {opt}" for label, opt in zip(labels, options))
        target = labels[options.index(answer)]
        return Test(
            input="\n".join(lines),
            target=target,
            response_enum=labels,
            genresult={
                "theme": theme, "people": people, "items": items,
                "swaps": swaps, "confounders": confounders,
                "question": question, "asked": asked_name, "answer": answer,
                "options": options,
                "asked_swaps": _moves_of(question, asked, swaps),
                "unchanged": (holder[asked] == asked) if question == "holder"
                else (holder.index(asked) == asked),
            },
        )

    @staticmethod
    def _intro(theme: str, people: list[str], items: list[str]) -> str:
        spec = THEMES[theme]
        parts = [spec["start"].format(p=p, i=i) for p, i in zip(people, items)]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
        lead = {"balls": "At the start of a game, each player holds one ball: ",
                "books": "At the start of the week, each friend is reading one book: ",
                "gifts": "At a party, each guest is given one gift: "}[theme]
        return f"{lead}{listed}."

    @staticmethod
    def _event(rng: random.Random, theme: str, people: list[str], items: list[str],
               ev: dict[str, Any]) -> str:
        spec = THEMES[theme]
        a, b = people[ev["a"]], people[ev["b"]]
        if ev["kind"] == "swap":
            return rng.choice(_SWAPS).format(a=a, b=b, pl=spec["plural"])
        item = items[ev["item"]]
        if ev["kind"] == "praise" and theme == "books":
            return f"{a} says that {item} is the nicest book."
        return _CONFOUNDERS[ev["kind"]].format(a=a, b=b, pl=spec["plural"],
                                               i=item, noun=spec["noun"])

    def option_by_text(self, region: str, test: Test) -> str | None:
        """A bare option text ("Final Answer: Bob") names its option; the one mentioned last wins."""
        options = zip(test.genresult.get("options", []), test.response_enum or [])
        return answers.last_named(answers.strip_markup(region), options)
