"""The task registry: adding a task is one new module with `@register`."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from contour.errors import ContourError

if TYPE_CHECKING:  # the task modules import contour.spec, which looks tasks up here
    from contour.spec.task import Task

_TASKS: dict[str, type[Task]] = {}
_INSTANCES: dict[str, Task] = {}   # tasks are stateless: one instance serves every call
_NOT_TASKS = {"registry"}
_discovered = False


def register(cls: type[Task]) -> type[Task]:
    """Class decorator; refuses duplicate names and incomplete classes."""
    for attr in ("name", "description", "schema", "instructions"):
        if not hasattr(cls, attr):
            raise TypeError(f"task class {cls.__name__} lacks '{attr}'")
    if not isinstance(cls.version, int) or cls.version < 1:
        raise TypeError(f"task {cls.name}: version must be a positive int")
    if cls.name in _TASKS and _TASKS[cls.name] is not cls:
        raise TypeError(f"task name '{cls.name}' is registered twice")
    _TASKS[cls.name] = cls
    _INSTANCES[cls.name] = cls()
    return cls


@contextmanager
def registered(cls: type[Task]) -> Iterator[Task]:
    """Register a task for the duration of a `with` block (tests, notebooks)."""
    register(cls)
    try:
        yield _INSTANCES[cls.name]
    finally:
        _TASKS.pop(cls.name, None)
        _INSTANCES.pop(cls.name, None)


def _discover() -> None:
    """Import every task module once; `register` fills the tables as they load."""
    global _discovered
    if _discovered:
        return
    import contour.tasks as package
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_") and info.name not in _NOT_TASKS:
            importlib.import_module(f"contour.tasks.{info.name}")
    _discovered = True


def task_names() -> list[str]:
    _discover()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """The named task, or a ContourError listing the known ones."""
    try:
        return _INSTANCES[name]
    except KeyError:
        _discover()
    if name not in _INSTANCES:
        raise ContourError(f"unknown task '{name}' (known: {', '.join(sorted(_TASKS))})")
    return _INSTANCES[name]
