"""Live stats count each record once, in its point's tally, and roll the
points up per task and in total when read: the rolled-up counts and
percentiles equal tallies that counted every record at every level."""

import json
import random

from contour.results.tally import Tally
from contour.run.livestats import RunStats


def _records(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        task = rng.choice(["arithmetic", "dates"])
        point = f"{task}/x={rng.randint(1, 4)}"
        error = rng.choice([None] * 6 + [{"type": "timeout"}, {"type": "client_error"}])
        cached = rng.random() < 0.2
        out.append({
            "task": point, "base_task": task, "sample": i, "step": 0, "error": error,
            "is_valid": error is None and rng.random() < 0.9,
            "is_correct": None if error else rng.random() < 0.5, "is_truncated": rng.random() < 0.1,
            "guess_chance": 0.1, "cache_hit": cached, "latency_s": rng.random(),
            "usage": {"prompt_tokens": rng.randint(10, 50), "completion_tokens": rng.randint(1, 99)},
            "timings": {"ttft_s": rng.random() / 10, "decode_tokens_per_s": rng.uniform(10, 90)},
            "extra": {"attempts": rng.randint(1, 3)},
        })
    return out


def test_rolled_up_totals_and_tasks_equal_tallies_of_every_record(tmp_path):
    records = _records(500)
    stats = RunStats(tmp_path / "stats.json", min_interval_s=1e9)
    total, tasks, points = Tally(), {}, {}
    for r in records:
        stats.add(r, from_this_session=True)
        total.add(r)
        tasks.setdefault(r["base_task"], Tally()).add(r)
        points.setdefault(r["task"], Tally()).add(r)
    snap = stats.snapshot()
    assert snap["total"] == total.as_dict()
    assert snap["per_task"] == {k: v.as_dict() for k, v in sorted(tasks.items())}
    assert snap["per_point"] == {k: v.as_dict() for k, v in sorted(points.items())}
    assert stats.total.as_dict() == total.as_dict()
    # Timing percentiles over every answered record, not a merge of the points' percentiles.
    assert snap["total"]["timings"]["latency_s"] is not None
    stats.write(final=True)
    written = json.loads((tmp_path / "stats.json").read_text())
    assert written["total"] == json.loads(json.dumps(total.as_dict())) and written["final"] is True


def test_reading_twice_does_not_count_twice(tmp_path):
    stats = RunStats(tmp_path / "stats.json", min_interval_s=1e9)
    for r in _records(50):
        stats.add(r, from_this_session=False)
    first = stats.snapshot()["total"]
    assert stats.snapshot()["total"] == first and first["records"] == 50
