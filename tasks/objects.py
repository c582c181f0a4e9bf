"""objects: count the items of one category among a list of possessions.

"I have a violin, two pianos, a cabbage, and three carrots. How many musical
instruments do I have?" The answer is an open integer.

Axes (each makes the problem harder for a different reason):
- `items`: number of item mentions in the opening list; every mention is one
  more quantity to read, classify and add.
- `max_quantity`: the largest quantity per mention (1 writes every item as
  "a violin"); larger quantities, spelled out in words, make each addition
  bigger and stop the model from just counting mentions.
- `distractors`: the share of mentions drawn from other categories; the model
  must decide for every item whether it belongs (a cabbage is no instrument),
  and a careless count of everything is wrong.
- `changes`: number of later events that add to or take from what I own
  ("Then I gave away one of my pianos."); the model must track state instead
  of summing one list.
- `noise`: number of irrelevant sentences about other people's possessions
  ("My sister has four flutes."), often of the asked category, which must not
  be counted.

Fruits and vegetables are meant in the kitchen sense, and the question says
so when it asks for either: botanically a zucchini or an eggplant is a
fruit, and a reader who counts that way would get another answer.

Ground truth is a sum over the generated structure (a quantity per mention,
updated by each change in order), never read back from the text.
"""

from __future__ import annotations

import random
import re
from typing import Any

from contour.spec import answers
from contour.spec.params import Float, Int, ParamSchema
from contour.spec.task import Instructions, Measure, NumberTask, Test
from contour.tasks.registry import register

# Category -> items as "singular/plural". Every item is a countable noun that
# belongs, in everyday speech, to exactly one category: ambiguous ones
# (tomato, pumpkin, chicken, organ, bass) are left out on purpose, and every
# singular takes "a"/"an" by its first letter. Each category holds at least
# 16 items, the upper bound of `items`, so the list never repeats an item.
CATEGORIES: dict[str, list[str]] = {
    "fruits": [
        "apple/apples", "banana/bananas", "orange/oranges", "peach/peaches",
        "pear/pears", "plum/plums", "apricot/apricots", "mango/mangoes",
        "lemon/lemons", "lime/limes", "cherry/cherries", "strawberry/strawberries",
        "nectarine/nectarines", "kiwi/kiwis", "grapefruit/grapefruits",
        "papaya/papayas", "pineapple/pineapples", "watermelon/watermelons",
        "coconut/coconuts", "fig/figs", "tangerine/tangerines",
        "pomegranate/pomegranates", "raspberry/raspberries",
    ],
    "vegetables": [
        "carrot/carrots", "potato/potatoes", "onion/onions", "cabbage/cabbages",
        "cauliflower/cauliflowers", "turnip/turnips", "beet/beets",
        "radish/radishes", "yam/yams", "zucchini/zucchinis", "eggplant/eggplants",
        "parsnip/parsnips", "leek/leeks", "artichoke/artichokes",
        "shallot/shallots", "rutabaga/rutabagas", "sweet potato/sweet potatoes",
    ],
    "musical instruments": [
        "violin/violins", "piano/pianos", "flute/flutes", "trumpet/trumpets",
        "drum/drums", "guitar/guitars", "cello/cellos", "clarinet/clarinets",
        "trombone/trombones", "accordion/accordions", "saxophone/saxophones",
        "harp/harps", "banjo/banjos", "oboe/oboes", "tuba/tubas",
        "xylophone/xylophones", "harmonica/harmonicas", "mandolin/mandolins",
        "bassoon/bassoons", "viola/violas", "sitar/sitars",
        "tambourine/tambourines",
    ],
    "animals": [
        "cat/cats", "dog/dogs", "goat/goats", "rabbit/rabbits", "pig/pigs",
        "cow/cows", "donkey/donkeys", "horse/horses", "sheep/sheep",
        "mouse/mice", "snake/snakes", "frog/frogs", "duck/ducks", "goose/geese",
        "hamster/hamsters", "parrot/parrots", "turtle/turtles",
        "lizard/lizards", "llama/llamas", "ferret/ferrets",
    ],
    "pieces of furniture": [
        "chair/chairs", "table/tables", "bed/beds", "couch/couches", "desk/desks",
        "bookshelf/bookshelves", "stool/stools", "dresser/dressers",
        "wardrobe/wardrobes", "cabinet/cabinets", "bench/benches",
        "ottoman/ottomans", "armchair/armchairs", "sofa/sofas",
        "nightstand/nightstands", "futon/futons", "recliner/recliners",
        "cupboard/cupboards",
    ],
    "vehicles": [
        "car/cars", "bicycle/bicycles", "motorcycle/motorcycles", "truck/trucks",
        "bus/buses", "scooter/scooters", "van/vans", "tractor/tractors",
        "minivan/minivans", "moped/mopeds", "snowmobile/snowmobiles",
        "tricycle/tricycles", "limousine/limousines", "taxi/taxis",
        "ambulance/ambulances", "bulldozer/bulldozers", "forklift/forklifts",
    ],
}

