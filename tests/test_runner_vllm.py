"""End to end against a real vLLM server on 127.0.0.1 (tests/vllm_fixtures.py).

The tiny random model proves the protocol (its text is gibberish, so answers
are simply invalid); SmolLM2-135M-Instruct proves real answers are extracted
and scored. Generated text is never asserted exactly.
"""

import json

from tests.runhelp import assert_stats_match_records, quick_size, records, run_online

FLAGS = ("is_valid", "is_correct", "is_truncated")


def sampler(tmp_path, name, **params):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(params))
    return str(path)


def test_quick_config_end_to_end_then_rerun_sends_nothing(tiny_server, tmp_path):
    short = sampler(tmp_path, "short", max_tokens=24, temperature=0.0)
    before = tiny_server.request_count()
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, sampler=short)
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    assert len(recs) == quick_size() and len({r["key"] for r in recs}) == len(recs)
    for r in recs:
        assert r["error"] is None, r["error"]
        assert all(isinstance(r[f], bool) for f in FLAGS), r
        assert r["timings"]["finish_reason"] in ("stop", "length")
        assert r["is_truncated"] == (r["timings"]["finish_reason"] == "length")
        assert r["usage"]["completion_tokens"] <= 24 and r["usage"]["prompt_tokens"] > 0
        # Streamed by default: time to first token in every record a request produced.
        assert (r["timings"]["ttft_s"] is None) == r["cache_hit"]
        assert r["cache_hit"] or 0 < r["timings"]["ttft_s"] <= r["latency_s"]
    # Small grids repeat tests; a repeated test is a repeated request, sent once.
    sent = sum(not r["cache_hit"] for r in recs)
    assert sent > len(recs) // 2
    assert tiny_server.request_count() - before == sent
    assert_stats_match_records(tmp_path / "run")
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["total"]["model_calls"] == sent

    # An immediate rerun (a new folder, same cache): zero requests reach vLLM.
    counted = tiny_server.request_count()
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, sampler=short, out="rerun")
    assert proc.returncode == 0, proc.stderr
    assert tiny_server.request_count() == counted
    rerun = records(tmp_path / "rerun")
    assert all(r["cache_hit"] for r in rerun)
    assert [r["answer"] for r in rerun] == [r["answer"] for r in recs]


def test_small_max_tokens_is_flagged_truncated(tiny_server, tmp_path):
    tiny = sampler(tmp_path, "tiny", max_tokens=3, temperature=0.0)
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, sampler=tiny)
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    truncated = [r for r in recs if r["is_truncated"]]
    assert len(truncated) > len(recs) // 2
    assert all(r["timings"]["finish_reason"] == "length" and r["usage"]["completion_tokens"] == 3
               for r in truncated)


def test_server_400_is_recorded_not_fatal(tiny_server, tmp_path):
    too_long = sampler(tmp_path, "too-long", max_tokens=100000, temperature=0.0)
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, sampler=too_long)
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    assert len(recs) == quick_size()
    for r in recs:
        assert r["error"]["type"] == "client_error" and r["error"]["status"] == 400
        assert r["error"]["message"] and r["is_valid"] is False
    assert json.loads((tmp_path / "run" / "stats.json").read_text())["total"]["errors"] == {"client_error": len(recs)}


def test_max_tokens_model_reads_the_context_length(tiny_server, tmp_path):
    config = tmp_path / "one.yaml"
    config.write_text("precision: {p: {count: 1}}\ntasks:\n  - name: arithmetic\n")
    proc = run_online(tiny_server.base_url, tiny_server.served_name, tmp_path, sampler="greedy-max",
                      config=config)
    assert proc.returncode == 0, proc.stderr
    (r,) = records(tmp_path / "run")
    assert r["error"] is None
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["sampler"]["name"] == "greedy-max"


def test_smollm2_answers_are_extracted_and_scored(smollm2_server, tmp_path):
    config = tmp_path / "easy.yaml"
    config.write_text(
        "precision: {p: {count: 8}}\n"
        "tasks:\n"
        "  - name: arithmetic\n    params: {length: 2, depth: 0, digits: 1, ops: '+-'}\n"
        "  - name: boolean\n    params: {length: 2, depth: 0}\n")
    direct = sampler(tmp_path, "direct", max_tokens=48, temperature=0.0)
    proc = run_online(smollm2_server.base_url, smollm2_server.served_name, tmp_path, sampler=direct,
                      config=config, template="zeroshot")
    assert proc.returncode == 0, proc.stderr
    recs = records(tmp_path / "run")
    assert len(recs) == 16 and not any(r["error"] for r in recs)
    valid = [r for r in recs if r["is_valid"]]
    assert valid, [r["answer"] for r in recs]
    for r in valid:
        assert r["extracted_answer"] is not None and r["normalized_answer"] is not None
    assert_stats_match_records(tmp_path / "run")
