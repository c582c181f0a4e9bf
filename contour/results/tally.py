"""The one way records are counted: by the runner's live stats and by evaluation.

Every record falls in exactly one class (`classify`):

| class            | condition                                          | in n (accuracy)  |
|------------------|----------------------------------------------------|------------------|
| scored           | a verdict (`is_correct` true or false), no error   | yes              |
| permanent_error  | `error` set, a type that resending cannot fix      | yes, as invalid and wrong (evaluation can exclude them) |
| transient_error  | `error` set, timeout / connection / 5xx / 429 ...  | never            |
| sample_error     | `error` set, generation_error / template_error     | never (no request was sent; retried on resume) |
| scorer_error     | the task's scorer raised (`extra.scoring_error`)   | never: reported on its own |
| unscored         | no verdict and no error (offline records)          | never            |

Why permanent errors count as wrong: a 400 "context too long" is a property
of the test (the longest inputs sit at the hardest points), so dropping it
would make those points read too high. Transient failures say nothing about
the model and are retried on resume. A scorer crash is a bug in Contour, not
an answer of the model: its verdict is unknown until the task is fixed and
the record re-scored.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from contour.results.failures import SAMPLE_ERRORS, is_transient
from contour.results.timings import TimingSamples


class RecordClass(str, Enum):
    SCORED = "scored"
    PERMANENT_ERROR = "permanent_error"
    TRANSIENT_ERROR = "transient_error"
    SAMPLE_ERROR = "sample_error"
    SCORER_ERROR = "scorer_error"
    UNSCORED = "unscored"


def classify(record: Mapping[str, Any]) -> RecordClass:
    error = record.get("error")
    if error is not None:
        kind = error.get("type") if isinstance(error, dict) else None
        if is_transient(kind):
            return RecordClass.TRANSIENT_ERROR
        return RecordClass.SAMPLE_ERROR if kind in SAMPLE_ERRORS else RecordClass.PERMANENT_ERROR
    extra = record.get("extra")
    if isinstance(extra, dict) and extra.get("scoring_error"):
        return RecordClass.SCORER_ERROR
    if record.get("is_correct") is None:
        return RecordClass.UNSCORED
    return RecordClass.SCORED


def error_type(record: Mapping[str, Any]) -> str:
    error = record.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    return str(kind) if kind else "unknown"


@dataclass(frozen=True)
class Counts:
    """The accuracy counts of a tally under one error policy."""

    n: int
    valid: int
    correct: int
    truncated: int
    correct_truncated: int
    guess_sum: float
    information: float | None = None   # effective n when tests have several completions

    @property
    def guess(self) -> float | None:
        return self.guess_sum / self.n if self.n else None

    @property
    def effective_n(self) -> float:
        """Independent trials the counts are worth (contour.intervals.clustered_size)."""
        return float(self.n) if self.information is None else self.information


class Tally:
    """Counts of one group of records (a run, a task, a point, a cell).

    `n`, `valid`, `correct`, `truncated` follow the default policy (permanent
    errors in n as invalid and wrong); `counts(exclude_permanent_errors=True)`
    gives the other. Completion tokens of scored records are kept as 4-byte
    integers so quantiles are exact; latency, time to first token and decode
    rate of the records the server answered as `TimingSamples`
    (contour.results.timings). Tallies merge, so fine cells roll up.

    `Tally(by_test=True)` also counts per test ((point, sample) -> [n,
    correct, permanent errors]), for runs with several completions per test,
    whose intervals need the tests' spread; it costs a dict entry per test,
    so runs with one completion per test do without.
    """

    __slots__ = ("records", "n", "valid", "correct", "truncated", "correct_truncated",
                 "permanent_errors", "transient_errors", "sample_errors", "scorer_errors", "unscored",
                 "errors", "guess_sum", "permanent_guess_sum", "tokens", "tokens_missing",
                 "prompt_tokens", "completion_tokens", "cache_hits", "model_calls", "http_attempts",
                 "timings", "tests")

    def __init__(self, by_test: bool = False) -> None:
        self.records = self.n = self.valid = self.correct = self.truncated = 0
        self.correct_truncated = self.permanent_errors = self.transient_errors = self.sample_errors = 0
        self.scorer_errors = self.unscored = self.tokens_missing = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.cache_hits = self.model_calls = self.http_attempts = 0
        self.errors: dict[str, int] = {}
        self.guess_sum = self.permanent_guess_sum = 0.0
        self.tokens = array("I")
        self.timings = TimingSamples()
        self.tests: dict[tuple[Any, Any], list[int]] | None = {} if by_test else None

    def add(self, record: dict[str, Any]) -> RecordClass:
        # Written for speed (evaluation calls it once per record): identity
        # tests on the enum members, no helper calls on the common path.
        kind = classify(record)
        self.records += 1
        self.timings.add(record)
        usage = record.get("usage")
        if type(usage) is dict:
            prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
            if type(prompt) is int and prompt > 0:
                self.prompt_tokens += prompt
            if type(completion) is int and completion > 0:
                self.completion_tokens += completion
        else:
            usage = None
        extra = record.get("extra")
        if type(extra) is dict:
            attempts = extra.get("attempts")
            if type(attempts) is int and attempts > 0:
                self.http_attempts += attempts
        if kind is RecordClass.SCORED:
            self._add_scored(record, usage)
            if self.tests is not None:
                self._count_test(record, record.get("is_correct") is True, False)
        elif kind is RecordClass.PERMANENT_ERROR:
            if self.tests is not None:
                self._count_test(record, False, True)
            self._count_error(record)
            self.permanent_errors += 1
            self.n += 1
            guess = _guess(record)
            self.guess_sum += guess
            self.permanent_guess_sum += guess
        elif kind is RecordClass.TRANSIENT_ERROR:
            self._count_error(record)
            self.transient_errors += 1
        elif kind is RecordClass.SAMPLE_ERROR:
            self._count_error(record)
            self.sample_errors += 1
        elif kind is RecordClass.SCORER_ERROR:
            self._count_call(record)
            self.scorer_errors += 1
        else:
            self.unscored += 1
        return kind

    def _count_test(self, record: Mapping[str, Any], correct: bool, permanent: bool) -> None:
        assert self.tests is not None
        entry = self.tests.setdefault((record.get("task"), record.get("sample")), [0, 0, 0])
        entry[0] += 1
        entry[1] += correct
        entry[2] += permanent

    def _count_call(self, record: Mapping[str, Any]) -> None:
        if record.get("cache_hit") is True:
            self.cache_hits += 1
        else:
            self.model_calls += 1

    def _count_error(self, record: Mapping[str, Any]) -> None:
        name = error_type(record)
        self.errors[name] = self.errors.get(name, 0) + 1

    def _add_scored(self, record: Mapping[str, Any], usage: Mapping[str, Any] | None) -> None:
        self._count_call(record)
        self.n += 1
        if record.get("is_valid") is True:
            self.valid += 1
        truncated = record.get("is_truncated") is True
        if truncated:
            self.truncated += 1
        if record.get("is_correct") is True:
            self.correct += 1
            if truncated:
                self.correct_truncated += 1
        guess = record.get("guess_chance")
        if type(guess) is float or type(guess) is int:
            self.guess_sum += guess
        tokens = usage.get("completion_tokens") if usage is not None else None
        if type(tokens) is int and 0 <= tokens < 2**32:
            self.tokens.append(tokens)
        else:
            self.tokens_missing += 1

    def merge(self, other: "Tally") -> "Tally":
        for name in self.__slots__:
            if name == "tokens":
                self.tokens.extend(other.tokens)
            elif name == "timings":
                self.timings.merge(other.timings)
            elif name == "errors":
                for kind, count in other.errors.items():
                    self.errors[kind] = self.errors.get(kind, 0) + count
            elif name == "tests":
                if other.tests is not None:
                    mine = self.tests if self.tests is not None else {}
                    for test, (n, correct, permanent) in other.tests.items():
                        entry = mine.setdefault(test, [0, 0, 0])
                        entry[0] += n
                        entry[1] += correct
                        entry[2] += permanent
                    self.tests = mine
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @property
    def guess(self) -> float | None:
        """Mean guess chance of the records in n."""
        return self.guess_sum / self.n if self.n else None

    @property
    def error_count(self) -> int:
        """Records with `error` set: transient, permanent and sample errors."""
        return self.transient_errors + self.permanent_errors + self.sample_errors

    def counts(self, exclude_permanent_errors: bool = False) -> Counts:
        information = self._information(exclude_permanent_errors)
        if not exclude_permanent_errors:
            return Counts(self.n, self.valid, self.correct, self.truncated, self.correct_truncated,
                          self.guess_sum, information)
        return Counts(self.n - self.permanent_errors, self.valid, self.correct, self.truncated,
                      self.correct_truncated, self.guess_sum - self.permanent_guess_sum, information)

    def _information(self, exclude_permanent_errors: bool) -> float | None:
        if not self.tests:
            return None
        from contour.intervals import clustered_size   # numpy and scipy: evaluation only

        sizes = [n - permanent if exclude_permanent_errors else n for n, _, permanent in self.tests.values()]
        correct = [c for (_, c, _), size in zip(self.tests.values(), sizes) if size > 0]
        return clustered_size(correct, [size for size in sizes if size > 0])

    def as_dict(self) -> dict[str, Any]:
        """The live-stats form (stats.json): every counter, errors by type."""
        return {
            "records": self.records, "n": self.n, "valid": self.valid, "correct": self.correct,
            "truncated": self.truncated, "unscored": self.unscored,
            "errors": dict(sorted(self.errors.items())), "error_count": self.error_count,
            "transient_errors": self.transient_errors, "permanent_errors": self.permanent_errors,
            "sample_errors": self.sample_errors,
            "scorer_errors": self.scorer_errors, "cache_hits": self.cache_hits,
            "model_calls": self.model_calls, "http_attempts": self.http_attempts,
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "timings": self.timings.summary(),
        }


def _guess(record: Mapping[str, Any]) -> float:
    guess = record.get("guess_chance")
    return float(guess) if isinstance(guess, (int, float)) and not isinstance(guess, bool) else 0.0
