"""cars: track people through a sequence of moves between cars parked in a row.

A row of cars is numbered 1 (front) to N (back); every car has a distinct
colour and a distinct brand. People start in given cars (several may share
one), then a numbered list of moves follows; the question asks which car one
person is in at the end, answered with the car number.

Command kinds, by the level that first allows them (`commands` is
cumulative: each level also allows every kind before it):
- "absolute": "Alice moves to car 3."
- "relative": "Bob moves two cars forward." (forward = toward car 1)
- "attribute": "Carol moves to the red car." / "Carol moves to the Ford."
- "person": "Dan moves to Erin's car." / "... to the car in front of Erin's
  car." / "... to the car behind Erin's car."

Every command is well-defined: moves past either end are never generated
(no clamping convention to guess), and a move always changes the mover's car.
A kind that has no legal target at that moment (say, a person-relative move
when everyone else sits in the mover's car) is replaced by another allowed
kind; with `people` = 1 the person kind never occurs.

Axes (each makes the problem harder for a different reason):
- `cars`: length of the row; more positions and attribute pairs to keep in
  mind, and a smaller chance to guess the car.
- `moves`: number of moves; each is one more state update to apply.
- `commands`: which command kinds occur. Relative moves need arithmetic on
  the current position, attribute moves need a lookup in the car list, and
  person-relative moves need the current position of another person, so the
  model has to track everyone, not only the person asked about.
- `people`: number of people; moves of others are distractors unless a
  person-relative command makes them matter.

Ground truth comes from applying the generated move list (as resolved car
numbers) to a position table; the text is never read back.
"""

from __future__ import annotations

import random
from typing import Any

from contour.spec import answers
from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import Instructions, Measure, NumberTask, Test
from contour.tasks.registry import register

NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Kevin", "Laura"]
COLOURS = ["red", "blue", "green", "white", "black", "silver", "yellow", "orange",
           "purple", "brown", "grey", "pink"]
BRANDS = ["Toyota", "Ford", "Honda", "BMW", "Audi", "Volvo", "Fiat", "Kia",
          "Mazda", "Subaru", "Tesla", "Nissan"]
LEVELS = ["absolute", "relative", "attribute", "person"]
# The command kinds each level adds; colour and brand are two spellings of
# the same lookup, so they share a level.
_KINDS = {"absolute": ["absolute"], "relative": ["relative"],
          "attribute": ["colour", "brand"], "person": ["person"]}
_KIND_LEVEL = {kind: i for i, level in enumerate(LEVELS) for kind in _KINDS[level]}
_COUNT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven",
                "eight", "nine", "ten", "eleven", "twelve"]
_MAX_STEP = 3     # relative moves go 1..3 cars; longer hops read like absolute ones


def _kind_targets(kind: str, mover: int, pos: list[int], n_cars: int) -> list[Any]:
    """Every legal (detail, target car) for one command kind, target != current."""
    here = pos[mover]
    if kind == "absolute":
        return [(c, c) for c in range(1, n_cars + 1) if c != here]
    if kind == "relative":
        return [((d, k), here + d * k) for d in (-1, 1) for k in range(1, _MAX_STEP + 1)
                if 1 <= here + d * k <= n_cars]
    if kind in ("colour", "brand"):
        return [(c, c) for c in range(1, n_cars + 1) if c != here]
    # person-relative: offset -1 = the car in front of theirs, +1 = behind
    out = []
    for other in range(len(pos)):
        if other == mover:
            continue
        for off in (-1, 0, 1):
            car = pos[other] + off
            if 1 <= car <= n_cars and car != here:
                out.append(((other, off), car))
    return out


