"""Task generators, one module per task; see `registry` for how they are found."""

from contour.tasks.registry import get_task, register, registered, task_names

__all__ = ["get_task", "register", "registered", "task_names"]
