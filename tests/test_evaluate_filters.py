"""The --where expression language and --group-by field paths."""

from __future__ import annotations

import pytest

from contour.errors import ContourError
from contour.evaluate import evaluate
from contour.evaluate.filters import compile_field, compile_where
from tests.evalfixtures import grid_run, make_record, write_run

RECORD = make_record("007_arithmetic_length-8", params={"length": 8, "depth": 2}, tokens=300,
                     genresult={"has_distractor": True, "nesting": 2, "tags": ["a", "b"],
                                "name": "x|y"}, correct=False, truncated=True)


@pytest.mark.parametrize("expression,expected", [
    ("genresult.has_distractor == true", True),
    ("genresult.has_distractor == 1", False),          # booleans never equal numbers
    ("params.length >= 8 and params.depth < 3", True),
    ("params.length > 8 or params.depth == 2", True),
    ("not is_correct", True),
    ("is_truncated", True),
    ("not (is_truncated and params.length == 8)", False),
    ("base_task in ['arithmetic', 'boolean']", True),
    ("base_task not in [\"arithmetic\"]", False),
    ("'a' in genresult.tags", True),
    ("'ari' in base_task", True),
    ("'has_distractor' in genresult", True),
    ("usage.completion_tokens <= 300.0", True),
    ("usage.completion_tokens < -1e3", False),
    ("genresult.missing == null", True),
    ("genresult.missing.deeper != null", False),
    ("messages.0.role == 'user'", True),
    ("genresult.tags == ['a', 'b']", True),
    ("params.length > 'a'", False),                    # mixed types order as false
    ("genresult.name == 'x|y'", True),
    ("target == '42' and error == null", True),
    ("extracted_answer != target", True),               # field against field
    ("genresult.tags", True),
    ("genresult.nothing", False),
    ("params.length == 8 and (is_correct or is_truncated) and not error", True),
    ("target == 'it\\'s'", False),
])
def test_expressions(expression, expected):
    assert compile_where(expression)(RECORD) is expected


@pytest.mark.parametrize("expression,position,words", [
    ("params.length >", 16, "expected a value"),
    ("params.length == 8 and", 23, "expected a value"),
    ("(is_correct", 12, "expected ')'"),
    ("params.length = 3", 15, "unexpected character '='"),
    ("genresul.x == 1", 1, "unknown record field 'genresul'"),
    ("params.length == 'abc", 18, "unterminated string"),
    ("1 < params.length < 3", 19, "cannot be chained"),
    ("base_task in [params.length]", 15, "literal inside the list"),
    ("is_correct is_valid", 12, "unexpected 'is_valid'"),
    ("__import__('os')", 1, "unknown record field '__import__'"),
    ("params.length == 8 )", 20, "unexpected ')'"),
])
def test_invalid_expressions_name_expression_and_position(expression, position, words):
    with pytest.raises(ContourError) as caught:
        compile_where(expression)
    message = str(caught.value)
    assert repr(expression) in message
    assert f"at position {position}:" in message
    assert words in message
    assert "\n" not in message


def test_empty_expression_is_an_error():
    with pytest.raises(ContourError, match="empty"):
        compile_where("   ")


def test_field_paths():
    assert compile_field("params.length")(RECORD) == 8
    assert compile_field("genresult.tags")(RECORD) == ["a", "b"]
    for bad in ["params.", "1abc", "params length", "nosuch.field", ""]:
        with pytest.raises(ContourError, match="invalid field"):
            compile_field(bad)


def test_filter_by_genresult_matches_hand_count(tmp_path):
    records = grid_run(seed=3)
    write_run(tmp_path / "run", records)
    chosen = [r for r in records if r["genresult"].get("has_distractor") is True]
    result = evaluate([tmp_path / "run"], where="genresult.has_distractor == true", resamples=0)
    (row,) = result.rows("run")
    assert row.metrics.n == len(chosen)
    assert row.metrics.correct == sum(r["is_correct"] for r in chosen)
    assert row.metrics.truncated == sum(r["is_truncated"] for r in chosen)
    assert row.metrics.valid == sum(r["is_valid"] for r in chosen)
    assert result.runs[0].kept == len(chosen)
    assert result.runs[0].records == len(records)

    unfiltered = evaluate([tmp_path / "run"], resamples=0).rows("run")[0]
    assert unfiltered.metrics.n == len(records)
    assert unfiltered.metrics.n != row.metrics.n


def test_group_by_nested_fields_partitions_records(tmp_path):
    records = grid_run(seed=4)
    write_run(tmp_path / "run", records)
    result = evaluate([tmp_path / "run"], group_by=["params.length", "genresult.has_distractor"],
                      resamples=0)
    rows = result.rows("group")
    assert sum(r.metrics.n for r in rows) == len(records)
    for row in rows:
        length, distractor = row.group["params.length"], row.group["genresult.has_distractor"]
        same = [r for r in records if r["params"].get("length") == length
                and r["genresult"]["has_distractor"] == distractor]
        assert row.metrics.n == len(same)
        assert row.metrics.correct == sum(r["is_correct"] for r in same)
