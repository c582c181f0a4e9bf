"""arithmetic: evaluate a nested integer expression.

Axes (each makes the problem harder for a different reason):
- `length`: number of operands; every extra operand is one more step to carry.
- `depth`: nesting of parentheses, exactly (a chain of n operands nests at
  most n - 2 deep, so larger depths are cut to that); deeper nesting forces
  the model to keep a stack of partial results.
- `digits`: operand size; larger numbers make each step error-prone.
- `spacing`: "normal", "none" (whitespace removed, tokens run together) or
  "random" (irregular spacing); tests tokenisation robustness.
- `ops`: "+-" or "+-*" (mixed precedence: * binds tighter than + and -).

Ground truth comes from evaluating the generated structure (a list of terms
and operators per level, reduced with explicit precedence), never from the
rendered text.
"""

from __future__ import annotations

import random
from typing import Any, Union

from contour.spec.nesting import spine_layout
from contour.spec.params import Bool, Choice, Int, ParamSchema
from contour.spec.task import Instructions, Measure, NumberTask, Test
from contour.tasks.registry import register

# A chain is [term, op, term, op, term, ...]; a term is an int or a chain.
Chain = list
Term = Union[int, Chain]


def _build(rng: random.Random, n: int, depth: int, p: dict[str, Any]) -> Chain:
    """A chain of n operands whose parentheses nest exactly `depth` deep
    (n >= depth + 2): one part, the spine, nests depth - 1 deeper inside
    its parentheses; the other parts nest no deeper than the spine."""
    sizes, spine = spine_layout(rng, n, depth)
    chain: Chain = []
    for i, size in enumerate(sizes):
        if i:
            chain.append(rng.choice(p["ops"]))
        if i == spine:
            chain.append(_build(rng, size, depth - 1, p))
        elif size == 1:
            chain.append(_operand(rng, p))
        else:
            chain.append(_build(rng, size, rng.randint(0, min(depth - 1, size - 2)), p))
    return chain


def _operand(rng: random.Random, p: dict[str, Any]) -> int:
    value = rng.randint(0 if p["digits"] == 1 else 10 ** (p["digits"] - 1), 10 ** p["digits"] - 1)
    return -value if p["negatives"] and rng.random() < 0.25 else value


def evaluate(chain: Chain) -> int:
    """Reduce a chain: products first, then sums, left to right."""
    values = [evaluate(t) if isinstance(t, list) else t for t in chain[::2]]
    ops = chain[1::2]
    terms = [values[0]]
    signs = [1]
    for op, value in zip(ops, values[1:]):
        if op == "*":
            terms[-1] *= value
        else:
            terms.append(value)
            signs.append(1 if op == "+" else -1)
    return sum(s * t for s, t in zip(signs, terms))


def _operands(chain: Chain) -> list[int]:
    return [v for t in chain[::2] for v in (_operands(t) if isinstance(t, list) else [t])]


def nesting(chain: Chain) -> int:
    subs = [nesting(t) + 1 for t in chain[::2] if isinstance(t, list)]
    return max(subs, default=0)


def render(chain: Chain, rng: random.Random, spacing: str) -> str:
    def gap() -> str:
        if spacing == "none":
            return ""
        if spacing == "random":
            return " " * rng.choice([0, 0, 1, 1, 2])
        return " "

    out = []
    for i, t in enumerate(chain):
        if i % 2:
            out.append(f"{gap()}{t}{gap()}")
        elif isinstance(t, list):
            out.append(f"({render(t, rng, spacing)})")
        else:
            out.append(f"({t})" if t < 0 else str(t))
    return "".join(out)


@register
class Arithmetic(NumberTask):
    name = "arithmetic"
    version = 2
    description = "Evaluate a nested integer arithmetic expression."
    schema = ParamSchema({
        "length": Int(4, 2, 64, "number of operands"),
        "depth": Int(1, 0, 10, "nesting of parentheses (at most length - 2)"),
        "digits": Int(1, 1, 6, "maximum digits per operand"),
        "ops": Choice("+-*", ["+-", "+-*"], "operators used"),
        "spacing": Choice("normal", ["normal", "none", "random"], "whitespace between tokens"),
        "negatives": Bool(False, "allow negative operands"),
    })
    instructions = Instructions(
        direct="Evaluate the arithmetic expression (* binds tighter than + and -). "
               "Respond with only the integer result as 'Final Answer: <integer>'.",
        cot="Evaluate the arithmetic expression (* binds tighter than + and -). "
            "Think step by step, then end with a line 'Final Answer: <integer>'.",
    )

    measures = {
        "length": Measure("operands", lambda t: len(_operands(t.genresult["chain"]))),
        "depth": Measure("nesting", lambda t: t.genresult["nesting"]),
        "digits": Measure("operand digits", lambda t: sum(
            len(str(abs(v))) for v in _operands(t.genresult["chain"])) / len(_operands(t.genresult["chain"]))),
        "ops": Measure("multiplications", lambda t: t.genresult["multiplications"]),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        depth = min(params["depth"], params["length"] - 2)
        chain = _build(rng, params["length"], depth, params)
        text = render(chain, rng, params["spacing"])
        return Test(
            input=f"Evaluate: {text} =",
            target=str(evaluate(chain)),
            genresult={"chain": chain, "nesting": nesting(chain),
                       "multiplications": text.count("*")},
        )

