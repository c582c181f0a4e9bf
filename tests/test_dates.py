import json
import re

import pytest

from contour.errors import ContourError
from contour.spec.generation import generate_test
from contour.tasks import get_task
from tests.taskcheck import assert_scores_own_target, grid_samples

# --- an independent calendar: no datetime, no dateutil -------------------

MONTHS = ["january", "february", "march", "april", "may", "june", "july",
          "august", "september", "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def month_len(y, m):
    return 29 if m == 2 and leap(y) else [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]


def to_serial(date):
    """Days since 0001-01-01 (day 0), counted by whole years and months."""
    y, m, d = date
    n = (y - 1) * 365 + (y - 1) // 4 - (y - 1) // 100 + (y - 1) // 400
    n += sum(month_len(y, k) for k in range(1, m))
    return n + d - 1


def from_serial(n):
    y = n // 366 + 1                      # an underestimate; walk forward
    while to_serial((y + 1, 1, 1)) <= n:
        y += 1
    n -= to_serial((y, 1, 1))
    m = 1
    while n >= month_len(y, m):
        n -= month_len(y, m)
        m += 1
    return (y, m, n + 1)


def weekday(date):
    # 2000-01-01 was a Saturday.
    return DAYS[(to_serial(date) - to_serial((2000, 1, 1)) + 5) % 7]


def shift(date, n, unit):
    """Every date n units from `date`. Month and year steps that land on a
    missing day (one month after January 31) have two readings in use: the
    month's last day, or the overflow into the next month."""
    y, m, d = date
    if unit == "day":
        return {from_serial(to_serial(date) + n)}
    if unit == "week":
        return {from_serial(to_serial(date) + 7 * n)}
    if unit == "month":
        total = y * 12 + (m - 1) + n
        y, m = total // 12, total % 12 + 1
    else:
        y += n
    if d <= month_len(y, m):
        return {(y, m, d)}
    return {(y, m, month_len(y, m)), from_serial(to_serial((y, m, 1)) + d - 1)}


def unshift(date, n, unit):
    """Every T with `date` among shift(T, n, unit): a statement read backwards
    ("the exam was one month ago" names today from the exam's date)."""
    found = set()
    for base in shift(date, -n, unit):
        for k in range(-4, 5):
            t = from_serial(to_serial(base) + k)
            if date in shift(t, n, unit):
                found.add(t)
    return found


def boundary(date, which, whose):
    """first/last day of the month of / before / after `date`."""
    y, m, _ = date
    m += {"of": 0, "this": 0, "before": -1, "last": -1, "after": 1, "next": 1}[whose]
    if m == 0:
        y, m = y - 1, 12
    if m == 13:
        y, m = y + 1, 1
    return (y, m, 1) if which == "first" else (y, m, month_len(y, m))


# --- reading the text ------------------------------------------------------
# The reader keeps every "world" (a value for each named day) that the text
# allows, branching wherever a date or a step has two readings, and pruning
# worlds whose stated weekdays disagree.

_DATE = (r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), )?"
         r"(?:\d{4}-\d\d-\d\d|\d\d/\d\d/\d{4}|[A-Z][a-z]+ \d{1,2}, \d{4})")
_N = r"(\d+) (day|week|month|year)s?"
_SLASHES_STATED = "Dates written with slashes are month/day/year (MM/DD/YYYY)."


def read_date(text, month_first):
    """Every date `text` may mean: a slash date is month/day/year, and also
    day/month/year unless the text said which. A stated weekday must fit."""
    stated_day = None
    if ", " in text and text.split(", ")[0].casefold() in DAYS:
        stated_day, text = text.split(", ", 1)
    if m := re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", text):
        found = {(int(m[1]), int(m[2]), int(m[3]))}
    elif m := re.fullmatch(r"(\d\d)/(\d\d)/(\d{4})", text):
        found = {(int(m[3]), int(m[1]), int(m[2]))}
        if not month_first:
            found.add((int(m[3]), int(m[2]), int(m[1])))
    else:
        m = re.fullmatch(r"([A-Z][a-z]+) (\d{1,2}), (\d{4})", text)
        found = {(int(m[3]), MONTHS.index(m[1].casefold()) + 1, int(m[2]))}
    found = {d for d in found if 1 <= d[1] <= 12 and 1 <= d[2] <= month_len(d[0], d[1])}
    if stated_day:
        found = {d for d in found if weekday(d) == stated_day.casefold()}
    return found


