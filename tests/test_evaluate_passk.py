"""pass@k, maj@k, agreement and their intervals; the k-completion tables."""

import json
from fractions import Fraction
from itertools import combinations

import pytest
from scipy.stats import binomtest

from contour.evaluate import evaluate, summary_tables, to_markdown
from contour.evaluate.passk import (agreement, majority_score, mean_interval, pass_at_k,
                                    sampling_metrics)
from contour.evaluate.passk_coverage import SCENARIOS, simulate, true_values
from tests.conftest import run_contour
from tests.evalfixtures import make_record


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_enumeration_over_subsets(n):
    for c in range(n + 1):
        correct = set(range(c))     # which completions are right does not matter; say the first c
        for k in range(1, n + 1):
            subsets = list(combinations(range(n), k))
            brute = Fraction(sum(bool(correct & set(s)) for s in subsets), len(subsets))
            assert pass_at_k(n, c, k) == pytest.approx(float(brute), abs=1e-12), (n, c, k)


def test_pass_at_k_rejects_impossible_counts():
    for n, c, k in [(4, 5, 1), (4, 2, 5), (4, 2, 0), (3, -1, 1)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def A(*answers):
    """Completions from answer strings: 'ok:x' is a correct x, 'x' a wrong x, None invalid."""
    return [(a.startswith("ok:"), a[3:] if a.startswith("ok:") else a) if a is not None else (False, None)
            for a in answers]


@pytest.mark.parametrize("answers,majority,agree", [
    (A("ok:4", "ok:4", "5", "6"), 1.0, 0.5),
    (A("ok:4", "5", "5", "6"), 0.0, 0.5),
    (A("ok:4", "ok:4", "5", "5"), 0.5, 0.5),           # a two-way tie: half credit
    (A("ok:4", "5", "6", "7"), 0.25, 0.25),            # four-way tie
    (A("5", "6", None, None), 0.0, 0.25),              # invalid completions never vote or agree
    (A(None, None, None, None), 0.0, 0.0),
    (A("ok:4", None, None, None), 1.0, 0.25),
])
def test_majority_tie_rule_and_agreement(answers, majority, agree):
    assert majority_score(answers) == majority
    assert agreement(answers) == agree


@pytest.mark.parametrize("n", [1, 5, 8, 20])
def test_mean_interval_is_clopper_pearson_for_whole_successes(n):
    for s in range(n + 1):
        exact = binomtest(s, n).proportion_ci(0.95, method="exact")
        low, high = mean_interval([1.0] * s + [0.0] * (n - s))
        assert (low, high) == pytest.approx((exact.low, exact.high), abs=1e-9)


def test_mean_interval_moves_smoothly_between_whole_successes():
    below, middle, above = (mean_interval([1.0] * 3 + [x] + [0.0] * 4) for x in (0.0, 0.5, 1.0))
    assert below[0] < middle[0] < above[0] and below[1] < middle[1] < above[1]
    assert mean_interval([]) is None


def test_sampling_metrics_of_a_group():
    tests = [A("ok:1", "ok:1", "2", "3"), A("2", "2", "2", "ok:1"), A("ok:1", "ok:1", "ok:1", "ok:1"),
             A("ok:1", "3")]    # two completions failed: no maj/agreement, no pass@3 or pass@4
    m = sampling_metrics(tests)
    assert (m.tests, m.completions, m.full_tests) == (4, 4, 3)
    assert m.mean_accuracy.value == pytest.approx((0.5 + 0.25 + 1 + 0.5) / 4)
    assert m.pass_at[4].value == pytest.approx(1.0) and m.pass_at[4].tests == 3
    assert m.pass_at[2].value == pytest.approx((5 / 6 + 0.5 + 1 + 1) / 4)
    assert m.majority.value == pytest.approx((1 + 0 + 1) / 3)
    assert m.agreement.value == pytest.approx((0.5 + 0.75 + 1) / 3)


def test_true_values_match_a_direct_expectation():
    # p fixed: maj@4 with one wrong answer = P(C > 2) + P(C = 2) / 2.
    from scipy.stats import binom
    p = SCENARIOS[2].p
    truth = true_values(SCENARIOS[2], 4, 1)
    assert truth["maj@k"] == pytest.approx(binom.sf(2, 4, p) + binom.pmf(2, 4, p) / 2)
    assert truth["pass@k"] == pytest.approx(1 - (1 - p) ** 4)
    assert truth["pass@1"] == pytest.approx(p)


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.name in (
    "p=0.02", "p=0.98", "p=0.5", "Beta(0.1,0.1) bimodal", "Beta(0.05,0.5) mostly 0")],
    ids=lambda s: s.name)
@pytest.mark.parametrize("tests", [8, 16])
def test_intervals_cover_at_small_n_near_0_and_1(scenario, tests):
    coverage = simulate(scenario, tests, k=4, wrong=1, reps=1500, seed=3)
    # 1500 replications: a true 95% shows >= 0.935 with probability > 0.99.
    assert min(coverage.values()) >= 0.935, coverage


