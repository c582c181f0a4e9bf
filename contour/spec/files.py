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


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of a user's file; a ContourError naming it otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContourError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContourError(f"{what} {path}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} "
                           f"at offset {exc.start})") from None
