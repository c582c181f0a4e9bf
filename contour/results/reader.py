"""The one reader of records.jsonl: streaming, typed, with a damaged-line policy.

Resume, live stats (through resume) and evaluation all read records here, so
they agree on what a record is. Lines are read one at a time in binary and
decoded individually: a damaged byte sequence costs one line, not the file,
and memory never grows with the file.

A line is damaged when it is not UTF-8, not JSON, not a JSON object, or
lacks `task`, `base_task` or `key`. Blank lines are skipped silently. What
happens to a damaged line is the caller's policy (`on_damaged`):
`warn_damaged` (evaluation: report on stderr and go on), `ignore_damaged`,
or `refuse_damaged` (resume: one clear error, the file untouched).

A resume never rewrites records.jsonl: it appends the replacements of the
records it retries and names the replaced lines in records.superseded.jsonl.
Readers skip those lines by default; resume asks for them too
(`superseded=True`), flagged, since a replaced line still tells which rounds
a point had started.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, NoReturn

from contour.errors import ContourError
from contour.results.schema import RECORDS_FILE
from contour.results.tally import RecordClass, classify
from contour.results.writer import read_superseded

REQUIRED_FIELDS = ("task", "base_task", "key")


@dataclass(frozen=True)
class DamagedLine:
    """One unreadable line: where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: damaged line skipped ({self.reason})"


OnDamaged = Callable[[DamagedLine], None]


def warn_damaged(damage: DamagedLine) -> None:
    print(f"warning: {damage}", file=sys.stderr)


def ignore_damaged(damage: DamagedLine) -> None:
    return None


def refuse_damaged(damage: DamagedLine) -> NoReturn:
    what = f"is {damage.reason}" if damage.reason.startswith("not ") else f"is damaged ({damage.reason})"
    raise ContourError(f"{damage.file}: line {damage.line} {what}")


class RecordLine(NamedTuple):
    """One readable record: its line number, its bytes as written, its fields.

    A named tuple, not a frozen dataclass: one is made per line, and a tuple
    is built several times faster."""

    line: int
    raw: bytes
    data: dict[str, Any]
    superseded: bool = False    # a resume appended this record's replacement

    @property
    def key(self) -> str:
        return str(self.data["key"])

    @property
    def point(self) -> str:
        """The point id (the record's `task` field)."""
        return str(self.data["task"])

    @property
    def task(self) -> str:
        """The registered task name (`base_task`)."""
        return str(self.data["base_task"])

    @property
    def step(self) -> int:
        step = self.data.get("step")
        return step if isinstance(step, int) and not isinstance(step, bool) else 0

    @property
    def schema_version(self) -> int:
        """1 for records written before the field existed."""
        version = self.data.get("schema_version")
        return version if isinstance(version, int) and not isinstance(version, bool) else 1

    @property
    def kind(self) -> RecordClass:
        return classify(self.data)


def records_file(path: str | os.PathLike[str]) -> Path:
    """records.jsonl of a result folder, or the file itself."""
    file = Path(path)
    return file / RECORDS_FILE if file.is_dir() else file


def read_records(path: str | os.PathLike[str], on_damaged: OnDamaged = warn_damaged,
                 superseded: bool = False) -> Iterator[RecordLine]:
    """Yield each record of a result folder (or of a records.jsonl file) in file order.

    Lines named in records.superseded.jsonl (with the same key) are skipped,
    or, with `superseded=True`, yielded with `superseded` set.
    """
    file = records_file(path)
    replaced = read_superseded(file.parent)
    decode = json.JSONDecoder().decode
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                data = decode(raw.decode("utf-8"))
            except ValueError as problem:       # JSONDecodeError and UnicodeDecodeError
                if raw.strip():
                    on_damaged(DamagedLine(str(file), number, _reason(problem, raw)))
                continue
            if type(data) is dict and "task" in data and "base_task" in data and "key" in data:
                if replaced.get(number) != data["key"]:
                    yield RecordLine(number, raw, data)
                elif superseded:
                    yield RecordLine(number, raw, data, True)
            else:
                on_damaged(DamagedLine(str(file), number, _shape_problem(data)))


def _shape_problem(data: object) -> str:
    if not isinstance(data, dict):
        return "not a JSON object"
    return "missing " + ", ".join(k for k in REQUIRED_FIELDS if k not in data)


def _reason(problem: Exception, raw: bytes) -> str:
    what = "not valid UTF-8" if isinstance(problem, UnicodeDecodeError) else "not valid JSON"
    if not raw.endswith(b"\n"):
        return f"incomplete last line, {len(raw)} bytes: {what} ({problem})"
    return f"{what} ({problem})"
