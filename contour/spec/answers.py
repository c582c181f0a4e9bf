"""Pure helpers that find the final answer in a free-text response.

Rules, in order (the last occurrence always wins, because models revise):
1. text after a closing `</think>` only, when present;
2. the text after the last "Final Answer" marker, to the end of that line
   (or the next non-empty line when the marker ends its line);
3. else the content of the last `\\boxed{...}`;
4. else the last non-empty line (direct-answer templates often get a bare answer).
A boxed answer inside the final-answer line is unwrapped.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Iterable, TypeVar

T = TypeVar("T")

# A marker needs a separator, so prose such as "that is my final answer."
# after the real answer line is not mistaken for a new answer.
_FINAL = re.compile(r"final\s+answer\s*[*_]*\s*(?:is\b\s*[:：=]?|[:：=])", re.IGNORECASE)
_THINK_END = "</think>"


def answer_region(text: str) -> str | None:
    if not text:
        return None
    if _THINK_END in text:
        text = text.rsplit(_THINK_END, 1)[1]
    for marker in reversed(list(_FINAL.finditer(text))):
        region = _line_after(text[marker.end():])
        if region:
            boxed = boxed_contents(region)
            return boxed[-1] if boxed else region
    boxed = boxed_contents(text)
    if boxed:
        return boxed[-1]
    lines = [_clean_line(ln) for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else None


def _line_after(rest: str) -> str:
    """The rest of the marker's line, or the next non-empty line."""
    for line in rest.splitlines():
        if _clean_line(line):
            return _clean_line(line)
    return ""


def _clean_line(line: str) -> str:
    # Markdown emphasis around the marker ("**Final Answer:** x") leaves
    # stray asterisks at the start of the answer.
    return line.strip().strip("*_").strip()


def boxed_contents(text: str) -> list[str]:
    """Contents of every \\boxed{...} (balanced braces), in order."""
    found = []
    for m in re.finditer(r"\\boxed\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "\\":   # an escaped brace (\{ or \}) is content, not nesting
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append(text[m.end():i - 1])
    return found


_MARKUP = re.compile(r"\*\*|__|`|\$|\\text\{([^}]*)\}|\\mathrm\{([^}]*)\}")


def strip_markup(text: str) -> str:
    """Remove markdown/LaTeX decoration and trailing punctuation."""
    text = _MARKUP.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = text.strip().strip("*_").strip()
    return text.rstrip(".!;:,。").strip()


def collapse(text: str) -> str:
    return " ".join(text.split())


def last_match(pattern: re.Pattern | str, text: str) -> re.Match | None:
    matches = list(re.finditer(pattern, text))
    return matches[-1] if matches else None


_NUMBER = re.compile(r"[-−]?\d[\d,]*(?:\.\d+)?|[-−]?\.\d+")


_PARENTHESISED = re.compile(r"\([^()]*\)")


def extract_number(region: str) -> str | None:
    """The last number in `region` as a canonical string ("1,234.50" -> "1234.5").

    Parenthesised asides are skipped when anything is left without them, so
    "12 instruments (3 + 9)" reads 12 while "7 * 9 = 63" and "(-5)" still
    read 63 and -5.
    """
    text = strip_markup(region)
    m = last_match(_NUMBER, _PARENTHESISED.sub(" ", text)) or last_match(_NUMBER, text)
    if m is None:
        return None
    raw = m.group(0).replace(",", "").replace("−", "-")
    try:
        return canonical_number(Decimal(raw))
    except InvalidOperation:
        return None


def canonical_number(value: Decimal | int | float) -> str:
    """Exact for integers of any size ("7.50" -> "7.5", "-0" -> "0")."""
    value = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def choice_labels(n: int) -> list[str]:
    """["(A)", "(B)", ...] for n options, n <= 26."""
    return [f"({chr(ord('A') + i)})" for i in range(n)]


# "(c)" in any case; bare letters only in capitals, so "a)" in prose or the
# word "I" is never read as an option.
_CHOICE = re.compile(r"\(([A-Za-z])\)|\b([A-Z])\)|^\s*([A-Z])\s*(?:[.:]|$)|"
                     r"\b[Oo]ption\s+([A-Za-z])\b|\b(?:is|answer)\s+([A-Z])\b", re.MULTILINE)


def extract_choice(region: str, enum: list[str]) -> str | None:
    """The last option label like "(C)" named in `region`, if it is in `enum`."""
    text = strip_markup(region)
    labels = [m for m in _CHOICE.finditer(text)]
    for m in reversed(labels):
        letter = next(g for g in m.groups() if g)
        label = f"({letter.upper()})"
        if label in enum:
            return label
    return None


def last_named(text: str, names: Iterable[tuple[str, T]], plural: bool = False) -> T | None:
    """The value of the name mentioned last in `text` (whole words, any case).

    Mentions are ordered by where they end, and on a tie the longer name
    wins, so "right triangle" beats the "triangle" inside it. With `plural`,
    a trailing "s" is allowed ("squares").
    """
    suffix = "s?" if plural else ""
    best: tuple[int, int, int] | None = None
    values: list[T] = []
    for name, value in names:
        found = last_match(re.compile(r"(?<!\w)" + re.escape(name) + suffix + r"(?!\w)", re.IGNORECASE), text)
        if found is not None:
            key = (found.end(), len(name), len(values))
            values.append(value)
            if best is None or key > best:
                best = key
    return values[best[2]] if best else None
