"""sequence: continue a rule-based integer sequence, or fill its gap.

"3, 7, 11, 15, ... What is the next number?" or "2, 6, ?, 54, 162: what
number does ? stand for?". The answer is an open integer.

Axes (each makes the problem harder for a different reason):
- `level`: rule complexity, 1 to 5. Each level draws from its own families:
  1 arithmetic; 2 geometric, quadratic; 3 Fibonacci-like, affine recurrence
  (x -> r*x + c), two interleaved arithmetic sequences, alternating
  "+a then *b"; 4 cubic, second-order recurrence (x_n = p*x_{n-1} +
  q*x_{n-2}), tribonacci-like; 5 second-order recurrence plus a constant,
  interleaved arithmetic/geometric, interleaved quadratic/arithmetic. Higher
  levels have more hidden parameters and need more steps of difference,
  ratio or recurrence analysis before the rule shows.
- `extra_terms`: terms shown beyond the minimum for the rule. The minimum is
  the rule's number of free parameters plus two (plus two per half for
  interleaved rules), so even at 0 the rule is pinned down and checked
  twice; fewer terms leave less evidence to find the rule and verify it.
- `mode`: "continue" asks for the next term; "gap" hides one inner term,
  which breaks the run of consecutive terms that difference and ratio
  tables rely on.

Ground truth is the generated rule's own term at the asked position. Every
draw is also checked for ambiguity and redrawn when ambiguous, so the target
is the prediction of the unique best-supported rule. A rule's support is its
spare checks: shown terms minus free parameters. Every rule family of a
catalogue (integer multipliers enumerated over a range wider than the
generator draws, plus "tails": an arithmetic, geometric or quadratic rule
that starts after one free first term) is fitted to the shown terms; a draw
is rejected when a rival fits with another answer and is at least as
plausible: checked at least once and of the same or a lower level (its
family's level, `RIVAL_LEVEL`), or checked as often as the true rule;
and when another family fits with more checks (a simpler rule than the
label). So "1, -1, -2, -4, -8" (add -2, times 2: next -10) is rejected,
because doubling after the first term (next -16) fits as well at the same
level, and so is "0, 6, 6, 12" (Fibonacci: 18; "add 6, times 1": 12). Rivals that interleave two
simple rules, each checked twice on its own half, are weighed the same way,
and the hidden-term half of an interleaved rule must be best-supported on
its own. Fits are linear once the multipliers are fixed and are solved
modulo a 61-bit prime: exact except with probability about 2^-61 per fit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import Instructions, Measure, NumberTask, Test
from contour.tasks.registry import register

LEVELS: dict[int, list[str]] = {
    1: ["arithmetic"],
    2: ["geometric", "quadratic"],
    3: ["fibonacci", "affine", "interleaved_arithmetic", "alternating"],
    4: ["cubic", "second_order", "tribonacci"],
    5: ["second_order_const", "interleaved_mixed", "interleaved_quadratic"],
}

# Free parameters of each family (initial values, coefficients, ratios): the
# fewest terms that determine the rule.
DOF: dict[str, int] = {
    "arithmetic": 2, "geometric": 2, "quadratic": 3, "fibonacci": 2, "affine": 3,
    "interleaved_arithmetic": 4, "alternating": 3, "cubic": 4, "second_order": 4,
    "tribonacci": 3, "second_order_const": 5, "interleaved_mixed": 4,
    "interleaved_quadratic": 5,
}

# Free parameters of the (even, odd) halves of interleaved rules. Each half is
# a rule of its own and must be checked on its own: "3, 6, 9" alone fits both
# "add 3" and "add the previous two".
HALVES: dict[str, Callable[[dict[str, Any]], tuple[int, int]]] = {
    "interleaved_arithmetic": lambda c: (2, 2),
    "interleaved_mixed": lambda c: (2, 2),
    "interleaved_quadratic": lambda c: (3, 2) if c["quadratic_first"] else (2, 3),
}


def min_shown(rule: str) -> int:
    """Fewest shown terms: two checks beyond the free parameters, for each
    half separately when the rule interleaves two."""
    return DOF[rule] + (4 if rule in HALVES else 2)


def _halves_checked(rule: str, coefs: dict[str, Any], n: int, target: int) -> bool:
    if rule not in HALVES:
        return True
    for parity, dof in enumerate(HALVES[rule](coefs)):
        if sum(1 for i in range(parity, n, 2) if i != target) < dof + 2:
            return False
    return True


_SECOND_ORDER = [(1, 2), (2, 1), (1, 3), (3, 1), (2, 2), (2, 3), (3, -1)]
_MAX_MAGNITUDE = 10 ** 8


def _sign(rng: random.Random, p_negative: float) -> int:
    return -1 if rng.random() < p_negative else 1


def _draw(rule: str, rng: random.Random, n: int) -> dict[str, Any]:
    """Coefficients for `rule`; ranges keep terms readable and the rule
    non-degenerate (no zero step, no ratio 1, no coinciding halves)."""
    r = rng.randint
    if rule == "arithmetic":
        return {"a": r(-10, 40), "d": r(2, 15) * _sign(rng, 0.3)}
    if rule == "geometric":
        ratios = [q for q in (2, 3, 4, 5, -2, -3) if 9 * abs(q) ** n <= _MAX_MAGNITUDE]
        return {"a": r(1, 9) * _sign(rng, 0.15), "r": rng.choice(ratios)}
    if rule == "quadratic":
        return {"a": r(1, 4) * _sign(rng, 0.3), "b": r(-9, 9), "c": r(-10, 20)}
    if rule == "cubic":
        return {"a": r(1, 3) * _sign(rng, 0.3), "b": r(-6, 6), "c": r(-9, 9), "e": r(-10, 20)}
    if rule == "fibonacci":
        return {"x0": r(0, 12), "x1": r(1, 15)}
    if rule == "tribonacci":
        # Two zero starts would read as "repeat, then add": 0, 0, 6, 6, 12.
        return {"x0": r(0, 8), "x1": r(1, 8), "x2": r(1, 8)}
    if rule == "affine":
        return {"x0": r(1, 12), "r": rng.choice([2, 3, -2]), "c": r(1, 9) * _sign(rng, 0.3)}
    if rule in ("second_order", "second_order_const"):
        p, q = rng.choice(_SECOND_ORDER)
        out = {"x0": r(0, 6), "x1": r(1, 9), "p": p, "q": q}
        if rule == "second_order_const":
            out["c"] = r(1, 9) * _sign(rng, 0.3)
        return out
    if rule == "alternating":
        return {"x0": r(1, 12), "a": r(1, 9) * _sign(rng, 0.2), "b": rng.choice([2, 3, -2]),
                "add_first": rng.random() < 0.5}
    if rule == "interleaved_arithmetic":
        d1 = r(1, 12) * _sign(rng, 0.3)
        d2 = rng.choice([d for d in range(-12, 13) if d not in (0, d1)])
        return {"a1": r(0, 40), "d1": d1, "a2": r(0, 40), "d2": d2}
    if rule == "interleaved_mixed":
        return {"a": r(0, 40), "d": r(1, 12) * _sign(rng, 0.3), "g": r(1, 9),
                "r": rng.choice([2, 3, -2]), "geometric_first": rng.random() < 0.5}
    if rule == "interleaved_quadratic":
        return {"qa": r(1, 3) * _sign(rng, 0.3), "qb": r(-6, 6), "qc": r(-10, 20),
                "a": r(0, 40), "d": r(1, 12) * _sign(rng, 0.3),
                "quadratic_first": rng.random() < 0.5}
    raise AssertionError(rule)


def _recur(seed: list[int], coefs: list[int], const: int, n: int) -> list[int]:
    out = list(seed)
    while len(out) < n:
        out.append(sum(c * out[-1 - j] for j, c in enumerate(coefs)) + const)
    return out[:n]


def terms(rule: str, c: dict[str, Any], n: int) -> list[int]:
    """The first n terms of the rule, by direct simulation."""
    if rule == "arithmetic":
        return [c["a"] + c["d"] * i for i in range(n)]
    if rule == "geometric":
        return [c["a"] * c["r"] ** i for i in range(n)]
    if rule == "quadratic":
        return [c["a"] * i * i + c["b"] * i + c["c"] for i in range(n)]
    if rule == "cubic":
        return [c["a"] * i ** 3 + c["b"] * i * i + c["c"] * i + c["e"] for i in range(n)]
    if rule == "fibonacci":
        return _recur([c["x0"], c["x1"]], [1, 1], 0, n)
    if rule == "tribonacci":
        return _recur([c["x0"], c["x1"], c["x2"]], [1, 1, 1], 0, n)
    if rule == "affine":
        return _recur([c["x0"]], [c["r"]], c["c"], n)
    if rule in ("second_order", "second_order_const"):
        return _recur([c["x0"], c["x1"]], [c["p"], c["q"]], c.get("c", 0), n)
    if rule == "alternating":
        out = [c["x0"]]
        for i in range(1, n):
            add = (i % 2 == 1) == c["add_first"]
            out.append(out[-1] + c["a"] if add else out[-1] * c["b"])
        return out
    if rule.startswith("interleaved"):
        if rule == "interleaved_arithmetic":
            first = [c["a1"] + c["d1"] * k for k in range(n)]
            second = [c["a2"] + c["d2"] * k for k in range(n)]
        elif rule == "interleaved_mixed":
            first = [c["a"] + c["d"] * k for k in range(n)]
            second = [c["g"] * c["r"] ** k for k in range(n)]
            if c["geometric_first"]:
                first, second = second, first
        else:
            first = [c["qa"] * k * k + c["qb"] * k + c["qc"] for k in range(n)]
            second = [c["a"] + c["d"] * k for k in range(n)]
            if not c["quadratic_first"]:
                first, second = second, first
        return [first[i // 2] if i % 2 == 0 else second[i // 2] for i in range(n)]
    raise AssertionError(rule)


# ---------------------------------------------------------------------------
# Ambiguity check. Every candidate rule, once its integer multipliers (ratio,
# recurrence coefficients) are fixed, makes each term a linear combination of
# a few remaining parameters (start values, steps, constants): its "rows".
# Fitting is then linear algebra on the shown terms.

_PRIME = (1 << 61) - 1
Rows = Callable[[int], list[list[int]]]


@dataclass(frozen=True)
class _Candidate:
    family: str
    mults: tuple
    multipliers: int  # how many of the rule's free parameters are enumerated
    width: int        # how many are linear
    rows: Rows


def _poly_rows(degree: int) -> Rows:
    return lambda n: [[i ** k for k in range(degree, -1, -1)] for i in range(n)]


def _rec_rows(coefs: tuple, const: bool) -> Rows:
    k = len(coefs)
    width = k + int(const)

    def rows(n: int) -> list[list[int]]:
        out = [[int(j == i) for j in range(width)] for i in range(min(k, n))]
        for _ in range(k, n):
            row = [sum(c * out[-1 - j][col] for j, c in enumerate(coefs)) for col in range(width)]
            if const:
                row[k] += 1
            out.append(row)
        return out
    return rows


def _alternating_rows(b: int, add_first: bool) -> Rows:
    def rows(n: int) -> list[list[int]]:
        out = [[1, 0]]
        for i in range(1, n):
            x, a = out[-1]
            out.append([x, a + 1] if (i % 2 == 1) == add_first else [b * x, b * a])
        return out[:n]
    return rows


def _interleave_rows(even: Rows, even_width: int, odd: Rows, odd_width: int) -> Rows:
    def rows(n: int) -> list[list[int]]:
        e, o = even((n + 1) // 2), odd(n // 2)
        return [e[i // 2] + [0] * odd_width if i % 2 == 0 else [0] * even_width + o[i // 2]
                for i in range(n)]
    return rows


def _build_candidates() -> list[_Candidate]:
    ratios = [r for r in range(-5, 6) if r not in (-1, 0, 1)]
    pairs = [(p, q) for p in range(-3, 4) for q in range(-3, 4) if q != 0]
    c = [
        _Candidate("arithmetic", (), 0, 2, _poly_rows(1)),
        _Candidate("quadratic", (), 0, 3, _poly_rows(2)),
        _Candidate("cubic", (), 0, 4, _poly_rows(3)),
        _Candidate("fibonacci", (), 0, 2, _rec_rows((1, 1), False)),
        _Candidate("tribonacci", (), 0, 3, _rec_rows((1, 1, 1), False)),
        _Candidate("interleaved_arithmetic", (), 0, 4,
                   _interleave_rows(_poly_rows(1), 2, _poly_rows(1), 2)),
        _Candidate("interleaved_quadratic", (True,), 0, 5,
                   _interleave_rows(_poly_rows(2), 3, _poly_rows(1), 2)),
        _Candidate("interleaved_quadratic", (False,), 0, 5,
                   _interleave_rows(_poly_rows(1), 2, _poly_rows(2), 3)),
    ]
    c += [_Candidate("geometric", (r,), 1, 1, _rec_rows((r,), False)) for r in ratios]
    c += [_Candidate("affine", (r,), 1, 2, _rec_rows((r,), True))
          for r in range(-5, 6) if r not in (0, 1)]
    c += [_Candidate("alternating", (b, first), 1, 2, _alternating_rows(b, first))
          for b in range(-5, 6) for first in (True, False)]  # b = 1: "+a, +0"
    c += [_Candidate("second_order", pq, 2, 2, _rec_rows(pq, False)) for pq in pairs]
    c += [_Candidate("second_order_const", pq, 2, 3, _rec_rows(pq, True)) for pq in pairs]
    for r in ratios:
        geo = _rec_rows((r,), False)
        c.append(_Candidate("interleaved_mixed", (r, True), 1, 3,
                            _interleave_rows(geo, 1, _poly_rows(1), 2)))
        c.append(_Candidate("interleaved_mixed", (r, False), 1, 3,
                            _interleave_rows(_poly_rows(1), 2, geo, 1)))
    return c


def _tail_rows(base: Rows, base_width: int) -> Rows:
    """The first term free, the rule from the second term on."""
    def rows(n: int) -> list[list[int]]:
        return [[1] + [0] * base_width] + [[0] + row for row in base(n - 1)]
    return rows


_CANDIDATES = _build_candidates() + [
    _Candidate("arithmetic_tail", (), 0, 3, _tail_rows(_poly_rows(1), 2)),
    _Candidate("quadratic_tail", (), 0, 4, _tail_rows(_poly_rows(2), 3)),
] + [_Candidate("geometric_tail", (r,), 1, 2, _tail_rows(_rec_rows((r,), False), 1))
     for r in range(-5, 6) if r not in (-1, 0, 1)]

# The level of every catalogue family, rivals included: a family's level in
# LEVELS, and one more than the base rule for a tail.
RIVAL_LEVEL: dict[str, int] = {family: level for level, families in LEVELS.items()
                               for family in families}
RIVAL_LEVEL.update(arithmetic_tail=2, geometric_tail=3, quadratic_tail=3)


def _true_key(rule: str, c: dict[str, Any]) -> tuple:
    mults: tuple = ()
    if rule in ("geometric", "affine"):
        mults = (c["r"],)
    elif rule in ("second_order", "second_order_const"):
        mults = (c["p"], c["q"])
    elif rule == "alternating":
        mults = (c["b"], c["add_first"])
    elif rule == "interleaved_mixed":
        mults = (c["r"], c["geometric_first"])
    elif rule == "interleaved_quadratic":
        mults = (c["quadratic_first"],)
    return rule, mults


@dataclass(frozen=True)
class _Fit:
    """A candidate prepared for one layout (which positions are shown)."""

    pivots: list[int]          # positions whose values fix the linear parameters
    inverse: list[list[int]]   # maps pivot values to parameters (mod prime)
    others: list[tuple[int, list[int]]]  # remaining shown positions and rows
    target: list[int]          # target value as a combination of pivot values
    spare: int                 # shown terms beyond the rule's free parameters
    screen: tuple[int, list[int]]  # first other position, likewise combined


def _inverse_mod(m: list[list[int]]) -> list[list[int]] | None:
    size = len(m)
    a = [[x % _PRIME for x in row] + [int(i == j) for j in range(size)]
         for i, row in enumerate(m)]
    for col in range(size):
        pivot = next((r for r in range(col, size) if a[r][col]), None)
        if pivot is None:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        inv = pow(a[col][col], _PRIME - 2, _PRIME)
        a[col] = [x * inv % _PRIME for x in a[col]]
        for r in range(size):
            if r != col and a[r][col]:
                f = a[r][col]
                a[r] = [(x - f * y) % _PRIME for x, y in zip(a[r], a[col])]
    return [row[size:] for row in a]


def _prepare(cand: _Candidate, n: int, target: int) -> _Fit | None:
    shown = [i for i in range(n) if i != target]
    spare = len(shown) - cand.width - cand.multipliers
    if spare < 1:
        return None  # it fits anything of this length: no evidence either way
    rows = [[x % _PRIME for x in row] for row in cand.rows(n)]
    # Greedy pivots: the first shown rows that raise the rank.
    basis: list[tuple[int, list[int]]] = []
    pivots: list[int] = []
    for i in shown:
        v = rows[i][:]
        for col, b in basis:
            if v[col]:
                f = v[col]
                v = [(x - f * y) % _PRIME for x, y in zip(v, b)]
        col = next((j for j, x in enumerate(v) if x), None)
        if col is None:
            continue
        inv = pow(v[col], _PRIME - 2, _PRIME)
        basis.append((col, [x * inv % _PRIME for x in v]))
        pivots.append(i)
        if len(pivots) == cand.width:
            break
    if len(pivots) < cand.width:
        return None  # parameters not determined by the shown terms
    inverse = _inverse_mod([rows[i] for i in pivots])
    assert inverse is not None
    def through(row: list[int]) -> list[int]:
        return [sum(t * inverse[k][j] for k, t in enumerate(row)) % _PRIME
                for j in range(cand.width)]

    others = [(i, rows[i]) for i in shown if i not in pivots]
    # spare >= 1 guarantees at least one other shown position.
    return _Fit(pivots, inverse, others, through(rows[target]), spare,
                (others[0][0], through(others[0][1])))


_LAYOUTS: dict[tuple[int, int], list[_Fit | None]] = {}


def _layout(n: int, target: int) -> list[_Fit | None]:
    key = (n, target)
    if key not in _LAYOUTS:
        _LAYOUTS[key] = [_prepare(c, n, target) for c in _CANDIDATES]
    return _LAYOUTS[key]


def fitting_rules(values: list[int], target: int,
                  simple: bool = False) -> list[tuple[str, tuple, int, int]]:
    """Every catalogue rule (only plain ones, no interleaving or tail, when `simple`) that
    fits the shown terms, all positions but `target`:
    (family, multipliers, spare checks, predicted value mod prime)."""
    fits = []
    for cand, fit in zip(_CANDIDATES, _layout(len(values), target)):
        if fit is None or (simple and (cand.family.startswith("interleaved")
                                       or cand.family.endswith("_tail"))):
            continue
        y = [values[i] % _PRIME for i in fit.pivots]
        # Most rules fail on the first extra term: test it before solving.
        at, combo = fit.screen
        if (sum(a * b for a, b in zip(combo, y)) - values[at]) % _PRIME:
            continue
        params = [sum(row[j] * y[j] for j in range(len(y))) % _PRIME for row in fit.inverse]
        if any(sum(a * b for a, b in zip(row, params)) % _PRIME != values[i] % _PRIME
               for i, row in fit.others):
            continue
        pred = sum(a * b for a, b in zip(fit.target, y)) % _PRIME
        fits.append((cand.family, cand.mults, fit.spare, pred))
    return fits


def _half_key(rule: str, c: dict[str, Any], parity: int) -> tuple:
    """The simple rule of one half of an interleaved rule."""
    if rule == "interleaved_arithmetic":
        return "arithmetic", ()
    if rule == "interleaved_mixed":
        geometric = (parity == 0) == c["geometric_first"]
        return ("geometric", (c["r"],)) if geometric else ("arithmetic", ())
    quadratic = (parity == 0) == c["quadratic_first"]
    return ("quadratic", ()) if quadratic else ("arithmetic", ())


def _best_supported(fits: list, key: tuple, truth: int, level: int | None = None) -> bool:
    """The rule `key` fits, predicts `truth`, and no rival explains the terms
    as well with another answer, or better as another family. With `level`,
    a rival of that level or below that fits with another answer is as
    plausible as the true rule however many checks each has."""
    own = [f for f in fits if (f[0], f[1]) == key]
    if not own or own[0][3] != truth:
        return False  # the true rule is not pinned down at this layout
    spare = own[0][2]
    # Rivals with fewer spare checks lose to the true rule; a rival of
    # another family with more means the rule is simpler than its label.
    return all((pred == truth or (s < spare and (level is None or RIVAL_LEVEL[family] > level)))
               and (family == key[0] or s <= spare)
               for family, _, s, pred in fits)


def _unambiguous(rule: str, coefs: dict[str, Any], values: list[int], target: int) -> bool:
    truth = values[target] % _PRIME
    level = RIVAL_LEVEL[rule]
    if not _best_supported(fitting_rules(values, target), _true_key(rule, coefs), truth, level):
        return False
    # Rivals that interleave two simple rules, each checked at least twice
    # on its own half (the standard the interleaved families are held to).
    parity = target % 2
    own_half = fitting_rules(values[parity::2], target // 2, simple=True)
    if rule in HALVES:
        return _best_supported(own_half, _half_key(rule, coefs, parity), truth)
    other = values[1 - parity::2]
    other_spare = max((s for _, _, s, _ in fitting_rules(other + [0], len(other), simple=True)
                       if s >= 2), default=None)
    if other_spare is None:
        return True
    spare = len(values) - 1 - DOF[rule]
    return all(pred == truth or s < 2 or s + other_spare < spare
               for _, _, s, pred in own_half)


_MAX_DRAWS = 200


@register
class Sequence(NumberTask):
    name = "sequence"
    version = 2
    description = "Continue a rule-based integer sequence or fill in its missing term."
    schema = ParamSchema({
        "level": Int(2, 1, 5, "rule complexity (1 arithmetic ... 5 mixed and interleaved rules)"),
        "extra_terms": Int(2, 0, 8, "terms shown beyond the minimum that pins the rule down"),
        "mode": Choice("continue", ["continue", "gap"],
                       "ask for the next term, or for a hidden inner term"),
    })
    instructions = Instructions(
        direct="Find the rule of the sequence and give the number asked for. "
               "Respond with only that integer as 'Final Answer: <integer>'.",
        cot="Find the rule of the sequence and give the number asked for. "
            "Think step by step, then end with a line 'Final Answer: <integer>'.",
    )

    measures = {
        "level": Measure("rule parameters", lambda t: DOF[t.genresult["rule"]]),
        "extra_terms": Measure("missing evidence (1 / spare checks)",
                               lambda t: 1 / t.genresult["spare_checks"]),
        "mode": Measure("asked term inside the shown ones",
                        lambda t: float(t.genresult["position"] < t.genresult["shown"])),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        gap = params["mode"] == "gap"
        for _ in range(_MAX_DRAWS):
            rule = rng.choice(LEVELS[params["level"]])
            shown = min_shown(rule) + params["extra_terms"]
            n = shown + 1
            target = rng.randint(1, n - 2) if gap else n - 1
            coefs = _draw(rule, rng, n)
            if not _halves_checked(rule, coefs, n, target):
                continue
            values = terms(rule, coefs, n)
            if max(abs(v) for v in values) > _MAX_MAGNITUDE:
                continue
            if rule == "alternating" and 0 in values:
                continue  # multiplying zero hides the multiplier
            if _unambiguous(rule, coefs, values, target):
                break
        else:
            raise AssertionError(f"sequence: no unambiguous draw for {params}")

        visible = values if gap else values[:shown]
        listed = ", ".join("?" if i == target else str(v) for i, v in enumerate(visible))
        if gap:
            text = ("This number sequence follows a rule; one term is replaced by ?.\n"
                    f"{listed}\nWhat number does ? stand for?")
        else:
            text = ("This number sequence follows a rule.\n"
                    f"{listed}, ...\nWhat is the next number in the sequence?")
        return Test(
            input=text,
            target=str(values[target]),
            genresult={
                "rule": rule,
                "level": params["level"],
                "coefficients": coefs,
                "terms": values,
                "shown": shown,
                "position": target,
                "mode": params["mode"],
                "spare_checks": shown - DOF[rule],
            },
        )

