"""boolean: evaluate a nested logic expression written in one of several notations.

Axes (each makes the problem harder for a different reason):
- `length`: number of operands; every extra operand is one more value to
  combine and one more chance to slip.
- `depth`: nesting of parenthesised groups, exactly (n operands nest at most
  n - 2 deep, so larger depths are cut to that); deeper nesting forces the
  model to hold a stack of partial truth values.
- `negation`: chance that an operand or group is wrapped in NOT (NOTs can
  stack up to three deep); each NOT flips a value and stacked NOTs must be
  counted, not skimmed.
- `notation`: how the expression is written (Python keywords, C operators,
  symbols, logic glyphs, upper-case words, 1/0 bits, or "any" of these per
  test); unfamiliar symbols must be mapped back to their meaning.
- `ops`: "and_or", or "and_or_xor" where some groups use XOR, whose result
  depends on counting true inputs rather than finding one deciding value.
- `mixed`: when true, AND and OR are mixed within one unparenthesised group,
  so the model must apply precedence (AND before OR) instead of reading left
  to right.

XOR groups never mix with AND or OR without parentheses, because the
precedence of XOR differs between notations. Ground truth comes from
evaluating the generated tree, never from the rendered text; the truth value
is drawn first and trees are redrawn until they match it, so True and False
are equally likely whatever the shape.
"""

from __future__ import annotations

import random
from typing import Any, Union

from contour.spec import answers
from contour.spec.nesting import spine_layout
from contour.spec.params import Bool, Choice, Float, Int, ParamSchema
from contour.spec.task import UNIFORM, Instructions, Measure, Task, Test
from contour.tasks.registry import register

# A chain is [term, op, term, op, term, ...] with op in "and", "or", "xor";
# a term is a bool, {"not": term}, or a nested chain (rendered in parentheses).
Chain = list
Term = Union[bool, dict, Chain]

_MAX_NOTS = 3
_XOR_SHARE = 0.3
# Redrawing until the tree's value matches the drawn answer takes about two
# tries; the cap only matters for shapes that almost always give one value.
_MAX_REDRAWS = 64

# literal true, literal false, and, or, xor, not (prefix); "intro" opens the
# legend, and notations whose symbols are not self-explanatory spell them out.
NOTATIONS: dict[str, dict[str, str]] = {
    "python": {"true": "True", "false": "False", "and": "and", "or": "or",
               "xor": "^", "not": "not ", "intro": "It uses Python syntax"},
    "c": {"true": "true", "false": "false", "and": "&&", "or": "||",
          "xor": "^", "not": "!", "intro": "It uses C operators"},
    "symbolic": {"true": "T", "false": "F", "and": "&", "or": "|",
                 "xor": "^", "not": "~", "intro": "It uses symbols"},
    "logic": {"true": "T", "false": "F", "and": "∧", "or": "∨",
              "xor": "⊕", "not": "¬", "intro": "It uses logic notation"},
    "words": {"true": "TRUE", "false": "FALSE", "and": "AND", "or": "OR",
              "xor": "XOR", "not": "NOT ", "intro": "It is written in words"},
    "bits": {"true": "1", "false": "0", "and": "&", "or": "|",
             "xor": "^", "not": "!", "intro": "It uses bits"},
}
_CONCRETE = sorted(NOTATIONS)

# Answers other than true/false are accepted only where the notation itself
# writes truth that way, so a stray "1" or "T" elsewhere is not read as one.
_ANSWER_WORDS = {"symbolic": "|t|f", "logic": "|t|f", "bits": "|1|0"}
_CANONICAL = {"true": "True", "t": "True", "1": "True",
              "false": "False", "f": "False", "0": "False"}


def legend(notation: str, xor: bool) -> str:
    sym = NOTATIONS[notation]
    parts = []
    if sym["true"].casefold() != "true":
        parts += [f"{sym['true']} is true", f"{sym['false']} is false"]
    if notation not in ("python", "words"):
        parts += [f"{sym['and']} is AND", f"{sym['or']} is OR", f"{sym['not'].strip()} is NOT"]
    if xor and notation != "words":
        parts.append(f"{sym['xor']} is XOR")
    return sym["intro"] + (": " + ", ".join(parts) if parts else "") + "."


def _build(rng: random.Random, n: int, depth: int, p: dict[str, Any]) -> Chain:
    """A chain of n operands whose groups nest exactly `depth` deep
    (n >= depth + 2): one part, the spine, nests depth - 1 deeper inside its
    parentheses; the other parts nest no deeper than the spine."""
    sizes, spine = spine_layout(rng, n, depth)
    if p["ops"] == "and_or_xor" and rng.random() < _XOR_SHARE:
        ops = ["xor"] * (len(sizes) - 1)
    elif p["mixed"]:
        ops = [rng.choice(["and", "or"]) for _ in sizes[1:]]
    else:
        ops = [rng.choice(["and", "or"])] * (len(sizes) - 1)
    chain: Chain = []
    for i, size in enumerate(sizes):
        if i:
            chain.append(ops[i - 1])
        if i == spine:
            term: Term = _build(rng, size, depth - 1, p)
        elif size == 1:
            term = rng.random() < 0.5
        else:
            term = _build(rng, size, rng.randint(0, min(depth - 1, size - 2)), p)
        for _ in range(_MAX_NOTS):
            if rng.random() >= p["negation"]:
                break
            term = {"not": term}
        chain.append(term)
    return chain