def resolve(phrase, known):
    """The dates a question phrase names, given one world."""
    today = known.get("today")
    if phrase == "today":
        return {today}
    if phrase in ("tomorrow", "yesterday"):
        return shift(today, 1 if phrase == "tomorrow" else -1, "day")
    if m := re.fullmatch(_N + r" from today", phrase):
        return shift(today, int(m[1]), m[2])
    if m := re.fullmatch(_N + r" ago", phrase):
        return shift(today, -int(m[1]), m[2])
    if m := re.fullmatch(_N + r" (after|before) the (.+)", phrase):
        return shift(known[m[4]], int(m[1]) * (1 if m[3] == "after" else -1), m[2])
    if m := re.fullmatch(r"the (first|last) day of (this|last|next) month", phrase):
        return {boundary(today, m[1], m[2])}
    m = re.fullmatch(r"the (first|last) day of the month (of|before|after) the (.+)", phrase)
    assert m, phrase
    return {boundary(known[m[3]], m[1], m[2])}


def _relate(worlds, a, b, forward, backward):
    """Worlds after a statement that fixes b from a (`forward`, a set) or,
    when b is the known one, a from b (`backward`)."""
    out = []
    for w in worlds:
        if a in w and b not in w:
            out += [{**w, b: v} for v in forward(w[a])]
        elif b in w and a not in w:
            out += [{**w, a: v} for v in backward(w[b])]
        elif a in w and b in w:
            out += [w] if w[b] in forward(w[a]) else []
        else:
            raise AssertionError(f"statement about two unknown days: {a}, {b}")
    return out


def read_story(story):
    """Every world the story allows, and the question sentence."""
    month_first = _SLASHES_STATED in story
    story = story.replace(_SLASHES_STATED, "").strip()
    sentences = re.split(r"(?<=[.?])\s+(?=[A-Z])", story)
    worlds = [{}]
    for s in sentences[:-1]:
        if m := re.fullmatch(rf"Today is ({_DATE})\.", s):
            worlds = [{**w, "today": d} for w in worlds for d in read_date(m[1], month_first)]
        elif m := re.fullmatch(rf"(Yesterday was|The day before yesterday was|Tomorrow is) ({_DATE})\.", s):
            back = {"Yesterday was": 1, "The day before yesterday was": 2, "Tomorrow is": -1}[m[1]]
            worlds = [{**w, "today": t} for w in worlds for d in read_date(m[2], month_first)
                      for t in shift(d, back, "day")]
        elif m := re.fullmatch(rf"The (.+) is on ({_DATE})\.", s):
            worlds = [{**w, m[1]: d} for w in worlds for d in read_date(m[2], month_first)]
        elif m := re.fullmatch(r"The (.+) (was yesterday|is tomorrow|was " + _N + " ago|is in "
                               + _N + r")\.", s):
            if m[2] in ("was yesterday", "is tomorrow"):
                n, unit = (-1 if m[2] == "was yesterday" else 1), "day"
            elif m[3]:
                n, unit = -int(m[3]), m[4]
            else:
                n, unit = int(m[5]), m[6]
            worlds = _relate(worlds, "today", m[1], lambda t: shift(t, n, unit),
                             lambda e: unshift(e, n, unit))
        elif m := re.fullmatch(r"The (.+) is " + _N + r" (after|before) the (.+)\.", s):
            n, unit = int(m[2]) * (1 if m[4] == "after" else -1), m[3]
            worlds = _relate(worlds, m[5], m[1], lambda y: shift(y, n, unit),
                             lambda x: unshift(x, n, unit))
        elif m := re.fullmatch(r"The (.+) is on the (first|last) day of (this|last|next) month\.", s):
            worlds = [{**w, m[1]: boundary(w["today"], m[2], m[3])} for w in worlds]
        elif m := re.fullmatch(r"The (.+) is on the (first|last) day of the month "
                               r"(of|before|after) the (.+)\.", s):
            worlds = [{**w, m[1]: boundary(w[m[4]], m[2], m[3])} for w in worlds]
        elif m := re.fullmatch(r"Today is the (first|last) day of the month "
                               r"(of|before|after) the (.+)\.", s):
            worlds = [{**w, "today": boundary(w[m[3]], m[1], m[2])} for w in worlds]
        else:
            raise AssertionError(f"unread sentence: {s}")
    return worlds, sentences[-1], month_first


