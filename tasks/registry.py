"""The task registry: adding a task is one new module with `@register`."""

from __future__ import annotations

import importlib
import pkgutil

from contour.errors import ContourError
from contour.spec.task import Task

_TASKS: dict[str, type[Task]] = {}
_NOT_TASKS = {"registry"}


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
    return cls


def _discover() -> None:
    import contour.tasks as package
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_") and info.name not in _NOT_TASKS:
            importlib.import_module(f"contour.tasks.{info.name}")


def task_names() -> list[str]:
    _discover()
    return sorted(_TASKS)


def get_task(name: str) -> Task:
    """A fresh instance of the named task, or a ContourError listing known ones."""
    _discover()
    if name not in _TASKS:
        raise ContourError(f"unknown task '{name}' (known: {', '.join(sorted(_TASKS))})")
    return _TASKS[name]()
