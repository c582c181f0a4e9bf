"""shapes: name the shape that an SVG path draws.

The input is one closed SVG `<path d="...">`; the question is multiple
choice over shape names. Fourteen shapes are built from parameters that keep
them well clear of each other's definitions: triangle (no right angle),
right triangle, square, rectangle, rhombus, parallelogram, trapezoid, kite,
pentagon, hexagon, heptagon, octagon (regular or irregular convex), circle
and ellipse (drawn with arc commands).

Axes (each makes the problem harder for a different reason):
- `shape_set`: which shapes can be the answer. "basic" (triangle, square,
  pentagon, hexagon, octagon, circle) is settled by counting corners;
  "extended" adds right triangle, rectangle, heptagon and ellipse, which
  need an angle, a side ratio or arc radii checked; "full" adds rhombus,
  parallelogram, trapezoid and kite, which need parallel sides and side
  lengths compared.
- `options`: number of choices. Distractors are taken first from the
  answer's own shape set, closest corner count first (same-corner shapes,
  e.g. rectangle for a square, come before anything else), so more options
  brings in the nearest rivals.

Some names include others (every square is also a rectangle, a rhombus, a
kite and a parallelogram; every right triangle is a triangle; every circle
is an ellipse), so the question asks for the most specific name, says so,
and the answer is the narrowest class the shape belongs to. Offering only
names that exclude each other would empty the option list of the nearest
rivals, which are exactly the broader classes.
- `rotate`: off, the shape is turned by a multiple of 90 degrees (edges on
  the axes, right angles visible as equal coordinates); on, by any angle,
  so lengths and angles must be computed from the coordinates.
- `redundant`: number of redundant path edits: an edge split into collinear
  pieces, a zero-length segment, the path starting in the middle of an edge,
  an explicit line back to the start before Z (for circles and ellipses, an
  arc split into two, or a zero-length line). Each adds a point that is not
  a corner, so counting commands overcounts.
- `syntax`: "absolute" (M/L/A), "relative" (m/l/a: every point is an offset
  from the previous one, so positions must be accumulated) or "mixed"
  (absolute and relative commands interleaved, with H/V for axis-parallel
  edges).

Coordinates are rounded to one decimal. Every shape spans at least 50 units
and its shortest edge at least about 10, so rounding moves a direction by
under half a degree and a length by under 1%; the shapes are built with
margins far larger (non-right angles differ from 90 by 12 degrees or more,
"unequal" sides differ by 30% or more, non-parallel sides by 10 degrees or
more, and every polygon corner turns by at least 15 degrees), which keeps
the name unambiguous at a 2 degree / 3% tolerance. The answer is the shape
that was constructed; the path text is never read back.
"""

from __future__ import annotations

import math
import random
from typing import Any

from contour.spec import answers
from contour.spec.params import Bool, Choice, Int, ParamSchema
from contour.spec.task import ChoiceTask, Measure, Test
from contour.tasks.registry import register

SHAPES = ["triangle", "right triangle", "square", "rectangle", "rhombus", "parallelogram",
          "trapezoid", "kite", "pentagon", "hexagon", "heptagon", "octagon", "circle",
          "ellipse"]
CORNERS = {"triangle": 3, "right triangle": 3, "square": 4, "rectangle": 4, "rhombus": 4,
           "parallelogram": 4, "trapezoid": 4, "kite": 4, "pentagon": 5, "hexagon": 6,
           "heptagon": 7, "octagon": 8, "circle": 0, "ellipse": 0}
SHAPE_SETS = {
    "basic": ["triangle", "square", "pentagon", "hexagon", "octagon", "circle"],
    "extended": ["triangle", "right triangle", "square", "rectangle", "pentagon", "hexagon",
                 "heptagon", "octagon", "circle", "ellipse"],
    "full": SHAPES,
}
REDUNDANCIES = ["split", "zero", "start_mid", "explicit_close"]
QUESTION = ("Which is the most specific name for the shape it draws? (For a square, "
            "\"square\" rather than \"rectangle\" or \"rhombus\".)")