@register
class Cars(NumberTask):
    name = "cars"
    version = 2
    description = "Track which car each person sits in through absolute and relative moves."
    schema = ParamSchema({
        "cars": Int(5, 2, 12, "number of cars in the row"),
        "moves": Int(4, 0, 40, "number of move commands"),
        "commands": Choice("attribute", LEVELS,
                           "most complex command kind allowed (cumulative)"),
        "people": Int(3, 1, 12, "number of people"),
    })
    instructions = Instructions(
        direct="Answer with the number of the car. Respond with only the car number "
               "as 'Final Answer: <number>'.",
        cot="Answer with the number of the car. Think step by step, then end with "
            "a line 'Final Answer: <number>'.",
    )

    # The asked person's car is not uniform over the row (people start
    # anywhere but moves pull them toward targets), so the best blind answer
    # is simulated per point rather than taken as 1 / cars.
    measures = {
        "cars": Measure("cars", lambda t: len(t.genresult["cars"])),
        "moves": Measure("moves", lambda t: len(t.genresult["moves"])),
        "commands": Measure("command level", lambda t: sum(
            _KIND_LEVEL[m["kind"]] for m in t.genresult["moves"]) / max(1, len(t.genresult["moves"]))),
        "people": Measure("people", lambda t: len(t.genresult["people"])),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        n_cars, n_people = params["cars"], params["people"]
        colours = rng.sample(COLOURS, n_cars)
        brands = rng.sample(BRANDS, n_cars)
        people = rng.sample(NAMES, n_people)
        start = [rng.randint(1, n_cars) for _ in people]
        kinds = [k for level in LEVELS[:LEVELS.index(params["commands"]) + 1]
                 for k in _KINDS[level]]

        pos = list(start)
        moves = []
        for _ in range(params["moves"]):
            mover = rng.randrange(n_people)
            order = rng.sample(kinds, len(kinds))
            # "absolute" always has a target (n_cars >= 2), so this terminates.
            for kind in order:
                options = _kind_targets(kind, mover, pos, n_cars)
                if options:
                    break
            detail, target = rng.choice(options)
            moves.append({"person": mover, "kind": kind, "detail": detail,
                          "from": pos[mover], "to": target})
            pos[mover] = target

        moved = sorted({m["person"] for m in moves})
        asked = rng.choice(moved) if moved else rng.randrange(n_people)
        lines = [self._intro(n_cars, colours, brands, people, start)]
        if moves:
            lines.append("Then these moves happen, in order:")
            for i, m in enumerate(moves, 1):
                lines.append(f"{i}. {self._render(m, people, colours, brands)}")
        else:
            lines.append("Nobody moves.")
        lines.append(f"Which car is {people[asked]} in at the end?")
        return Test(
            input="\n".join(lines),
            target=str(pos[asked]),
            response_enum=[str(c) for c in range(1, n_cars + 1)],
            genresult={
                "cars": [{"colour": c, "brand": b} for c, b in zip(colours, brands)],
                "people": people, "start": start,
                "moves": [self._record(m, people) for m in moves],
                "kinds": sorted({m["kind"] for m in moves}),
                "asked": people[asked],
                "asked_moves": sum(m["person"] == asked for m in moves),
                # the asked person's answer depends on another person's position
                "depends_on_others": any(m["person"] == asked and m["kind"] == "person"
                                         for m in moves),
                "final": pos,
            },
        )

    @staticmethod
    def _record(m: dict[str, Any], people: list[str]) -> dict[str, Any]:
        out = {"person": people[m["person"]], "kind": m["kind"],
               "from": m["from"], "to": m["to"]}
        if m["kind"] == "person":
            # whose car the move was relative to, and -1 / 0 / +1 for in
            # front of / same / behind
            out["ref"], out["offset"] = people[m["detail"][0]], m["detail"][1]
        return out

    @staticmethod
    def _intro(n_cars: int, colours: list[str], brands: list[str], people: list[str],
               start: list[int]) -> str:
        row = " ".join(f"Car {i} is {'an' if c[0] in 'aeiou' else 'a'} {c} {b}."
                       for i, (c, b) in enumerate(zip(colours, brands), 1))
        seats = [f"{p} is in car {c}" for p, c in zip(people, start)]
        if len(seats) > 1:
            seats[-1] = "and " + seats[-1]
        seated = (", " if len(seats) > 2 else " ").join(seats)
        return (f"{_COUNT_WORDS[n_cars].capitalize()} cars are parked in a row, "
                f"numbered 1 (front) to {n_cars} (back). {row}\n"
                f"Moving forward means toward car 1; moving back means toward car "
                f"{n_cars}. The car in front of car k is car k-1; the car behind it is "
                f"car k+1. Several people may sit in the same car.\n"
                f"At the start, {seated}.")

    @staticmethod
    def _render(m: dict[str, Any], people: list[str], colours: list[str],
                brands: list[str]) -> str:
        who = people[m["person"]]
        kind, detail = m["kind"], m["detail"]
        if kind == "absolute":
            return f"{who} moves to car {detail}."
        if kind == "relative":
            d, k = detail
            unit = "car" if k == 1 else "cars"
            return f"{who} moves {_COUNT_WORDS[k]} {unit} {'forward' if d < 0 else 'back'}."
        if kind == "colour":
            return f"{who} moves to the {colours[detail - 1]} car."
        if kind == "brand":
            return f"{who} moves to the {brands[detail - 1]}."
        other, off = detail
        whose = f"{people[other]}'s car"
        if off == 0:
            return f"{who} moves to {whose}."
        return f"{who} moves to the car {'in front of' if off < 0 else 'behind'} {whose}."

    def number_by_words(self, text: str, test: Test) -> str | None:
        return _car_by_words(text, test)


def _car_by_words(text: str, test: Test) -> str | None:
    """A car named without digits: "car three", or by its colour or brand.
    The last mention counts."""
    names: list[tuple[str, str]] = [(w, str(i)) for i, w in enumerate(_COUNT_WORDS) if i]
    for i, car in enumerate(test.genresult.get("cars", []), 1):
        names += [(car["colour"], str(i)), (car["brand"], str(i))]
    return answers.last_named(text, names)
