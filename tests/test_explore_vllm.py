"""End to end on a real run: the quick config against the real local vLLM (tiny model),
then `contour sql`, `contour export --sft` and the HTML report on its records."""

from __future__ import annotations

import csv
import io
import json

import pytest

from contour.evaluate import evaluate, write_html
from tests.conftest import run_contour
from tests.runhelp import records, run_online

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_run(tiny_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore-vllm")
    sampler = tmp / "short.json"
    # Random weights: text is gibberish; a stop string makes some replies finish.
    sampler.write_text(json.dumps({"max_tokens": 16, "temperature": 0.0, "stop": ["e"]}))
    done = run_online(tiny_server.base_url, tiny_server.served_name, tmp, sampler=str(sampler))
    assert done.returncode == 0, done.stderr
    return tmp / "run"


def test_sql_on_a_real_run_agrees_with_evaluate(real_run):
    done = run_contour("sql", "SELECT task, avg(is_correct::int) AS acc, count(is_correct) AS n, "
                       "avg(usage.completion_tokens) AS tokens FROM records GROUP BY 1",
                       str(real_run), "--format", "csv")
    assert done.returncode == 0, done.stderr
    sql = {row["task"]: row for row in csv.DictReader(io.StringIO(done.stdout))}
    points = evaluate([real_run], resamples=0).rows("point")
    assert len(points) == len(sql) > 10
    for point in points:
        row = sql[point.group["point"]]
        assert int(row["n"]) == point.metrics.n
        assert float(row["acc"]) == pytest.approx(point.metrics.accuracy, abs=1e-12)
        assert float(row["tokens"]) == pytest.approx(point.metrics.tokens_mean)


def test_sft_export_of_a_real_run(real_run, tmp_path):
    out = tmp_path / "traces.jsonl"
    done = run_contour("export", str(real_run), "--sft", "--all", "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    scored = [r for r in records(real_run) if r["error"] is None and r["is_correct"] is not None
              and r["answer"] is not None]
    assert sorted(r["key"] for r in rows) == sorted(r["key"] for r in scored)
    by_key = {r["key"]: r for r in scored}
    for row in rows:
        assert row["messages"][-1] == {"role": "assistant", "content": by_key[row["key"]]["answer"]}
        assert row["messages"][:-1] == by_key[row["key"]]["messages"]


def test_report_of_a_real_run_has_every_task(real_run, tmp_path):
    result = evaluate([real_run], resamples=50)
    html = write_html(result, tmp_path / "report.html").read_text()
    for task in {r["base_task"] for r in records(real_run)}:
        assert f"<h2>{task}</h2>" in html