def _completion_records(point="000_brackets_open-1", task="brackets", tests=5, k=4, open_=1):
    out = []
    for sample in range(tests):
        for c in range(k):
            ok = (sample + c) % (open_ + 2) != 0
            r = make_record(point, task, sample, {"open": open_}, correct=ok, target=")")
            r["completion"] = c
            r["key"] = f"{point}-{sample}" + (f".{c}" if c else "")
            r["normalized_answer"] = ")" if ok else "]"
            out.append(r)
    return out


def _write(folder, recs, completions=4):
    folder.mkdir()
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (folder / "manifest.json").write_text(json.dumps({"mode": {"online": True, "completions": completions}}))


def test_evaluate_tables_show_pass_at_k_per_point(tmp_path):
    _write(tmp_path / "run", _completion_records())
    evaluation = evaluate([tmp_path / "run"])
    text = to_markdown(summary_tables(evaluation, ["point"]))
    for header in ("pass@1 = mean acc. [95% CI]", "pass@2 [95% CI]", "pass@4 [95% CI]",
                   "maj@4 [95% CI]", "agreement [95% CI]"):
        assert header in text
    [row] = [t for t in summary_tables(evaluation, ["point"]) if t.name == "sampling_point"][0].rows
    assert row["tests"] == 5 and row["k"] == 4 and row["point"] == "000_brackets_open-1"
    expected = sampling_metrics([[(r["is_correct"], r["normalized_answer"]) for r in _completion_records()
                                  if r["sample"] == s] for s in range(5)])
    assert row["pass_at_4"] == expected.pass_at[4].value and row["majority"] == expected.majority.value


def test_plain_runs_get_no_k_completion_tables(tmp_path):
    recs = [r for r in _completion_records() if r["completion"] == 0]
    _write(tmp_path / "run", recs, completions=1)
    names = [t.name for t in summary_tables(evaluate([tmp_path / "run"]))]
    assert not any(n.startswith("sampling_") or n.startswith("reasoning_") for n in names)


def test_reasoning_tokens_per_point(tmp_path):
    recs = _completion_records(tests=2, k=1)
    recs[0].update(reasoning="hmm", reasoning_chars=3, reasoning_tokens=60)
    recs[1].update(reasoning_chars=0, reasoning_tokens=0)
    _write(tmp_path / "run", recs, completions=1)
    tables = {t.name: t for t in summary_tables(evaluate([tmp_path / "run"]), ["point"])}
    [row] = tables["reasoning_point"].rows
    assert (row["records"], row["reasoned"], row["known"]) == (2, 1, 2)
    assert row["reasoning_tokens_mean"] == 30 and row["answer_tokens_mean"] == (100 - 60 + 100) / 2


def test_evaluate_cli_prints_the_k_completion_columns(tmp_path):
    _write(tmp_path / "run", _completion_records())
    proc = run_contour("evaluate", str(tmp_path / "run"), "--level", "point")
    assert proc.returncode == 0, proc.stderr
    assert "pass@4 [95% CI]" in proc.stdout and "maj@4 [95% CI]" in proc.stdout
    assert "agreement [95% CI]" in proc.stdout


def test_k_completion_plot_along_an_axis(tmp_path):
    recs = _completion_records() + _completion_records("001_brackets_open-2", open_=2)
    _write(tmp_path / "run", recs)
    from contour.evaluate.sampling_tables import sampling_plots
    [plot] = sampling_plots(evaluate([tmp_path / "run"]))
    assert plot.name == "sampling_brackets" and plot.png.startswith(b"\x89PNG")


def _clustered_records(tests=8, k=4):
    """Half the tests always right, half right once in k: completions of a test agree."""
    recs = []
    for sample in range(tests):
        for c in range(k):
            ok = sample % 2 == 0 or c == 0
            r = make_record("000_brackets_open-1", "brackets", sample, {"open": 1}, correct=ok, target=")")
            r["completion"] = c
            r["key"] = f"000_brackets_open-1-{sample}" + (f".{c}" if c else "")
            recs.append(r)
    return recs


def test_point_interval_counts_tests_not_completions(tmp_path):
    from contour.intervals import clopper_pearson, clustered_size

    recs = _clustered_records()
    _write(tmp_path / "k", recs, completions=4)
    _write(tmp_path / "plain", recs, completions=1)     # the same records read as 32 independent trials
    (row,) = evaluate([tmp_path / "k"], resamples=0).rows("point")
    (plain,) = evaluate([tmp_path / "plain"], resamples=0).rows("point")
    per_test = [(sum(r["is_correct"] for r in recs if r["sample"] == s), 4) for s in range(8)]
    size = clustered_size([c for c, _ in per_test], [n for _, n in per_test])
    assert 8 <= size < 32
    accuracy = 20 / 32
    assert row.metrics.accuracy == plain.metrics.accuracy == pytest.approx(accuracy)
    assert (row.metrics.accuracy_low, row.metrics.accuracy_high) == pytest.approx(
        clopper_pearson(accuracy * size, size))
    assert (plain.metrics.accuracy_low, plain.metrics.accuracy_high) == pytest.approx(clopper_pearson(20, 32))
    assert row.metrics.accuracy_high - row.metrics.accuracy_low > \
        plain.metrics.accuracy_high - plain.metrics.accuracy_low
    scored = evaluate([tmp_path / "k"], resamples=400).scores[0]
    pooled = evaluate([tmp_path / "plain"], resamples=400).scores[0]
    assert scored.high - scored.low > pooled.high - pooled.low
