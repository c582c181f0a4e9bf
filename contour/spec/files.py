"""Where a named template, sampler or config file is found."""

from __future__ import annotations

from pathlib import Path

from contour import data_dir
from contour.errors import ContourError


def find_file(name: str, folder: str, suffix: str, what: str) -> Path:
    """`name` as given (a local file wins), then with `suffix`, then the
    shipped file of that name in `folder` (the clone's or the installed one)."""
    given = Path(name)
    candidates = [given, given.with_name(given.name + suffix)]
    if len(given.parts) == 1:
        shipped = data_dir(folder)
        candidates += [shipped / name, shipped / (name + suffix)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ContourError(f"{what} file not found: {name} (looked for {', '.join(map(str, candidates))})")


def shipped_names(folder: str, suffix: str) -> list[str]:
    return sorted(p.name[: -len(suffix)] for p in data_dir(folder).glob(f"*{suffix}"))