def evaluate(term: Term) -> bool:
    """NOT first, then AND groups, then OR across groups; XOR chains are pure."""
    if isinstance(term, bool):
        return term
    if isinstance(term, dict):
        return not evaluate(term["not"])
    values = [evaluate(t) for t in term[::2]]
    ops = term[1::2]
    if ops and ops[0] == "xor":
        return sum(values) % 2 == 1
    alternatives = [values[0]]
    for op, value in zip(ops, values[1:]):
        if op == "and":
            alternatives[-1] = alternatives[-1] and value
        else:
            alternatives.append(value)
    return any(alternatives)


def render(chain: Chain, notation: str) -> str:
    sym = NOTATIONS[notation]

    def term_text(term: Term, in_xor: bool) -> str:
        if isinstance(term, bool):
            return sym["true"] if term else sym["false"]
        if isinstance(term, dict):
            text = sym["not"] + term_text(term["not"], False)
            # Python's `not` binds looser than `^`: "a ^ not b" does not parse.
            return f"({text})" if in_xor and notation == "python" else text
        return f"({chain_text(term)})"

    def chain_text(ch: Chain) -> str:
        in_xor = len(ch) > 1 and ch[1] == "xor"
        out = []
        for i, t in enumerate(ch):
            out.append(f" {sym[t]} " if i % 2 else term_text(t, in_xor))
        return "".join(out)

    return chain_text(chain)


def _groups(term: Term) -> int:
    """Parenthesis levels inside `term`, counting its own if it is a group."""
    if isinstance(term, bool):
        return 0
    if isinstance(term, dict):
        return _groups(term["not"])
    return 1 + max(_groups(t) for t in term[::2])


def _operands(term: Term) -> int:
    if isinstance(term, bool):
        return 1
    if isinstance(term, dict):
        return _operands(term["not"])
    return sum(_operands(t) for t in term[::2])


def _stats(chain: Chain) -> dict[str, int]:
    counts = {"nots": 0, "xor_groups": 0, "mixed_groups": 0}

    def walk(term: Term) -> None:
        if isinstance(term, dict):
            counts["nots"] += 1
            walk(term["not"])
        elif isinstance(term, list):
            ops = set(term[1::2])
            counts["xor_groups"] += "xor" in ops
            counts["mixed_groups"] += ops == {"and", "or"}
            for t in term[::2]:
                walk(t)

    walk(chain)
    return {"nesting": _groups(chain) - 1, **counts}


@register
class Boolean(Task):
    name = "boolean"
    version = 2
    description = "Evaluate a nested boolean expression written in one of several notations."
    schema = ParamSchema({
        "length": Int(4, 2, 64, "number of operands"),
        "depth": Int(1, 0, 10, "nesting of parenthesised groups (at most length - 2)"),
        "negation": Float(0.2, 0.0, 0.9, "chance that an operand or group is negated (NOTs stack)"),
        "notation": Choice("python", _CONCRETE + ["any"],
                           "how the expression is written; 'any' picks one per test"),
        "ops": Choice("and_or", ["and_or", "and_or_xor"], "binary operators used"),
        "mixed": Bool(False, "mix AND and OR in one group, relying on precedence"),
    })
    instructions = Instructions(
        direct="Evaluate the boolean expression. "
               "Respond with only True or False as 'Final Answer: <True or False>'.",
        cot="Evaluate the boolean expression. Think step by step, "
            "then end with a line 'Final Answer: <True or False>'.",
    )

    # The truth value is drawn uniformly first (see the module docstring).
    blind_guess = UNIFORM
    measures = {
        "length": Measure("operands", lambda t: _operands(t.genresult["tree"])),
        "depth": Measure("nesting", lambda t: t.genresult["nesting"]),
        "negation": Measure("NOTs", lambda t: t.genresult["nots"]),
        "ops": Measure("XOR groups", lambda t: t.genresult["xor_groups"]),
        "mixed": Measure("mixed AND/OR groups", lambda t: t.genresult["mixed_groups"]),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        notation = params["notation"]
        if notation == "any":
            notation = rng.choice(_CONCRETE)
        want = rng.random() < 0.5
        for _ in range(_MAX_REDRAWS):
            chain = _build(rng, params["length"], min(params["depth"], params["length"] - 2), params)
            value = evaluate(chain)
            if value == want:
                break
        rules = "NOT applies only to the value or parenthesised group right after it"
        rules += ", and AND binds tighter than OR." if params["mixed"] else "."
        if params["ops"] == "and_or_xor":
            rules += " XOR is true when exactly one of its two inputs is true;" \
                     " a chain of XORs is read left to right."
        text = render(chain, notation)
        return Test(
            input=f"Evaluate the following boolean expression. "
                  f"{legend(notation, params['ops'] == 'and_or_xor')} "
                  f"{rules}\n\nExpression: {text}\n\nIs it True or False?",
            target="True" if value else "False",
            response_enum=["True", "False"],
            guess_chance=0.5,
            genresult={"tree": chain, "notation": notation, "value": value,
                       **_stats(chain)},
        )

    def extract(self, response: str, test: Test) -> str | None:
        region = answers.answer_region(response)
        if region is None:
            return None
        words = "true|false" + _ANSWER_WORDS.get(test.genresult["notation"], "")
        # Apostrophes are excluded so the "t" of "isn't" is never an answer.
        m = answers.last_match(rf"(?<![\w'’])({words})(?![\w'’])",
                               answers.strip_markup(region).casefold())
        return m.group(1) if m else None

    def normalize(self, answer: str, test: Test) -> str:
        return _CANONICAL.get(answer.strip().casefold(), answer)
