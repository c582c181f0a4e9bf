"""The cache's batch paths: lookup_many (one query, one claim transaction) and
store (responses committed in batches, each claim released with its value)."""

import random
import sqlite3
import threading
from collections import Counter

from contour.run.cache import CLAIMS_TABLE, Claim, ResponseCache


def claims_in(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT COUNT(*) FROM {CLAIMS_TABLE}").fetchone()[0]


def test_lookup_many_gives_values_claims_and_waits(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as mine, ResponseCache(path) as other:
        mine.put("cached", {"v": 1})
        assert isinstance(other.get_or_claim("busy"), Claim)       # another sender holds it
        found = mine.lookup_many(["cached", "new", "busy", "new"])
        assert found["cached"] == {"v": 1} and found["busy"] is None
        assert isinstance(found["new"], Claim) and found["new"].key == "new"
        assert set(found) == {"cached", "new", "busy"}
        # Claimed here: a second look in this process must not claim it again.
        assert mine.lookup_many(["new"])["new"] is None
        mine.store("new", {"v": 2}, found["new"])
        mine.flush()
        assert other.get("new") == {"v": 2}
        assert other.lookup_many(["new"])["new"] == {"v": 2}
    assert claims_in(path) == 0


def test_store_commits_the_value_before_the_claim_disappears(tmp_path):
    path = tmp_path / "c.sqlite"
    seen_bad = []
    with ResponseCache(path) as cache, ResponseCache(path) as watcher:
        claims = cache.lookup_many([f"k{i}" for i in range(300)])
        stop = threading.Event()

        def watch() -> None:
            # Whenever a key has neither a claim nor a value, a waiter would send it again.
            db = sqlite3.connect(path, isolation_level=None)
            while not stop.is_set():
                # Both reads in one transaction: one snapshot of the file.
                db.execute("BEGIN")
                values = {k for (k,) in db.execute("SELECT key FROM responses")}
                claimed = {k for (k,) in db.execute(f"SELECT key FROM {CLAIMS_TABLE}")}
                db.execute("COMMIT")
                missing = [k for k in claims if k not in values and k not in claimed]
                if missing:
                    seen_bad.append(missing)
            db.close()

        thread = threading.Thread(target=watch)
        thread.start()
        for key, claim in claims.items():
            cache.store(key, {"key": key}, claim)
        cache.flush()
        stop.set()
        thread.join()
        assert len(watcher) == 300
    assert not seen_bad and claims_in(path) == 0


def test_two_instances_with_batches_send_each_key_once(tmp_path):
    path = tmp_path / "c.sqlite"
    keys = [f"key-{i}" for i in range(200)]
    sent: Counter[str] = Counter()
    lock = threading.Lock()

    def runner(seed: int) -> None:
        order = keys[:]
        random.Random(seed).shuffle(order)
        with ResponseCache(path) as cache:
            for i in range(0, len(order), 25):
                for key, got in cache.lookup_many(order[i:i + 25]).items():
                    if got is None:
                        got = cache.get_or_claim(key)
                    if isinstance(got, Claim):
                        with lock:
                            sent[key] += 1
                        cache.store(key, {"key": key}, got)

    threads = [threading.Thread(target=runner, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sent == Counter(keys)
    assert claims_in(path) == 0


def test_close_commits_what_was_stored(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    found = cache.lookup_many(["a", "b"])
    for key, claim in found.items():
        cache.store(key, {"key": key}, claim)
    cache.close()
    with ResponseCache(path) as again:
        assert again.get_many(["a", "b", "c"]) == {"a": {"key": "a"}, "b": {"key": "b"}}
    assert claims_in(path) == 0
