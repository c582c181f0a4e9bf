"""`--shard i/n`, `contour evaluate` over shard folders, and `contour merge`.

The shards run as separate processes against a local instant server whose
answers depend on the prompt (tests/faultserver.py), so the tables have
right and wrong answers in them; the adaptive precision block makes the
number of rounds of each point depend on those answers.
"""

import json
import re
import subprocess
import sys

import pytest

from contour.errors import ContourError
from contour.run.shard import Shard, parse_shard, shard_points
from contour.spec.config import load_config
from contour.spec.manifold import resolve_grid
from tests import faultserver as fs
from tests.conftest import REPO, run_contour
from tests.runhelp import assert_stats_match_records, online_args, records

MODEL = fs.DEFAULT_MODEL
ADAPTIVE = ("--precision", "medium")
KEEP = ("is_valid", "is_correct", "is_truncated", "answer", "step", "sample")


def varied(request):
    # Deterministic per prompt, sometimes right: "1", "2", "yes", "A" ...
    text = request["messages"][-1]["content"]
    return "Final Answer: " + ["1", "2", "3", "yes", "no", "A", "B", "True"][len(text) % 8]


@pytest.fixture
def server():
    with fs.FaultServer(responder=varied) as s:
        yield s


def grid():
    return resolve_grid(load_config(REPO / "configs" / "quick.yaml"))


@pytest.mark.parametrize("text,expected", [
    ("2/3", Shard(2, 3)), (" 1 / 4 ", Shard(1, 4)), ("1/1", None), (None, None)])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_parse_shard_refuses(text):
    with pytest.raises(ContourError, match="--shard"):
        parse_shard(text)


@pytest.mark.parametrize("n", [2, 3, 5, 7])
def test_shards_are_disjoint_cover_the_grid_and_balance(n):
    points = grid()
    shares = [shard_points(points, Shard(i, n)) for i in range(1, n + 1)]
    ids = [p.point_id for share in shares for p in share]
    assert sorted(ids) == sorted(p.point_id for p in points)
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 1
    # Stable: the same share from a reordered grid, and in the grid's own order.
    reordered = shard_points(list(reversed(points)), Shard(1, n))
    assert {p.point_id for p in reordered} == {p.point_id for p in shares[0]}
    assert shares[0] == [p for p in points if p in shares[0]]


def test_a_share_mixes_tasks():
    tasks = {p.task for p in shard_points(grid(), Shard(1, 3))}
    assert len(tasks) > 3


