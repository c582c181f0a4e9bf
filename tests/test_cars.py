import json
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

_WORDS = {"one": 1, "two": 2, "three": 3}


def solve_from_text(text: str) -> tuple[int, set[str]]:
    """Independent solver: read the row and seats, replay every move from its
    wording. Returns the asked person's car and the command kinds seen."""
    n_cars = int(re.search(r"numbered 1 \(front\) to (\d+) \(back\)", text).group(1))
    car_of = {}   # colour or brand -> car number
    for num, colour, brand in re.findall(r"Car (\d+) is an? (\w+) (\w+)\.", text):
        car_of[colour] = car_of[brand] = int(num)
    assert len(car_of) == 2 * n_cars
    seats_line = next(ln for ln in text.splitlines() if ln.startswith("At the start, "))
    where = {p: int(c) for p, c in re.findall(r"(\w+) is in car (\d+)", seats_line)}
    seen = set()
    for line in text.splitlines():
        m = re.match(r"^\d+\. (\w+) moves (.+)\.$", line)
        if not m:
            continue
        who, rest = m.groups()
        if mm := re.fullmatch(r"to car (\d+)", rest):
            new, kind = int(mm.group(1)), "absolute"
        elif mm := re.fullmatch(r"(one|two|three) cars? (forward|back)", rest):
            step = _WORDS[mm.group(1)]
            new = where[who] + (-step if mm.group(2) == "forward" else step)
            kind = "relative"
        elif mm := re.fullmatch(r"to the (\w+) car", rest):
            new, kind = car_of[mm.group(1)], "colour"
        elif mm := re.fullmatch(r"to (\w+)'s car", rest):
            new, kind = where[mm.group(1)], "person"
        elif mm := re.fullmatch(r"to the car (in front of|behind) (\w+)'s car", rest):
            new = where[mm.group(2)] + (-1 if mm.group(1) == "in front of" else 1)
            kind = "person"
        elif mm := re.fullmatch(r"to the (\w+)", rest):
            new, kind = car_of[mm.group(1)], "brand"
        else:
            raise AssertionError(line)
        # Every command must be well-defined and must actually move someone.
        assert 1 <= new <= n_cars and new != where[who], line
        where[who] = new
        seen.add(kind)
    asked = re.search(r"Which car is (\w+) in at the end\?", text).group(1)
    return where[asked], seen


_ALLOWED = {"absolute": {"absolute"}, "relative": {"absolute", "relative"},
            "attribute": {"absolute", "relative", "colour", "brand"},
            "person": {"absolute", "relative", "colour", "brand", "person"}}


def defensible_answers(text: str, params: dict) -> set[str]:
    """Directions and "in front of" are defined in the text; no move is
    clamped at an end, so the replay has one outcome."""
    return {str(solve_from_text(text)[0])}


def test_targets_match_independent_solver_over_grid():
    axes = {"cars": [2, 3, 6, 12], "moves": [0, 1, 5, 20],
            "commands": ["absolute", "relative", "attribute", "person"],
            "people": [1, 3, 8]}
    task = get_task("cars")
    n = 0
    for params, test in grid_samples("cars", axes, per_point=7):
        car, kinds = solve_from_text(test.input)
        assert test.target == str(car), test.input
        assert kinds <= _ALLOWED[params["commands"]]
        assert set(test.genresult["kinds"]) == kinds
        assert len(test.genresult["moves"]) == params["moves"]
        assert test.response_enum == [str(c) for c in range(1, params["cars"] + 1)]
        assert json.loads(json.dumps(test.genresult)) == test.genresult
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_every_kind_occurs_at_the_top_level():
    kinds = set()
    for _, test in grid_samples("cars", {"cars": [4, 8]}, 20,
                                {"moves": 10, "people": 3, "commands": "person"}):
        kinds |= solve_from_text(test.input)[1]
    assert kinds == _ALLOWED["person"]


def _test():
    task = get_task("cars")
    params = task.schema.validate("cars", {"cars": 6, "moves": 3})
    return generate_test(task, 5, params, 0)


@pytest.mark.parametrize("response,expected", [
    ("Alice goes 4 -> 2, then to car 5.\n\nFinal Answer: 5", "5"),
    ("**Final Answer:** **Car 3**", "3"),
    ("She ends up in $\\boxed{6}$.", "6"),
    ("Final Answer: car 2.", "2"),
    ("Final Answer: 1\nWait, the Ford is car 4.\nFinal Answer: 4", "4"),
    ("final answer:   CAR   two", "2"),
    ("I cannot tell where she is.", None),
])
def test_extraction(response, expected):
    assert get_task("cars").extract(response, _test()) == expected


def test_extraction_by_colour_or_brand():
    task = get_task("cars")
    test = _test()
    cars = test.genresult["cars"]
    assert task.extract(f"Final Answer: the {cars[2]['colour']} car", test) == "3"
    assert task.extract(f"Final Answer: the {cars[1]['colour']} {cars[4]['brand']}?"
                        f" No, the {cars[3]['brand']}.", test) == "4"


def test_no_answer_is_invalid_and_car_words_count():
    task = get_task("cars")
    test = _test()
    verdict = task.score("No idea.", test)
    assert not verdict.is_valid and not verdict.is_correct
    assert task.score(f"Final Answer: **car {test.target}**.", test).is_correct
