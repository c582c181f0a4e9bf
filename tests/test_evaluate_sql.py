"""`contour sql`: the typed `records` view over JSONL and Parquet, checked against `contour evaluate`."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from contour.evaluate import evaluate
from contour.evaluate.data_cli import export_command, sql_command
from contour.evaluate.sql import open_records, run_sql
from tests.conftest import run_contour
from tests.evalfixtures import grid_run, make_record, point_id, run_command, write_run


def unbalanced_run(seed: int = 0) -> list[dict]:
    """Points with different sample counts, failed requests and an unscored record,
    so that record-weighted and point-weighted task accuracies differ."""
    records = grid_run(seed=seed, samples=8)
    extra = point_id(0, "arithmetic", {"length": 2, "depth": 0})
    records += [make_record(extra, "arithmetic", 100 + i, {"length": 2, "depth": 0},
                            correct=i % 5 != 0, genresult={"nesting": 0, "has_distractor": False})
                for i in range(40)]
    records += [make_record(extra, "arithmetic", 200 + i, {"length": 2, "depth": 0},
                            error={"type": "timeout", "message": "no answer"}) for i in range(3)]
    records.append(make_record(point_id(9, "boolean", {"depth": 1}), "boolean", 300, {"depth": 1},
                               correct=None, guess=0.5))
    return records


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("sql") / "run-a", unbalanced_run())


def cli_rows(*args) -> list[dict]:
    result = run_command(sql_command, *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_per_task_sql_equals_evaluate_record_weighted(run):
    """The issue's query: per-task mean of is_correct over the records is the record-weighted
    task accuracy, i.e. sum(correct) / sum(n) over evaluate's per-point rows."""
    rows = cli_rows("SELECT base_task, avg(is_correct::int) AS accuracy FROM records GROUP BY 1", run)
    sql = {r["base_task"]: float(r["accuracy"]) for r in rows}
    points = evaluate([run], resamples=0).rows("point")
    expected = {}
    for task in {p.group["task"] for p in points}:
        mine = [p.metrics for p in points if p.group["task"] == task]
        expected[task] = sum(m.correct for m in mine) / sum(m.n for m in mine)
    assert sql.keys() == expected.keys() == {"arithmetic", "boolean"}
    for task in expected:
        assert sql[task] == pytest.approx(expected[task], abs=1e-12)


def test_per_point_sql_equals_evaluate(run):
    rows = cli_rows("SELECT task, avg(is_correct::int) AS accuracy, count(is_correct) AS n, "
                    "count(*) FILTER (WHERE error IS NOT NULL) AS errors FROM records GROUP BY 1", run)
    sql = {r["task"]: r for r in rows}
    points = evaluate([run], resamples=0).rows("point")
    assert len(points) == len(sql) == 10
    for point in points:
        row = sql[point.group["point"]]
        assert int(row["n"]) == point.metrics.n
        assert int(row["errors"]) == point.metrics.errors
        assert float(row["accuracy"]) == pytest.approx(point.metrics.accuracy, abs=1e-12)


def test_mean_of_point_accuracies_in_sql(run):
    """Point-weighted task accuracy, the mean of the per-point accuracies, written in SQL."""
    rows = cli_rows("SELECT base_task, avg(accuracy) AS accuracy FROM ("
                    "  SELECT base_task, task, avg(is_correct::int) AS accuracy FROM records"
                    "  GROUP BY ALL HAVING count(is_correct) > 0) GROUP BY 1", run)
    sql = {r["base_task"]: float(r["accuracy"]) for r in rows}
    points = evaluate([run], resamples=0).rows("point")
    for task, value in sql.items():
        mine = [p.metrics.accuracy for p in points if p.group["task"] == task and p.metrics.n]
        assert value == pytest.approx(sum(mine) / len(mine), abs=1e-12)
    record_weighted = cli_rows("SELECT base_task, avg(is_correct::int) AS a FROM records GROUP BY 1", run)
    assert {r["base_task"]: float(r["a"]) for r in record_weighted}["arithmetic"] != \
        pytest.approx(sql["arithmetic"], abs=1e-3)      # the fixture tells the two apart


def test_typed_structs(run):
    db = open_records([run])
    try:
        types = dict(db.con.execute("SELECT column_name, column_type FROM (DESCRIBE records)").fetchall())
        assert types["params"] == "STRUCT(count BIGINT, depth BIGINT, length BIGINT)"
        assert types["genresult"] == "STRUCT(has_distractor BOOLEAN, nesting BIGINT)"
        assert types["is_correct"] == "BOOLEAN" and types["run"] == "VARCHAR"
        assert types["error"].startswith('STRUCT("type" VARCHAR, message VARCHAR')
        (hard,) = db.con.execute("SELECT count(*) FROM records WHERE params.length >= 8 "
                                 "AND genresult.has_distractor").fetchone()
    finally:
        db.close()
    records = unbalanced_run()
    assert hard == sum(r["params"].get("length", 0) >= 8 and r["genresult"].get("has_distractor") is True
                       for r in records)


def described(db) -> list[tuple[str, list[str]]]:
    return [(name, sorted(re.findall(r"[A-Za-z_0-9]+ [A-Z]+", kind)) or [kind])
            for name, kind, *_ in db.con.execute("DESCRIBE records").fetchall()]


