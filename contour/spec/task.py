"""The task contract: what every generator provides and what it returns.

A task is a self-contained class (reasoning-gym style): its parameter schema,
its generator, its answer-format instructions and its answer scorer live in
one module under `tasks/`, registered with `@register`.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

from contour.spec import answers
from contour.spec.params import ParamSchema


@dataclass(frozen=True)
class Test:
    """One generated test. `genresult` is the structure that produced it."""

    __test__ = False   # not a pytest test class, despite the name

    input: str
    target: str
    response_enum: list[str] | None = None
    guess_chance: float = 0.0
    genresult: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    """The verdict on one response."""

    extracted_answer: str | None
    normalized_answer: str | None
    is_valid: bool
    is_correct: bool


@dataclass(frozen=True)
class Instructions:
    """Answer-format instructions; templates choose `direct` or `cot`."""

    direct: str
    cot: str


@dataclass(frozen=True)
class Measure:
    """A cheap structural difficulty measure read from a generated test
    (operands, nesting, words shown ...). `contour grid --check` expects the
    mean of a parameter's measure to rise along that parameter's axis."""

    name: str
    of: Callable[[Test], float]


def input_words(test: Test) -> float:
    return float(len(test.input.split()))


INPUT_WORDS = Measure("input words", input_words)

# How the success rate of the best blind (constant) answer at a point is found:
# UNIFORM: multiple choice with the answer placed uniformly, 1 / len(response_enum);
# SIMULATED: the most frequent target's rate, from a seeded simulation per point
#   (or `Task.exact_guess_chance` where a closed form exists);
# UNBOUNDED: 0, for answer spaces too large for any constant answer to score.
UNIFORM, SIMULATED, UNBOUNDED = "uniform", "simulated", "unbounded"


CHOICE_INSTRUCTIONS = Instructions(
    direct="Answer the multiple-choice question. Respond with only the option "
           "letter in parentheses, like (A), as 'Final Answer: (<letter>)'.",
    cot="Answer the multiple-choice question. Think step by step, then end with "
        "a line 'Final Answer: (<letter>)' naming one option, like (A).",
)


class Task(ABC):
    """Base class of every generator.

    Subclasses set the class attributes and implement `generate`. The default
    answer handling takes the text after the last "Final Answer:" (or the last
    \\boxed{}, or the last line), strips markup, and compares normalised
    strings; tasks override `extract` and `normalize` where their answers
    have a shape (a number, a letter choice, a list).
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    description: ClassVar[str]
    schema: ClassVar[ParamSchema]
    instructions: ClassVar[Instructions]
    #: how `guess_chance` is found (see UNIFORM, SIMULATED, UNBOUNDED)
    blind_guess: ClassVar[str] = SIMULATED
    #: the structural measure expected to rise along each difficulty
    #: parameter; parameters without one are measured in input words
    measures: ClassVar[Mapping[str, Measure]] = {}

    @abstractmethod
    def generate(self, rng: random.Random, params: dict[str, Any]) -> Test:
        """Build one test from validated `params` using only `rng` for randomness."""

    def exact_guess_chance(self, params: dict[str, Any]) -> float | None:
        """The best blind answer's success rate at a point, where a closed
        form exists; None lets `contour.spec.chance` simulate it."""
        return None

    def measure(self, param: str, test: Test) -> tuple[str, float]:
        """(name, value) of the structural measure of `param` on `test`."""
        m = self.measures.get(param, INPUT_WORDS)
        return m.name, float(m.of(test))

    def extract(self, response: str, test: Test) -> str | None:
        """The answer the response commits to, or None when it gives none."""
        region = answers.answer_region(response)
        if region is None:
            return None
        cleaned = answers.strip_markup(region)
        return cleaned or None

    def normalize(self, answer: str, test: Test) -> str:
        return answers.collapse(answer).casefold()

    def score(self, response: str | None, test: Test) -> Scored:
        extracted = self.extract(response, test) if response else None
        if extracted is None:
            return Scored(None, None, False, False)
        normalized = self.normalize(extracted, test)
        return Scored(extracted, normalized, True,
                      normalized == self.normalize(test.target, test))


class ChoiceTask(Task):
    """A multiple-choice task: the answer is an option label from
    `response_enum` ("(A)", "(B)", ...). A response that names an option by
    its text instead of its label is read through `option_by_text`. The
    options are shuffled, so the answer's place is uniform."""

    instructions = CHOICE_INSTRUCTIONS
    blind_guess = UNIFORM

    def extract(self, response: str, test: Test) -> str | None:
        region = answers.answer_region(response)
        if region is None:
            return None
        label = answers.extract_choice(region, test.response_enum or [])
        return label if label is not None else self.option_by_text(region, test)

    def option_by_text(self, region: str, test: Test) -> str | None:
        """The label of the option whose text `region` names, if any."""
        return None

    def normalize(self, answer: str, test: Test) -> str:
        return answer   # labels are canonical already


class NumberTask(Task):
    """A task whose answer is a number. Answers are compared in canonical
    form ("1,234.0" and "1234" are the same); targets are canonical already."""

    def extract(self, response: str, test: Test) -> str | None:
        region = answers.answer_region(response)
        if region is None:
            return None
        number = answers.extract_number(region)
        return number if number is not None else self.number_by_words(answers.strip_markup(region), test)

    def number_by_words(self, text: str, test: Test) -> str | None:
        """A number written without digits ("seven", "car three"), for tasks that read them."""
        return None

    def normalize(self, answer: str, test: Test) -> str:
        return answer