Point = tuple[float, float]


def _polar(r: float, deg: float) -> Point:
    return (r * math.cos(math.radians(deg)), r * math.sin(math.radians(deg)))


def _triangle(rng: random.Random) -> list[Point]:
    while True:
        a, b = rng.uniform(25, 125), rng.uniform(25, 125)
        angles = (a, b, 180 - a - b)
        if all(25 <= x <= 125 and abs(x - 90) >= 12 for x in angles):
            break
    # Base on the x axis; the apex from the base angle a and, by the law of
    # sines, the side opposite b.
    side = math.sin(math.radians(b)) / math.sin(math.radians(angles[2]))
    return [(0, 0), (1, 0), _polar(side, a)]


def _right_triangle(rng: random.Random) -> list[Point]:
    return [(0, 0), (1, 0), (0, rng.uniform(0.45, 1.0))]


def _square(rng: random.Random) -> list[Point]:
    return [(0, 0), (1, 0), (1, 1), (0, 1)]


def _rectangle(rng: random.Random) -> list[Point]:
    h = 1 / rng.uniform(1.35, 2.5)
    return [(0, 0), (1, 0), (1, h), (0, h)]


def _parallelogram_points(b: float, deg: float) -> list[Point]:
    dx, dy = _polar(b, deg)
    return [(0, 0), (1, 0), (1 + dx, dy), (dx, dy)]


def _rhombus(rng: random.Random) -> list[Point]:
    return _parallelogram_points(1.0, rng.uniform(45, 75))


def _parallelogram(rng: random.Random) -> list[Point]:
    return _parallelogram_points(1 / rng.uniform(1.35, 2.5), rng.uniform(45, 75))


def _trapezoid(rng: random.Random) -> list[Point]:
    top, h = rng.uniform(0.35, 0.7), rng.uniform(0.35, 0.7)
    x0 = rng.choice([0.0, (1 - top) / 2, rng.uniform(0, 1 - top)])
    return [(0, 0), (1, 0), (x0 + top, h), (x0, h)]


def _kite(rng: random.Random) -> list[Point]:
    while True:
        w, h1, h2 = rng.uniform(0.4, 0.7), rng.uniform(0.25, 0.6), rng.uniform(0.9, 1.6)
        if math.hypot(w, h2) >= 1.3 * math.hypot(w, h1):
            return [(0, h1), (w, 0), (0, -h2), (-w, 0)]


def _polygon(n: int):
    def build(rng: random.Random) -> list[Point]:
        if rng.random() < 0.5:
            return [_polar(1, 360 * i / n) for i in range(n)]
        while True:
            gaps = [rng.uniform(0.7, 1.3) for _ in range(n)]
            total, angle, pts = sum(gaps), 0.0, []
            for g in gaps:
                pts.append(_polar(rng.uniform(0.85, 1.0), angle))
                angle += 360 * g / total
            turns = [_turn(pts[i - 1], pts[i], pts[(i + 1) % n]) for i in range(n)]
            # Convex, and no corner so flat that it could pass for collinear.
            if all(t >= 15 for t in turns) and max(_dist(pts[i - 1], pts[i])
                                                  for i in range(n)) < 3 * min(
                    _dist(pts[i - 1], pts[i]) for i in range(n)):
                return pts
    return build


def _turn(a: Point, b: Point, c: Point) -> float:
    """Signed turning angle at b, in degrees (positive = counterclockwise)."""
    h1 = math.atan2(b[1] - a[1], b[0] - a[0])
    h2 = math.atan2(c[1] - b[1], c[0] - b[0])
    return math.degrees((h2 - h1 + math.pi) % (2 * math.pi) - math.pi)