_CATEGORY_NAMES = sorted(CATEGORIES)
_PRODUCE = {"fruits", "vegetables"}
KITCHEN_SENSE = "(Fruits and vegetables are meant in the everyday kitchen sense, not the botanical one.)"
_OTHERS = {c: sorted(i for o in _CATEGORY_NAMES if o != c for i in CATEGORIES[o])
           for c in _CATEGORY_NAMES}

_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
          "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
          "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
         "eighty", "ninety"]

_PEOPLE = ["sister", "brother", "neighbour", "friend", "cousin", "uncle", "aunt",
           "grandmother", "colleague", "roommate"]
_LOSE = ["gave away", "lost", "sold"]


def _split(item: str) -> tuple[str, str]:
    singular, plural = item.split("/")
    return singular, plural


def _with_article(singular: str) -> str:
    return ("an " if singular[0] in "aeiou" else "a ") + singular


def _amount(n: int, item: str) -> str:
    """'a violin', 'two pianos': how a quantity of an item is written."""
    singular, plural = _split(item)
    return _with_article(singular) if n == 1 else f"{_WORDS[n]} {plural}"


def _join(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + ", and " + parts[-1]


def _lose_sentence(verb: str, item: str, k: int, held: int) -> str:
    singular, plural = _split(item)
    if k == held == 1:
        return f"I {verb} my {singular}."
    if k == held:
        return f"I {verb} all of my {plural}."
    return f"I {verb} {_WORDS[k]} of my {plural}."


def _gain_sentence(item: str, k: int, held: int) -> str:
    singular, plural = _split(item)
    if held == 0:
        return f"I bought {_amount(k, item)}."
    return f"I bought {_WORDS[k]} more {singular if k == 1 else plural}."


@register
class Objects(NumberTask):
    name = "objects"
    version = 2
    description = "Count the items of one category among possessions, with distractors and changes."
    schema = ParamSchema({
        "items": Int(5, 1, 16, "item mentions in the opening list"),
        "max_quantity": Int(3, 1, 20, "largest quantity of one item in a mention or a change"),
        "distractors": Float(0.5, 0.0, 0.9,
                             "share of mentions from categories other than the one asked"),
        "changes": Int(0, 0, 8, "later events that add to or take from what I own"),
        "noise": Int(0, 0, 6, "irrelevant sentences about other people's possessions"),
    })
    instructions = Instructions(
        direct="Answer the counting question. "
               "Respond with only the count as 'Final Answer: <integer>'.",
        cot="Answer the counting question. "
            "Think step by step, then end with a line 'Final Answer: <integer>'.",
    )

    measures = {
        "items": Measure("mentions", lambda t: len(t.genresult["mentions"])),
        "max_quantity": Measure("mean quantity", lambda t: sum(
            m["quantity"] for m in t.genresult["mentions"]) / len(t.genresult["mentions"])),
        "distractors": Measure("distractor mentions", lambda t: t.genresult["distractor_mentions"]),
        "changes": Measure("changes", lambda t: len(t.genresult["changes"])),
        "noise": Measure("noise sentences", lambda t: len(t.genresult["noise"])),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        n = params["items"]
        top = params["max_quantity"]
        category = rng.choice(_CATEGORY_NAMES)
        # At least one mention of the asked category, so the question is
        # never about a category the text does not contain.
        n_distract = min(round(n * params["distractors"]), n - 1)
        chosen = ([(i, True) for i in rng.sample(CATEGORIES[category], n - n_distract)]
                  + [(i, False) for i in rng.sample(_OTHERS[category], n_distract)])
        rng.shuffle(chosen)
        mentions = [{"item": item, "relevant": relevant, "quantity": rng.randint(1, top)}
                    for item, relevant in chosen]
        held = [m["quantity"] for m in mentions]

        # Events after the list: changes to my items and noise about others,
        # interleaved; changes are applied in the order they are told.
        kinds = ["change"] * params["changes"] + ["noise"] * params["noise"]
        rng.shuffle(kinds)
        sentences, changes, noise = [], [], []
        for kind in kinds:
            if kind == "noise":
                pool = CATEGORIES[category] if rng.random() < 0.5 else _OTHERS[category]
                item = rng.choice(pool)
                k = rng.randint(1, top)
                person = rng.choice(_PEOPLE)
                sentences.append(f"My {person} has {_amount(k, item)}.")
                noise.append({"person": person, "item": item, "quantity": k})
                continue
            owned = [i for i, h in enumerate(held) if h > 0]
            idx = rng.randrange(len(mentions))
            if owned and rng.random() < 0.6:
                idx = rng.choice(owned)
            item = mentions[idx]["item"]
            if held[idx] > 0 and rng.random() < 0.6 or held[idx] >= 20:
                # Losing everything is said "all of my"; a partial loss never
                # exceeds the spelled-out range of quantities.
                k = held[idx] if rng.random() < 0.3 else rng.randint(1, min(held[idx], top))
                sentences.append("Then " + _lose_sentence(rng.choice(_LOSE), item, k, held[idx]))
                delta = -k
            else:
                k = rng.randint(1, min(top, 20 - held[idx]))
                sentences.append("Then " + _gain_sentence(item, k, held[idx]))
                delta = k
            held[idx] += delta
            changes.append({"item": item, "relevant": mentions[idx]["relevant"], "delta": delta})

        target = sum(h for h, m in zip(held, mentions) if m["relevant"])
        opening = "I have " + _join([_amount(m["quantity"], m["item"]) for m in mentions]) + "."
        question = f"How many {category} do I have?"
        if category in _PRODUCE:
            question += " " + KITCHEN_SENSE
        text = " ".join([opening] + sentences + [question])
        return Test(
            input=text,
            target=str(target),
            genresult={
                "category": category,
                "mentions": mentions,
                "changes": changes,
                "noise": noise,
                "distractor_mentions": n_distract,
                "has_distractors": n_distract > 0,
                "relevant_noise": sum(1 for x in noise if x["item"] in CATEGORIES[category]),
                "final_counts": held,
            },
        )

    def number_by_words(self, text: str, test: Test) -> str | None:
        # Digits win over words (extract_number runs first), so "7 (a violin
        # and six pianos)" reads 7; only a fully spelled-out answer is read as words.
        return _last_number_word(text)


_UNIT = "|".join(sorted(_WORDS, key=len, reverse=True))
_TEN = "|".join(t for t in _TENS if t)
_NUMBER_WORD = re.compile(rf"\b(?:({_TEN})(?:[- ]({'|'.join(_WORDS[1:10])}))?|({_UNIT}))\b",
                          re.IGNORECASE)


def _last_number_word(text: str) -> str | None:
    m = answers.last_match(_NUMBER_WORD, text)
    if m is None:
        return None
    tens, unit, alone = m.groups()
    if alone:
        return str(_WORDS.index(alone.lower()))
    return str(10 * _TENS.index(tens.lower()) + (_WORDS.index(unit.lower()) if unit else 0))
