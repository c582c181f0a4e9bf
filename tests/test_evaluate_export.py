"""`contour export`: Parquet copies, Hugging Face dataset folders (loaded with `datasets`), SFT traces."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from contour.evaluate.data_cli import export_command
from contour.evaluate.sql import run_sql
from contour.tasks import get_task
from tests.conftest import REPO, run_cli
from tests.evalfixtures import grid_run, run_command, write_run
from tests.runhelp import records as read_records


def export(*args) -> tuple[int, str]:
    result = run_command(export_command, *args)
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory) -> Path:
    """A real offline dataset of the quick config, written by the runner."""
    folder = tmp_path_factory.mktemp("offline") / "quick"
    done = run_cli("--config", str(REPO / "configs" / "quick.yaml"), "--template", "zerocot-nosys",
                   "--seed", "7", "--offline", "1", "--output", str(folder), "--quiet")
    assert done.returncode == 0, done.stderr
    return folder


def load_parquet(files: str, cache: Path):
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets
    return datasets.load_dataset("parquet", data_files=files, cache_dir=str(cache))["train"]


def card_header(folder: Path) -> tuple[dict, str]:
    text = (folder / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match, text[:200]
    return yaml.safe_load(match.group(1)), match.group(2)


def test_dataset_loads_with_hugging_face_datasets(offline_run, tmp_path):
    target = tmp_path / "quick-dataset"
    code, err = export(offline_run, "--format", "dataset", "-o", target)
    assert code == 0, err
    records = read_records(offline_run)
    data = load_parquet(str(target / "data" / "*.parquet"), tmp_path / "hf-cache")
    assert data.num_rows == len(records)
    assert set(data.column_names) == {"key", "task", "base_task", "version", "sample", "params", "input",
                                      "target", "response_enum", "guess_chance", "genresult",
                                      "messages", "template", "seed"}
    by_key = {r["key"]: r for r in records}
    for row in data:
        record = by_key[row["key"]]
        for name in ("task", "base_task", "input", "target", "response_enum", "messages", "seed"):
            assert row[name] == record[name], name
        assert {k: v for k, v in row["params"].items() if v is not None} == record["params"]
        assert row["guess_chance"] == pytest.approx(record["guess_chance"])
    one = load_parquet(str(target / "data" / "arithmetic.parquet"), tmp_path / "hf-cache")
    assert set(one["base_task"]) == {"arithmetic"}
    assert one.num_rows == sum(r["base_task"] == "arithmetic" for r in records)


def test_dataset_card_states_manifold_versions_and_regeneration(offline_run, tmp_path):
    target = tmp_path / "card"
    assert export(offline_run, "--format", "dataset", "-o", target)[0] == 0
    header, body = card_header(target)
    names = sorted({r["base_task"] for r in read_records(offline_run)})
    assert [c["config_name"] for c in header["configs"]] == ["all"] + names
    assert header["configs"][0]["data_files"] == [{"split": "test", "path": "data/*.parquet"}]
    assert sorted(p.name for p in (target / "data").iterdir()) == [f"{n}.parquet" for n in names]
    assert "| arithmetic | length | 2, 3 |" in body                  # the quick config's axes
    assert "| boolean | depth | 0, 1 |" in body
    version = get_task("tables").version
    assert f"| tables | {version} | 4 | 16 |" in body               # version, points, tests
    assert "| seed | 7 |" in body
    assert (target / "config.yaml").is_file() and (target / "zerocot-nosys.jinja").is_file()
    # Run the card's own commands in the folder: they give back the same tests.
    commands = re.search(r"```sh\n(.*?)```", body, re.DOTALL).group(1).strip().splitlines()
    assert len(commands) == 2
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "contour"
        done = subprocess.run([sys.executable, "-m", "contour", *argv[1:], "--quiet"] if argv[1] == "run"
                              else [sys.executable, "-m", "contour", *argv[1:]],
                              cwd=target, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    query = "SELECT key, input, target, messages, template FROM records ORDER BY key"
    assert list(run_sql(query, [target / "regenerated"]).rows) == list(run_sql(query, [offline_run]).rows)
    again = target / "regenerated-dataset" / "data"
    for original in (target / "data").iterdir():
        same = "SELECT * FROM records ORDER BY key"
        assert list(run_sql(same, [original]).rows) == list(run_sql(same, [again / original.name]).rows)


def test_withheld_dataset_has_no_targets_seed_or_genresult(offline_run, tmp_path):
    target = tmp_path / "private"
    code, err = export(offline_run, "--format", "dataset", "--withhold", "-o", target)
    assert code == 0 and "withheld" in err
    data = load_parquet(str(target / "data" / "*.parquet"), tmp_path / "hf-cache")
    assert "target" not in data.column_names and "seed" not in data.column_names
    assert "genresult" not in data.column_names and "input" in data.column_names
    header, body = card_header(target)
    assert "| seed | withheld |" in body and "--seed SEED" in body
    manifest = json.loads((offline_run / "manifest.json").read_text())
    text = (target / "README.md").read_text() + "".join(p.read_text() for p in target.glob("*.yaml"))
    assert manifest["fingerprint"] not in text and "| seed | 7 |" not in text


def test_existing_target_is_kept_unless_overwrite(offline_run, tmp_path):
    target = tmp_path / "records.parquet"
    target.write_text("precious")
    code, err = export(offline_run, "-o", target)
    assert code == 2 and "already exists; pass --overwrite" in err and err.count("\n") == 1
    assert target.read_text() == "precious"
    assert export(offline_run, "-o", target, "--overwrite")[0] == 0
    assert target.read_bytes()[:4] == b"PAR1"
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("args,words", [
    (["--withhold"], "--withhold applies to --format dataset only"),
    (["--per-point", "3"], "--per-point applies to --sft only"),
    (["--sft", "--format", "dataset"], "ask for different exports"),
    (["--sft", "--per-point", "0"], "--per-point must be 1 or more"),
    (["--sft"], "has no scored records (an offline dataset has no answers)"),
    (["-o", "/no/such/folder/x.parquet"], "folder '/no/such/folder' does not exist"),
])
def test_export_errors_are_one_line(offline_run, args, words):
    code, err = export(offline_run, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], err


def test_missing_run_is_one_line(tmp_path):
    code, err = export(tmp_path / "nope")
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


# --- SFT traces -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def answered(tmp_path_factory) -> Path:
    records = grid_run(seed=11, samples=12)
    for i, record in enumerate(records):
        if i % 4 == 0:
            record["reasoning"] = f"thinking about {record['key']}"
    return write_run(tmp_path_factory.mktemp("sft") / "run", records)


def traces(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_sft_rows_are_correct_traces_with_tags(answered, tmp_path):
    out = tmp_path / "sft.jsonl"
    code, err = export(answered, "--sft", "-o", out)
    assert code == 0, err
    records = {r["key"]: r for r in read_records(answered)}
    rows = traces(out)
    wanted = [r for r in records.values() if r["is_correct"] and not r["is_truncated"]]
    assert sorted(row["key"] for row in rows) == sorted(r["key"] for r in wanted)
    for row in rows:
        record = records[row["key"]]
        assert row["messages"][:-1] == record["messages"]
        reply = row["messages"][-1]
        assert reply["role"] == "assistant" and reply["content"] == record["answer"]
        assert reply.get("reasoning_content") == record.get("reasoning")
        assert row["task"] == record["base_task"] and row["point"] == record["task"]
        assert row["params"] == {k: v for k, v in record["params"].items() if k != "count"}
        same_point = [r for r in records.values() if r["task"] == record["task"]]
        assert row["point_n"] == len(same_point)
        assert row["point_accuracy"] == pytest.approx(sum(r["is_correct"] for r in same_point) / len(same_point))
    assert any("reasoning_content" in row["messages"][-1] for row in rows)
    assert any("reasoning_content" not in row["messages"][-1] for row in rows)


def test_sft_cap_seed_and_all(answered, tmp_path):
    paths = {name: tmp_path / f"{name}.jsonl" for name in ("a", "b", "c", "all")}
    assert export(answered, "--sft", "--per-point", "2", "--seed", "1", "-o", paths["a"])[0] == 0
    assert export(answered, "--sft", "--per-point", "2", "--seed", "1", "-o", paths["b"])[0] == 0
    assert export(answered, "--sft", "--per-point", "2", "--seed", "2", "-o", paths["c"])[0] == 0
    assert export(answered, "--sft", "--all", "-o", paths["all"])[0] == 0
    a, b, c = (traces(paths[n]) for n in "abc")
    assert a == b                                   # same seed, same file
    assert [r["key"] for r in a] != [r["key"] for r in c]
    per_point: dict[str, int] = {}
    for row in a:
        per_point[row["point"]] = per_point.get(row["point"], 0) + 1
    assert max(per_point.values()) == 2
    records = read_records(answered)
    assert len(traces(paths["all"])) == len(records)
    assert {row["is_correct"] for row in traces(paths["all"])} == {True, False}
