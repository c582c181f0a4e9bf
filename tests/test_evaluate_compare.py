"""Paired comparisons: pairing by key, McNemar, Holm, the paired difference interval."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from contour.errors import ContourError
from contour.evaluate import compare_folders, evaluate
from tests.evalfixtures import grid_run, make_record, write_run


def _pair_runs(tmp_path, verdicts_a, verdicts_b, task="arithmetic"):
    a = [make_record(f"000_{task}", task, i, correct=v, model="a") for i, v in enumerate(verdicts_a)]
    b = [make_record(f"000_{task}", task, i, correct=v, model="b") for i, v in enumerate(verdicts_b)]
    return write_run(tmp_path / "a", a), write_run(tmp_path / "b", b)


def test_cells_and_mcnemar_against_exact_reference(tmp_path):
    # 20 both right, 12 only A, 3 only B, 5 neither
    verdicts_a = [True] * 20 + [True] * 12 + [False] * 3 + [False] * 5
    verdicts_b = [True] * 20 + [False] * 12 + [True] * 3 + [False] * 5
    comparison = compare_folders(_pair_runs(tmp_path, verdicts_a, verdicts_b), resamples=500)
    task_row, all_row = comparison.rows
    assert all_row.task == "(all)"
    assert (task_row.pairs, task_row.both_correct, task_row.only_a, task_row.only_b,
            task_row.neither) == (40, 20, 12, 3, 5)
    assert task_row.p_value == pytest.approx(binomtest(12, 15, 0.5).pvalue, rel=1e-12)
    by_hand = 2 * sum(math.comb(15, i) for i in range(4)) / 2 ** 15
    assert task_row.p_value == pytest.approx(by_hand, rel=1e-12)
    assert task_row.difference == pytest.approx(9 / 40)
    assert task_row.accuracy_a == 32 / 40 and task_row.accuracy_b == 23 / 40
    assert task_row.difference_low < task_row.difference < task_row.difference_high
    # Holm over the two rows: both p = 0.0352 → adjusted 0.0703, not significant at 0.05
    assert task_row.p_holm == pytest.approx(min(1, 2 * by_hand))
    assert not task_row.significant


def test_significant_difference_is_flagged(tmp_path):
    verdicts_a = [True] * 60
    verdicts_b = [True] * 20 + [False] * 40
    comparison = compare_folders(_pair_runs(tmp_path, verdicts_a, verdicts_b), resamples=200)
    assert all(row.significant for row in comparison.rows)
    assert comparison.correction == "holm"


def test_pairs_only_common_scored_tests_and_flags_different_inputs(tmp_path):
    a = [make_record("000_x", "x", i, correct=True, model="a") for i in range(10)]
    b = [make_record("000_x", "x", i, correct=i < 5, model="b") for i in range(2, 12)]
    b[0] = make_record("000_x", "x", 2, correct=False, model="b", input_text="another test")
    b[1] = make_record("000_x", "x", 3, model="b", error={"type": "timeout"})
    comparison = compare_folders([write_run(tmp_path / "a", a), write_run(tmp_path / "b", b)],
                                 resamples=0)
    (pairing,) = comparison.pairs
    assert pairing.mismatched == 1          # sample 2: same key, different input
    assert pairing.paired == 6              # samples 4..9
    assert pairing.only_in_a == 3           # 0, 1 absent in B; 3 failed in B
    assert pairing.only_in_b == 2           # 10, 11
    assert comparison.rows[0].pairs == 6
    assert any("share a key but not the test" in note for note in comparison.notes)


def test_three_runs_compare_every_pair_with_holm(tmp_path):
    folders = [write_run(tmp_path / m, grid_run(seed=i, model=m, skill=0.1 * i))
               for i, m in enumerate(["m0", "m1", "m2"])]
    comparison = compare_folders(folders, resamples=100)
    pairs = {(r.run_a, r.run_b) for r in comparison.rows}
    assert len(pairs) == 3 and len(comparison.rows) == 3 * 3
    ps = sorted(r.p_value for r in comparison.rows)
    assert min(r.p_holm for r in comparison.rows) == pytest.approx(min(1, ps[0] * len(ps)))


def test_compare_needs_two_runs(tmp_path):
    folder = write_run(tmp_path / "a", grid_run())
    with pytest.raises(ContourError, match="two or more"):
        evaluate([folder], compare=True)


def test_where_applies_before_pairing(tmp_path):
    folders = _pair_runs(tmp_path, [True] * 10, [False] * 10)
    comparison = compare_folders(folders, where="sample < 4", resamples=0)
    assert comparison.rows[0].pairs == 4


def test_run_without_verdicts_has_nothing_to_compare(tmp_path):
    scored = write_run(tmp_path / "a", [make_record(sample=i, model="a") for i in range(3)])
    offline = write_run(tmp_path / "b", [make_record(sample=i, offline=True) for i in range(3)])
    comparison = compare_folders([scored, offline], resamples=0)
    assert comparison.rows == []
    assert comparison.pairs[0].paired == 0 and comparison.pairs[0].only_in_a == 3
    assert any("no scored tests in common" in note for note in comparison.notes)


def test_runs_with_several_completions_pair_each_test_once(tmp_path):
    def run(name, right):
        recs = []
        for sample in range(10):
            for c in range(4):
                r = make_record("000_arithmetic", "arithmetic", sample, correct=right(sample, c), model=name)
                r["completion"], r["key"] = c, f"000_arithmetic-{sample}" + (f".{c}" if c else "")
                recs.append(r)
        return write_run(tmp_path / name, recs)

    # A solves every test every time; B solves the even tests, but only on its first completion.
    a, b = run("a", lambda s, c: True), run("b", lambda s, c: s % 2 == 0 and c == 0)
    comparison = compare_folders([a, b], resamples=0)
    task_row = comparison.rows[0]
    assert (task_row.pairs, task_row.only_a, task_row.only_b) == (10, 5, 0)    # 10 tests, not 40 pairs
    assert any("first completion" in note and "60 later completions" in note for note in comparison.notes)
