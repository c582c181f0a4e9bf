import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contour.run.cache import (Claim, ClaimRow, ResponseCache, claim_is_stale, process_alive,
                           request_key)
from contour.run.client import ChatClient
from contour.errors import ContourError

REPO = Path(__file__).resolve().parent.parent


# A liveness deadline, far beyond the expected path and far below the wrong one
# (an hour-long max_wait): not a timing measurement.
DEADLINE_S = 20.0


def within(seconds: float, fn, *args):
    """fn(*args) on a helper thread; fails if it has not returned by the deadline."""
    result: list = []
    worker = threading.Thread(target=lambda: result.append(fn(*args)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn.__name__} did not return within {seconds} s"
    return result[0]


def body(i: int = 0, **params) -> dict:
    return {"model": "test-model", "messages": [{"role": "user", "content": f"prompt {i}"}],
            "max_tokens": 16, "temperature": 0.0, **params}


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


# -- request_key ---------------------------------------------------------------

def test_key_is_stable_and_order_independent():
    a = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}
    b = {"temperature": 0.5, "messages": [{"content": "hi", "role": "user"}], "model": "m"}
    assert request_key(a) == request_key(b) == request_key(json.loads(json.dumps(a)))
    assert len(request_key(a)) == 64
    # Pinned: a changed key would silently orphan every existing cache.
    assert request_key({"a": 1}) == \
        "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"


@pytest.mark.parametrize("change", [
    {"model": "other"},
    {"messages": [{"role": "user", "content": "prompt 1"}]},
    {"messages": [{"role": "system", "content": "prompt 0"}]},
    {"messages": [{"role": "user", "content": "prompt 0"}] * 2},
    {"max_tokens": 17},
    {"temperature": 0.1},
    {"top_p": 0.9},
    {"seed": 1},
    {"n": 2},
    {"stop": ["\n"]},
])
def test_key_is_sensitive_to_every_field(change):
    assert request_key(body()) != request_key({**body(), **change})


# -- values --------------------------------------------------------------------

def test_put_get_survive_reopen(tmp_path):
    path = tmp_path / "cache.sqlite"
    response = {"choices": [{"message": {"content": "Ünïcode ✓"}}], "usage": {"total_tokens": 3}}
    with ResponseCache(path) as cache:
        assert cache.get("k") is None and len(cache) == 0
        cache.put("k", response)
        assert cache.get("k") == response
    with ResponseCache(path) as cache:
        assert cache.get("k") == response and len(cache) == 1
        assert cache.get_or_claim("k") == response
    assert integrity(path) == "ok"


