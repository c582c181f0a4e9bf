"""dates: date arithmetic from a short narrative with an implied "today".

One date is stated ("The exam is on 2019-02-28.", "Yesterday was
02/28/2019."); a chain of relative statements leads from it to today and on
to the asked date ("The concert is 12 days after the exam. The concert was 3
days ago. What is the date 2 weeks from today?"). The answer is multiple
choice, (A) to (E) by default, among dates in one fixed format (or weekday
names when a weekday is asked). Multiple choice is chosen over a write-in
date so that scoring never depends on how a model spells a date; the
distractors are the mistakes a solver makes, so guessing by plausibility does
not help:
- "day" (one day off), "week" (seven days off), "month" (same day, a month
  off), "year" (same day, a year off),
- "skip" (one step of the chain left out, e.g. treating the stated date as
  today), "reverse" (the last step taken in the wrong direction),
  "boundary" (the wrong month boundary: the first day instead of the last,
  the month before instead of the month of),
- "swap" (month and day exchanged, when both are at most 12),
- "near" (a few days off; filler when the others run out).

Every statement is well-defined and one-to-one: month and year steps only
join two dates that share their day of the month, a day from the 4th to the
28th, neither of them the last day of its month. So no "one month after
January 31" convention is needed, and a statement read backwards ("the exam
was one month ago") names exactly one date under either end-of-month rule
in use (otherwise, with the exam on February 28, any of March 28-31 would
be "one month" later when the rule clamps to the month's end, and with the
exam on July 1, August 31 would be "two months" later when it overflows).
Month-boundary steps ("the last day of the month before the exam") are
exact by construction. Whenever a date is written with slashes, the text
says that slashes mean month/day/year, so "03/02/2000" is never read as
3 February.

Axes (each makes the problem harder for a different reason):
- `hops`: number of steps between the stated date and the asked date
  (today counts as one node of the chain); every step is one more
  calculation, and the model must keep the order of events straight.
- `max_offset`: largest step, in days. Weeks, months and years become
  possible once a step may reach 7, 30 and 365 days; bigger steps cross
  more month ends and need carries across months and years.
- `format`: "long" (March 3, 2021), "iso" (2021-03-03), "us" (03/03/2021) or
  "mixed" (every date, each option included, in a format drawn on its
  own), which forces format conversion on top of the arithmetic.
- `calendar`: "plain" (any date 1950-2049), "month_end" (the stated date
  sits within two days of a month end, and month-boundary steps appear) or
  "leap" (also: the stated date sits near the end of February of a leap year
  or of a century year, 1900 or 2100 being common years and 2000 a leap
  year), where the irregular month lengths are the trap.
- `ask`: "date", "weekday" (the stated date comes with its weekday) or
  "mixed".
- `choices`: number of options (fixed option, not a difficulty axis).

Ground truth is computed with `datetime` on the generated step list.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from contour.spec import answers
from contour.spec.params import Choice, Int, ParamSchema
from contour.spec.task import ChoiceTask, Measure, Test
from contour.tasks.registry import register

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EVENTS = ["exam", "concert", "wedding", "job interview", "flight", "meeting",
          "party", "deadline", "dentist appointment", "trip"]
FORMATS = ["long", "iso", "us"]
# Unit sizes in days, used to decide which units a step size allows.
_UNIT_DAYS = {"days": 1, "weeks": 7, "months": 30, "years": 365}
_BOUNDARIES = ["month_end", "month_start", "prev_month_end", "next_month_start"]
_LEAP_YEARS = [y for y in range(1904, 2100, 4) if y != 2000]
_CENTURIES = [1900, 2000, 2100]


def fmt_date(d: dt.date, style: str) -> str:
    if style == "iso":
        return d.isoformat()
    if style == "us":
        return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def add_months(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.month - 1 + k, 12)
    return d.replace(year=d.year + y, month=m + 1)


def month_end(d: dt.date) -> dt.date:
    return add_months(d.replace(day=1), 1) - dt.timedelta(days=1)


def apply(d: dt.date, step: dict[str, Any]) -> dt.date:
    kind, k = step["kind"], step["amount"]
    if kind == "days":
        return d + dt.timedelta(days=k)
    if kind == "weeks":
        return d + dt.timedelta(weeks=k)
    if kind == "months":
        return add_months(d, k)
    if kind == "years":
        return d.replace(year=d.year + k)
    if kind == "month_end":
        return month_end(d)
    if kind == "month_start":
        return d.replace(day=1)
    if kind == "prev_month_end":
        return d.replace(day=1) - dt.timedelta(days=1)
    return month_end(d) + dt.timedelta(days=1)          # next_month_start


def _defined(d: dt.date, kind: str) -> bool:
    if kind == "months":
        return d.day <= 28
    if kind == "years":
        return not (d.month == 2 and d.day == 29)
    return True


def is_month_end(d: dt.date) -> bool:
    return (d + dt.timedelta(days=1)).day == 1


def one_to_one(a: dt.date, kind: str, b: dt.date) -> bool:
    """A month or year step from a to b names b from a and a from b alone,
    under either end-of-month rule in use: same day of the month, that day
    between the 4th and the 28th, and neither date a month end. (Clamping
    maps January 29-31 + 1 month onto February 28, a month end; overflow
    maps August 31 - 2 months onto July 1, a day 1-3.)"""
    if kind not in ("months", "years"):
        return True
    return (a.day == b.day and 4 <= a.day <= 28
            and not is_month_end(a) and not is_month_end(b))


SLASH_NOTE = "Dates written with slashes are month/day/year (MM/DD/YYYY)."
_SLASH = re.compile(r"\b\d\d/\d\d/\d{4}\b")
# How to read the formats in a text, for the `format` measure.
_WRITTEN = {"iso": re.compile(r"\b\d{4}-\d\d-\d\d\b"), "us": _SLASH,
            "long": re.compile(r"\b(?:" + "|".join(MONTHS) + r") \d{1,2}, \d{4}")}


def _date_formats(test: Test) -> float:
    """Formats beyond the first among the written dates (each one more to
    convert from), plus the share of dates that write the month as a number
    (its length must be known by number, not by name)."""
    found = {style: len(rx.findall(test.input)) for style, rx in _WRITTEN.items()}
    total = sum(found.values())
    if not total:
        return 0.0
    return sum(1 for n in found.values() if n) - 1 + (found["iso"] + found["us"]) / total


def _calendar_traps(test: Test) -> float:
    """Traps at the stated date, where every chain starts: within two days
    of a month end (+1), and within four days of the end of February of a
    leap year or a century year, where the leap rule has its exceptions (+1)."""
    start = dt.date.fromisoformat(test.genresult["nodes"][0])
    near_end = (start + dt.timedelta(days=2)).month != start.month or start.day <= 1
    y = start.year
    february = (y % 4 == 0 or y % 100 == 0) and abs((start - dt.date(y, 3, 1)).days) <= 4
    return float(near_end) + float(february)


def _amount(kind: str, k: int) -> str:
    unit = kind[:-1] if abs(k) == 1 else kind
    return f"{abs(k)} {unit}"


def _unit_step_days(test: Test) -> float:
    """Mean size in days of the steps counted in days, weeks, months or years."""
    sizes = [abs(st["amount"]) * _UNIT_DAYS[st["kind"]] for st in test.genresult["steps"]
             if st["kind"] in _UNIT_DAYS]
    return sum(sizes) / len(sizes) if sizes else 0.0


@register
class Dates(ChoiceTask):
    name = "dates"
    version = 2
    description = "Compute a date (or weekday) from a narrative with relative dates and an implied today."
    schema = ParamSchema({
        "hops": Int(2, 1, 6, "steps from the stated date to the asked date"),
        "max_offset": Int(10, 1, 3650, "largest step in days (weeks/months/years once it allows them)"),
        "format": Choice("iso", ["long", "iso", "us", "mixed"], "how dates are written"),
        "calendar": Choice("plain", ["plain", "month_end", "leap"],
                           "where the stated date sits and whether month-boundary steps occur"),
        "ask": Choice("date", ["date", "weekday", "mixed"], "ask for a date or a weekday"),
        "choices": Int(5, 3, 7, "number of answer options"),
    })

    measures = {
        "hops": Measure("steps", lambda t: len(t.genresult["steps"])),
        "max_offset": Measure("days per counted step", _unit_step_days),
        "format": Measure("date formats", _date_formats),
        "calendar": Measure("calendar traps", _calendar_traps),
    }

    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        hops, calendar = params["hops"], params["calendar"]
        ask = params["ask"] if params["ask"] != "mixed" else rng.choice(["date", "weekday"])
        start = self._start(rng, calendar)
        units = [u for u in _UNIT_DAYS if _UNIT_DAYS[u] <= params["max_offset"]]

        steps, nodes = [], [start]
        for _ in range(hops):
            here = nodes[-1]
            kinds = [u for u in units if _defined(here, u)]
            if calendar != "plain":
                kinds += _BOUNDARIES
            while True:
                kind = rng.choice(kinds)
                if kind in _UNIT_DAYS:
                    k = rng.randint(1, params["max_offset"] // _UNIT_DAYS[kind])
                    k = k if rng.random() < 0.5 else -k
                else:
                    k = 0
                step = {"kind": kind, "amount": k}
                there = apply(here, step)
                # Days and weeks are always one-to-one, so this ends.
                if one_to_one(here, kind, there):
                    break
            steps.append(step)
            nodes.append(there)
        today = rng.randint(0, hops)
        answer = nodes[-1]

        narrative_style = None if params["format"] == "mixed" else params["format"]
        events = rng.sample(EVENTS, hops + 1)
        text = self._narrative(rng, steps, nodes, today, events, narrative_style, ask)

        n = params["choices"]
        labels = answers.choice_labels(n)
        if ask == "date":
            picked = self._distractors(rng, steps, nodes, n - 1)
            entries = [(answer, "answer")] + picked
            rng.shuffle(entries)
            option_text = [fmt_date(d, narrative_style or rng.choice(FORMATS)) for d, _ in entries]
            options = [d.isoformat() for d, _ in entries]
            target = labels[options.index(answer.isoformat())]
        else:
            right = WEEKDAYS[answer.weekday()]
            others = rng.sample([w for w in WEEKDAYS if w != right], n - 1)
            entries = [(right, "answer")] + [(w, "weekday") for w in others]
            rng.shuffle(entries)
            option_text = options = [w for w, _ in entries]
            target = labels[options.index(right)]
        if _SLASH.search(text) or any(_SLASH.search(t) for t in option_text):
            text = SLASH_NOTE + " " + text
        lines = [text, "Options:"]
        lines += [f"{label} {t}" for label, t in zip(labels, option_text)]
        return Test(
            input="\n".join(lines),
            target=target,
            response_enum=labels,
            genresult={
                "ask": ask, "stated": start.isoformat(), "today": nodes[today].isoformat(),
                "today_index": today, "steps": steps,
                "nodes": [d.isoformat() for d in nodes],
                "answer": answer.isoformat(), "options": options,
                "option_kinds": [kind for _, kind in entries],
                "option_format": params["format"],
                "crosses_feb29": any(_has_feb29(a, b) for a, b in zip(nodes, nodes[1:])),
                "month_boundaries": sum(_months_between(a, b) for a, b in zip(nodes, nodes[1:])),
            },
        )

    @staticmethod
    def _start(rng: random.Random, calendar: str) -> dt.date:
        if calendar == "plain":
            return dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(36525))
        if calendar == "leap":
            year = rng.choice(_CENTURIES) if rng.random() < 0.4 else rng.choice(_LEAP_YEARS)
            return dt.date(year, 3, 1) + dt.timedelta(days=rng.randint(-4, 2))
        first = dt.date(rng.randint(1950, 2049), rng.randint(1, 12), 1)
        return first + dt.timedelta(days=rng.randint(-2, 1))

    def _narrative(self, rng: random.Random, steps: list[dict[str, Any]], nodes: list[dt.date],
                   today: int, events: list[str], style: str | None, ask: str) -> str:
        def date(d: dt.date) -> str:
            text = fmt_date(d, style or rng.choice(FORMATS))
            return f"{WEEKDAYS[d.weekday()]}, {text}" if ask == "weekday" else text

        hops = len(steps)
        name = [f"the {e}" for e in events]
        sentences = []
        k0 = steps[0]["amount"] if steps[0]["kind"] == "days" else None
        # The classic "Yesterday was ..." states node 0 and fixes today
        # (node 1) in one sentence; the 0 -> 1 relation is then absorbed.
        absorbed = today == 1 and k0 in (1, 2, -1)
        if today == 0:
            sentences.append(f"Today is {date(nodes[0])}.")
        elif absorbed:
            lead = {1: "Yesterday was", 2: "The day before yesterday was",
                    -1: "Tomorrow is"}[k0]
            sentences.append(f"{lead} {date(nodes[0])}.")
        else:
            sentences.append(f"{name[0].capitalize()} is on {date(nodes[0])}.")
        for i in range(hops - 1):
            if not (i == 0 and absorbed):
                sentences.append(_relation(steps[i], i, i + 1, today, name))
        if today == hops and not (hops == 1 and absorbed):
            sentences.append(_relation(steps[-1], hops - 1, hops, today, name))
        sentences.append(_question(steps[-1], hops - 1, today, name, ask))
        return " ".join(sentences)

    @staticmethod
    def _distractors(rng: random.Random, steps: list[dict[str, Any]], nodes: list[dt.date],
                     count: int) -> list[tuple[dt.date, str]]:
        answer = nodes[-1]
        pool: list[tuple[dt.date, str]] = []
        for sign in (-1, 1):
            pool.append((answer + dt.timedelta(days=sign), "day"))
            pool.append((answer + dt.timedelta(days=7 * sign), "week"))
            first = add_months(answer.replace(day=1), sign)
            if answer.day <= month_end(first).day:
                pool.append((first.replace(day=answer.day), "month"))
            if _defined(answer, "years"):
                pool.append((answer.replace(year=answer.year + sign), "year"))
        for j in range(len(steps)):
            d = nodes[0]
            try:
                for i, step in enumerate(steps):
                    d = d if i == j else apply(d, step)
            except ValueError:      # a month or year step from a day it is not defined on
                continue
            pool.append((d, "skip"))
        last, before = steps[-1], nodes[-2]
        if last["kind"] in _UNIT_DAYS:
            pool.append((apply(before, {**last, "amount": -last["amount"]}), "reverse"))
        else:
            pool += [(apply(before, {"kind": other, "amount": 0}), "boundary")
                     for other in _BOUNDARIES if other != last["kind"]]
        if answer.day <= 12 and answer.day != answer.month:
            pool.append((answer.replace(month=answer.day, day=answer.month), "swap"))
        rng.shuffle(pool)
        chosen: list[tuple[dt.date, str]] = []
        seen = {answer}
        for d, kind in pool:
            if len(chosen) == count:
                break
            if d not in seen:
                seen.add(d)
                chosen.append((d, kind))
        while len(chosen) < count:
            d = answer + dt.timedelta(days=rng.choice([-1, 1]) * rng.randint(2, 12))
            if d not in seen:
                seen.add(d)
                chosen.append((d, "near"))
        return chosen

    def option_by_text(self, region: str, test: Test) -> str | None:
        return _option_by_value(answers.strip_markup(region), test)


def _relation(step: dict[str, Any], a: int, b: int, today: int, name: list[str]) -> str:
    """A sentence that fixes node b from node a (never the asked node)."""
    kind, k = step["kind"], step["amount"]
    if b == today:
        if kind == "days" and abs(k) == 1:
            return f"{name[a].capitalize()} {'was yesterday' if k > 0 else 'is tomorrow'}."
        if kind in _UNIT_DAYS:
            when = f"was {_amount(kind, k)} ago" if k > 0 else f"is in {_amount(kind, k)}"
            return f"{name[a].capitalize()} {when}."
        return f"Today is {_boundary(kind, name[a])}."
    if a == today:
        if kind == "days" and abs(k) == 1:
            return f"{name[b].capitalize()} {'is tomorrow' if k > 0 else 'was yesterday'}."
        if kind in _UNIT_DAYS:
            when = f"is in {_amount(kind, k)}" if k > 0 else f"was {_amount(kind, k)} ago"
            return f"{name[b].capitalize()} {when}."
        return f"{name[b].capitalize()} is on {_boundary(kind, None)}."
    if kind in _UNIT_DAYS:
        return (f"{name[b].capitalize()} is {_amount(kind, k)} "
                f"{'after' if k > 0 else 'before'} {name[a]}.")
    return f"{name[b].capitalize()} is on {_boundary(kind, name[a])}."


def _boundary(kind: str, of: str | None) -> str:
    """'the last day of the month of the exam' or, relative to today, 'of this month'."""
    if of is None:
        return {"month_end": "the last day of this month",
                "month_start": "the first day of this month",
                "prev_month_end": "the last day of last month",
                "next_month_start": "the first day of next month"}[kind]
    return {"month_end": f"the last day of the month of {of}",
            "month_start": f"the first day of the month of {of}",
            "prev_month_end": f"the last day of the month before {of}",
            "next_month_start": f"the first day of the month after {of}"}[kind]


def _question(step: dict[str, Any], a: int, today: int, name: list[str], ask: str) -> str:
    """The question about node a+1, the last node, reached from node a."""
    kind, k = step["kind"], step["amount"]
    if today == a + 1:
        phrase, past = "today", None
    elif a == today:
        if kind == "days" and abs(k) == 1:
            phrase, past = ("tomorrow", False) if k > 0 else ("yesterday", True)
        elif kind in _UNIT_DAYS:
            phrase, past = ((f"{_amount(kind, k)} from today", False) if k > 0
                            else (f"{_amount(kind, k)} ago", True))
        else:
            phrase, past = _boundary(kind, None), None
    elif kind in _UNIT_DAYS:
        phrase, past = f"{_amount(kind, k)} {'after' if k > 0 else 'before'} {name[a]}", None
    else:
        phrase, past = _boundary(kind, name[a]), None
    if ask == "weekday":
        if phrase == "today":
            return "What day of the week is it today?"
        if phrase.startswith("the "):
            return f"What day of the week is {phrase}?"
        if past is None:
            return f"What day of the week is it {phrase}?"
        return f"What day of the week {'was it' if past else 'will it be'} {phrase}?"
    if phrase == "today":
        return "What is the date today?"
    if phrase.startswith("the "):
        return f"What is the date of {phrase}?"
    return f"What {'was' if past else 'is'} the date {phrase}?"


_DATE = re.compile(
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
    r"|(?P<us>(?P<um>\d{1,2})/(?P<ud>\d{1,2})/(?P<uy>\d{4}))"
    r"|(?P<long>(?P<lm>[A-Za-z]+)\.? (?P<ld>\d{1,2})(?:st|nd|rd|th)?,? (?P<ly>\d{4}))"
    r"|(?P<dmy>(?P<dd>\d{1,2})(?:st|nd|rd|th)? (?:of )?(?P<dm>[A-Za-z]+),? (?P<dy>\d{4}))")


def _parse_dates(text: str) -> list[tuple[int, dt.date]]:
    """Every date written in one of the accepted formats, with its position."""
    found = []
    months = {m.casefold(): i for i, m in enumerate(MONTHS, 1)}
    months.update({m[:3].casefold(): i for i, m in enumerate(MONTHS, 1)})
    for m in _DATE.finditer(text):
        try:
            if m.group("iso"):
                d = dt.date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
            elif m.group("us"):
                d = dt.date(int(m.group("uy")), int(m.group("um")), int(m.group("ud")))
            elif m.group("long"):
                month = months.get(m.group("lm").casefold())
                if month is None:
                    continue
                d = dt.date(int(m.group("ly")), month, int(m.group("ld")))
            else:
                month = months.get(m.group("dm").casefold())
                if month is None:
                    continue
                d = dt.date(int(m.group("dy")), month, int(m.group("dd")))
        except ValueError:
            continue
        found.append((m.start(), d))
    return found


def _option_by_value(text: str, test: Test) -> str | None:
    """A date or weekday written out instead of a letter: the option with that
    value, or the value itself (a valid, wrong answer) when no option has it."""
    labels = test.response_enum or []
    options = test.genresult.get("options", [])
    candidates: list[tuple[int, str]] = []
    if test.genresult.get("ask") == "weekday":
        for day in WEEKDAYS:
            m = answers.last_match(re.compile(rf"\b{day}\b", re.IGNORECASE), text)
            if m:
                candidates.append((m.start(), day))
    else:
        candidates = [(pos, d.isoformat()) for pos, d in _parse_dates(text)]
    if not candidates:
        return None
    value = max(candidates)[1]
    return labels[options.index(value)] if value in options else value


def _has_feb29(a: dt.date, b: dt.date) -> bool:
    lo, hi = min(a, b), max(a, b)
    for year in range(lo.year, hi.year + 1):
        try:
            if lo <= dt.date(year, 2, 29) <= hi:
                return True
        except ValueError:
            pass
    return False


def _months_between(a: dt.date, b: dt.date) -> int:
    return abs((b.year - a.year) * 12 + b.month - a.month)
