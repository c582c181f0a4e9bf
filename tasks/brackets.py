"""brackets: close the open brackets at the end of a balanced-sequence prefix.

Axes (each makes the problem harder for a different reason):
- `open`: brackets left unclosed at the end of the prefix, which is the
  length of the answer; the model must recall each one, innermost first.
- `pairs`: complete pairs inside the prefix; they close nothing in the answer
  but must be matched and cancelled to find what is still open.
- `types`: bracket kinds used, from ( [ { <; with more than one the order
  of the open kinds must be kept exactly. With one kind the answer is fixed
  by `open` alone: a constant answer is always right (guess chance 1, and
  `contour grid --check` warns), so configs use two or more.
- `noise`: share of filler letters mixed between the brackets; they must be
  ignored while scanning.
- `spacing`: "spaced" (one bracket per word) or "none" (brackets run
  together, so tokens no longer line up with brackets).

The prefix is drawn uniformly among all sequences with the requested number
of pairs and open brackets (ballot numbers weight each step), so deep and
shallow shapes appear as often as they occur in the space. Each opening
bracket's kind is drawn on its own, so the brackets left open are `open`
independent uniform kinds and the best blind answer scores types^-open.
Ground truth is the stack of open brackets kept while generating, reversed.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from math import comb
from typing import Any

from contour.spec import answers
from contour.spec.params import Choice, Float, Int, ParamSchema
from contour.spec.task import Instructions, Measure, Task, Test
from contour.tasks.registry import register

OPENERS = "([{<"
CLOSER = {"(": ")", "[": "]", "{": "}", "<": ">"}
_FILLER = "abcdefghijklmnopqrstuvwxyz"
# A candidate answer is a run of brackets separated only by spaces or commas,
# not touching a letter or digit, so "(see above)" in prose is not one.
_RUN = re.compile(r"(?<![\w])[()\[\]{}<>](?:[\s,]*[()\[\]{}<>])*(?![\w])")
# A boxed answer holds braces of its own ("\boxed{)]}}" or "\boxed{) \}}"),
# which defeat brace matching; the box closes at the last brace of the run.
_BOXED = re.compile(r"\\boxed\s*\{((?:\\?[()\[\]{}<>]|[ \t,])*)\}")


@lru_cache(maxsize=65536)
def _paths(height: int, steps: int, end: int) -> int:
    """Walks of `steps` ±1 moves from `height` to `end` that never go below 0.

    Reflection principle: all walks minus those that touch -1.
    """
    ups2 = steps + end - height
    if ups2 < 0 or ups2 % 2 or ups2 > 2 * steps:
        return 0
    ups = ups2 // 2
    bad_ups = ups + height + 1
    return comb(steps, ups) - (comb(steps, bad_ups) if bad_ups <= steps else 0)


def _prefix(rng: random.Random, pairs: int, open_: int, types: int) -> tuple[str, str]:
    """A uniform prefix with `pairs` closed pairs and `open_` open brackets,
    and the brackets still open at its end (outermost first)."""
    stack: list[str] = []
    out: list[str] = []
    steps = 2 * pairs + open_
    for left in range(steps, 0, -1):
        total = _paths(len(stack), left, open_)
        if rng.randrange(total) < _paths(len(stack) + 1, left - 1, open_):
            stack.append(rng.choice(OPENERS[:types]))
            out.append(stack[-1])
        else:
            out.append(CLOSER[stack.pop()])
    return "".join(out), "".join(stack)


def _max_depth(seq: str) -> int:
    depth = best = 0
    for ch in seq:
        depth += 1 if ch in OPENERS else -1
        best = max(best, depth)
    return best


def brackets_only(text: str) -> str:
    return "".join(ch for ch in text if ch in "()[]{}<>")


@register
class Brackets(Task):
    name = "brackets"
    version = 2
    description = "Complete a prefix of a balanced bracket sequence with its closing brackets."
    schema = ParamSchema({
        "open": Int(3, 1, 40, "brackets left open at the end of the prefix (answer length)"),
        "pairs": Int(4, 0, 100, "complete pairs inside the prefix"),
        "types": Int(3, 1, 4, "bracket kinds used, from ( [ { < (1: the answer is fixed by open)"),
        "noise": Float(0.0, 0.0, 0.5, "share of filler letters mixed between the brackets"),
        "spacing": Choice("spaced", ["spaced", "none"], "space between symbols, or none"),
    })
    instructions = Instructions(
        direct="Complete the bracket sequence so that every bracket is closed in the right "
               "order. Respond with only the closing brackets to append, separated by spaces, "
               "as 'Final Answer: <brackets>'.",
        cot="Complete the bracket sequence so that every bracket is closed in the right "
            "order. Think step by step, then end with a line 'Final Answer: <brackets>' "
            "giving only the closing brackets to append, separated by spaces.",
    )

    measures = {
        "open": Measure("brackets to close", lambda t: len(t.genresult["open_stack"])),
        "pairs": Measure("brackets in the prefix", lambda t: len(t.genresult["prefix"])),
        "types": Measure("kinds in the prefix",
                         lambda t: len(set(t.genresult["prefix"]) & set(OPENERS))),
        "noise": Measure("filler letters", lambda t: t.genresult["noise_symbols"]),
    }

    def exact_guess_chance(self, params: dict[str, Any]) -> float:
        return float(params["types"]) ** -params["open"]

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        prefix, stack = _prefix(rng, params["pairs"], params["open"], params["types"])
        symbols = []
        for ch in prefix:
            # Filler arrives at the given rate; the sequence always ends on a
            # bracket so the last symbol read is never noise.
            while params["noise"] and rng.random() < params["noise"]:
                symbols.append(rng.choice(_FILLER))
            symbols.append(ch)
        sep = " " if params["spacing"] == "spaced" else ""
        note = " Letters are noise: ignore them." if params["noise"] else ""
        closing = [CLOSER[ch] for ch in reversed(stack)]
        return Test(
            input="Complete the following sequence so that every bracket is properly closed. "
                  f"Give only the brackets that must be added at the end.{note}\n\n"
                  f"Sequence: {sep.join(symbols)}",
            target=" ".join(closing),
            genresult={"prefix": prefix, "open_stack": stack, "max_depth": _max_depth(prefix),
                       "noise_symbols": len(symbols) - len(prefix),
                       "kinds_open": len(set(stack))},
        )

    def extract(self, response: str, test: Test) -> str | None:
        response = _BOXED.sub(lambda m: m.group(1).replace("\\", ""), response)
        region = answers.answer_region(response)
        if region is None:
            return None
        m = answers.last_match(_RUN, answers.strip_markup(region))
        return m.group(0) if m else None

    def normalize(self, answer: str, test: Test) -> str:
        seq = brackets_only(answer)
        # Restating the whole sequence with its completion is unambiguous
        # (a completion alone never starts with an opener), so accept it.
        prefix = test.genresult["prefix"]
        if prefix and seq.startswith(prefix):
            seq = seq[len(prefix):]
        return seq
