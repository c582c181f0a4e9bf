import math
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

# Tolerances of the independent classifier: two directions are parallel (or
# an angle is right) within ANGLE_TOL degrees, two lengths are equal within
# LEN_TOL relative difference, and a point whose path turns by less than
# COLLINEAR_TOL degrees is not a corner.
ANGLE_TOL = 2.0
LEN_TOL = 0.03
COLLINEAR_TOL = 3.0

_TOKEN = re.compile(r"[MmLlHhVvAaZz]|-?\d+(?:\.\d+)?")


def parse_path(d: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Points visited by the path, and the (rx, ry) of every arc."""
    tokens = _TOKEN.findall(d)
    points, radii = [], []
    x = y = 0.0
    i, cmd = 0, None
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in "Zz":
                continue
        nums = []
        need = {"M": 2, "L": 2, "H": 1, "V": 1, "A": 7}[cmd.upper()]
        for _ in range(need):
            nums.append(float(tokens[i]))
            i += 1
        rel = cmd.islower()
        up = cmd.upper()
        if up in "ML":
            x, y = (x + nums[0], y + nums[1]) if rel else (nums[0], nums[1])
        elif up == "H":
            x = x + nums[0] if rel else nums[0]
        elif up == "V":
            y = y + nums[0] if rel else nums[0]
        else:
            radii.append((nums[0], nums[1]))
            x, y = (x + nums[5], y + nums[6]) if rel else (nums[5], nums[6])
        points.append((x, y))
    return points, radii


def corners(points):
    """Drop repeated points, the closing repeat and collinear points."""
    pts = []
    for p in points:
        if not pts or math.dist(p, pts[-1]) > 1e-9:
            pts.append(p)
    if len(pts) > 1 and math.dist(pts[0], pts[-1]) < 1e-9:
        pts.pop()
    changed = True
    while changed and len(pts) > 3:
        changed = False
        for i in range(len(pts)):
            a, b, c = pts[i - 1], pts[i], pts[(i + 1) % len(pts)]
            if abs(_turn(a, b, c)) < COLLINEAR_TOL:
                del pts[i]
                changed = True
                break
    return pts


def _turn(a, b, c):
    h1 = math.atan2(b[1] - a[1], b[0] - a[0])
    h2 = math.atan2(c[1] - b[1], c[0] - b[0])
    return math.degrees((h2 - h1 + math.pi) % (2 * math.pi) - math.pi)


def _eq(a, b):
    return abs(a - b) <= LEN_TOL * max(a, b)


def _parallel(p, q, r, s):
    d1 = math.atan2(q[1] - p[1], q[0] - p[0])
    d2 = math.atan2(s[1] - r[1], s[0] - r[0])
    diff = math.degrees(abs(d1 - d2)) % 180
    return min(diff, 180 - diff) <= ANGLE_TOL


def classify(d: str) -> str:
    points, radii = parse_path(d)
    if radii:
        assert all(r == radii[0] for r in radii)
        rx, ry = radii[0]
        return "circle" if _eq(rx, ry) else "ellipse"
    pts = corners(points)
    n = len(pts)
    turns = [_turn(pts[i - 1], pts[i], pts[(i + 1) % n]) for i in range(n)]
    # Interior angle = 180 - |turn|; a right corner turns by 90.
    right = [abs(abs(t) - 90) <= ANGLE_TOL for t in turns]
    if n == 3:
        return "right triangle" if any(right) else "triangle"
    if n > 4:
        return {5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}[n]
    sides = [math.dist(pts[i], pts[(i + 1) % 4]) for i in range(4)]
    par1 = _parallel(pts[0], pts[1], pts[3], pts[2])
    par2 = _parallel(pts[1], pts[2], pts[0], pts[3])
    equal_all = all(_eq(sides[0], s) for s in sides)
    if par1 and par2:
        if all(right):
            return "square" if equal_all else "rectangle"
        return "rhombus" if equal_all else "parallelogram"
    if par1 or par2:
        return "trapezoid"
    if (_eq(sides[0], sides[1]) and _eq(sides[2], sides[3])) or (
            _eq(sides[1], sides[2]) and _eq(sides[3], sides[0])):
        return "kite"
    raise AssertionError(f"unclassifiable quadrilateral {pts}")


# Every name a shape is also entitled to (inclusive definitions: a
# parallelogram is a trapezoid, a rhombus is a kite).
BROADER = {"square": {"rectangle", "rhombus", "kite", "parallelogram", "trapezoid"},
           "rectangle": {"parallelogram", "trapezoid"},
           "rhombus": {"parallelogram", "kite", "trapezoid"},
           "parallelogram": {"trapezoid"},
           "right triangle": {"triangle"},
           "circle": {"ellipse"}}


def fitting_names(d: str) -> set[str]:
    """Every shape name the path fits within the tolerances, broad or narrow."""
    points, radii = parse_path(d)
    if radii:
        rx, ry = radii[0]
        return {"ellipse", "circle"} if _eq(rx, ry) else {"ellipse"}
    pts = corners(points)
    n = len(pts)
    turns = [_turn(pts[i - 1], pts[i], pts[(i + 1) % n]) for i in range(n)]
    right = [abs(abs(t) - 90) <= ANGLE_TOL for t in turns]
    if n == 3:
        return {"triangle", "right triangle"} if any(right) else {"triangle"}
    if n != 4:
        return {{5: "pentagon", 6: "hexagon", 7: "heptagon", 8: "octagon"}[n]}
    sides = [math.dist(pts[i], pts[(i + 1) % 4]) for i in range(4)]
    par = [_parallel(pts[0], pts[1], pts[3], pts[2]), _parallel(pts[1], pts[2], pts[0], pts[3])]
    equal = all(_eq(sides[0], x) for x in sides)
    names = set()
    if all(right):
        names.add("rectangle")
    if equal:
        names.add("rhombus")
    if all(right) and equal:
        names.add("square")
    if all(par):
        names.add("parallelogram")
    if any(par):
        names.add("trapezoid")
    if (_eq(sides[0], sides[1]) and _eq(sides[2], sides[3])) or (
            _eq(sides[1], sides[2]) and _eq(sides[3], sides[0])):
        names.add("kite")
    return names


def defensible_answers(text: str, params: dict) -> set[str]:
    """The question asks for the most specific name: the offered names the
    path fits (within 2 degrees and 3%) that no other fitting offered name
    is narrower than. Near-misses count as fitting, so a rectangle drawn
    almost square, or offered beside a name it nearly fits, shows up."""
    assert "most specific name" in text, text
    d = re.search(r'<path d="([^"]+)"', text).group(1)
    offered = dict(re.findall(r"^(\([A-Z]\)) (.+)$", text, re.MULTILINE))
    fits = {label: name for label, name in offered.items() if name in fitting_names(d)}
    return {label for label, name in fits.items()
            if not any(name in BROADER.get(other, ()) for other in fits.values())}


def _margins_ok(d: str, shape: str) -> None:
    """Shapes that are not right / equal / parallel miss by a wide margin."""
    points, radii = parse_path(d)
    if radii:
        rx, ry = radii[0]
        assert shape == "circle" or max(rx, ry) / min(rx, ry) >= 1.3
        return
    pts = corners(points)
    n = len(pts)
    turns = [abs(_turn(pts[i - 1], pts[i], pts[(i + 1) % n])) for i in range(n)]
    assert min(turns) >= 14, turns
    if shape in ("triangle", "rhombus", "parallelogram"):
        assert all(abs(t - 90) >= 10 for t in turns), (shape, turns)


def solve_from_text(text: str) -> str:
    d = re.search(r'<path d="([^"]+)"', text).group(1)
    name = classify(d)
    options = dict(re.findall(r"^(\([A-Z]\)) (.+)$", text, re.MULTILINE))
    return next(label for label, option in options.items() if option == name)


def test_targets_match_independent_solver_over_grid():
    axes = {"shape_set": ["basic", "extended", "full"], "options": [2, 5, 14],
            "rotate": [False, True], "redundant": [0, 1, 3, 6],
            "syntax": ["absolute", "relative", "mixed"]}
    task = get_task("shapes")
    n = 0
    for params, test in grid_samples("shapes", axes, per_point=6):
        assert test.target == solve_from_text(test.input), test.input
        g = test.genresult
        d = re.search(r'<path d="([^"]+)"', test.input).group(1)
        _margins_ok(d, g["shape"])
        assert g["shape"] in ["triangle", "right triangle", "square", "rectangle", "rhombus",
                              "parallelogram", "trapezoid", "kite", "pentagon", "hexagon",
                              "heptagon", "octagon", "circle", "ellipse"]
        assert len(g["options"]) == len(set(g["options"])) == params["options"]
        assert len(g["edits"]) == params["redundant"]
        if params["syntax"] == "absolute":
            assert not re.search(r"[a-z]", d)
        if params["syntax"] == "relative":
            assert not re.search(r"[A-Z]", d)
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_every_shape_occurs_in_full_set():
    seen = {t.genresult["shape"] for _, t in grid_samples("shapes", {"options": [4]}, 400,
                                                           {"shape_set": "full"})}
    assert len(seen) == 14


def test_same_corner_rival_is_among_options():
    # A rectangle target with two options always meets another quadrilateral.
    for _, t in grid_samples("shapes", {"options": [2]}, 200, {"shape_set": "full"}):
        if t.genresult["corners"] == 4:
            assert t.genresult["same_corner_distractors"] == 1


def _test(options=6):
    return next(t for _, t in grid_samples("shapes", {"options": [options]}, 1,
                                           {"shape_set": "full"}))


@pytest.mark.parametrize("template,correct", [
    ("The path has four corners...\n\nFinal Answer: {label}", True),
    ("**Final Answer:** **{label}**", True),
    ("So it is $\\boxed{{{label}}}$.", True),
    ("Final Answer: {label}.", True),
    ("Final Answer: {other}\nHmm, I misread an edge.\nFinal Answer: {label}", True),
    ("final answer:   {lower}", True),
    ("Final Answer: {label} {name}", True),
    ("Final Answer: {name}", True),
    ("Final Answer: {other}", False),
])
def test_extraction(template, correct):
    task = get_task("shapes")
    test = _test()
    label = test.target
    other = next(lb for lb in test.response_enum if lb != label)
    name = test.genresult["shape"]
    response = template.format(label=label, other=other, lower=label.lower(), name=name)
    verdict = task.score(response, test)
    assert verdict.is_valid and verdict.is_correct == correct, (response, verdict)


def test_longer_shape_name_wins():
    task = get_task("shapes")
    for _, test in grid_samples("shapes", {"options": [14]}, 3, {"shape_set": "full"}):
        labels = dict(zip(test.genresult["options"], test.response_enum))
        assert task.extract("Final Answer: right triangle", test) == labels["right triangle"]
        assert task.extract("Final Answer: triangle", test) == labels["triangle"]


def test_no_answer_is_invalid():
    verdict = get_task("shapes").score("I cannot tell what this draws.", _test())
    assert not verdict.is_valid and not verdict.is_correct


def test_broader_names_are_offered_only_under_a_most_specific_question():
    seen_broader = 0
    for _, test in grid_samples("shapes", {"options": [6, 14]}, 60, {"shape_set": "full"}):
        assert "most specific name" in test.input
        g = test.genresult
        seen_broader += any(o in BROADER.get(g["shape"], ()) for o in g["options"])
    assert seen_broader > 20
    # A square path fits every broader name too: only the question's wording
    # leaves one answer.
    square = "M 10 10 L 60 10 L 60 60 L 10 60 Z"
    assert fitting_names(square) == {"square", "rectangle", "rhombus", "kite",
                                     "parallelogram", "trapezoid"}
    text = (f'<path d="{square}" />\nWhich is the most specific name for the shape it draws?\n'
            "(A) rectangle\n(B) square\n(C) rhombus\n(D) pentagon")
    assert defensible_answers(text, {}) == {"(B)"}
