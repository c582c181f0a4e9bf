"""`--engine vllm` without vLLM: options, errors, and the engine's batch path.

The batch path is driven here by a batching HTTP transport over the local
instant server, so it runs without vLLM; the real in-process vLLM run is in
tests/test_scale_vllm.py.
"""

import importlib.util

import pytest

from contour.errors import ContourError
from contour.run import engine as engine_module
from contour.run.client import ChatClient
from contour.run.inprocess import check_body_fields, parse_engine_args
from contour.run.options import RunOptions, run
from tests import faultserver as fs
from tests.conftest import REPO, run_cli
from tests.runhelp import assert_stats_match_records, records

MODEL = fs.DEFAULT_MODEL
QUICK = str(REPO / "configs" / "quick.yaml")


def test_engine_args_are_yaml_scalars():
    assert parse_engine_args(["tensor_parallel_size=2", "enforce-eager=true", "dtype=bfloat16",
                              "gpu_memory_utilization=0.85", "tokenizer="]) == {
        "tensor_parallel_size": 2, "enforce_eager": True, "dtype": "bfloat16",
        "gpu_memory_utilization": 0.85, "tokenizer": ""}
    for bad in ["novalue", "=3", "two words=1"]:
        with pytest.raises(ContourError, match="--engine-arg"):
            parse_engine_args([bad])


def test_sampler_fields_the_engine_cannot_honour_are_named():
    body = {"model": "m", "messages": [], "max_tokens": 8, "temperature": 0.6, "top_k": 20,
            "reasoning_effort": "low", "chat_template_kwargs": {"enable_thinking": False}}
    check_body_fields(body, "s.json")
    with pytest.raises(ContourError, match="sampler s.json: field 'guided_json' is not supported"):
        check_body_fields({**body, "guided_json": {}}, "s.json")


def test_missing_vllm_is_one_clear_error(tmp_path):
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is importable in this Python; the error path cannot be reached here")
    proc = run_cli("--config", QUICK, "--template", "zerocot-nosys", "--sampler", "greedy-2k",
                   "--engine", "vllm", "--model", "some/model", "--output", str(tmp_path / "run"),
                   "--cache", str(tmp_path / "c.sqlite"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --engine vllm needs the vllm package") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra,message", [
    (("--engine", "vllm", "--apibase", "http://127.0.0.1:1"), "--apibase is not used with --engine vllm"),
    (("--apibase", "http://127.0.0.1:1", "--engine-arg", "dtype=half"), "--engine-arg applies only"),
    (("--engine", "vllm", "--model", ""), "online runs need --model"),
    (("--engine", "tgi",), "Invalid value for '--engine'"),
])
def test_engine_option_mistakes(tmp_path, extra, message):
    args = ["--config", QUICK, "--template", "zerocot-nosys", "--sampler", "greedy-2k",
            "--model", "m", "--output", str(tmp_path / "run"), "--cache", str(tmp_path / "c.sqlite"), *extra]
    proc = run_cli(*args)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()


class BatchingHTTP(ChatClient):
    """A batched transport over HTTP: what the engine hands InProcessVLLM, recorded."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.batches: list[list[str]] = []

    def complete_batch(self, bodies):
        self.batches.append([b["messages"][-1]["content"] for b in bodies])
        return [self.complete(b) for b in bodies]


def options(tmp_path, apibase, out, **kw):
    return RunOptions(config=QUICK, template="zerocot-nosys", sampler="greedy-2k", model=MODEL,
                      apibase=apibase, output=tmp_path / out, cache=tmp_path / f"{out}.sqlite",
                      quiet=True, **kw)


def test_batch_path_sends_a_step_at_once_and_writes_the_same_records(tmp_path, monkeypatch):
    with fs.FaultServer() as server:
        run(options(tmp_path, server.apibase, "plain", precision="medium"))
        before = server.hits
        made = []

        def batching(engine, apibase, model, **kw):
            made.append(BatchingHTTP(apibase, timeout=kw["timeout"]))
            return made[-1]
        monkeypatch.setattr(engine_module, "open_transport", batching)
        run(options(tmp_path, server.apibase, "batched", precision="medium"))
        sent = server.hits - before
    plain, batched = records(tmp_path / "plain"), records(tmp_path / "batched")
    fields = ("answer", "is_valid", "is_correct", "is_truncated", "step")
    assert {r["key"]: tuple(r[f] for f in fields) for r in batched} == \
           {r["key"]: tuple(r[f] for f in fields) for r in plain}
    # Repeated tests are requested once either way.
    assert sum(r["cache_hit"] for r in batched) == sum(r["cache_hit"] for r in plain)
    [transport] = made
    sizes = [len(b) for b in transport.batches]
    # A batch is one step's uncached requests (count 8), each prompt once.
    assert max(sizes) == 8 and min(sizes) >= 1
    assert all(len(set(b)) == len(b) for b in transport.batches)
    assert sum(sizes) == sent == sum(not r["cache_hit"] for r in batched)
    assert_stats_match_records(tmp_path / "batched")


class RecordingLLM:
    """Stands in for vllm.LLM's chat() to test the combining of steps (the real
    vLLM path is tests/test_scale_vllm.py): echoes each prompt, refuses 'bad'."""

    def __init__(self, delay=0.2):
        self.calls: list[int] = []
        self.delay = delay

    def chat(self, conversations, params, use_tqdm, chat_template_kwargs):
        import time
        from types import SimpleNamespace as NS

        self.calls.append(len(conversations))
        if any(c[-1]["content"] == "bad" for c in conversations):
            raise ValueError("prompt is longer than the context")
        time.sleep(self.delay)
        return [NS(prompt_token_ids=[1, 2, 3], outputs=[NS(
            text=c[-1]["content"].upper(), token_ids=[7] * p["max_tokens"], finish_reason="length",
            stop_reason=None)]) for c, p in zip(conversations, params)]


def engine_over(llm):
    from contour.run.inprocess import InProcessVLLM

    return InProcessVLLM(llm, lambda **kw: kw, "m", {"temperature": 0.7})


def body(text, max_tokens=4):
    return {"model": "m", "messages": [{"role": "user", "content": text}], "max_tokens": max_tokens}


def test_concurrent_steps_are_combined_and_each_gets_its_own_answers():
    import threading

    llm = RecordingLLM()
    engine = engine_over(llm)
    got = {}

    def step(i):
        got[i] = engine.complete_batch([body(f"s{i}-{j}") for j in range(3)])
    threads = [threading.Thread(target=step, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(5):
        assert [c.response["choices"][0]["message"]["content"] for c in got[i]] == [
            f"S{i}-{j}" for j in range(3)]
        assert all(c.response["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
                   for c in got[i])
    # Steps are never split, and the ones that waited went in together.
    assert sum(llm.calls) == 15 and all(n % 3 == 0 for n in llm.calls) and len(llm.calls) < 5


def test_a_rejected_prompt_costs_only_its_own_record():
    llm = RecordingLLM(delay=0)
    results = engine_over(llm).complete_batch([body("a"), body("bad"), body("c")])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error["type"] == "client_error" and "longer than the context" in results[1].error["message"]
    assert llm.calls == [3, 1, 1, 1]
