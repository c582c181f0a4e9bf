"""tables: answer a filter-and-aggregate question about a rendered table.

A table of employees, products or students (one key column of unique names
plus categorical and integer columns) is shown as Markdown, CSV or JSON, and
a question asks for one aggregate over the rows that pass a filter, e.g.
"What is the total salary of the employees in the table whose department is
Sales and whose age is greater than 30?". Aggregates: count, sum, max, min,
argmax and argmin (argmax/argmin answer with the row's key, e.g. a name).

Axes (each makes the problem harder for a different reason):
- `rows`: table length; every row must be checked against the filter, and
  sums carry over more terms.
- `columns`: total columns shown (key included); columns the question does
  not mention are distractors the model has to skip when reading each row.
- `conditions`: number of filter clauses joined by "and"; each one is a
  further test per row. Numeric thresholds are often values that occur in
  the table, so "greater than" versus "at least" decides whether boundary
  rows count.
- `format`: "markdown" (aligned pipes), "csv" (no alignment, a value's
  column is known only by its position) or "json" (one object per row,
  keys repeated, longest text).
- `operation`: a fixed option ("mixed" draws one per test).

Every filter matches at least one row, so each aggregate is defined, and
argmax/argmin questions are only asked when the extreme value is unique
among the matching rows (ties are impossible, so no tie rule is needed).
Ground truth is computed from the generated row dictionaries; the rendered
text is never read back.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from contour.spec import answers
from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import Instructions, Measure, Task, Test
from contour.tasks.registry import register

_FIRST = ["Alice", "Bruno", "Chen", "Dana", "Elena", "Farid", "Grace", "Hugo", "Ines",
          "Jamal", "Kira", "Liam", "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa",
          "Sami", "Tara", "Umar", "Vera", "Wes", "Yara", "Zoe", "Aaron", "Bianca",
          "Diego", "Emma", "Felix"]
_LAST = ["Adams", "Baker", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hughes",
         "Ito", "Jensen", "Khan", "Lopez", "Moreau", "Novak", "Okafor", "Patel",
         "Quist", "Reyes", "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Young"]
_ADJ = ["Compact", "Deluxe", "Classic", "Smart", "Mini", "Ultra", "Eco", "Pro",
        "Travel", "Royal", "Basic", "Turbo"]
_NOUN = ["Kettle", "Lamp", "Blender", "Chair", "Backpack", "Speaker", "Toaster",
         "Umbrella", "Desk", "Heater", "Drill", "Mixer"]


def _people(rng: random.Random, n: int) -> list[str]:
    return [f"{first} {last}" for first, last in rng.sample(
        [(f, ln) for f in _FIRST for ln in _LAST], n)]


def _products(rng: random.Random, n: int) -> list[str]:
    return [f"{a} {b}" for a, b in rng.sample([(a, b) for a in _ADJ for b in _NOUN], n)]


# Each domain: the key column, the nouns, the categorical columns with their
# values, and the integer columns as (low, high, step). Integer ranges are
# wide enough that thresholds split rows in interesting places.
DOMAINS: dict[str, dict[str, Any]] = {
    "employees": {
        "key": "Name", "names": _people, "singular": "employee", "plural": "employees",
        "categorical": {
            "Department": ["Sales", "Engineering", "Marketing", "Finance", "Support",
                           "Operations"],
            "City": ["Boston", "Denver", "Austin", "Seattle", "Chicago", "Miami"],
            "Level": ["Junior", "Mid", "Senior", "Lead"],
        },
        "numeric": {"Age": (22, 64, 1), "Salary": (30000, 150000, 1000),
                    "Tenure": (0, 30, 1), "Projects": (0, 40, 1)},
    },
    "products": {
        "key": "Product", "names": _products, "singular": "product", "plural": "products",
        "categorical": {
            "Category": ["Kitchen", "Garden", "Office", "Outdoor", "Home", "Tools"],
            "Brand": ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum"],
            "Color": ["Red", "Blue", "Green", "Black", "White", "Silver"],
        },
        "numeric": {"Price": (5, 500, 1), "Stock": (0, 400, 1), "Units Sold": (0, 2000, 5),
                    "Weight": (100, 9000, 50)},
    },
    "students": {
        "key": "Name", "names": _people, "singular": "student", "plural": "students",
        "categorical": {
            "Major": ["Biology", "History", "Physics", "Art", "Economics", "Music"],
            "Year": ["Freshman", "Sophomore", "Junior", "Senior"],
            "Club": ["Chess", "Drama", "Robotics", "Debate", "Soccer", "Choir"],
        },
        "numeric": {"Math Score": (40, 100, 1), "Reading Score": (40, 100, 1),
                    "Credits": (0, 120, 1), "Absences": (0, 25, 1)},
    },
}
DOMAIN_NAMES = sorted(DOMAINS)
OPERATIONS = ["count", "sum", "max", "min", "argmax", "argmin"]
# Numeric comparison phrases and their meaning.
_COMPARE = {"greater than": lambda v, t: v > t, "less than": lambda v, t: v < t,
            "at least": lambda v, t: v >= t, "at most": lambda v, t: v <= t}
_MAX_QUESTION_TRIES = 50


def _choose_columns(rng: random.Random, spec: dict[str, Any], n: int) -> list[str]:
    """n - 1 non-key columns, always at least one categorical and one numeric
    (with n >= 3), so every number of conditions has enough columns to use."""
    cats, nums = sorted(spec["categorical"]), sorted(spec["numeric"])
    chosen = [rng.choice(cats), rng.choice(nums)][: n - 1]
    rest = [c for c in cats + nums if c not in chosen]
    chosen += rng.sample(rest, n - 1 - len(chosen))
    rng.shuffle(chosen)
    return chosen


def _make_rows(rng: random.Random, spec: dict[str, Any], columns: list[str],
               n: int) -> list[dict[str, Any]]:
    keys = spec["names"](rng, n)
    rows = []
    for key in keys:
        row: dict[str, Any] = {spec["key"]: key}
        for col in columns:
            if col in spec["categorical"]:
                row[col] = rng.choice(spec["categorical"][col])
            else:
                low, high, step = spec["numeric"][col]
                row[col] = rng.randrange(low, high + 1, step)
        rows.append(row)
    return rows


def matches(row: dict[str, Any], cond: dict[str, Any]) -> bool:
    if cond["op"] == "is":
        return row[cond["column"]] == cond["value"]
    return _COMPARE[cond["op"]](row[cond["column"]], cond["value"])


def _draw_conditions(rng: random.Random, spec: dict[str, Any], columns: list[str],
                     rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """k conditions that together keep at least one row. A categorical column
    is used once; a numeric column at most twice (a lower and an upper
    bound), which with one categorical and one numeric column still allows
    three conditions."""
    conds: list[dict[str, Any]] = []
    alive = rows
    uses: dict[str, list[str]] = {}
    for _ in range(k):
        usable = [c for c in columns
                  if (c in spec["categorical"] and c not in uses)
                  or (c in spec["numeric"] and len(uses.get(c, [])) < 2)]
        col = rng.choice(usable)
        if col in spec["categorical"]:
            # The value of a still-matching row keeps the filter non-empty.
            cond = {"column": col, "op": "is", "value": rng.choice(alive)[col]}
        else:
            used = uses.get(col, [])
            if "lower" in used:
                side = "upper"
            elif "upper" in used:
                side = "lower"
            else:
                side = rng.choice(["lower", "upper"])
            cond = _numeric_condition(rng, col, side, alive)
        uses.setdefault(col, []).append(
            "upper" if cond["op"] in ("less than", "at most") else
            "lower" if cond["op"] != "is" else "is")
        conds.append(cond)
        alive = [r for r in alive if matches(r, cond)]
    # Drawn in order so each keeps a row alive; shown in any order.
    rng.shuffle(conds)
    return conds


def _numeric_condition(rng: random.Random, col: str, side: str,
                       alive: list[dict[str, Any]]) -> dict[str, Any]:
    values = sorted(r[col] for r in alive)
    # A threshold taken from the middle of the surviving values, so the
    # clause usually removes some rows and keeps some; using a value that
    # occurs makes the strict/inclusive wording matter.
    pivot = values[rng.randrange(len(values) // 4, len(values) - len(values) // 4)]
    if side == "lower":
        op = rng.choice(["greater than", "at least"])
        if op == "greater than" and pivot == values[-1]:
            op = "at least"
    else:
        op = rng.choice(["less than", "at most"])
        if op == "less than" and pivot == values[0]:
            op = "at most"
    return {"column": col, "op": op, "value": pivot}


def aggregate(op: str, column: str | None, key: str, rows: list[dict[str, Any]]) -> Any:
    if op == "count":
        return len(rows)
    values = [r[column] for r in rows]
    if op == "sum":
        return sum(values)
    if op == "max":
        return max(values)
    if op == "min":
        return min(values)
    best = max(values) if op == "argmax" else min(values)
    return next(r[key] for r in rows if r[column] == best)


def _extreme_is_unique(op: str, column: str, rows: list[dict[str, Any]]) -> bool:
    values = [r[column] for r in rows]
    best = max(values) if op == "argmax" else min(values)
    return values.count(best) == 1


def _clause(conds: list[dict[str, Any]]) -> str:
    if not conds:
        return ""
    return " whose " + " and whose ".join(
        f"{c['column'].lower()} is {c['value']}" if c["op"] == "is"
        else f"{c['column'].lower()} is {c['op']} {c['value']}" for c in conds)


def _question(op: str, column: str | None, spec: dict[str, Any],
              conds: list[dict[str, Any]]) -> str:
    group = f"the {spec['plural']} in the table{_clause(conds)}"
    col = column.lower() if column else ""
    if op == "count":
        return f"How many {spec['plural']} are there in the table{_clause(conds)}?"
    if op == "sum":
        return f"What is the total {col} of {group}?"
    if op in ("max", "min"):
        word = "highest" if op == "max" else "lowest"
        return f"What is the {word} {col} among {group}?"
    word = "highest" if op == "argmax" else "lowest"
    return (f"Which {spec['singular']} has the {word} {col} among {group}? "
            f"Answer with the {spec['key'].lower()} exactly as written in the table.")


def render(rows: list[dict[str, Any]], header: list[str], fmt: str) -> str:
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows]
        return "\n".join(lines)
    if fmt == "csv":
        # Keys and values never contain commas or quotes, so no quoting is needed.
        return "\n".join([",".join(header)] + [",".join(str(r[h]) for h in header) for r in rows])
    body = ",\n".join("  " + json.dumps({h: r[h] for h in header}) for r in rows)
    return "[\n" + body + "\n]"


_FORMAT_WORDS = {"markdown": "as a Markdown table", "csv": "in CSV format",
                 "json": "in JSON format (one object per row)"}


@register
class Tables(Task):
    name = "tables"
    version = 2
    description = "Answer a filter-and-aggregate question about a table in Markdown, CSV or JSON."
    schema = ParamSchema({
        "rows": Int(10, 2, 80, "number of table rows"),
        "columns": Int(4, 3, 8, "number of columns shown, the key column included"),
        "conditions": Int(1, 0, 3, "number of filter clauses joined by 'and'"),
        "format": Choice("markdown", ["markdown", "csv", "json"], "how the table is rendered"),
        "operation": Choice("mixed", OPERATIONS + ["mixed"],
                            "aggregate asked for; 'mixed' draws one per test"),
    })
    instructions = Instructions(
        direct="Answer the question about the table. The answer is a single number, or "
               "for a 'which' question the name exactly as written in the table. Respond "
               "with only the answer as 'Final Answer: <answer>'.",
        cot="Answer the question about the table. The answer is a single number, or for "
            "a 'which' question the name exactly as written in the table. Think step by "
            "step, then end with a line 'Final Answer: <answer>'.",
    )

    measures = {
        "rows": Measure("rows", lambda t: len(t.genresult["keys"])),
        "columns": Measure("columns", lambda t: len(t.genresult["header"])),
        "conditions": Measure("filter clauses", lambda t: len(t.genresult["conditions"])),
        "format": Measure("input characters", lambda t: len(t.input)),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        domain = rng.choice(DOMAIN_NAMES)
        spec = DOMAINS[domain]
        op = params["operation"] if params["operation"] != "mixed" else rng.choice(OPERATIONS)
        columns = _choose_columns(rng, spec, params["columns"])
        numeric = [c for c in columns if c in spec["numeric"]]
        while True:
            rows = _make_rows(rng, spec, columns, params["rows"])
            for _ in range(_MAX_QUESTION_TRIES):
                conds = _draw_conditions(rng, spec, columns, rows, params["conditions"])
                kept = [r for r in rows if all(matches(r, c) for c in conds)]
                column = None if op == "count" else rng.choice(numeric)
                if op in ("argmax", "argmin") and not _extreme_is_unique(op, column, kept):
                    continue
                break
            else:
                # Ties everywhere (tiny value ranges, many rows): new rows.
                continue
            break

        header = [spec["key"]] + columns
        result = aggregate(op, column, spec["key"], kept)
        text = (f"Here is a table of {spec['plural']}, {_FORMAT_WORDS[params['format']]}:\n\n"
                f"{render(rows, header, params['format'])}\n\n"
                f"Question: {_question(op, column, spec, conds)}")
        return Test(
            input=text,
            target=str(result),
            genresult={
                "domain": domain, "operation": op, "column": column, "header": header,
                "conditions": conds, "matching_rows": len(kept),
                "keys": [r[spec["key"]] for r in rows],
                "matching_keys": [r[spec["key"]] for r in kept],
                "answer_kind": "name" if op in ("argmax", "argmin") else "number",
            },
        )

    def extract(self, response: str, test: Test) -> str | None:
        region = answers.answer_region(response)
        if region is None:
            return None
        if test.genresult.get("answer_kind") != "name":
            return answers.extract_number(region)
        named = _named_key(region, test)
        if named is not None:
            return named
        # Text that names no row is still a committed (wrong) answer when the
        # response marks it as final; a bare last line of prose is not.
        if _COMMITTED.search(response):
            return answers.strip_markup(region) or None
        return None

    def normalize(self, answer: str, test: Test) -> str:
        if test.genresult.get("answer_kind") == "name":
            return answers.collapse(answer).casefold()
        return answers.extract_number(answer) or answer


_COMMITTED = re.compile(r"final\s+answer|\\boxed", re.IGNORECASE)


def _named_key(region: str, test: Test) -> str | None:
    """The table key (e.g. a name) that occurs last in the region, so
    "Final Answer: Rosa Silva, with 98" reads as "Rosa Silva"."""
    text = " ".join(answers.strip_markup(region).split())
    best: tuple[int, int, str] | None = None
    for key in test.genresult.get("keys", []):
        found = answers.last_match(
            re.compile(r"(?<!\w)" + re.escape(key) + r"(?!\w)", re.IGNORECASE), text)
        if found is not None and (best is None or (found.start(), len(key)) > best[:2]):
            best = (found.start(), len(key), key)
    return best[2] if best else None
