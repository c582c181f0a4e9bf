"""Response cache: a server answer is never requested twice, across runs and processes.

One SQLite file holds three tables:

- ``contour_meta``: the marker that makes the file Contour's (``format`` =
  ``contour-response-cache``, ``version`` = 1). A cache file is accepted only
  if it is empty (no file, 0 bytes, or a database with no tables), carries
  this marker, or is a cache written by Contour before the marker existed
  (exactly ``responses`` and ``contour_claims`` with Contour's columns; the
  marker is then added). Anything else is refused with one error and left
  untouched: no table is added and its journal mode is not changed.
- ``responses``: a sqlitedict table, request key -> the server's JSON response
  (successful completions only). Values are stored as JSON, not pickle, so a
  cache file someone hands you cannot run code when read.
- ``contour_claims``: who is sending which request right now. A claim row is
  (key, owner, host, pid, beat); `owner` is unique per ResponseCache instance.

Use it like this (put before release, so a waiter never finds neither a value
nor a claim)::

    got = cache.get_or_claim(key)
    if isinstance(got, Claim):
        try:
            completion = client.complete(body)
            if completion.ok:
                cache.put(key, completion.response)
        finally:
            cache.release(got)
    else:
        response = got

How the claim works: `get_or_claim` looks for a value, then in one
``BEGIN IMMEDIATE`` transaction (SQLite's write lock, so exactly one process
or thread at a time) inserts a claim row unless a live one exists. The winner
looks for the value once more (the previous owner may have stored it and left
between our two looks) and then sends; everybody else polls until the value
appears, the claim is released (a failed request: then one of them claims and
sends), or the claim goes stale. A claim is stale when its heartbeat (refreshed
by a background thread every claim_ttl/4 while the owner holds claims) is older
than `claim_ttl`, or at once when its owner is a process on this host that no
longer exists. After `max_wait` a waiter takes the claim whatever its state,
trading a possible duplicate request for never hanging.

Fast paths for a runner sending thousands of requests a second (the
protocol is the same, only amortised):

- `lookup_many(keys)` looks up a whole step's keys in one query and claims
  every missing, unclaimed one in one transaction;
- `store(key, value, claim)` hands a response to a writer thread that
  commits many responses per transaction (it waits 10 ms after the first
  one, so a busy run commits a few dozen at a time) and deletes their claims in that
  same transaction, so "value before release" holds atomically. `flush()`
  waits until everything handed over is committed; `close()` flushes. A
  failed batch (a full disk) forgets its claims as `release` does, and the
  error is raised by the next `store`, `flush`, `check` or `close`, so the
  runner stops on it (`check` lets it do so without waiting for a store). A
  kill -9 loses at most the responses of the last moments (their records
  are already written, so a resume does not ask for them again).
- The batch paths read and write values with plain SQL on our own
  connections (the table keeps sqlitedict's layout and JSON encoding);
  sqlitedict's one-thread queue and its blocking commit per write had made
  the cache, not the network, the bottleneck (about 300 requests/s whatever
  the concurrency). `get`/`put` keep going through sqlitedict.

Limits: a dead owner whose pid was already reused by another process is only
detected by its heartbeat age; owners on other hosts only by heartbeat age
(keep clocks roughly in sync); SQLite locking is not reliable on network file
systems (NFS), and WAL mode needs shared memory, so keep the cache on a local
disk.

What sqlitedict does and does not give us (2.1.0, read from its source and
maintainers' answers, piskvorky/sqlitedict#145): one SqliteDict is one
connection served by one background thread, so it is thread-safe within a
process; across processes it offers nothing beyond SQLite's own locking. Its
writes are fire-and-forget: an error (e.g. "database is locked") surfaces at
the *next* call, possibly another thread's, so every call here is made under
one lock and every write ends with a blocking commit. It hard-codes
synchronous=OFF and the stdlib's 5 s busy timeout; we set synchronous=NORMAL
(with WAL: no corruption on power loss) and a longer busy timeout on its
connection. It has no compare-and-set, hence the claims table on a raw
sqlite3 connection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlitedict import SqliteDict

from contour import jsontext
from contour.errors import ContourError

RESPONSES_TABLE = "responses"
CLAIMS_TABLE = "contour_claims"
META_TABLE = "contour_meta"
FORMAT = "contour-response-cache"
FORMAT_VERSION = 1
_COLUMNS = {RESPONSES_TABLE: ["key", "value"],
            CLAIMS_TABLE: ["key", "owner", "host", "pid", "beat"],
            META_TABLE: ["key", "value"]}

# sqlitedict logs each failed statement (a dozen lines on stderr) before the
# error reaches us; we turn it into one ContourError instead.
_SQLITEDICT_LOG = logging.getLogger("sqlitedict")
_SQLITEDICT_LOG.addHandler(logging.NullHandler())
_SQLITEDICT_LOG.propagate = False

_T = TypeVar("_T")
_BUSY_RETRIES = 5
_POLL_FIRST_S = 0.002
_POLL_MAX_S = 0.1
_BATCH_MAX = 512        # responses per write transaction
_GATHER_S = 0.01        # the writer's wait after a first response, before it commits
_SQL_VARS = 500         # keys per IN (...) query, under SQLite's variable limit


def request_key(body: dict[str, Any], identity: str | None = None) -> str:
    """sha256 of the canonical JSON of the full request body, and of the
    sample's identity when there is one.

    The body holds the model, the messages and every sampler parameter; the
    API key travels in a header and so never reaches the key. Greedy requests
    pass no identity, so identical bodies share one answer (and keys stay what
    they always were); sampled requests pass the sample's identity
    (`contour.run.sampling`), so every sample is its own draw. The wrapped
    form has no top-level "model"/"messages", so it never equals a plain body.
    """
    keyed: dict[str, Any] = body if identity is None else {"request": body, "sample": identity}
    return hashlib.sha256(_KEY_JSON.encode(keyed).encode("utf-8")).hexdigest()


# What json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False,
# allow_nan=False) builds on every call, made once (the same text).
_KEY_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             allow_nan=False)


@dataclass(frozen=True)
class Claim:
    """The right, won by exactly one caller, to send the request for `key`."""

    key: str
    owner: str


@dataclass(frozen=True)
class ClaimRow:
    owner: str
    host: str
    pid: int
    beat: float     # time.time() of the owner's last heartbeat


def process_alive(pid: int) -> bool:
    """Whether process `pid` on this host still exists (and is not a zombie)."""
    if os.name != "posix":
        return True     # os.kill(pid, 0) would terminate it on Windows: rely on heartbeats
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process its parent has not reaped yet still answers signal 0.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def claim_is_stale(row: ClaimRow, *, now: float, host: str, ttl: float,
                   alive: Callable[[int], bool] = process_alive) -> bool:
    """Whether a claim may be taken over: heartbeat too old, or owner gone."""
    if now - row.beat > ttl:
        return True
    return row.host == host and not alive(row.pid)


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _encode(value: Any) -> str:
    return jsontext.dumps(value)


class ResponseCache:
    """Server responses by request key, shared safely by threads and processes."""

    def __init__(self, path: str | os.PathLike[str], *, claim_ttl: float = 60.0,
                 max_wait: float = 3600.0, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ContourError(f"--cache {self.path}: directory {self.path.parent} does not exist")
        if self.path.is_dir():
            raise ContourError(f"--cache {self.path} is a directory, not a cache file")
        if claim_ttl <= 0 or max_wait < 0 or busy_timeout <= 0:
            raise ValueError("claim_ttl and busy_timeout must be > 0, max_wait >= 0")
        self._claim_ttl = claim_ttl
        self._max_wait = max_wait
        self._busy_timeout = busy_timeout
        self._owner = uuid.uuid4().hex
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._held: set[str] = set()
        self._claims_lock = threading.Lock()
        self._values_lock = threading.Lock()
        self._closed = False
        try:
            self._db = self._open_claims_db()
        except sqlite3.Error as exc:
            raise ContourError(f"--cache {self.path}: not a usable SQLite cache ({exc})") from None
        try:
            self._values = self._retry_busy(self._open_values)
        except sqlite3.Error as exc:
            self._db.close()
            raise ContourError(f"--cache {self.path}: not a usable SQLite cache ({exc})") from None
        try:
            self._reader = sqlite3.connect(self.path, timeout=self._busy_timeout,
                                           isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._db.close()
            self._values.close()
            raise ContourError(f"--cache {self.path}: not a usable SQLite cache ({exc})") from None
        self._read_lock = threading.Lock()
        self._pending: queue.Queue[tuple[str, dict[str, Any], Claim | None] | None] = queue.Queue()
        self._writer_error: ContourError | None = None
        self._writer = threading.Thread(target=self._write_loop, name="contour-cache-writer",
                                        daemon=True)
        self._writer.start()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="contour-cache-heartbeat",
                                           daemon=True)
        self._heartbeat.start()

    # -- opening ------------------------------------------------------------

    def _open_claims_db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                             check_same_thread=False)
        try:
            # Only reads until the file is known to be ours (or empty).
            if self._retry_busy(lambda: _identify(db, self.path)) != "ours":
                self._retry_busy(lambda: self._initialise(db))
            # WAL after the marker is committed (so it lives in the main file),
            # from a connection with a real busy timeout: readers then never
            # block the writer, and sqlitedict's own PRAGMA becomes a no-op.
            self._retry_busy(lambda: db.execute("PRAGMA journal_mode=WAL").fetchone())
            db.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _initialise(db: sqlite3.Connection) -> None:
        """Create the tables and the marker, in one transaction that first checks
        again, under the write lock, that the file is still empty or an old cache."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if _identify(db, None) != "ours":
                db.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
                db.execute(f'CREATE TABLE IF NOT EXISTS "{RESPONSES_TABLE}" (key TEXT PRIMARY KEY, value BLOB)')
                db.execute(f"CREATE TABLE IF NOT EXISTS {CLAIMS_TABLE} (key TEXT PRIMARY KEY,"
                           " owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, beat REAL NOT NULL)")
                db.executemany(f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?, ?)",
                               [("format", FORMAT), ("version", str(FORMAT_VERSION))])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _open_values(self) -> SqliteDict:
        values = SqliteDict(str(self.path), tablename=RESPONSES_TABLE, autocommit=True,
                            journal_mode="WAL", encode=_encode, decode=jsontext.loads,
                            outer_stack=False)
        values.conn.select_one(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
        values.conn.select_one("PRAGMA synchronous=NORMAL")
        return values

    def _retry_busy(self, fn: Callable[[], _T]) -> _T:
        # The busy timeout already waits inside SQLite; this covers the cases
        # where SQLite reports "locked" without waiting (and sqlitedict's
        # deferred errors), which a short pause resolves.
        for attempt in range(_BUSY_RETRIES + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == _BUSY_RETRIES:
                    raise
                time.sleep(0.05 * (2 ** attempt))
        raise AssertionError("unreachable")

    def _transaction(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn` inside BEGIN IMMEDIATE (holding SQLite's write lock). Caller holds _claims_lock."""
        def once() -> _T:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._db)
                self._db.execute("COMMIT")
                return result
            except BaseException:
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass    # SQLite rolls back by itself when it cannot
                raise
        return self._retry_busy(once)

    def _write_error(self, exc: sqlite3.Error) -> ContourError:
        return ContourError(f"--cache {self.path}: cannot write ({exc})")

    # -- values -------------------------------------------------------------

    def _check_values(self) -> None:
        # sqlitedict's worker thread dies if a COMMIT itself fails; every later
        # call would then wait for it forever.
        if not self._values.conn.is_alive():
            raise ContourError(f"--cache {self.path}: the cache connection failed earlier "
                               "(see the first error); run the same command again")

    def get(self, key: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                return self._values[key]    # one query; SqliteDict.get would make two
            except KeyError:
                return None
        with self._values_lock:
            self._check_values()
            try:
                return self._retry_busy(read)
            except sqlite3.Error as exc:
                raise ContourError(f"--cache {self.path}: cannot read ({exc})") from None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a successful response; durable (committed) when this returns."""
        if not isinstance(value, dict):
            raise TypeError(f"cache values are response dicts, got {type(value).__name__}")

        def write() -> None:
            self._values[key] = value
            self._values.commit()   # blocking: surfaces this write's own error, here
        with self._values_lock:
            self._check_values()
            try:
                self._retry_busy(write)
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The cached values among `keys`, in as few queries as SQLite allows."""
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), _SQL_VARS):
            part = keys[i:i + _SQL_VARS]

            def read() -> list[tuple[str, str]]:
                marks = ",".join("?" * len(part))
                return self._reader.execute(
                    f"SELECT key, value FROM {RESPONSES_TABLE} WHERE key IN ({marks})", part).fetchall()
            with self._read_lock:
                try:
                    rows = self._retry_busy(read)
                except sqlite3.Error as exc:
                    raise ContourError(f"--cache {self.path}: cannot read ({exc})") from None
            found.update((k, jsontext.loads(v)) for k, v in rows)
        return found

    def store(self, key: str, value: dict[str, Any], claim: Claim | None) -> None:
        """Store a response and release its claim in the background (the
        writer thread commits many per transaction, see the module doc)."""
        if not isinstance(value, dict):
            raise TypeError(f"cache values are response dicts, got {type(value).__name__}")
        self.check()
        self._pending.put((key, value, claim))

    def check(self) -> None:
        """Raise the error a background commit met, if any."""
        if self._writer_error is not None:
            raise self._writer_error

    def flush(self) -> None:
        """Wait until every response handed to `store` is committed."""
        self._pending.join()
        self.check()

    def _write_loop(self) -> None:
        while True:
            item = self._pending.get()
            batch = [item]
            if item is not None:
                # Let a batch gather: one commit and one wake-up for what
                # arrives meanwhile, instead of one per response under load.
                time.sleep(_GATHER_S)
            while item is not None and len(batch) < _BATCH_MAX:
                try:
                    item = self._pending.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
            entries = [b for b in batch if b is not None]
            try:
                if entries and self._writer_error is None:
                    self._write_batch(entries)
                elif entries:
                    self._forget([c for _, _, c in entries if c is not None])
            except sqlite3.Error as exc:
                self._writer_error = self._write_error(exc)
            except BaseException as exc:     # noqa: BLE001 - a bug: reported to the next caller
                self._writer_error = ContourError(f"--cache {self.path}: cannot write ({exc!r})")
            finally:
                for _ in batch:
                    self._pending.task_done()
            if batch[-1] is None:
                return

    def _write_batch(self, entries: list[tuple[str, dict[str, Any], Claim | None]]) -> None:
        rows = [(key, _encode(value)) for key, value, _ in entries]
        claims = [c for _, _, c in entries if c is not None]

        def write(db: sqlite3.Connection) -> None:
            db.executemany(f'INSERT OR REPLACE INTO "{RESPONSES_TABLE}" (key, value) VALUES (?, ?)', rows)
            db.executemany(f"DELETE FROM {CLAIMS_TABLE} WHERE key=? AND owner=?",
                           [(c.key, c.owner) for c in claims])
        with self._claims_lock:
            try:
                self._transaction(write)
            finally:
                self._forget(claims)    # as in release: forgotten even when the commit failed

    def _forget(self, claims: list[Claim]) -> None:
        for claim in claims:
            if claim.owner == self._owner:
                self._held.discard(claim.key)

    def __len__(self) -> int:
        with self._values_lock:
            return self._retry_busy(lambda: len(self._values))

    # -- claims -------------------------------------------------------------

    def get_or_claim(self, key: str) -> dict[str, Any] | Claim:
        """The cached response, or a Claim obliging the caller to send and then release."""
        deadline = time.monotonic() + self._max_wait
        pause = _POLL_FIRST_S
        while True:
            value = self.get(key)
            if value is not None:
                return value
            if self._try_claim(key, force=time.monotonic() >= deadline):
                claim = Claim(key, self._owner)
                value = self.get(key)
                if value is not None:
                    self.release(claim)
                    return value
                return claim
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)

    def lookup_many(self, keys: list[str]) -> dict[str, dict[str, Any] | Claim | None]:
        """For each key: its cached response, a Claim (send it, then `store` or
        `release`), or None when someone else is sending it (then call
        `get_or_claim`, which waits). One query and one transaction in all."""
        self.check()
        unique = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any] | Claim | None] = dict(self.get_many(unique))
        missing = [k for k in unique if k not in found]
        if not missing:
            return found
        with self._claims_lock:
            mine = [k for k in missing if k not in self._held]

            def claim(db: sqlite3.Connection) -> list[str]:
                now = time.time()   # read under the write lock, which may have taken a while
                taken: dict[str, ClaimRow] = {}
                for i in range(0, len(mine), _SQL_VARS):
                    part = mine[i:i + _SQL_VARS]
                    marks = ",".join("?" * len(part))
                    for row in db.execute(f"SELECT key, owner, host, pid, beat FROM {CLAIMS_TABLE} "
                                          f"WHERE key IN ({marks})", part):
                        taken[row[0]] = ClaimRow(*row[1:])
                # Our own owner id but not held: left over from a failed release.
                won = [k for k in mine if k not in taken or taken[k].owner == self._owner
                       or claim_is_stale(taken[k], now=now, host=self._host, ttl=self._claim_ttl)]
                db.executemany(f"INSERT OR REPLACE INTO {CLAIMS_TABLE} VALUES (?, ?, ?, ?, ?)",
                               [(k, self._owner, self._host, self._pid, now) for k in won])
                return won

            try:
                won = self._transaction(claim) if mine else []
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
            self._held.update(won)
        # As in get_or_claim: the previous owner may have stored a value and
        # left between our look and our claim.
        late = self.get_many(won) if won else {}
        for key in missing:
            found[key] = None
        for key in won:
            found[key] = Claim(key, self._owner)
        for key, value in late.items():
            self.release(Claim(key, self._owner))
            found[key] = value
        return found

    def _try_claim(self, key: str, force: bool) -> bool:
        with self._claims_lock:
            if key in self._held:
                return False    # another thread of this process is sending it

            def claim(db: sqlite3.Connection) -> bool:
                now = time.time()   # read under the write lock, which may have taken a while
                found = db.execute(f"SELECT owner, host, pid, beat FROM {CLAIMS_TABLE} WHERE key=?",
                                   (key,)).fetchone()
                if found is not None and not force:
                    row = ClaimRow(*found)
                    # Our own owner id but not held: left over from a failed release.
                    if row.owner != self._owner and not claim_is_stale(
                            row, now=now, host=self._host, ttl=self._claim_ttl):
                        return False
                db.execute(f"INSERT OR REPLACE INTO {CLAIMS_TABLE} VALUES (?, ?, ?, ?, ?)",
                           (key, self._owner, self._host, self._pid, now))
                return True

            try:
                won = self._transaction(claim)
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
            if won:
                self._held.add(key)
            return won

    def release(self, claim: Claim) -> None:
        """Give up a claim (idempotent); waiters then take the stored value or claim it."""
        with self._claims_lock:
            try:
                self._transaction(lambda db: db.execute(
                    f"DELETE FROM {CLAIMS_TABLE} WHERE key=? AND owner=?", (claim.key, claim.owner)))
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
            finally:
                # Forgotten even when the delete failed (a full disk): this
                # process's other threads then take the key over at once (a
                # row of our own owner id counts as free), instead of waiting
                # for max_wait.
                if claim.owner == self._owner:
                    self._held.discard(claim.key)

    def _beat(self) -> None:
        while not self._stop.wait(self._claim_ttl / 4):
            with self._claims_lock:
                if not self._held:
                    continue
                try:
                    self._transaction(lambda db: db.execute(
                        f"UPDATE {CLAIMS_TABLE} SET beat=? WHERE owner=?", (time.time(), self._owner)))
                except sqlite3.Error:
                    pass    # the next beat tries again; a claim survives three missed beats

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Release every claim still held, then close both connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._pending.put(None)     # the writer commits what it holds, then stops
        self._writer.join()
        self._stop.set()
        self._heartbeat.join()
        problem: sqlite3.Error | None = None
        with self._claims_lock:
            try:
                if self._held:
                    self._transaction(lambda db: db.execute(
                        f"DELETE FROM {CLAIMS_TABLE} WHERE owner=?", (self._owner,)))
            except sqlite3.Error as exc:
                problem = exc   # left rows are stale as soon as this process is gone
            self._held.clear()
            self._db.close()
        with self._read_lock:
            self._reader.close()
        with self._values_lock:
            try:
                # force: no final COMMIT to wait for from a dead worker thread
                self._values.close(force=not self._values.conn.is_alive())
            except sqlite3.Error as exc:
                problem = problem or exc
        if problem is not None:
            raise self._write_error(problem)
        self.check()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identify(db: sqlite3.Connection, path: Path | None) -> str:
    """"ours", "empty" or "old" (a cache from before the marker); anything
    else raises a ContourError naming the file. Only reads."""
    # One read transaction: another runner creating the cache at this instant must be
    # seen either not at all or whole, never as objects without their tables.
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        rows = db.execute("SELECT type, name FROM sqlite_master").fetchall()
        tables = {name: [c[1] for c in db.execute(f'PRAGMA table_info("{name}")')]
                  for kind, name in rows if kind == "table" and not name.startswith("sqlite_")}
    finally:
        if own:
            db.execute("ROLLBACK")
    objects = len(rows)
    if not objects:
        return "empty"
    where = f"--cache {path}" if path is not None else "--cache"
    if META_TABLE in tables:
        marker = dict(db.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()) \
            if tables[META_TABLE] == _COLUMNS[META_TABLE] else {}
        if marker.get("format") == FORMAT:
            version = marker.get("version", "")
            if not version.isdigit() or int(version) > FORMAT_VERSION:
                raise ContourError(f"{where}: a Contour cache of format version {version}, newer "
                                   f"than this Contour reads ({FORMAT_VERSION}); upgrade Contour "
                                   "or choose another --cache")
            if set(tables) <= set(_COLUMNS) and all(tables[t] == _COLUMNS[t] for t in tables):
                return "ours"
    elif tables == {t: _COLUMNS[t] for t in (RESPONSES_TABLE, CLAIMS_TABLE)}:
        return "old"
    listing = ", ".join(sorted(tables)) or "no tables"
    raise ContourError(f"{where}: an SQLite database that is not a Contour cache (tables: "
                       f"{listing}); it was left untouched: choose another --cache file")
