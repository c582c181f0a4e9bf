"""Where a named template or sampler file is found."""

from __future__ import annotations

from pathlib import Path

from contour.errors import ContourError

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_file(name: str, folder: str, suffix: str, what: str) -> Path:
    """`name` as given, then with `suffix`, then inside the repo's `folder`."""
    given = Path(name)
    candidates = [given, given.with_name(given.name + suffix)]
    if len(given.parts) == 1:
        candidates += [REPO_ROOT / folder / name, REPO_ROOT / folder / (name + suffix)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ContourError(f"{what} file not found: {name} (looked for {', '.join(map(str, candidates))})")
