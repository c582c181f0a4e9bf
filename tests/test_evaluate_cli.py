"""The `evaluate` command: formats, files, errors, offline datasets."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from contour import exits
from contour.evaluate.cli import evaluate_command
from tests.evalfixtures import grid_run, make_record, write_run


@pytest.fixture
def runs(tmp_path):
    return [str(write_run(tmp_path / "a", grid_run(seed=1, model="model-a"))),
            str(write_run(tmp_path / "b", grid_run(seed=2, model="model-b", skill=0.2)))]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args):
    """The command as the CLI runs it: through contour.exits (one line, exit code)."""
    with CliRunner().isolation() as (out, err, _):
        code = exits.invoke(evaluate_command, [str(a) for a in args])
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == exits.USAGE_ERROR
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_markdown_by_default(runs):
    result = invoke(*runs, "--resamples", "50")
    assert result.exit_code == 0, result.output
    for title in ["### Leaderboard", "### Per run", "### Per task", "### Per point"]:
        assert title in result.stdout
    assert "| model-a / zeroshot / greedy-2k |" in result.stdout
    assert "Per group" not in result.stdout


def test_levels_and_group_by(runs):
    result = invoke(runs[0], "--level", "group", "--group-by", "params.length", "--resamples", "0")
    assert result.exit_code == 0, result.output
    assert "### Per group (params.length)" in result.stdout
    assert "### Per point" not in result.stdout and "### Per task" not in result.stdout


def test_csv_is_one_parseable_table(runs):
    result = invoke(*runs, "--format", "csv", "--compare", "--resamples", "50")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    kinds = {row["table"] for row in rows}
    assert {"runs", "leaderboard", "run", "task", "point", "comparison", "pairing"} <= kinds
    run_rows = [row for row in rows if row["table"] == "run"]
    assert len(run_rows) == 2 and float(run_rows[0]["accuracy_low"]) < float(run_rows[0]["accuracy"])


def test_json_output_to_file(runs, tmp_path):
    target = tmp_path / "out.json"
    result = invoke(*runs, "--format", "json", "--output", target, "--where", "params.length >= 4",
                    "--resamples", "50")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    document = json.loads(target.read_text())
    assert document["where"] == "params.length >= 4"
    assert document["runs"][0]["kept"] < document["runs"][0]["records"]
    assert {"leaderboard", "run", "task", "point"} <= set(document["tables"])
    assert all(row["score"] is not None for row in document["tables"]["leaderboard"])


def test_html_and_plots(runs, tmp_path):
    result = invoke(*runs, "--html", tmp_path / "report.html", "--plots", tmp_path / "pics",
                    "--compare", "--resamples", "50")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "pics").iterdir())
    assert names == ["axes_arithmetic.png", "heatmap_arithmetic.png", "leaderboard.png"]
    assert all((tmp_path / "pics" / n).read_bytes().startswith(b"\x89PNG") for n in names)
    html = (tmp_path / "report.html").read_text()
    assert 'id="contour-data"' in html and "<img" not in html


def test_compare_shows_significance(runs):
    result = invoke(*runs, "--compare", "--level", "run", "--resamples", "50")
    assert result.exit_code == 0, result.output
    assert "### Paired comparison (A − B: 95% MOVER–Clopper–Pearson" in result.stdout
    assert "exact McNemar, Holm-corrected" in result.stdout
    assert "| (all) |" in result.stdout


def test_offline_dataset_has_nothing_to_score(tmp_path):
    folder = write_run(tmp_path / "offline", [make_record(sample=i, offline=True) for i in range(5)])
    result = invoke(folder)
    assert result.exit_code == 0
    assert result.stdout.startswith("nothing to score: 5 of 5 records have no verdict")


def test_filter_that_keeps_nothing(runs):
    result = invoke(runs[0], "--where", "params.length > 100")
    assert result.exit_code == 0
    assert "nothing to score: the filter 'params.length > 100' kept none" in result.stdout


def test_missing_folder_is_one_line(tmp_path):
    line = one_error_line(invoke(tmp_path / "nope"))
    assert "does not exist" in line and "nope" in line


def test_bad_where_is_one_line(runs):
    line = one_error_line(invoke(runs[0], "--where", "params.length >= 3 and"))
    assert "invalid --where expression 'params.length >= 3 and' at position 23" in line


def test_unknown_format_is_one_line(runs):
    assert "unknown --format 'xml'" in one_error_line(invoke(runs[0], "--format", "xml"))


def test_other_option_errors_are_one_line(runs, tmp_path):
    assert "unknown --level" in one_error_line(invoke(runs[0], "--level", "points"))
    assert "at least one RESULT_DIR" in one_error_line(invoke())
    assert "two or more" in one_error_line(invoke(runs[0], "--compare"))
    assert "invalid --group-by field" in one_error_line(invoke(runs[0], "--group-by", "params..x"))
    assert "cannot write --output" in one_error_line(
        invoke(runs[0], "--output", tmp_path / "no" / "such" / "dir.md"))


def test_python_dash_m_entry_point(runs):
    ok = subprocess.run([sys.executable, "-m", "contour.evaluate", runs[0], "--level", "run",
                         "--resamples", "0"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "### Per run" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "contour.evaluate", "/no/such/folder"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == exits.USAGE_ERROR
    assert bad.stderr.strip() == "error: result folder '/no/such/folder' does not exist"