def start_shard(server, tmp_path, i, n, cache="cache.sqlite"):
    args = online_args(server.apibase, MODEL, tmp_path / f"shard{i}", tmp_path / cache, *ADAPTIVE,
                       "--shard", f"{i}/{n}", "--quiet")
    return subprocess.Popen([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_shards(server, tmp_path, n=3, **kw):
    procs = [start_shard(server, tmp_path, i, n, **kw) for i in range(1, n + 1)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return [tmp_path / f"shard{i}" for i in range(1, n + 1)]


def run_whole(server, tmp_path):
    args = online_args(server.apibase, MODEL, tmp_path / "whole", tmp_path / "whole.sqlite", *ADAPTIVE,
                       "--quiet")
    proc = subprocess.run([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "whole"


def evaluate(*folders, fmt="markdown", extra=()):
    proc = run_contour("evaluate", *map(str, folders), "--format", fmt, "--resamples", "200", *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


# Latency, time to first token and decode speed (p50/p90/p99) are measured, not derived
# from the records' content: they differ between any two runs.
TIMING_SPREAD = re.compile(r"(?<![\w./])[\d.]+/[\d.]+/[\d.]+(?![\w./])")


def tables(proc, folders):
    return TIMING_SPREAD.sub("T", proc.stdout.replace(", ".join(map(str, folders)), "FOLDER"))


def by_key(recs):
    return {r["key"]: tuple(r[f] for f in KEEP) for r in recs}


def test_three_shard_processes_evaluate_and_merge_like_one_run(server, tmp_path):
    shards = run_shards(server, tmp_path)
    whole = run_whole(server, tmp_path)
    parts = [records(s) for s in shards]
    keys = [{r["key"] for r in p} for p in parts]
    assert all(keys) and not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert by_key(sum(parts, [])) == by_key(records(whole))
    assert max(r["step"] for r in records(whole)) > 0, "the adaptive block ran more than one round"

    manifests = [json.loads((s / "manifest.json").read_text()) for s in shards]
    whole_manifest = json.loads((whole / "manifest.json").read_text())
    assert [m["shard"]["index"] for m in manifests] == [1, 2, 3]
    assert {m["shard"]["run_fingerprint"] for m in manifests} == {whole_manifest["fingerprint"]}
    assert len({m["fingerprint"] for m in manifests}) == 3
    for s in shards:
        assert_stats_match_records(s)

    # The same tables; only the runs table's folder column says where the records were.
    expected = tables(evaluate(whole), [whole])
    got = evaluate(*shards)
    assert tables(got, shards) == expected and "warning" not in got.stderr
    assert ", ".join(map(str, shards)) in got.stdout
    assert tables(evaluate(*reversed(shards)), shards) == expected     # shard order does not matter
    # --where and --group-by (run by DuckDB beside the stream) see the shards' records too.
    selected = ("--where", "step >= 1", "--group-by", "base_task", "--level", "group")
    grouped = tables(evaluate(*shards, extra=selected), shards)
    assert grouped == tables(evaluate(whole, extra=selected), [whole]) and "| arithmetic |" in grouped

    proc = run_contour("merge", *map(str, shards), "--output", str(tmp_path / "merged"))
    assert proc.returncode == 0, proc.stderr
    merged = tmp_path / "merged"
    assert by_key(records(merged)) == by_key(records(whole))
    assert_stats_match_records(merged)
    manifest = json.loads((merged / "manifest.json").read_text())
    assert manifest["fingerprint"] == whole_manifest["fingerprint"] and "shard" not in manifest
    assert manifest["status"] == "complete" and manifest["missing_shards"] == []
    assert tables(evaluate(merged), [merged]) == expected

    # The merged folder is the unsharded run's: its command resumes it and sends nothing.
    hits = server.hits
    args = online_args(server.apibase, MODEL, merged, tmp_path / "other.sqlite", *ADAPTIVE, "--quiet")
    proc = subprocess.run([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert server.hits == hits and len(records(merged)) == len(records(whole))


def test_missing_shard_is_named_and_merge_marks_it(server, tmp_path):
    shards = run_shards(server, tmp_path)
    proc = evaluate(shards[0], shards[2])
    assert "shard(s) 2/3 missing" in proc.stderr and str(shards[0]) in proc.stderr
    proc = run_contour("merge", str(shards[0]), str(shards[2]), "--output", str(tmp_path / "m"))
    assert proc.returncode == 0, proc.stderr
    assert "2/3 missing" in proc.stderr
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["missing_shards"] == ["2/3"]
    # The unsharded command fills in exactly the missing shard's points.
    hits = server.hits
    args = online_args(server.apibase, MODEL, tmp_path / "m", tmp_path / "cache.sqlite", *ADAPTIVE, "--quiet")
    proc = subprocess.run([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert server.hits == hits       # all in the shared cache already
    assert by_key(records(tmp_path / "m")) == by_key(sum((records(s) for s in shards), []))


def test_shard_errors_are_one_line_and_write_nothing(server, tmp_path):
    shards = run_shards(server, tmp_path, n=2)
    # Overlapping shards: a copy of shard 1 relabelled as shard 2 of the same run.
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "records.jsonl").write_text((shards[0] / "records.jsonl").read_text())
    manifest = json.loads((shards[0] / "manifest.json").read_text())
    manifest["shard"]["index"] = 2
    (fake / "manifest.json").write_text(json.dumps(manifest))
    cases = [
        (("evaluate", str(shards[0]), str(fake)), "both hold records of point"),
        (("evaluate", str(shards[0]), str(shards[0])), "given twice"),
        (("merge", str(shards[0]), str(fake), "-o", str(tmp_path / "x")), "both hold records of point"),
        (("merge", str(shards[0]), str(tmp_path / "shard1"), "-o", str(tmp_path / "x")), "given twice"),
        (("merge", str(shards[0]), "-o", str(shards[1])), "not empty"),
    ]
    other = tmp_path / "other"
    args = online_args(server.apibase, MODEL, other, tmp_path / "cache.sqlite", "--quiet", "--seed", "5",
                       "--shard", "1/2")
    assert subprocess.run([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO).returncode == 0
    cases.append((("merge", str(shards[0]), str(other), "-o", str(tmp_path / "x")), "different runs"))
    unsharded = tmp_path / "plain"
    args = online_args(server.apibase, MODEL, unsharded, tmp_path / "cache.sqlite", "--quiet")
    assert subprocess.run([sys.executable, str(REPO / "runner.py"), *args], cwd=REPO).returncode == 0
    cases.append((("merge", str(unsharded), "-o", str(tmp_path / "x")), "not a shard folder"))
    for args, message in cases:
        proc = run_contour(*args)
        assert proc.returncode != 0, args
        assert message in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
        assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_run_refuses_bad_shard_use(server, tmp_path):
    from tests.conftest import run_cli

    proc = run_cli(*online_args(server.apibase, MODEL, tmp_path / "r", tmp_path / "c.sqlite", "--shard", "4/3"))
    assert proc.returncode == 2 and "--shard '4/3'" in proc.stderr
    proc = run_cli("--config", str(REPO / "configs" / "quick.yaml"), "--template", "zerocot-nosys",
                   "--offline", "1", "--shard", "1/2", "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--shard applies to online runs" in proc.stderr
    # A shard's folder is not another shard's: resuming into it is refused.
    run_cli(*online_args(server.apibase, MODEL, tmp_path / "s", tmp_path / "c.sqlite", "--shard", "1/2"))
    proc = run_cli(*online_args(server.apibase, MODEL, tmp_path / "s", tmp_path / "c.sqlite", "--shard", "2/2"))
    assert proc.returncode == 2 and "holds a different run" in proc.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()