def _dist(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


_BUILDERS = {"triangle": _triangle, "right triangle": _right_triangle, "square": _square,
             "rectangle": _rectangle, "rhombus": _rhombus, "parallelogram": _parallelogram,
             "trapezoid": _trapezoid, "kite": _kite, "pentagon": _polygon(5),
             "hexagon": _polygon(6), "heptagon": _polygon(7), "octagon": _polygon(8)}


def _tenths(v: float) -> int:
    return int(round(v * 10))


def _fmt(t: int) -> str:
    """Tenths as text: 125 -> "12.5", 120 -> "12", -5 -> "-0.5"."""
    sign, t = ("-" if t < 0 else ""), abs(t)
    return f"{sign}{t // 10}" if t % 10 == 0 else f"{sign}{t // 10}.{t % 10}"


def _place(rng: random.Random, pts: list[Point], angle: float) -> list[tuple[int, int]]:
    """Rotate, mirror, scale to 50-110 units across and move into view;
    coordinates in integer tenths."""
    mirror = rng.random() < 0.5
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    turned = [((-x if mirror else x) * c - y * s, (-x if mirror else x) * s + y * c)
              for x, y in pts]
    xs, ys = [p[0] for p in turned], [p[1] for p in turned]
    scale = rng.uniform(50, 110) / max(max(xs) - min(xs), max(ys) - min(ys))
    ox, oy = rng.uniform(10, 60), rng.uniform(10, 60)
    return [(_tenths(ox + (x - min(xs)) * scale), _tenths(oy + (y - min(ys)) * scale))
            for x, y in turned]


def _between(rng: random.Random, a: tuple[int, int], b: tuple[int, int],
             low: float, high: float) -> tuple[int, int]:
    f = rng.uniform(low, high)
    return (round(a[0] + (b[0] - a[0]) * f), round(a[1] + (b[1] - a[1]) * f))


# Only edges at least this long (in tenths) are split, and pieces keep at
# least a third of it, so a rounded split point bends its edge by under
# 1.5 degrees, far below the 15 degrees of the flattest real corner.
_SPLITTABLE = 150


def _split_edge(rng: random.Random, path: list[tuple[int, int]]) -> int:
    """Index i of an edge path[i] -> path[i+1] (wrapping) that is long enough
    to split (the longest edge when none is)."""
    lengths = [math.dist(path[i], path[(i + 1) % len(path)]) for i in range(len(path))]
    long_enough = [i for i, n in enumerate(lengths) if n >= _SPLITTABLE]
    return rng.choice(long_enough) if long_enough else lengths.index(max(lengths))


def _polygon_segments(rng: random.Random, pts: list[tuple[int, int]],
                      edits: list[str]) -> list[list[Any]]:
    """The path as segments ["M"|"L", point]; edits add points that are not
    corners. A start mid-edge comes first and an explicit close last, so
    each stays what it claims to be."""
    path = list(pts)
    if "start_mid" in edits:
        i = _split_edge(rng, path)
        path = path[i + 1:] + path[:i + 1]      # now the closing edge
        path = [_between(rng, path[-1], path[0], 0.35, 0.65)] + path
    for edit in edits:
        if edit == "split":
            i = _split_edge(rng, path)
            a, b = path[i], path[(i + 1) % len(path)]
            if math.dist(a, b) < 2 * _SPLITTABLE or rng.random() < 0.5:
                extra = [_between(rng, a, b, 0.35, 0.65)]
            else:
                extra = [_between(rng, a, b, 0.3, 0.4), _between(rng, a, b, 0.6, 0.7)]
            path[i + 1:i + 1] = extra
        elif edit == "zero":
            i = rng.randrange(len(path))
            path.insert(i + 1, path[i])
    if "explicit_close" in edits:
        path.append(path[0])
    return [["M", path[0]]] + [["L", p] for p in path[1:]]


def _arc_segments(rng: random.Random, kind: str, rotate: bool,
                  edits: list[str]) -> tuple[list[list[Any]], dict[str, Any]]:
    """A circle or ellipse as two or more arcs; every split edit adds an arc."""
    size = rng.uniform(50, 110)
    rx = _tenths(size / 2)
    ry = rx if kind == "circle" else _tenths(size / 2 / rng.uniform(1.4, 2.2))
    phi = rng.randrange(0, 180) if rotate else rng.choice([0, 90])
    if kind == "circle":
        phi = 0
    cx, cy = _tenths(rng.uniform(10, 60)) + rx, _tenths(rng.uniform(10, 60)) + rx
    arcs = 2 + sum(e in ("split", "start_mid", "explicit_close") for e in edits)
    start = rng.uniform(0, 2 * math.pi)
    if arcs == 2:
        cuts = [start, start + math.pi]
    else:
        cuts = sorted(start + 2 * math.pi * (i + rng.uniform(-0.25, 0.25)) / arcs
                      for i in range(arcs))
    cuts.append(cuts[0] + 2 * math.pi)
    c, s = math.cos(math.radians(phi)), math.sin(math.radians(phi))

    def at(t: float) -> tuple[int, int]:
        x, y = rx * math.cos(t), ry * math.sin(t)
        return (round(cx + x * c - y * s), round(cy + x * s + y * c))

    segments: list[list[Any]] = [["M", at(cuts[0])]]
    for i in range(1, len(cuts)):
        # The last arc ends exactly where the first began.
        end = segments[0][1] if i == len(cuts) - 1 else at(cuts[i])
        segments.append(["A", end, 1 if cuts[i] - cuts[i - 1] > math.pi + 1e-9 else 0])
    for edit in edits:
        if edit == "zero":
            i = rng.randrange(len(segments))
            segments.insert(i + 1, ["L", segments[i][1]])
    return segments, {"rx": rx / 10, "ry": ry / 10, "rotation": phi}


def render_path(rng: random.Random, segments: list[list[Any]], syntax: str,
                arc: dict[str, Any] | None) -> str:
    out = []
    cur = segments[0][1]
    out.append(f"{'m' if syntax == 'relative' else 'M'} {_fmt(cur[0])} {_fmt(cur[1])}")
    for kind, pt, *rest in segments[1:]:
        rel = syntax == "relative" or (syntax == "mixed" and rng.random() < 0.5)
        dx, dy = pt[0] - cur[0], pt[1] - cur[1]
        x, y = (dx, dy) if rel else pt
        if kind == "A":
            cmd = "a" if rel else "A"
            out.append(f"{cmd} {_fmt(_tenths(arc['rx']))} {_fmt(_tenths(arc['ry']))} "
                       f"{arc['rotation']} {rest[0]} 1 {_fmt(x)} {_fmt(y)}")
        elif syntax == "mixed" and dy == 0 and rng.random() < 0.7:
            out.append(f"{'h' if rel else 'H'} {_fmt(x)}")
        elif syntax == "mixed" and dx == 0 and rng.random() < 0.7:
            out.append(f"{'v' if rel else 'V'} {_fmt(y)}")
        else:
            out.append(f"{'l' if rel else 'L'} {_fmt(x)} {_fmt(y)}")
        cur = pt
    out.append("z" if syntax == "relative" else "Z")
    return " ".join(out)


def _distractors(rng: random.Random, target: str, pool: list[str], n: int) -> list[str]:
    """Nearest rivals first: same corner count, then the closest counts
    (arcs count as far from every polygon); the answer's own shape set
    before shapes outside it."""
    def rank(name: str) -> tuple[int, int]:
        a, b = CORNERS[name], CORNERS[target]
        gap = abs(a - b) if a and b else (0 if a == b else 9)
        return (name not in pool, gap)

    others = [s for s in SHAPES if s != target]
    rng.shuffle(others)
    others.sort(key=rank)
    return others[:n]


def _off_axes(rotation: float) -> float:
    return min(rotation % 90, 90 - rotation % 90)


def _extra_points(test: Test) -> float:
    # A plain polygon path is M, one L per further corner and Z; an arc
    # shape is M, two arcs and Z. Everything beyond is redundant.
    g = test.genresult
    plain = 4 if g["arc"] else g["corners"] + 1
    return g["commands"] - plain


def _relative_share(test: Test) -> float:
    path = test.input.split('d="', 1)[1].split('"', 1)[0]
    commands = [c for c in path if c.isalpha() and c not in "Zz"]
    return sum(c.islower() for c in commands) / len(commands)


def _edits(rng: random.Random, n: int) -> list[str]:
    edits: list[str] = []
    for _ in range(n):
        kinds = [k for k in REDUNDANCIES
                 if k in ("split", "zero") or k not in edits]
        edits.append(rng.choice(kinds))
    return edits


@register
class Shapes(ChoiceTask):
    name = "shapes"
    version = 2
    description = "Identify the shape drawn by an SVG path."
    schema = ParamSchema({
        "shape_set": Choice("extended", list(SHAPE_SETS),
                            "which shapes can be the answer (basic, extended, full)"),
        "options": Int(4, 2, 14, "number of answer choices"),
        "rotate": Bool(False, "turn the shape by any angle, not just multiples of 90 degrees"),
        "redundant": Int(0, 0, 6, "number of redundant path edits (collinear splits, "
                                  "zero-length segments, mid-edge start, explicit close)"),
        "syntax": Choice("absolute", ["absolute", "relative", "mixed"],
                         "path commands: absolute, relative, or both mixed with H/V"),
    })
    measures = {
        "shape_set": Measure("same-corner rivals from the set",
                             lambda t: t.genresult["same_corner_rivals_in_set"]),
        "options": Measure("options", lambda t: len(t.genresult["options"])),
        "rotate": Measure("degrees off the axes", lambda t: _off_axes(t.genresult["rotation"])),
        "redundant": Measure("points that are not corners", _extra_points),
        "syntax": Measure("relative commands", _relative_share),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        target = rng.choice(SHAPE_SETS[params["shape_set"]])
        edits = _edits(rng, params["redundant"])
        angle = rng.uniform(0, 360) if params["rotate"] else rng.choice([0, 90, 180, 270])
        arc = None
        if target in ("circle", "ellipse"):
            segments, arc = _arc_segments(rng, target, params["rotate"], edits)
        else:
            corners = _place(rng, _BUILDERS[target](rng), angle)
            # Any corner can be the first one drawn, in either direction.
            k = rng.randrange(len(corners))
            corners = corners[k:] + corners[:k]
            if rng.random() < 0.5:
                corners.reverse()
            segments = _polygon_segments(rng, corners, edits)
        d = render_path(rng, segments, params["syntax"], arc)

        options = [target] + _distractors(rng, target, SHAPE_SETS[params["shape_set"]],
                                          params["options"] - 1)
        rng.shuffle(options)
        labels = answers.choice_labels(len(options))
        lines = ["This SVG path element draws a single closed shape:", "",
                 f'<path d="{d}" fill="none" stroke="black" />', "",
                 QUESTION, "", "Options:"]
        lines += [f"{label} {name}" for label, name in zip(labels, options)]
        return Test(
            input="\n".join(lines),
            target=labels[options.index(target)],
            response_enum=labels,
            genresult={
                "shape": target, "corners": CORNERS[target], "options": options,
                "same_corner_distractors": sum(
                    CORNERS[o] == CORNERS[target] for o in options if o != target),
                # rivals that only a second property (an angle, a side, a
                # radius) tells apart, among the shapes the set can answer
                "same_corner_rivals_in_set": sum(
                    CORNERS[o] == CORNERS[target] for o in options
                    if o != target and o in SHAPE_SETS[params["shape_set"]]),
                "edits": edits, "commands": len(segments) + 1,
                "rotation": round(angle, 1) if arc is None else arc["rotation"],
                "arc": arc,
            },
        )

    def option_by_text(self, region: str, test: Test) -> str | None:
        """A bare shape name ("Final Answer: right triangle") names its option."""
        options = zip(test.genresult.get("options", []), test.response_enum or [])
        return answers.last_named(answers.strip_markup(region), options, plural=True)
