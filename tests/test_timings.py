"""Latency / time-to-first-token / decode-rate percentiles in stats.json and evaluation."""

import json
import math
import random

import pytest

from contour.results.timings import TimingSamples, percentiles, timing_values


def linear_quantile(values, q):
    """Independent of numpy: the (n-1)q order statistic, linearly interpolated."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def record(latency, ttft=None, tps=None, cache_hit=False, error=None):
    return {"latency_s": latency, "cache_hit": cache_hit, "error": error,
            "timings": {"finish_reason": "stop", "ttft_s": ttft, "decode_tokens_per_s": tps}}


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1001])
def test_percentiles_match_the_order_statistics(n):
    rng = random.Random(n)
    values = [rng.expovariate(1.0) for _ in range(n)]
    samples = TimingSamples()
    for v in values:
        samples.add(record(v, ttft=v / 10))
    got = samples.summary()
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert got["latency_s"][name] == pytest.approx(linear_quantile(values, q), abs=1e-4)
        assert got["ttft_s"][name] == pytest.approx(linear_quantile([v / 10 for v in values], q), abs=1e-4)
    assert got["decode_tokens_per_s"] is None


def test_only_records_the_server_answered_count():
    assert timing_values(record(1.0, cache_hit=True)) is None
    assert timing_values(record(1.0, error={"type": "timeout"})) is None
    assert timing_values({"latency_s": 1.0}) is None           # offline record: no cache_hit
    assert timing_values(record(2.0, 0.5, 40.0)) == (2.0, 0.5, 40.0)
    assert timing_values(record(2.0, float("nan"), True)) == (2.0, None, None)
    assert percentiles([]) is None


def test_stats_json_and_evaluate_report_timing_percentiles(tmp_path):
    from contour.evaluate import evaluate as run_evaluation
    from tests.faultserver import FaultServer
    from tests.runhelp import records, run_online

    config = tmp_path / "two.yaml"
    config.write_text("precision: {p: {count: 6}}\ntasks:\n  - name: arithmetic\n  - name: boolean\n")
    with FaultServer() as server:
        proc = run_online(server.apibase, "test-model", tmp_path, config=config)
        assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "run"
    recs = [r for r in records(folder) if not r["cache_hit"]]
    stats = json.loads((folder / "stats.json").read_text())
    for task in ("arithmetic", "boolean"):
        mine = [r for r in recs if r["base_task"] == task]
        got = stats["per_task"][task]["timings"]
        assert got["latency_s"]["p90"] == pytest.approx(
            linear_quantile([r["latency_s"] for r in mine], 0.9), abs=1e-3)
        assert got["ttft_s"]["p50"] == pytest.approx(
            linear_quantile([r["timings"]["ttft_s"] for r in mine], 0.5), abs=1e-3)
    point, tally = next(iter(stats["per_point"].items()))
    assert tally["timings"]["latency_s"]["p99"] == pytest.approx(linear_quantile(
        [r["latency_s"] for r in recs if r["task"] == point], 0.99), abs=1e-3)

    evaluation = run_evaluation([folder])
    (row,) = [r for r in evaluation.rows("task") if r.group.get("task") == "boolean"]
    mine = [r for r in recs if r["base_task"] == "boolean"]
    assert row.metrics.latency_p50 == pytest.approx(linear_quantile([r["latency_s"] for r in mine], 0.5),
                                                    abs=1e-3)
    assert row.metrics.ttft_p99 is not None
    from contour.evaluate import summary_tables, to_markdown
    text = to_markdown(summary_tables(evaluation, levels=("task",)))
    p50, p90, p99 = (f"{getattr(row.metrics, f'latency_{p}'):.2f}" for p in ("p50", "p90", "p99"))
    assert "latency s p50/p90/p99" in text and f"{p50}/{p90}/{p99}" in text
