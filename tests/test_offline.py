"""Offline generation through the real CLI: determinism, count-invariance, errors."""

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli


def read_records(folder: Path) -> list[str]:
    return (folder / "records.jsonl").read_text().splitlines()


def only_folder(results: Path) -> Path:
    folders = [p for p in results.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def offline(tmp_path: Path, config: Path, *extra: str, out: str = "out") -> Path:
    proc = run_cli("--config", str(config), "--template", "zerocot-nosys", "--offline", "1",
                   "--output", str(tmp_path / out), *extra)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / out


def write_config(tmp_path: Path, data: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_same_command_twice_gives_identical_records(tmp_path, quick_config):
    for results in ("r1", "r2"):
        proc = run_cli("--config", str(quick_config), "--template", "multishot", "--offline", "2",
                       "--results-dir", str(tmp_path / results))
        assert proc.returncode == 0, proc.stderr
    a, b = only_folder(tmp_path / "r1"), only_folder(tmp_path / "r2")
    assert read_records(a) == read_records(b)
    ma, mb = (json.loads((f / "manifest.json").read_text()) for f in (a, b))
    for m in (ma, mb):
        m.pop("created")
        m.pop("command_line")   # names the results folder
    assert ma == mb
    assert ma["status"] == "complete"


def test_records_hold_every_schema_field_without_inference(tmp_path, quick_config):
    folder = offline(tmp_path, quick_config)
    records = [json.loads(line) for line in read_records(folder)]
    assert records
    for r in records:
        for field in ("task", "version", "base_task", "key", "input", "target", "response_enum",
                      "genresult", "messages", "step", "params", "template", "guess_chance", "sample"):
            assert field in r
        for field in ("answer", "usage", "is_valid", "is_correct", "is_truncated",
                      "extracted_answer", "normalized_answer"):
            assert r[field] is None
        assert r["messages"][-1]["role"] == "user" and r["input"] in r["messages"][-1]["content"]
    assert len({r["key"] for r in records}) == len(records)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["task_versions"] and manifest["command_line"]


def test_raising_count_keeps_first_samples_identical(tmp_path):
    base = yaml.safe_load((REPO / "configs" / "quick.yaml").read_text())
    small = {**base, "precision": {"p": {"count": 8}}}
    large = {**base, "precision": {"p": {"count": 32}}}
    a = offline(tmp_path, write_config(tmp_path, small, "small.yaml"), out="a")
    b = offline(tmp_path, write_config(tmp_path, large, "large.yaml"), out="b")
    strip = lambda r: {k: v for k, v in r.items() if k != "params"}  # params carry count
    first = {}
    for line in read_records(a):
        r = json.loads(line)
        first[r["key"]] = strip(r)
    later = {json.loads(line)["key"]: strip(json.loads(line)) for line in read_records(b)}
    assert len(later) == 4 * len(first)
    for key, record in first.items():
        assert later[key] == record


def test_different_seed_gives_different_tests(tmp_path, quick_config):
    a = offline(tmp_path, quick_config, out="a")
    b = offline(tmp_path, quick_config, "--seed", "1", out="b")
    assert read_records(a) != read_records(b)


def _error(tmp_path, *args) -> str:
    proc = run_cli(*args, "--offline", "1", "--results-dir", str(tmp_path / "results"))
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
    return lines[0]


GOOD_TASK = {"name": "arithmetic", "manifold": {"length": [2, 3]}}


@pytest.mark.parametrize("config,expected", [
    ("missing", "config file not found"),
    ("tasks: [oops", "invalid YAML"),
    ({"precision": {"p": {"count": 2}}, "tasks": [{"name": "nosuchtask"}]}, "unknown task 'nosuchtask'"),
    ({"precision": {"p": {"count": 2}}, "tasks": [{"name": "arithmetic", "params": {"colour": 1}}]},
     "unknown parameter 'colour'"),
    ({"precision": {"p": {"count": 2}}, "tasks": [{"name": "arithmetic", "manifold": {"length": [2, 999]}}]},
     "out of range"),
    ({"precision": {"p": {"max_rounds": 2}}, "tasks": [GOOD_TASK]}, "has no 'count'"),
    ({"precision": {"p": {"count": 2}}, "tasks": [{**GOOD_TASK, "degree": -1}]}, "degree"),
    ({"precision": {"p": {"count": 2}}, "tasks": [{**GOOD_TASK, "manifold": {"length": {"values": [2], "window": 3}}}]},
     "window 3 is larger"),
    ({"precision": {"p": {"count": 2}}, "tasks": []}, "non-empty list"),
    ({"precision": {"p": {"count": 2}}, "tasks": [GOOD_TASK], "extra": 1}, "unknown key 'extra'"),
])
def test_config_errors(tmp_path, config, expected):
    if config == "missing":
        path = tmp_path / "nope.yaml"
    elif isinstance(config, str):
        path = tmp_path / "bad.yaml"
        path.write_text(config)
    else:
        path = write_config(tmp_path, config)
    line = _error(tmp_path, "--config", str(path), "--template", "zeroshot")
    assert expected in line and (path.name in line or "task" in line), line


def test_unknown_density_and_precision(tmp_path, quick_config):
    assert "unknown density 'dense'" in _error(tmp_path, "--config", str(quick_config),
                                               "--template", "zeroshot", "--density", "dense")
    assert "unknown precision 'ultra'" in _error(tmp_path, "--config", str(quick_config),
                                                 "--template", "zeroshot", "--precision", "ultra")


def test_template_errors(tmp_path, quick_config):
    assert "template file not found" in _error(tmp_path, "--config", str(quick_config),
                                               "--template", "no-such-template")
    not_list = tmp_path / "dict.jinja"
    not_list.write_text('{"role": "user", "content": {{ test.input | tojson }}}')
    assert "non-empty JSON list" in _error(tmp_path, "--config", str(quick_config), "--template", str(not_list))
    not_json = tmp_path / "text.jinja"
    not_json.write_text("Question: {{ test.input }}")
    assert "valid JSON" in _error(tmp_path, "--config", str(quick_config), "--template", str(not_json))
    bad_role = tmp_path / "role.jinja"
    bad_role.write_text('[{"role": "robot", "content": {{ test.input | tojson }}}]')
    assert "unknown role" in _error(tmp_path, "--config", str(quick_config), "--template", str(bad_role))
    syntax = tmp_path / "syntax.jinja"
    syntax.write_text('[{"role": "user", "content": {{ test.input | tojson }]')
    assert "syntax error" in _error(tmp_path, "--config", str(quick_config), "--template", str(syntax))
    undefined = tmp_path / "undef.jinja"
    undefined.write_text('[{"role": "user", "content": {{ test.question | tojson }}}]')
    assert "rendering failed" in _error(tmp_path, "--config", str(quick_config), "--template", str(undefined))


def test_sampler_errors(tmp_path, quick_config):
    bad = tmp_path / "bad.json"
    bad.write_text('{"max_tokens": 10, "temprature": 0}')
    line = _error(tmp_path, "--config", str(quick_config), "--template", "zeroshot", "--sampler", str(bad))
    assert "unknown field 'temprature'" in line and "bad.json" in line
    bad.write_text('{"max_tokens": -5}')
    assert "'max_tokens' must be" in _error(tmp_path, "--config", str(quick_config), "--template",
                                            "zeroshot", "--sampler", str(bad))
    bad.write_text('{"temperature": 0}')
    assert "'max_tokens' is required" in _error(tmp_path, "--config", str(quick_config), "--template",
                                                "zeroshot", "--sampler", str(bad))
    assert "sampler file not found" in _error(tmp_path, "--config", str(quick_config), "--template",
                                              "zeroshot", "--sampler", "nope")


def test_existing_output_is_never_overwritten(tmp_path, quick_config):
    folder = offline(tmp_path, quick_config)
    before = read_records(folder)
    proc = run_cli("--config", str(quick_config), "--template", "zeroshot", "--offline", "1",
                   "--output", str(folder))
    assert proc.returncode != 0 and "already exists" in proc.stderr
    assert read_records(folder) == before
