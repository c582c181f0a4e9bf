"""Sampler files: validation, the greedy/stochastic rule, per-request seeds."""

import json

import pytest

from contour.errors import ContourError
from contour.spec.files import shipped_names
from contour.spec.samplers import load_sampler
from tests.conftest import REPO, run_cli


def write(tmp_path, name="s", **params):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(params))
    return str(path)


@pytest.mark.parametrize("field", ["n", "stream", "logprobs", "top_logprobs", "echo", "best_of"])
@pytest.mark.parametrize("place", ["top", "extra"])
def test_fields_that_change_the_reply_are_refused_by_name(tmp_path, field, place):
    params = {"max_tokens": 8, "temperature": 1.0}
    if place == "top":
        params[field] = 2
    else:
        params["extra"] = {field: 2}
    with pytest.raises(ContourError) as caught:
        load_sampler(write(tmp_path, **params))
    message = str(caught.value)
    named = f"'{field}'" if place == "top" else f"'extra.{field}'"
    assert named in message and "s.json" in message
    assert ("--completions" in message) == (field in ("n", "best_of"))


def test_extra_may_not_repeat_a_sampler_field(tmp_path):
    with pytest.raises(ContourError, match=r"'extra.temperature' is a sampler field"):
        load_sampler(write(tmp_path, max_tokens=8, extra={"temperature": 0.5}))


@pytest.mark.parametrize("params,stochastic", [
    ({"temperature": 0}, False),
    ({"temperature": 0.0}, False),
    ({"temperature": 1.0, "top_k": 1}, False),
    ({"top_k": 1}, False),
    ({}, True),                         # server default: sampling
    ({"temperature": 0.6, "top_k": 20}, True),
    ({"temperature": 1e-6}, True),
    ({"temperature": 0.7, "top_k": -1}, True),
])
def test_the_greedy_rule(tmp_path, params, stochastic):
    sampler = load_sampler(write(tmp_path, max_tokens=8, **params))
    assert sampler.stochastic is stochastic


def test_per_request_seed_is_never_sent_literally(tmp_path):
    sampled = load_sampler(write(tmp_path, "a", max_tokens=8, temperature=1.0, seed="per-request"))
    assert sampled.per_request_seed
    assert "seed" not in sampled.request_body("m", [])
    greedy = load_sampler(write(tmp_path, "b", max_tokens=8, temperature=0, seed="per-request"))
    assert not greedy.per_request_seed and "seed" not in greedy.request_body("m", [])
    fixed = load_sampler(write(tmp_path, "c", max_tokens=8, temperature=1.0, seed=7))
    assert not fixed.per_request_seed and fixed.request_body("m", [])["seed"] == 7
    with pytest.raises(ContourError, match="'seed' must be an integer or \"per-request\""):
        load_sampler(write(tmp_path, "d", max_tokens=8, seed="random"))


def test_shipped_samplers_load_and_reasoning_ones_sample():
    names = shipped_names("sampler", ".json")
    assert {"greedy-2k", "think-8k", "think-16k", "nothink-4k"} <= set(names)
    for name in names:
        sampler = load_sampler(name)
        assert sampler.stochastic is not name.startswith("greedy"), name
    think = load_sampler("think-16k").params
    assert (think["temperature"], think["top_p"], think["top_k"], think["max_tokens"]) == (0.6, 0.95, 20, 16384)
    off = load_sampler("nothink-4k").request_body("m", [])
    assert off["chat_template_kwargs"] == {"enable_thinking": False}


def _cli_args(tmp_path, sampler, *extra):
    return ["--config", str(REPO / "configs" / "quick.yaml"), "--template", "zeroshot",
            "--sampler", sampler, "--model", "m", "--apibase", "http://127.0.0.1:9",
            "--output", str(tmp_path / "run"), "--cache", str(tmp_path / "cache.sqlite"), *extra]


def test_n_in_a_sampler_is_one_error_line_and_nothing_is_written(tmp_path):
    sampler = write(tmp_path, "two", max_tokens=8, temperature=1.0, extra={"n": 2})
    proc = run_cli(*_cli_args(tmp_path, sampler))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'extra.n'" in lines[0] and "--completions" in lines[0], proc.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache.sqlite").exists()


@pytest.mark.parametrize("extra,message", [
    (("--completions", "3"), "decodes greedily"),
    (("--completions", "3", "--offline", "1"), "--completions applies to online runs"),
    (("--completions", "0"), "--completions"),
])
def test_completions_misuse_is_one_error_line(tmp_path, extra, message):
    proc = run_cli(*_cli_args(tmp_path, "greedy-2k", *extra))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache.sqlite").exists()
