"""Exports of a run: a Parquet copy of its records, and the writing rules every export follows.

    export_parquet("results/run-a")          # results/run-a/records.parquet

Every export writes beside its target and renames into place when complete,
so an interrupted export leaves no half-written file, and an existing target
is replaced only when asked (`overwrite`): nothing already written is damaged.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from contour.errors import ContourError
from contour.evaluate.sql import PARQUET_FILE, Source, one_line, open_records, quote, resolve_sources


@dataclass(frozen=True)
class Exported:
    path: Path
    rows: int


def one_source(run: str | os.PathLike[str]) -> Source:
    """The records of one run (a folder, a records .jsonl or a .parquet file)."""
    return resolve_sources([run])[0]


def default_target(source: Source, name: str) -> Path:
    """`name` inside the run folder (or beside the records file given)."""
    return source.path.parent / name


def check_target(target: Path, overwrite: bool, option: str = "--output") -> None:
    if target.exists() and not overwrite:
        raise ContourError(f"{option} '{target}' already exists; pass --overwrite to replace it")
    if not target.parent.is_dir():
        raise ContourError(f"cannot write {option} '{target}': folder '{target.parent}' does not exist")


@contextmanager
def staged_file(target: Path, option: str = "--output") -> Iterator[Path]:
    """A temporary path beside `target`, renamed onto it when the block succeeds."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    staged = Path(name)
    try:
        yield staged
        os.replace(staged, target)
    except OSError as problem:
        raise ContourError(f"cannot write {option} '{target}': {problem.strerror or problem}") from None
    finally:
        staged.unlink(missing_ok=True)


@contextmanager
def staged_folder(target: Path, option: str = "--output") -> Iterator[Path]:
    """A temporary folder beside `target`, swapped in for it when the block succeeds."""
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    old = target.with_name(f".{target.name}.replaced")
    try:
        yield staged
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as problem:
        raise ContourError(f"cannot write {option} '{target}': {problem.strerror or problem}") from None
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def copy_to_parquet(con: duckdb.DuckDBPyConnection, select: str, path: Path) -> int:
    """Write the rows of `select` to one zstd-compressed Parquet file; returns the row count."""
    try:
        return int(con.execute(f"COPY ({select}) TO {quote(str(path))} "
                               f"(FORMAT parquet, COMPRESSION zstd)").fetchone()[0])
    except duckdb.Error as problem:
        raise ContourError(f"cannot write '{path}': {one_line(problem)}") from None


def export_parquet(run: str | os.PathLike[str], output: str | os.PathLike[str] | None = None,
                   overwrite: bool = False) -> Exported:
    """A Parquet copy of a run's records, typed as the `records` view (without `run`).

    Default target: records.parquet in the run folder, which `contour sql` and
    `open_records` read in place of a missing records.jsonl.
    """
    source = one_source(run)
    target = Path(output) if output is not None else default_target(source, PARQUET_FILE)
    if target.resolve() == source.path.resolve():
        raise ContourError(f"--output '{target}' is the file being exported")
    check_target(target, overwrite)
    db = open_records([source])
    try:
        with staged_file(target) as staged:
            rows = copy_to_parquet(db.con, "SELECT * EXCLUDE (run) FROM records", staged)
    finally:
        db.close()
    return Exported(target, rows)