def defensible_answers(text: str, params: dict) -> set[str]:
    """Every option that some reading of the text makes right."""
    lines = text.splitlines()
    options = [re.match(r"^(\([A-Z]\)) (.+)$", ln).groups() for ln in lines[2:]]
    worlds, question, month_first = read_story(lines[0])
    if m := re.fullmatch(r"What (?:is|was) the date (?:of )?(.+)\?", question):
        answers_ = {d for w in worlds for d in resolve(m[1], w)}
        return {label for label, opt in options if read_date(opt, month_first) & answers_}
    m = re.fullmatch(r"What day of the week (?:is it|was it|will it be|is) (.+)\?", question)
    assert m, question
    days = {weekday(d) for w in worlds for d in resolve(m[1], w)}
    return {label for label, opt in options if opt.casefold() in days}


def solve_from_text(text):
    """The one option the text makes right."""
    found = defensible_answers(text, {})
    assert len(found) == 1, (text, found)
    return found.pop()


# --- tests -------------------------------------------------------------------

def test_calendar_helpers_round_trip():
    for n in range(to_serial((1895, 1, 1)), to_serial((2105, 12, 31)), 37):
        assert to_serial(from_serial(n)) == n
    assert weekday((2024, 2, 29)) == "thursday"
    assert month_len(1900, 2) == 28 and month_len(2000, 2) == 29


def test_targets_match_independent_solver_over_grid():
    axes = {"hops": [1, 2, 3, 6], "max_offset": [1, 10, 60, 1000],
            "format": ["long", "iso", "us", "mixed"],
            "calendar": ["plain", "month_end", "leap"], "ask": ["date", "weekday"]}
    task = get_task("dates")
    n = 0
    for params, test in grid_samples("dates", axes, per_point=3):
        assert test.target == solve_from_text(test.input), test.input
        g = test.genresult
        assert len(g["steps"]) == params["hops"]
        assert g["option_kinds"].count("answer") == 1
        assert test.response_enum == ["(A)", "(B)", "(C)", "(D)", "(E)"]
        assert json.loads(json.dumps(test.genresult)) == test.genresult
        assert_scores_own_target(task, test)
        n += 1
    assert n >= 1000


def test_option_counts_and_distractor_kinds():
    kinds = set()
    for params, test in grid_samples("dates", {"choices": [3, 7], "ask": ["date", "weekday"],
                                               "calendar": ["plain", "leap"]}, 40,
                                     {"hops": 3, "max_offset": 400}):
        assert len(test.response_enum) == params["choices"]
        assert len(set(test.genresult["options"])) == params["choices"]
        assert test.target == solve_from_text(test.input)
        kinds |= set(test.genresult["option_kinds"])
    assert {"day", "week", "month", "year", "skip", "reverse", "boundary"} <= kinds


def test_leap_calendar_crosses_february():
    tests = [t for _, t in grid_samples("dates", {"hops": [2]}, 100,
                                        {"calendar": "leap", "max_offset": 7})]
    assert sum(t.genresult["crosses_feb29"] for t in tests) > 20


def _test(ask="date"):
    task = get_task("dates")
    params = task.schema.validate("dates", {"hops": 2, "ask": ask, "format": "us"})
    return generate_test(task, 4, params, 0)


