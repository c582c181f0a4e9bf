"""Sample identity, k completions and reasoning traces through the runner,
against the local fake server (tests/faultserver.py): it answers what a test
scripts, including fields and refusals a real vLLM will not produce on demand.
The same properties against the real vLLM: tests/test_sampling_vllm.py."""

import hashlib
import json

import pytest

from tests import faultserver as fs
from tests.runhelp import assert_stats_match_records, final_records, run_online

MODEL = fs.DEFAULT_MODEL
SERIAL = ("--threads", "1", "--parallel", "1", "--retries", "1", "--timeout", "5")
ONE_INPUT = ("precision: {p: {count: COUNT}}\ntasks:\n  - name: brackets\n"
             "    params: {open: 1, pairs: 0, types: 1}\n")
TWO_POINTS = ("precision: {p: {count: COUNT}}\ntasks:\n  - name: brackets\n"
              "    params: {pairs: 0, types: 1}\n    manifold: {open: [1, 2]}\n")


def config(tmp_path, text=ONE_INPUT, count=4):
    path = tmp_path / "point.yaml"
    path.write_text(text.replace("COUNT", str(count)))
    return path


def sampler(tmp_path, name="hot", **params):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"max_tokens": 32, **params}))
    return str(path)


def old_request_key(body):
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(server, tmp_path, *extra, out="run", count=4, text=ONE_INPUT, code=0, **params):
    proc = run_online(server.apibase, MODEL, tmp_path, *SERIAL, *extra, out=out,
                      config=config(tmp_path, text, count), sampler=sampler(tmp_path, **params))
    assert proc.returncode == code, proc.stderr
    return final_records(tmp_path / out)


def test_samples_of_one_prompt_are_separate_draws_and_a_rerun_sends_nothing(tmp_path):
    with fs.FaultServer() as server:
        recs = run(server, tmp_path, count=16, temperature=1.0)
        assert server.hits == 16 and len(server.content_counts()) == 1
        assert len({r["extra"]["request_key"] for r in recs}) == 16
        rerun = run(server, tmp_path, out="rerun", count=16, temperature=1.0)
        assert server.hits == 16 and all(r["cache_hit"] for r in rerun)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["sampling"]["decoding"] == "stochastic"


def test_greedy_keys_and_cache_hits_are_unchanged(tmp_path):
    with fs.FaultServer() as server:
        recs = run(server, tmp_path, count=8, temperature=0.0)
        assert server.hits == 1    # one prompt, greedy: one answer shared, as before
        sent = server.completion_requests[0].body
        assert sent["stream"] is True and "n" not in sent and "seed" not in sent
        # The streaming fields are added to the sent body only, never to the key.
        body = {k: v for k, v in sent.items() if k not in ("stream", "stream_options")}
        assert {r["extra"]["request_key"] for r in recs} == {old_request_key(body)}
        assert sum(r["cache_hit"] for r in recs) == 7
        assert [r["key"] for r in recs] == [f"{recs[0]['task']}-{i}" for i in range(8)]
        assert all(r["completion"] == 0 for r in recs)


def test_per_request_seeds_are_sent_and_recorded(tmp_path):
    with fs.FaultServer() as server:
        recs = run(server, tmp_path, count=3, temperature=0.7, seed="per-request")
        sent = sorted(r.body["seed"] for r in server.completion_requests)
        assert len(set(sent)) == 3 and sent == sorted(r["extra"]["request_seed"] for r in recs)
        again = run(server, tmp_path, "--cache", str(tmp_path / "other.sqlite"), out="again",
                    count=3, temperature=0.7, seed="per-request")
        assert sorted(r.body["seed"] for r in server.completion_requests[3:]) == sent
        assert [r["extra"]["request_seed"] for r in again] == [r["extra"]["request_seed"] for r in recs]


ANSWERS = ["Final Answer: )", "Final Answer: ]", "Final Answer: )", "<think>Final Answer: ]</think>)"]


def test_completions_are_one_request_each_scored_cached_and_extended(tmp_path):
    with fs.FaultServer(responder=lambda request: ANSWERS[:request.get("n", 1)]) as server:
        recs = run(server, tmp_path, "--completions", "4", count=3, text=TWO_POINTS, temperature=1.0)
        assert server.hits == 6 and all(r.body["n"] == 4 for r in server.completion_requests)
        assert len(recs) == 24 and len({r["key"] for r in recs}) == 24
        for test in {(r["task"], r["sample"]) for r in recs}:
            mine = sorted((r for r in recs if (r["task"], r["sample"]) == test), key=lambda r: r["completion"])
            assert [r["completion"] for r in mine] == [0, 1, 2, 3]
            assert [r["key"] for r in mine] == [f"{test[0]}-{test[1]}" + s for s in ("", ".1", ".2", ".3")]
            assert [r["extracted_answer"] for r in mine] == [")", "]", ")", ")"]
            assert [r["is_correct"] for r in mine] == [r["extracted_answer"] == r["target"] for r in mine]
            if mine[0]["params"]["open"] == 1:
                assert [r["is_correct"] for r in mine] == [True, False, True, True]
            assert sum(r["extra"]["attempts"] for r in mine) == 1
            assert all(r["extra"]["shared_request"]["n"] == 4 for r in mine)
        assert_stats_match_records(tmp_path / "run")
        stats = json.loads((tmp_path / "run" / "stats.json").read_text())
        assert stats["total"]["http_attempts"] == 6
        # The same command in a new folder: every completion from the cache.
        run(server, tmp_path, "--completions", "4", out="rerun", count=3, text=TWO_POINTS, temperature=1.0)
        assert server.hits == 6
        # Two more per test: one request with n=2 each, for completions 4 and 5 only.
        more = run(server, tmp_path, "--completions", "6", out="more", count=3, text=TWO_POINTS,
                   temperature=1.0)
        assert server.hits == 12 and all(r.body["n"] == 2 for r in server.completion_requests[6:])
        assert sorted(r["completion"] for r in more if not r["cache_hit"]) == [4] * 6 + [5] * 6
        assert sum(r["cache_hit"] for r in more) == 24


