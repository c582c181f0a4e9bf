import json
import random
from fractions import Fraction

import pytest

from contour.errors import ContourError
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

# ---------------------------------------------------------------------------
# Independent solver. It reads the terms from the text and fits general model
# classes with exact rational arithmetic: polynomials (Lagrange
# interpolation), linear recurrences with unknown coefficients (solved from
# the windows of consecutive shown terms), sums of the previous k terms,
# alternating add/multiply steps, and any two of these interleaved on even
# and odd positions. The answer is the prediction of the model with the most
# spare checks (shown terms minus free parameters); tied models must agree.


def parse(text: str) -> tuple[dict[int, int], int, int]:
    line = text.splitlines()[1]
    tokens = [t.strip() for t in line.split(",")]
    if tokens[-1] == "...":
        tokens.pop()
        target = len(tokens)
    else:
        target = tokens.index("?")
    known = {i: int(t) for i, t in enumerate(tokens) if t != "?"}
    return known, target, max(len(tokens), target + 1)


def _solve(rows: list[list[Fraction]], rhs: list[Fraction], unknowns: int):
    """The unique exact solution of an overdetermined system, else None."""
    a = [r[:] + [b] for r, b in zip(rows, rhs)]
    rank = 0
    for col in range(unknowns):
        pivot = next((i for i in range(rank, len(a)) if a[i][col] != 0), None)
        if pivot is None:
            return None  # not determined
        a[rank], a[pivot] = a[pivot], a[rank]
        a[rank] = [x / a[rank][col] for x in a[rank]]
        for i in range(len(a)):
            if i != rank and a[i][col] != 0:
                f = a[i][col]
                a[i] = [x - f * y for x, y in zip(a[i], a[rank])]
        rank += 1
    if any(row[-1] != 0 for row in a[rank:]):
        return None  # inconsistent
    return [a[i][-1] for i in range(unknowns)]


def fit_poly(known, t, n, degree):
    pts = sorted(known.items())
    if len(pts) < degree + 1:
        return None
    base = pts[:degree + 1]

    def f(x):
        total = Fraction(0)
        for j, (xj, yj) in enumerate(base):
            term = Fraction(yj)
            for m, (xm, _) in enumerate(base):
                if m != j:
                    term *= Fraction(x - xm, xj - xm)
            total += term
        return total

    if any(f(x) != y for x, y in pts):
        return None
    return True if t is None else f(t)


def fit_recurrence(known, t, n, k, const, coefs=None):
    """x_m = sum c_j x_{m-j} + c0; coefficients fitted unless given."""
    def window_known(m, have):
        return all((m - j) in have for j in range(k + 1))

    if coefs is None:
        windows = [m for m in range(k, n) if window_known(m, known)]
        rows = [[Fraction(known[m - j]) for j in range(1, k + 1)] + ([Fraction(1)] if const else [])
                for m in windows]
        sol = _solve(rows, [Fraction(known[m]) for m in windows], k + int(const))
        if sol is None:
            return None
        coefs, c0 = sol[:k], (sol[k] if const else 0)
    else:
        c0 = 0
    full = {i: Fraction(v) for i, v in known.items()}
    if t is not None:
        if t >= k:
            full[t] = sum(c * full[t - j] for j, c in enumerate(coefs, 1)) + c0
        else:
            for m in range(k, n):
                j = m - t
                if j <= k and coefs[j - 1] != 0 and all((m - i) in full for i in range(k + 1)
                                                        if m - i != t):
                    rest = sum(c * full[m - i] for i, c in enumerate(coefs, 1) if m - i != t)
                    full[t] = (full[m] - rest - c0) / coefs[j - 1]
                    break
            else:
                return None
    for m in range(k, n):
        if window_known(m, full):
            if full[m] != sum(c * full[m - j] for j, c in enumerate(coefs, 1)) + c0:
                return None
    return True if t is None else full[t]


def fit_alternating(known, t, n):
    preds = set()
    for add_first in (True, False):
        adds, muls = set(), set()
        for i in range(1, n):
            if i in known and i - 1 in known:
                if (i % 2 == 1) == add_first:
                    adds.add(Fraction(known[i] - known[i - 1]))
                elif known[i - 1] != 0:
                    muls.add(Fraction(known[i], known[i - 1]))
        if len(adds) != 1 or len(muls) != 1 or 0 not in known:
            continue
        a, b = adds.pop(), muls.pop()
        seq = [Fraction(known[0])]
        for i in range(1, n):
            seq.append(seq[-1] + a if (i % 2 == 1) == add_first else seq[-1] * b)
        if all(seq[i] == v for i, v in known.items()):
            preds.add(True if t is None else seq[t])
    return preds.pop() if len(preds) == 1 else None