def test_parquet_copy_reads_the_same(run, tmp_path):
    target = tmp_path / "copy" / "records.parquet"
    target.parent.mkdir()
    result = run_command(export_command, run, "--format", "parquet", "-o", target)
    assert result.exit_code == 0, result.output
    query = ("SELECT key, params, genresult, usage.completion_tokens, is_correct, error.type, "
             "messages[1].content FROM records ORDER BY key")
    from_json, from_parquet = run_sql(query, [run]), run_sql(query, [target])
    assert from_json.columns == from_parquet.columns
    assert list(from_json.rows) == list(from_parquet.rows)
    names = [row[0] for row in run_sql("SELECT DISTINCT run FROM records", [run, target]).rows]
    assert sorted(names) == ["copy", "run-a"]
    db_json, db_parquet = open_records([run]), open_records([target])
    try:
        # The same columns and types; a struct's field order may differ (DuckDB lists
        # the distinct JSON shapes in no fixed order when it scans in parallel).
        assert described(db_json) == described(db_parquet)
    finally:
        db_json.close()
        db_parquet.close()


def test_several_runs_and_damaged_lines(tmp_path):
    a = write_run(tmp_path / "a", grid_run(seed=1, samples=4), tail='{"task": "cut off')
    b = write_run(tmp_path / "b", grid_run(seed=2, samples=4, model="model-b"))
    with open(a / "records.jsonl", "a", encoding="utf-8") as handle:
        handle.write("\n[1, 2]\nnot json\n")
    rows = cli_rows("SELECT run, model, count(*) AS n FROM records GROUP BY ALL ORDER BY run", a, b)
    assert [(r["run"], r["model"], int(r["n"])) for r in rows] == [("a", "model-a", 40), ("b", "model-b", 40)]


def test_output_formats(run, tmp_path):
    query = "SELECT task, params FROM records WHERE sample = 0 ORDER BY task LIMIT 2"
    table = run_command(sql_command, query, run)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["task", "params"] and lines[-1] == "(2 rows)"
    assert '{"count": 8, "depth": 0, "length": 2}' in table.stdout
    out = tmp_path / "rows.jsonl"
    written = run_command(sql_command, query, run, "--format", "jsonl", "-o", out)
    assert written.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["params"] == {"count": 8, "depth": 0, "length": 2}


@pytest.mark.parametrize("args,words", [
    (["SELECT nope FROM records"], 'SQL error: Binder Error: Referenced column "nope" not found'),
    (["SELEC 1"], "SQL error: Parser Error"),
    (["   "], "the SQL query is empty"),
    (["SELECT 1", "/no/such/run"], "'/no/such/run' does not exist"),
    (["SELECT 1", "--format", "xml"], "Invalid value for '--format'"),
])
def test_errors_are_one_line(run, args, words):
    argv = [args[0], *(args[1:] if len(args) > 1 and not args[1].startswith("--") else [str(run), *args[1:]])]
    result = run_command(sql_command, *argv)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr


def test_contour_sql_from_the_command_line(run):
    done = run_contour("sql", "SELECT count(*) AS n FROM records WHERE error IS NOT NULL", str(run),
                       "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "3"]
    bad = run_contour("sql", "SELECT FROM WHERE", str(run))
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: SQL error:")


def test_superseded_lines_are_left_out_as_by_every_reader(tmp_path):
    """A resume appends a record's replacement and names the old line in
    records.superseded.jsonl; blank lines before it must not shift the count."""
    from contour.results.folders import stream_records
    folder = write_run(tmp_path / "run", [])
    good = grid_run(seed=3, samples=2)[:6]
    failed = dict(good[1], error={"type": "timeout", "message": "late"}, is_correct=None)
    lines = [json.dumps(good[0]), "", "   ", json.dumps(failed), "not json", json.dumps(good[2]),
             json.dumps(good[3]), json.dumps(good[4]), json.dumps(good[5]), json.dumps(good[1])]
    (folder / "records.jsonl").write_text("\n".join(lines) + "\n")
    # line 4 is superseded; the entry for line 6 names another key (a hand edit): kept
    (folder / "records.superseded.jsonl").write_text(
        json.dumps({"line": 4, "key": good[1]["key"]}) + "\n" + json.dumps({"line": 6, "key": "other"}) + "\n")
    expected = [r["key"] for r in stream_records(folder, None)]
    assert len(expected) == 6 and len(set(expected)) == 6
    rows = cli_rows("SELECT key, error.type AS failed FROM records", folder)
    assert [r["key"] for r in rows] == expected and all(r["failed"] == "" for r in rows)
    kept = evaluate([folder], where="error IS NULL", group_by=["key"], resamples=0)
    assert sorted(row.group["key"] for row in kept.rows("group")) == sorted(expected)


def test_a_real_resumed_run(tmp_path):
    """The runner against a fault server: five requests fail, a rerun replaces them."""
    from tests import faultserver as fs
    from tests.runhelp import final_records, run_folders, small_config
    config = small_config(tmp_path)
    args = ["--config", str(config), "--template", "zerocot-nosys", "--sampler", "greedy-2k",
            "--model", fs.DEFAULT_MODEL, "--cache", str(tmp_path / "c.sqlite"),
            "--results-dir", str(tmp_path / "results"), "--quiet"]
    from tests.conftest import run_cli
    with fs.FaultServer([fs.server_error()] * 5) as server:
        assert run_cli(*args, "--apibase", server.apibase, "--retries", "0", "--threads", "1",
                       "--parallel", "1").returncode == 3
        assert run_cli(*args, "--apibase", server.apibase).returncode == 0
    (folder,) = run_folders(tmp_path / "results")
    assert (folder / "records.superseded.jsonl").is_file()
    final = final_records(folder)
    rows = cli_rows("SELECT key, error IS NULL AS ok FROM records", folder)
    assert [r["key"] for r in rows] == [r["key"] for r in final] and len(rows) == 16
    assert {r["ok"] for r in rows} == {"true"}
