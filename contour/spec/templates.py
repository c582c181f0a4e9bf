"""Jinja templates that render one test into a list of chat messages.

A template renders to a JSON list of `{"role", "content"}` objects. Its
context: `task` (name, description, instructions.direct, instructions.cot),
`test` (input, target, response_enum, ...) and `examples(n)`, which returns n
multishot examples drawn from the same generator at fixed example coordinates
(never the test being asked; see `generation.example_tests`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import jinja2
from jinja2.runtime import new_context

from contour.errors import ContourError
from contour.spec.generation import example_tests
from contour.spec.files import find_file, read_text
from contour.spec.task import Task, Test

ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    source: str
    compiled: jinja2.Template
    # jinja2's render() merges the template's globals (a ChainMap) into a new
    # dict, and lists their names, for every call: a third of a render's
    # cost. They are merged once, here, and each render gets a shared
    # context built on that dict.
    merged_globals: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "merged_globals", dict(self.compiled.globals))

    def render(self, task: Task, params: Mapping[str, Any], test: Test) -> list[dict[str, str]]:
        compiled = self.compiled
        context = {
            **self.merged_globals,
            "task": {"name": task.name, "description": task.description,
                     "instructions": task.instructions},
            "test": test,
            "examples": lambda n: example_tests(task, params, int(n), avoid=test),
        }
        try:
            text = compiled.environment.concat(compiled.root_render_func(new_context(
                compiled.environment, compiled.name, compiled.blocks, context, shared=True,
                globals=self.merged_globals)))
        except (jinja2.TemplateError, TypeError) as exc:
            # TypeError: a filter such as tojson given an undefined variable.
            raise ContourError(f"template {self.path}: rendering failed: {exc}") from None
        return parse_messages(text, str(self.path))


def parse_messages(text: str, where: str) -> list[dict[str, str]]:
    try:
        messages = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContourError(f"template {where}: does not render valid JSON ({exc.msg} "
                           f"at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(messages, list) or not messages:
        raise ContourError(f"template {where}: must render a non-empty JSON list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or set(m) != {"role", "content"}:
            raise ContourError(f"template {where}: message {i} must be an object with exactly "
                               f"'role' and 'content', got {json.dumps(m)[:80]}")
        if m["role"] not in ROLES:
            raise ContourError(f"template {where}: message {i} has unknown role {m['role']!r}")
        if not isinstance(m["content"], str) or not m["content"].strip():
            raise ContourError(f"template {where}: message {i} has empty or non-text content")
    return messages


def load_template(name: str) -> Template:
    """Load and validate: a syntax error or a probe render that is not a
    message list is an error here, before anything is written."""
    path = find_file(name, "templates", ".jinja", "template")
    source = read_text(path, "template")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        compiled = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ContourError(f"template {path}: syntax error at line {exc.lineno}: {exc.message}") from None
    template = Template(path.stem, path, source, compiled)
    _probe(template)
    return template


def _probe(template: Template) -> None:
    from contour.tasks import get_task

    task = get_task("arithmetic")
    params = task.schema.validate(task.name, {})
    template.render(task, params, task.generate(random.Random(0), params))
