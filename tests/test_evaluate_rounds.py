"""Evaluation of adaptively sampled points, equal point weights, the error policy, the method names."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binomtest

from contour.errors import ContourError
from contour.evaluate import evaluate, summary_tables, to_markdown
from contour.evaluate.cli import evaluate_command
from contour.run.adaptive import round_levels
from tests.evalfixtures import make_record, write_run
from tests.test_evaluate_cli import invoke, one_error_line

MEDIUM = {"name": "medium", "count": 16, "max_rounds": 4, "target_halfwidth": 0.08, "max_truncation": 0.5}


def _point(index: int, verdicts: list[bool], *, truncated: set[int] = frozenset(), count: int = 16):
    point = f"{index:03d}_t_x-{index}"
    records = []
    for sample, correct in enumerate(verdicts):
        record = make_record(point, "t", sample, {"x": index}, correct=correct and sample not in truncated,
                             truncated=sample in truncated)
        record["step"] = sample // count
        records.append(record)
    return records


def _adaptive_run(tmp_path, records, block=MEDIUM):
    return write_run(tmp_path / "run", records, {"seed": 1, "precision": block, "mode": {"online": True}})


def test_adaptive_points_report_rounds_reason_and_the_sequential_interval(tmp_path):
    records = (_point(0, [True] * 32)                              # 32/32: narrow after round 2
               + _point(1, [i % 2 == 0 for i in range(64)])        # p = .5: every round
               + _point(2, [False] * 32, truncated=set(range(20)))  # truncation stop after round 2
               + _point(3, [True] * 16 + [False] * 16))             # run ended early: incomplete
    result = evaluate([_adaptive_run(tmp_path, records)], resamples=0)
    rows = {row.group["point"]: row.metrics for row in result.rows("point")}
    assert [(m.rounds, m.stopped) for m in rows.values()] == [
        (2, "target reached"), (4, "round limit"), (2, "truncation"), (2, "incomplete")]
    levels = round_levels(16, 4, MEDIUM["target_halfwidth"])
    half = rows["001_t_x-1"]
    reference = binomtest(32, 64).proportion_ci(levels[3], method="exact")
    assert (half.accuracy_low, half.accuracy_high) == pytest.approx((reference.low, reference.high))
    assert half.confidence == pytest.approx(levels[3])
    assert rows["000_t_x-0"].confidence == pytest.approx(levels[1])
    markdown = to_markdown(summary_tables(result, ["point"]))
    assert "| rounds | stopped |" in markdown and "| 2 | target reached |" in markdown


def test_a_fixed_design_is_plain_clopper_pearson(tmp_path):
    records = _point(0, [True] * 5 + [False] * 3, count=8)
    folder = write_run(tmp_path / "run", records, {"precision": {"count": 8, "max_rounds": 1}})
    (row,) = evaluate([folder], resamples=0).rows("point")
    reference = binomtest(5, 8).proportion_ci(method="exact")
    assert (row.metrics.accuracy_low, row.metrics.accuracy_high) == pytest.approx((reference.low, reference.high))
    assert (row.metrics.rounds, row.metrics.stopped, row.metrics.confidence) == (1, "fixed count", 0.95)


def test_wilson_is_selectable_and_plain(tmp_path):
    records = _point(0, [True] * 30 + [False] * 2) + _point(1, [True] * 20 + [False] * 12)
    result = evaluate([_adaptive_run(tmp_path, records)], resamples=0, interval="wilson")
    row = result.rows("point")[0].metrics
    reference = binomtest(30, 32).proportion_ci(method="wilson")
    assert (row.accuracy_low, row.accuracy_high) == pytest.approx((reference.low, reference.high))
    assert "95% Wilson intervals" in to_markdown(summary_tables(result, ["task"]))
    with pytest.raises(ContourError, match="unknown --interval 'wald'"):
        evaluate([tmp_path / "run"], interval="wald")


def test_task_accuracy_weights_points_equally(tmp_path):
    # Points at .99, .97, .5, .5 with 64, 64, 16 and 16 samples: the grid mean, not 0.87.
    records = (_point(0, [i != 5 for i in range(64)]) + _point(1, [i not in (3, 9) for i in range(64)])
               + _point(2, [i % 2 == 0 for i in range(16)]) + _point(3, [i % 2 == 1 for i in range(16)]))
    result = evaluate([_adaptive_run(tmp_path, records)], resamples=0)
    (task,) = result.rows("task")
    assert task.metrics.accuracy == pytest.approx(np.mean([63 / 64, 62 / 64, 0.5, 0.5]))
    assert task.metrics.points == 4
    assert task.metrics.accuracy_low < task.metrics.accuracy < task.metrics.accuracy_high
    (run,) = result.rows("run")
    assert run.metrics.accuracy == task.metrics.accuracy
    title = [t.title for t in summary_tables(result, ["task"]) if t.name == "task"][0]
    assert "accuracy = mean of point accuracies, each point weighted equally" in title
    assert "Clopper–Pearson" in title


def test_permanent_errors_count_as_wrong_unless_excluded(tmp_path):
    records = [make_record("000_t", "t", i, correct=True) for i in range(6)]
    records += [make_record("000_t", "t", 6 + i, error={"type": "client_error", "message": "context too long",
                                                         "status": 400}) for i in range(2)]
    records += [make_record("000_t", "t", 8, error={"type": "server_error", "message": "503"})]
    folder = write_run(tmp_path / "run", records)
    default = evaluate([folder], resamples=0).rows("point")[0].metrics
    assert (default.n, default.correct, default.accuracy, default.invalid_rate) == (8, 6, 0.75, 0.25)
    assert (default.permanent_errors, default.transient_errors, default.errors) == (2, 1, 3)
    excluded = evaluate([folder], resamples=0, exclude_errors=True).rows("point")[0].metrics
    assert (excluded.n, excluded.accuracy) == (6, 1.0)
    result = CliRunner().invoke(evaluate_command, [str(folder), "--exclude-errors", "--level", "point"])
    assert result.exit_code == 0 and "permanent request errors excluded" in result.stdout


def test_a_scorer_crash_is_its_own_class_and_reported(tmp_path):
    records = [make_record("000_t", "t", i, correct=i < 3) for i in range(4)]
    crashed = make_record("000_t", "t", 4, correct=False)
    crashed["extra"] = {"scoring_error": "KeyError: 'x'"}
    folder = write_run(tmp_path / "run", records + [crashed])
    metrics = evaluate([folder], resamples=0).rows("run")[0].metrics
    assert (metrics.n, metrics.correct, metrics.scorer_errors) == (4, 3, 1)
    result = CliRunner().invoke(evaluate_command, [str(folder)])
    assert result.exit_code == 0
    assert "1 records hit a scorer crash" in result.stderr
    assert "| scorer errors |" in result.stdout


def test_unknown_interval_is_one_cli_error_line(tmp_path):
    folder = write_run(tmp_path / "run", [make_record()])
    line = one_error_line(invoke(folder, "--interval", "wald"))
    assert "unknown --interval 'wald'" in line