@pytest.mark.parametrize("response,expected", [
    ("Today is 3 days after ... so the date is 03/10/2019.\n\nFinal Answer: (C)", "(C)"),
    ("**Final Answer:** **(B)**", "(B)"),
    ("The answer is $\\boxed{D}$.", "(D)"),
    ("Final Answer: (e).", "(E)"),
    ("Final Answer: (A)\nWait, February has 28 days.\nFinal Answer: (B)", "(B)"),
    ("final answer:   C", "(C)"),
    ("I do not know what day it is.", None),
])
def test_extraction(response, expected):
    assert get_task("dates").extract(response, _test()) == expected


def test_extraction_by_written_date():
    task = get_task("dates")
    test = _test()
    y, m, d = (int(x) for x in test.genresult["options"][3].split("-"))
    long = f"{MONTHS[m - 1].capitalize()} {d}, {y}"
    assert task.extract(f"Final Answer: {long}", test) == "(D)"
    assert task.extract(f"Final Answer: {m:02d}/{d:02d}/{y}.", test) == "(D)"
    assert task.extract(f"Final Answer: {y}-{m:02d}-{d:02d}", test) == "(D)"
    # a date that is no option is an answer, and a wrong one
    verdict = task.score("Final Answer: 1999-12-31", test)
    assert verdict.is_valid and not verdict.is_correct


def test_extraction_by_weekday_name():
    task = get_task("dates")
    test = _test("weekday")
    options = test.genresult["options"]
    assert task.extract(f"Final Answer: **{options[1].lower()}**", test) == "(B)"
    assert task.extract(f"Final Answer: {options[0]}, no, {options[2]}.", test) == "(C)"


def test_no_answer_is_invalid():
    task = get_task("dates")
    test = _test()
    verdict = task.score("Hard to say.", test)
    assert not verdict.is_valid and not verdict.is_correct


def test_slash_dates_state_their_format_and_month_steps_are_one_to_one():
    axes = {"format": ["us", "mixed", "iso"], "calendar": ["plain", "month_end", "leap"],
            "max_offset": [31, 400, 3000]}
    slash = 0
    for _, test in grid_samples("dates", axes, 30, {"hops": 4, "ask": "mixed"}):
        has_slash = re.search(r"\d\d/\d\d/\d{4}", test.input) is not None
        assert has_slash == test.input.startswith(_SLASHES_STATED), test.input
        slash += has_slash
        nodes = test.genresult["nodes"]
        for step, a, b in zip(test.genresult["steps"], nodes, nodes[1:]):
            if step["kind"] in ("months", "years"):
                for d in (a, b):
                    y, m, day = (int(x) for x in d.split("-"))
                    assert 4 <= day <= 28 and day != month_len(y, m), (step, a, b)
    assert slash > 200


def test_reader_keeps_every_reading_the_text_allows():
    # Both readings of 03/02/2000 are Thursdays (the example).
    text = ("Today is Thursday, 03/02/2000. What is the date tomorrow?\nOptions:\n"
            "(A) 03/03/2000\n(B) 03/04/2000\n(C) 04/02/2000")
    assert defensible_answers(text, {}) == {"(A)", "(C)"}
    assert defensible_answers(_SLASHES_STATED + " " + text, {}) == {"(A)"}
    # Backwards, "two months ago" from July 1 also fits August 31 (overflow).
    text = ("The party is on 2021-07-01. The party was 2 months ago. "
            "What is the date today?\nOptions:\n(A) 2021-09-01\n(B) 2021-08-31\n(C) 2021-08-30")
    assert defensible_answers(text, {}) == {"(A)", "(B)"}
    # And February 28 one month back fits March 28-31 when the rule clamps.
    text = ("The party is on 2019-02-28. The party was 1 month ago. "
            "What is the date today?\nOptions:\n(A) 2019-03-28\n(B) 2019-03-31\n(C) 2019-03-27")
    assert defensible_answers(text, {}) == {"(A)", "(B)"}
