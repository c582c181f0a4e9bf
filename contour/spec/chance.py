"""The success rate of the best blind answer at a point (`guess_chance`).

A blind guesser knows the point (its parameters) but not the test, and
gives one constant answer to every test of the point. Its success rate is
the probability of the most frequent (normalised) target:
- multiple choice with uniformly placed answers: 1 / number of options;
- a closed form where a task provides one (`Task.exact_guess_chance`);
- otherwise a seeded simulation of the generator, cached per
  (task, version, point parameters), so it costs one simulation per point
  and never depends on the run's seed.

The simulation costs 10-50 ms a point (512-1,024 generated tests), which a
grid of a thousand points would pay at the start of every run, resume and
offline export. Its results are therefore also kept on disk
(``$CONTOUR_HOME/guess-chance.sqlite``, see `contour.home`), keyed by the
point and a digest of the code that decides them (every file of the task
generators and of `contour.spec`): any change to a generator, its data or
this module is a new key, never a stale value. The memo is only a speed-up:
a file that cannot be read or written is ignored (set ``CONTOUR_HOME`` to a
writable folder to keep it), and the value is the same either way.

The simulation is cross-fitted: the most frequent target of one half of
the draws is scored on the other half and vice versa. A plug-in maximum of
observed frequencies would be biased upward (noise makes some answer look
popular even where every answer is rare); the cross-fitted rate is the rate
a guesser who learned the mode from data really achieves. Answer spaces
that are effectively unbounded come out at (or very near) 0.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from contour.home import contour_home

from contour.spec.seeding import coordinate_rngs, point_json
from contour.spec.task import SIMULATED, UNBOUNDED, UNIFORM, Task, Test

CHANCE = "chance"
# Draws per half: a first pass, and a longer one when the mode is common
# enough for its rate to matter (standard error about 0.013 at p = 0.2,
# small beside any per-point accuracy interval).
_FIRST_HALF = 256
_FULL_HALF = 512
_COMMON = 0.02


def guess_chance(task: Task, params: Mapping[str, Any], test: Test) -> float:
    """The best blind answer's success rate at the point of `test`."""
    if task.blind_guess == UNIFORM:
        return 1 / len(test.response_enum) if test.response_enum else 0.0
    if task.blind_guess == UNBOUNDED:
        return 0.0
    if task.blind_guess != SIMULATED:
        raise ValueError(f"task {task.name}: unknown blind_guess {task.blind_guess!r}")
    exact = task.exact_guess_chance(dict(params))
    if exact is not None:
        return exact
    return _simulated(type(task), task.name, task.version, point_json(params))


@lru_cache(maxsize=4096)
def _simulated(cls: type[Task], name: str, version: int, point: str) -> float:
    key = f"{name}|{version}|{point}"
    kept = _DISK.get(key)
    if kept is None:
        kept = _simulate(cls, name, version, point)
        _DISK.put(key, kept)
    return kept


def _simulate(cls: type[Task], name: str, version: int, point: str) -> float:
    task = cls()
    params = json.loads(point)
    halves: tuple[list[str], list[str]] = ([], [])
    index = 0
    rng_at = coordinate_rngs(CHANCE, 0, name, version, params)

    def draw(per_half: int) -> None:
        nonlocal index
        tries = 0
        while len(halves[1]) < per_half and tries < 8 * per_half:
            tries += 1
            try:
                test = task.generate(rng_at(index), dict(params))
            except Exception:   # noqa: BLE001 - a draw the task cannot make has no answer
                continue
            finally:
                index += 1
            full = halves[0] if len(halves[0]) <= len(halves[1]) else halves[1]
            full.append(task.normalize(test.target, test))

    draw(_FIRST_HALF)
    if not halves[1]:
        return 0.0      # the generator fails at every draw; its samples fail too
    rate = cross_fitted_mode_rate(*halves)
    if rate >= _COMMON:
        draw(_FULL_HALF)
        rate = cross_fitted_mode_rate(*halves)
    return round(rate, 4)


def cross_fitted_mode_rate(a: list[str], b: list[str]) -> float:
    """Mean of: the rate in `b` of `a`'s most frequent value, and vice versa."""
    def mode(values: list[str]) -> str:
        counts = Counter(values)
        return min(counts, key=lambda v: (-counts[v], v))   # ties: the smallest value

    return (b.count(mode(a)) / len(b) + a.count(mode(b)) / len(a)) / 2


class _DiskMemo:
    """Simulated rates by point, in one SQLite file shared by every process of
    this machine; every failure turns it off for the process (see the module doc)."""

    def __init__(self, path: Path | None = None):
        self._path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._rates: dict[str, float] | None = None   # loaded on first use
        self._code = ""

    def get(self, key: str) -> float | None:
        with self._lock:
            if self._rates is None:
                self._open()
            return (self._rates or {}).get(f"{self._code}|{key}")

    def put(self, key: str, rate: float) -> None:
        with self._lock:
            if self._db is None or self._rates is None:
                return
            keyed = f"{self._code}|{key}"
            self._rates[keyed] = rate
            try:
                self._db.execute("INSERT OR REPLACE INTO rates VALUES (?, ?)", (keyed, rate))
            except sqlite3.Error:
                self._off()

    def _open(self) -> None:
        self._rates = {}
        try:
            path = self._path or contour_home() / "guess-chance.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._code = _code_digest()
            self._db = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA synchronous=OFF")    # a lost row is recomputed, never wrong
            self._db.execute("CREATE TABLE IF NOT EXISTS rates (key TEXT PRIMARY KEY, rate REAL NOT NULL)")
            self._rates = {k: float(r) for k, r in self._db.execute(
                "SELECT key, rate FROM rates WHERE key >= ? AND key < ?", (self._code + "|", self._code + "}"))}
        except (OSError, sqlite3.Error, ValueError):
            self._off()

    def _off(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None


def _code_digest() -> str:
    """A digest of every file the simulated rates depend on: the task
    generators (`contour.tasks`, data included) and `contour.spec`."""
    import contour.tasks

    digest = hashlib.sha256()
    for root in (Path(contour.tasks.__file__).parent, Path(__file__).parent):
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


_DISK = _DiskMemo()