def test_a_server_that_ignores_n_gets_one_request_per_completion(tmp_path):
    with fs.FaultServer(honour_n=False) as server:
        recs = run(server, tmp_path, "--completions", "3", count=2, temperature=1.0)
        bodies = [r.body for r in server.completion_requests]
        # The first test learns it (one n-request, then singles); the second sends singles only.
        assert [b.get("n") for b in bodies] == [3, None, None, None, None, None]
    assert len(recs) == 6 and not any(r["error"] for r in recs)
    assert sorted(r["completion"] for r in recs) == [0, 0, 1, 1, 2, 2]


def test_a_server_that_refuses_n_gets_one_request_per_completion(tmp_path):
    refusal = fs.bad_request("n must be 1 on this server")
    with fs.FaultServer([refusal]) as server:
        recs = run(server, tmp_path, "--completions", "3", count=2, temperature=1.0)
        assert [r.body.get("n") for r in server.completion_requests] == [3] + [None] * 6
    assert len(recs) == 6 and not any(r["error"] for r in recs)


def test_a_failed_request_fails_each_completion_and_the_same_command_retries_them(tmp_path):
    with fs.FaultServer([fs.server_error()] * 2) as server:
        recs = run(server, tmp_path, "--completions", "2", count=2, temperature=1.0, code=3)
        failed = [r for r in recs if r["error"]]
        assert [r["error"]["type"] for r in failed] == ["server_error", "server_error"]
        assert {r["sample"] for r in failed} == {0} and server.hits == 3
        assert_stats_match_records(tmp_path / "run")
        again = run(server, tmp_path, "--completions", "2", count=2, temperature=1.0)   # resume
        assert server.hits == 4 and server.completion_requests[-1].body["n"] == 2
    assert len(again) == 4 and not any(r["error"] for r in again)
    assert sorted(r["key"] for r in again) == sorted(r["key"] for r in recs)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_is_kept_and_never_read_for_the_answer(tmp_path, field):
    thought = "Let me think. Final Answer: ]"
    with fs.FaultServer(default=fs.Fault(content="Final Answer: )", reasoning=thought),
                        reasoning_field=field) as server:
        [r] = run(server, tmp_path, count=1, temperature=0.6)
    assert r["reasoning"] == thought and r["answer"] == "Final Answer: )"
    assert r["extracted_answer"] == ")" and r["is_correct"] is True
    assert r["reasoning_chars"] == len(thought)
    assert r["reasoning_tokens"] == len(thought.split())     # usage.completion_tokens_details
    assert r["truncated_in_reasoning"] is False


def test_a_reply_cut_off_while_thinking_is_truncated_and_invalid(tmp_path):
    thought = "Final Answer: ) hmm, wait, let me check that again and again"
    cut = fs.Fault(null_content=True, reasoning=thought, finish_reason="length")
    with fs.FaultServer(default=cut) as server:
        [r] = run(server, tmp_path, count=1, temperature=0.6)
    assert r["error"] is None and r["answer"] is None and r["reasoning"] == thought
    assert r["is_truncated"] is True and r["is_valid"] is False and r["is_correct"] is False
    assert r["truncated_in_reasoning"] is True and r["reasoning_chars"] == len(thought)


def test_think_blocks_stay_in_the_answer_and_out_of_extraction(tmp_path):
    inline = "<think>Final Answer: ]</think>Final Answer: )"
    with fs.FaultServer(default=fs.Fault(content=inline)) as server:
        [r] = run(server, tmp_path, count=1, temperature=0.6)
    assert r["answer"] == inline and r["extracted_answer"] == ")" and r["is_correct"] is True
    assert r["reasoning"] is None and r["reasoning_chars"] == len("Final Answer: ]")
    assert r["reasoning_tokens"] is None     # a trace with no count from the server
    unfinished = "<think>Final Answer: ) is what I think, but"
    with fs.FaultServer(default=fs.Fault(content=unfinished, finish_reason="length")) as server:
        [r] = run(server, tmp_path, "--cache", str(tmp_path / "other.sqlite"), out="cut", count=1,
                  temperature=0.6)
    assert r["answer"] == unfinished and r["is_valid"] is False and r["truncated_in_reasoning"] is True


def test_reasoning_with_null_content_that_stopped_is_an_invalid_answer_not_an_error(tmp_path):
    quiet = fs.Fault(null_content=True, reasoning="I give up.")
    with fs.FaultServer(default=quiet) as server:
        [r] = run(server, tmp_path, count=1, temperature=0.6)
    assert r["error"] is None and r["is_valid"] is False and r["is_truncated"] is False
    assert r["truncated_in_reasoning"] is False