# (name, degrees of freedom, fitter) for one stretch of terms.
SIMPLE = [
    ("poly1", 2, lambda kn, t, n: fit_poly(kn, t, n, 1)),
    ("poly2", 3, lambda kn, t, n: fit_poly(kn, t, n, 2)),
    ("poly3", 4, lambda kn, t, n: fit_poly(kn, t, n, 3)),
    ("ratio", 2, lambda kn, t, n: fit_recurrence(kn, t, n, 1, False)),
    ("ratio+c", 3, lambda kn, t, n: fit_recurrence(kn, t, n, 1, True)),
    ("rec2", 4, lambda kn, t, n: fit_recurrence(kn, t, n, 2, False)),
    ("rec2+c", 5, lambda kn, t, n: fit_recurrence(kn, t, n, 2, True)),
    ("sum2", 2, lambda kn, t, n: fit_recurrence(kn, t, n, 2, False, [1, 1])),
    ("sum3", 3, lambda kn, t, n: fit_recurrence(kn, t, n, 3, False, [1, 1, 1])),
]
WHOLE = SIMPLE + [("alternating", 3, fit_alternating)]


def solve(known: dict[int, int], t: int, n: int) -> tuple[Fraction, int]:
    """(answer, spare checks of the best-supported models)."""
    candidates = []  # (prediction, dof)
    for _, dof, fit in WHOLE:
        pred = fit(known, t, n)
        if pred is not None:
            candidates.append((pred, dof))
    halves = [({i // 2: v for i, v in known.items() if i % 2 == p}, (n + 1 - p) // 2)
              for p in (0, 1)]
    (own, own_n), (other, other_n) = halves[t % 2], halves[1 - t % 2]
    # Each half must be a rule of its own, checked at least twice.
    other_dofs = [dof for _, dof, fit in SIMPLE
                  if len(other) >= dof + 2 and fit(other, None, other_n) is not None]
    if other_dofs:
        for _, dof, fit in SIMPLE:
            pred = fit(own, t // 2, own_n) if len(own) >= dof + 2 else None
            if pred is not None:
                candidates.append((pred, dof + min(other_dofs)))
    best = max(len(known) - d for _, d in candidates)
    answers_ = {p for p, d in candidates if len(known) - d == best}
    assert best >= 1 and len(answers_) == 1, (known, t, candidates)
    return answers_.pop(), best


# The level of each model: the task's rule levels (1 arithmetic; 2 geometric,
# quadratic; 3 Fibonacci, affine, alternating, interleaved arithmetic; 4
# cubic, second order, tribonacci; 5 second order plus a constant, mixed
# interleavings), the general-coefficient fits included.
LEVEL = {"poly1": 1, "poly2": 2, "ratio": 2, "poly3": 4, "ratio+c": 3, "rec2": 4,
         "rec2+c": 5, "sum2": 3, "sum3": 4, "alternating": 3}
# A simple rule after one free first term ("1, then doubling") is one level
# above the rule itself.
TAILS = {"poly1": 2, "ratio": 3, "poly2": 3}


def _interleaved_level(a: str, b: str) -> int:
    if a == b == "poly1":
        return 3
    return 2 + max(LEVEL[a], LEVEL[b]) + (a != b)


def readings(known: dict[int, int], t: int, n: int) -> list[tuple[str, int, int, Fraction]]:
    """Every model that fits the shown terms with at least one spare check:
    (name, level, spare checks, prediction at t)."""
    out = []
    for name, dof, fit in WHOLE:
        pred = fit(known, t, n)
        if pred is not None and len(known) - dof >= 1:
            out.append((name, LEVEL[name], len(known) - dof, pred))
    if 0 in known and t > 0:
        rest = {i - 1: v for i, v in known.items() if i > 0}
        for name, dof, fit in SIMPLE:
            if name in TAILS and len(known) - dof - 1 >= 1:
                pred = fit(rest, t - 1, n - 1)
                if pred is not None:
                    out.append((name + " tail", TAILS[name], len(known) - dof - 1, pred))
    halves = [({i // 2: v for i, v in known.items() if i % 2 == p}, (n + 1 - p) // 2)
              for p in (0, 1)]
    (own, own_n), (other, other_n) = halves[t % 2], halves[1 - t % 2]
    # Each half a rule of its own, checked at least twice.
    others = [(name, dof) for name, dof, fit in SIMPLE
              if len(other) >= dof + 2 and fit(other, None, other_n) is not None]
    for name, dof, fit in SIMPLE:
        pred = fit(own, t // 2, own_n) if len(own) >= dof + 2 else None
        if pred is None:
            continue
        for other_name, other_dof in others:
            spare = len(known) - dof - other_dof
            if spare >= 1:
                out.append((f"{name}/{other_name}", _interleaved_level(name, other_name),
                            spare, pred))
    return out


def defensible_answers(text: str, params: dict) -> set[str]:
    """The predictions of every model as plausible as the task's own rule:
    one of the task's level or below that fits with a spare check, or one
    of any level with as many checks as the best model of that level."""
    known, t, n = parse(text)
    fits = readings(known, t, n)
    level = params["level"]
    best = max((s for _, lv, s, _ in fits if lv <= level), default=0)
    return {str(p) for _, lv, s, p in fits if lv <= level or s >= best}


AXES = {"level": [1, 2, 3, 4, 5], "extra_terms": [0, 1, 3, 8], "mode": ["continue", "gap"]}


def test_targets_match_independent_solver_over_grid():
    task = get_task("sequence")
    n = 0
    for params, test in grid_samples("sequence", AXES, per_point=26):
        known, t, length = parse(test.input)
        answer, spare = solve(known, t, length)
        assert answer == int(test.target), (test.input, test.genresult)
        assert spare == test.genresult["spare_checks"]
        assert test.genresult["terms"][t] == int(test.target)
        assert test.response_enum is None
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_every_family_appears():
    rules = {t.genresult["rule"] for _, t in grid_samples("sequence", AXES, per_point=10)}
    assert len(rules) == 13


def test_gap_is_inside():
    for _, test in grid_samples("sequence", {"level": [1, 3, 5]}, 20, {"mode": "gap"}):
        shown = test.input.splitlines()[1].split(", ")
        assert shown[0] != "?" and shown[-1] != "?" and shown.count("?") == 1


def _a_test():
    return next(t for _, t in grid_samples("sequence", {"level": [1]}, 1))


@pytest.mark.parametrize("response,expected", [
    ("The differences are all 4, so the next term is 19.\n\nFinal Answer: 19", "19"),
    ("**Final Answer:** **-12**", "-12"),
    ("So the missing term is $\\boxed{42}$.", "42"),
    ("Final Answer: 1,234.", "1234"),
    ("Final Answer: 5\nWait, the ratio is 3, not 2.\nFinal Answer: 6", "6"),
    ("final answer:   -7", "-7"),
    ("FINAL ANSWER: the next number is 96", "96"),
    ("I cannot see a pattern.", None),
])
def test_extraction(response, expected):
    assert get_task("sequence").extract(response, _a_test()) == expected


def test_no_answer_is_invalid():
    task = get_task("sequence")
    test = _a_test()
    verdict = task.score("No idea.", test)
    assert not verdict.is_valid and not verdict.is_correct


def test_a_second_rule_of_the_same_level_rejects_a_draw():
    from contour.tasks import sequence as seq

    # The examples. Add -2 then double: next -10; doubling after the
    # first term: -16.
    values = [1, -1, -2, -4, -8, -10]
    assert seq.terms("alternating", {"x0": 1, "a": -2, "b": 2, "add_first": True}, 6) == values
    assert not seq._unambiguous("alternating", {"x0": 1, "a": -2, "b": 2, "add_first": True},
                                values, 5)
    assert defensible_answers("This number sequence follows a rule.\n1, -1, -2, -4, -8, ...\n?",
                              {"level": 3}) == {"-10", "-16"}
    # Fibonacci 0, 6, 6, 12 -> 18, or "add 6, times 1" -> 12.
    values = seq.terms("fibonacci", {"x0": 0, "x1": 6}, 5)
    assert not seq._unambiguous("fibonacci", {"x0": 0, "x1": 6}, values, 4)
    assert defensible_answers("This number sequence follows a rule.\n0, 6, 6, 12, ...\n?",
                              {"level": 3}) == {"18", "12"}