def test_values_are_json_not_pickle(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", {"a": 1})
        with pytest.raises(TypeError):
            cache.put("k2", ["not", "a", "response"])
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("SELECT value FROM responses WHERE key='k'").fetchone()[0] == '{"a":1}'


def test_bad_cache_paths(tmp_path):
    with pytest.raises(ContourError, match="does not exist"):
        ResponseCache(tmp_path / "missing" / "c.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ContourError, match="junk.sqlite: not a usable SQLite cache"):
        ResponseCache(junk)


def test_waits_out_a_foreign_write_lock(tmp_path):
    # A 50 ms busy timeout against a 0.4 s lock: only the retry on
    # "database is locked" (sqlitedict's deferred error included) gets through.
    path = tmp_path / "c.sqlite"
    with ResponseCache(path, busy_timeout=0.05) as cache:
        locked, done = threading.Event(), threading.Event()

        def hold_write_lock() -> None:
            db = sqlite3.connect(path, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(0.4)
            done.set()            # before COMMIT: a put that got through waited for it
            db.execute("COMMIT")
            db.close()

        threading.Thread(target=hold_write_lock).start()
        locked.wait(5)
        cache.put("k", {"v": 1})
        assert done.is_set()
        locked.clear()
        done.clear()
        threading.Thread(target=hold_write_lock).start()
        locked.wait(5)
        assert isinstance(cache.get_or_claim("other"), Claim)
        assert done.is_set() and cache.get("k") == {"v": 1}
    assert integrity(path) == "ok"


# -- claims within one process -------------------------------------------------

def test_claim_put_release(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        claim = cache.get_or_claim("k")
        assert isinstance(claim, Claim) and claim.key == "k"
        cache.put("k", {"v": 1})
        cache.release(claim)
        cache.release(claim)        # idempotent
        assert cache.get_or_claim("k") == {"v": 1}


def test_winner_rechecks_for_a_value_stored_meanwhile(tmp_path, monkeypatch):
    # The race: our first look misses, then the owner stores and releases
    # before we claim. Winning the claim must not mean sending again.
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", {"v": 1})
        real_get = cache.get
        looks = []

        def first_look_misses(key: str) -> dict | None:
            looks.append(key)
            return None if len(looks) == 1 else real_get(key)

        monkeypatch.setattr(cache, "get", first_look_misses)
        assert cache.get_or_claim("k") == {"v": 1}
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM contour_claims").fetchone()[0] == 0


def test_threads_hammering_send_each_key_once(tmp_path):
    sent: Counter[str] = Counter()
    lock = threading.Lock()
    keys = [f"key-{i}" for i in range(60)]
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        def worker(seed: int) -> list[dict]:
            order = keys[:]
            random.Random(seed).shuffle(order)
            got = []
            for key in order:
                value = cache.get_or_claim(key)
                if isinstance(value, Claim):
                    with lock:
                        sent[key] += 1
                    time.sleep(0.001)
                    cache.put(key, {"key": key})
                    cache.release(value)
                    value = {"key": key}
                got.append(value)
            return got

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(worker, range(8)))
        assert len(cache) == len(keys)
    assert sent == Counter(keys)
    assert all(sorted(r["key"] for r in got) == sorted(keys) for got in results)
    assert integrity(tmp_path / "c.sqlite") == "ok"


def test_failed_request_releases_claim_to_a_waiter(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        first = cache.get_or_claim("k")
        outcome = {}
        waiter = threading.Thread(target=lambda: outcome.update(got=cache.get_or_claim("k")))
        waiter.start()
        time.sleep(0.1)
        assert waiter.is_alive()        # waits while the claim is held
        cache.release(first)            # the request failed: nothing stored
        waiter.join(5)
        assert isinstance(outcome["got"], Claim)


def test_waiter_in_another_instance_gets_the_value(tmp_path):
    path = tmp_path / "c.sqlite"
    # A 0.2 s ttl: only the owner's heartbeat keeps its claim from going stale.
    with ResponseCache(path, claim_ttl=0.2) as owner, ResponseCache(path, claim_ttl=0.2) as other:
        claim = owner.get_or_claim("k")

        def finish() -> None:
            time.sleep(0.6)
            owner.put("k", {"v": 1})
            owner.release(claim)

        threading.Thread(target=finish).start()
        assert other.get_or_claim("k") == {"v": 1}   # only there after the owner's put


def test_close_releases_held_claims(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as other:
        owner = ResponseCache(path)
        assert isinstance(owner.get_or_claim("k"), Claim)
        owner.close()
        # The default max_wait is an hour: a claim that was not released would miss the deadline.
        assert isinstance(within(DEADLINE_S, other.get_or_claim, "k"), Claim)


def test_max_wait_bounds_the_wait_for_a_live_claim(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as owner, ResponseCache(path, max_wait=0.3) as impatient:
        claim = owner.get_or_claim("k")
        assert isinstance(claim, Claim)
        # The owner is alive and never releases: only max_wait can end the wait.
        assert isinstance(within(DEADLINE_S, impatient.get_or_claim, "k"), Claim)
        owner.release(claim)


def test_claim_staleness():
    now = 1000.0
    alive = {1: True, 2: False}.__getitem__
    fresh = dict(now=now, host="here", ttl=60.0, alive=alive)
    assert not claim_is_stale(ClaimRow("o", "here", 1, now - 10), **fresh)
    assert claim_is_stale(ClaimRow("o", "here", 1, now - 61), **fresh)
    assert claim_is_stale(ClaimRow("o", "here", 2, now - 1), **fresh)
    assert not claim_is_stale(ClaimRow("o", "elsewhere", 2, now - 1), **fresh)


def test_process_alive():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert process_alive(child.pid)
    child.kill()
    time.sleep(0.2)
    assert not process_alive(child.pid)     # a zombie until reaped
    child.wait()
    assert not process_alive(child.pid)


# -- claims across real processes ----------------------------------------------

def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.test_cache", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_send_each_request_once(tmp_path):
    from tests.faultserver import FaultServer, slow

    n = 80
    path, go = tmp_path / "shared.sqlite", tmp_path / "go"
    with FaultServer(default=slow(0.005)) as server:
        workers = [spawn("send", str(path), server.apibase, str(n), str(seed), str(go))
                   for seed in (1, 2)]
        for w in workers:
            assert w.stdout.readline().strip() == "ready", w.stderr.read()
        go.touch()      # both start at once, on a cache both have open
        reports = []
        for w in workers:
            out, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
            reports.append(json.loads(out))
        counts = server.content_counts()
    assert len(counts) == n and set(counts.values()) == {1}
    assert server.hits == n
    assert sum(r["sent"] for r in reports) == n
    assert all(r["sent"] + r["cached"] == n and r["answered"] == n for r in reports)
    assert integrity(path) == "ok"
    with ResponseCache(path) as cache:
        assert len(cache) == n


def test_claim_of_a_killed_process_is_taken_over(tmp_path):
    path = tmp_path / "c.sqlite"
    holder = spawn("hold", str(path), "a", "b")
    assert holder.stdout.readline().strip() == "claimed", holder.stderr.read()
    with ResponseCache(path, max_wait=0.3) as impatient, ResponseCache(path) as patient:
        assert isinstance(within(DEADLINE_S, impatient.get_or_claim, "a"), Claim)  # waited max_wait
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        # Owner dead: taken over at once, not after the hour-long max_wait or the claim ttl.
        assert isinstance(within(DEADLINE_S, patient.get_or_claim, "b"), Claim)
    holder.stdout.close()
    holder.stderr.close()
    assert integrity(path) == "ok"


# -- the worker the process tests run (python -m tests.test_cache MODE ...) ----

def _send_all(cache_path: str, apibase: str, n: int, seed: int, go: str) -> None:
    bodies = [body(i) for i in range(n)]
    random.Random(seed).shuffle(bodies)
    with ResponseCache(cache_path) as cache, ChatClient(apibase, pool_size=4) as client:
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)

        def one(request: dict) -> tuple[str, dict | None]:
            key = request_key(request)
            got = cache.get_or_claim(key)
            if not isinstance(got, Claim):
                return "cached", got
            try:
                done = client.complete(request)
                if done.ok:
                    cache.put(key, done.response)
                return "sent", done.response
            finally:
                cache.release(got)

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(one, bodies))
    kinds = Counter(kind for kind, _ in results)
    print(json.dumps({"sent": kinds["sent"], "cached": kinds["cached"],
                      "answered": sum(r is not None for _, r in results)}))


def _hold(cache_path: str, *keys: str) -> None:
    cache = ResponseCache(cache_path)
    for key in keys:
        assert isinstance(cache.get_or_claim(key), Claim)
    print("claimed", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "send":
        _send_all(args[0], args[1], int(args[2]), int(args[3]), args[4])
    elif mode == "hold":
        _hold(*args)


# -- whose file is it (issue 10, item 7) ----------------------------------------

def _marker(path: Path) -> dict:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT key, value FROM contour_meta").fetchall())


def _files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("start", ["missing", "zero bytes", "no tables"])
def test_an_empty_file_becomes_a_marked_cache(tmp_path, start):
    path = tmp_path / "c.sqlite"
    if start == "zero bytes":
        path.write_bytes(b"")
    elif start == "no tables":
        sqlite3.connect(path).execute("PRAGMA user_version=0").connection.close()
    with ResponseCache(path) as cache:
        cache.put("k", {"v": 1})
    assert _marker(path) == {"format": "contour-response-cache", "version": "1"}
    with ResponseCache(path) as cache:      # and it is accepted again
        assert cache.get("k") == {"v": 1}


@pytest.mark.parametrize("journal", ["delete", "wal"])
@pytest.mark.parametrize("tables", [
    ["CREATE TABLE responses (id INTEGER PRIMARY KEY, body TEXT)"],
    ["CREATE TABLE notes (text TEXT)", "CREATE INDEX by_text ON notes(text)"],
    ["CREATE TABLE responses (key TEXT PRIMARY KEY, value BLOB)"],      # sqlitedict's, but no claims
])
def test_another_programs_database_is_refused_and_untouched(tmp_path, journal, tables):
    path = tmp_path / "theirs.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA journal_mode={journal}")
    for statement in tables:
        db.execute(statement)
    db.commit()
    db.close()
    before = _files(tmp_path)
    with pytest.raises(ContourError, match=r"theirs.sqlite: an SQLite database that is not a Contour "
                                           r"cache \(tables: .*\); it was left untouched"):
        ResponseCache(path)
    assert _files(tmp_path) == before
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == journal


def test_a_cache_from_before_the_marker_is_adopted(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, value BLOB)")
        db.execute("CREATE TABLE contour_claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                   "host TEXT NOT NULL, pid INTEGER NOT NULL, beat REAL NOT NULL)")
        db.execute("""INSERT INTO responses VALUES ('k', '{"v":1}')""")
    db.close()
    with ResponseCache(path) as cache:
        assert cache.get("k") == {"v": 1}
    assert _marker(path)["format"] == "contour-response-cache"


def test_a_newer_cache_format_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    ResponseCache(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE contour_meta SET value='2' WHERE key='version'")
    db.close()
    with pytest.raises(ContourError, match="format version 2, newer than this Contour reads"):
        ResponseCache(path)


def test_a_failed_release_still_forgets_the_claim(tmp_path, monkeypatch):
    # A full disk fails the DELETE at COMMIT. The claim must be forgotten all
    # the same: another thread of this process then takes the key at once
    # instead of polling it until max_wait.
    with ResponseCache(tmp_path / "c.sqlite", max_wait=3600) as cache:
        claim = cache.get_or_claim("k")
        real = cache._transaction

        def disk_full(fn):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(cache, "_transaction", disk_full)
        with pytest.raises(ContourError, match=r"c.sqlite: cannot write \(database or disk is full\)"):
            cache.release(claim)
        monkeypatch.setattr(cache, "_transaction", real)
        got = []
        waiter = threading.Thread(target=lambda: got.append(cache.get_or_claim("k")), daemon=True)
        waiter.start()
        waiter.join(timeout=30)         # a deadline, not a measurement: max_wait is an hour
        assert got and isinstance(got[0], Claim)


def test_a_dead_sqlitedict_thread_is_an_error_not_a_hang(tmp_path):
    # sqlitedict's worker thread dies when a COMMIT fails (a full disk at the
    # wrong moment); from then on its calls would wait forever.
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", {"v": 1})
    cache._values.conn.close(force=True)
    cache._values.conn.join(timeout=30)
    with pytest.raises(ContourError, match="the cache connection failed earlier"):
        cache.put("k2", {"v": 2})
    with pytest.raises(ContourError, match="the cache connection failed earlier"):
        cache.get("k")
    closer = threading.Thread(target=cache.close, daemon=True)
    closer.start()
    closer.join(timeout=30)             # a deadline: a hang would never end
    assert not closer.is_alive()
