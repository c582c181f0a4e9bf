"""Counts, rates, tokens, levels, the overall score."""

from __future__ import annotations

import numpy as np
import pytest

from contour.evaluate import Tally, evaluate, metrics, run_score
from contour.intervals import clopper_pearson
from contour.evaluate.score import FLOOR
from tests.evalfixtures import grid_run, make_record, write_run


def _tally(records) -> Tally:
    tally = Tally()
    for record in records:
        tally.add(record)
    return tally


def test_counts_and_rates():
    records = ([make_record(sample=i, correct=True, tokens=100 + i) for i in range(6)]
               + [make_record(sample=6, correct=False, valid=False, tokens=10)]
               + [make_record(sample=7, correct=False, truncated=True, tokens=2048)]
               + [make_record(sample=8, error={"type": "server_error", "message": "500", "status": 500})]
               + [make_record(sample=9, offline=True)])
    m = metrics(_tally(records))
    assert (m.n, m.valid, m.correct, m.truncated, m.errors, m.unscored) == (8, 7, 6, 1, 1, 1)
    assert m.accuracy == 6 / 8
    assert (m.accuracy_low, m.accuracy_high) == pytest.approx(clopper_pearson(6, 8))
    assert m.points == 1 and m.interval == "clopper-pearson" and m.transient_errors == 1
    assert m.truncation_rate == 1 / 8
    assert m.invalid_rate == 1 / 8
    tokens = [100, 101, 102, 103, 104, 105, 10, 2048]
    assert m.tokens_mean == pytest.approx(np.mean(tokens))
    assert m.tokens_p50 == pytest.approx(np.quantile(tokens, 0.5))
    assert m.tokens_p90 == pytest.approx(np.quantile(tokens, 0.9))
    assert m.tokens_per_correct == pytest.approx(sum(tokens) / 6)


def test_guess_correction_uses_mean_guess_chance():
    records = [make_record(sample=i, guess=0.25, correct=i < 5) for i in range(8)]
    m = metrics(_tally(records))
    assert m.guess == 0.25
    assert m.excess == pytest.approx((5 / 8 - 0.25) / 0.75)
    assert m.excess_low == pytest.approx((m.accuracy_low - 0.25) / 0.75)
    assert m.excess_high == pytest.approx((m.accuracy_high - 0.25) / 0.75)


def test_empty_group_is_undefined_not_a_crash():
    m = metrics(_tally([make_record(offline=True), make_record(error={"type": "timeout"})]))
    assert m.n == 0 and m.accuracy is None and m.accuracy_low is None and m.excess is None
    assert m.tokens_mean is None and m.tokens_p50 is None and m.tokens_per_correct is None


def test_missing_usage_is_not_a_crash():
    m = metrics(_tally([make_record(tokens=None), make_record(sample=1, tokens=7)]))
    assert m.n == 2 and m.tokens_mean == 7


def test_levels_add_up(tmp_path):
    records = grid_run(seed=5)
    write_run(tmp_path / "run", records)
    result = evaluate([tmp_path / "run"], resamples=0)
    run = result.rows("run")
    tasks = result.rows("task")
    points = result.rows("point")
    assert run[0].metrics.n == len(records)
    assert [t.group["task"] for t in tasks] == ["arithmetic", "boolean"]
    assert sum(t.metrics.correct for t in tasks) == run[0].metrics.correct
    assert len(points) == 10 and sum(p.metrics.n for p in points) == len(records)
    assert result.rows("group") == []
    assert result.axes("arithmetic") == ["length", "depth"]
    assert result.axes("boolean") == []


def test_score_formula_by_hand():
    perfect, half, chance = Tally(), Tally(), Tally()
    for i in range(10):
        perfect.add(make_record(sample=i, correct=True))
        half.add(make_record(sample=i, correct=i < 5, truncated=i >= 8))
        chance.add(make_record(sample=i, guess=0.5, correct=i < 5))
    score = run_score("r", [("a", perfect), ("a", half), ("b", chance)], resamples=0)
    task_a = (1.0 + 0.5 * (1 - 0.2)) / 2
    assert score.tasks == pytest.approx({"a": task_a, "b": 0.0})
    assert score.score == pytest.approx(100 * np.sqrt(task_a * FLOOR))
    assert score.low is None


def test_score_bootstrap_is_seeded_and_brackets_the_estimate(tmp_path):
    write_run(tmp_path / "run", grid_run(seed=6, samples=24))
    first = evaluate([tmp_path / "run"], seed=1, resamples=300).scores[0]
    again = evaluate([tmp_path / "run"], seed=1, resamples=300).scores[0]
    other = evaluate([tmp_path / "run"], seed=2, resamples=300).scores[0]
    assert (first.low, first.high) == (again.low, again.high)
    assert (first.low, first.high) != (other.low, other.high)
    assert first.low <= first.score <= first.high
    assert first.points == 10 and set(first.tasks) == {"arithmetic", "boolean"}


def test_nothing_scored_gives_no_score():
    assert run_score("r", [("a", _tally([make_record(offline=True)]))]).score is None
