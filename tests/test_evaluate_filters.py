"""--where and --group-by: the older syntax, run by DuckDB, with fields checked against the data."""

from __future__ import annotations

import json

import pytest

from contour.errors import ContourError
from contour.evaluate import evaluate
from contour.evaluate.cli import evaluate_command
from contour.evaluate.filters import to_sql
from tests.evalfixtures import grid_run, make_record, run_command, write_run

RECORD = make_record("007_arithmetic_length-8", params={"length": 8, "depth": 2}, tokens=300,
                     genresult={"has_distractors": True, "nesting": 2, "tags": ["a", "b"],
                                "name": "x|y"}, correct=False, truncated=True)
OTHER = make_record("001_arithmetic_length-2", params={"length": 2, "depth": 0}, tokens=50,
                    genresult={"has_distractors": False, "nesting": 0, "tags": ["c"], "name": "z"},
                    correct=True, truncated=False, target="7")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("filters") / "run", [RECORD, OTHER])


def kept(folder, where: str) -> set[str]:
    """Keys of the records that pass `where` (through the aggregator's group column)."""
    result = evaluate([folder], where=where, group_by=["key"], resamples=0)
    return {row.group["key"] for row in result.rows("group")}


@pytest.mark.parametrize("expression,expected", [
    ("genresult.has_distractors == true", {RECORD["key"]}),
    ("genresult.has_distractors", {RECORD["key"]}),
    ("params.length >= 8 and params.depth < 3", {RECORD["key"]}),
    ("params.length > 8 or params.depth == 0", {OTHER["key"]}),
    ("not is_correct", {RECORD["key"]}),
    ("is_truncated", {RECORD["key"]}),
    ("not (is_truncated and params.length == 8)", {OTHER["key"]}),
    ("base_task in ['arithmetic', 'boolean']", {RECORD["key"], OTHER["key"]}),
    ('base_task not in ["arithmetic"]', set()),               # double quotes: a string
    ("'a' in genresult.tags", {RECORD["key"]}),                # list membership
    ("'ari' in base_task", {RECORD["key"], OTHER["key"]}),     # substring
    ("usage.completion_tokens <= 300.0", {RECORD["key"], OTHER["key"]}),
    ("usage.completion_tokens < -1e3", set()),
    ("error == null", {RECORD["key"], OTHER["key"]}),
    ("error != null", set()),
    ("error.type == 'timeout'", set()),                        # no record failed: a known field, no match
    ("messages.0.role == 'user'", {RECORD["key"], OTHER["key"]}),
    ("genresult.tags == ['a', 'b']", {RECORD["key"]}),
    ("genresult.name == 'x|y'", {RECORD["key"]}),
    ("target == '42' and error is null", {RECORD["key"]}),
    ("extracted_answer != target", {RECORD["key"]}),           # field against field
    ("len(genresult.tags) = 1", {OTHER["key"]}),               # any DuckDB function
    ("params.length == 8 and (is_correct or is_truncated) and error is null", {RECORD["key"]}),
    ("input LIKE '%#0'", {RECORD["key"], OTHER["key"]}),
    ("target == 'it\\'s'", set()),
])
def test_expressions(pair, expression, expected):
    assert kept(pair, expression) == expected


def test_older_spellings_become_sql():
    assert to_sql("a.b == null and c != null") == "a.b IS null and c IS NOT null"
    assert to_sql("messages.0.role == \"user\"") == "messages[1].role == 'user'"
    assert to_sql("x == 'it\\'s \"q\"'") == "x == 'it''s \"q\"'"
    assert to_sql('"task" == "t"', ["task"]) == "\"task\" == 't'"   # a column name stays a name
    assert to_sql('params."my key" == 1') == 'params."my key" == 1'


@pytest.mark.parametrize("expression,words", [
    ("genresult.has_distractor == true", "no record has the field 'genresult.has_distractor'; "
                                         "did you mean 'genresult.has_distractors'?"),
    ("genresul.nesting == 1", "no record has the field 'genresul'; did you mean 'genresult'?"),
    ("params.has_distractors", "did you mean 'genresult.has_distractors'?"),
    ("usage.zzz > 3", "usage has: completion_tokens, prompt_tokens, total_tokens"),
    ("genresult.nesting.level == 1", "'genresult.nesting' is a BIGINT, not an object with field 'level'"),
    ("messages.0.rol == 'user'", "no record has the field 'messages[1].rol'; did you mean 'messages[1].role'?"),
    ("error.typ == 'timeout'", "did you mean 'error.type'?"),
])
def test_unknown_fields_are_named_with_close_matches(pair, expression, words):
    with pytest.raises(ContourError) as caught:
        evaluate([pair], where=expression, resamples=0)
    message = str(caught.value)
    assert message.startswith(f"invalid --where expression {expression!r}: ")
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize("expression,position,words", [
    ("params.length >", 16, "ends too early"),
    ("params.length == 8 and", 23, "ends too early"),
    ("(is_correct", 1, "'(' is never closed"),
    ("params.length == 8 )", 20, "')' without a matching '('"),
    ("params.length == 'abc", 18, "unterminated"),
    ("is_correct is_valid", 12, "syntax error"),
])
def test_syntax_errors_name_expression_and_position(pair, expression, position, words):
    with pytest.raises(ContourError) as caught:
        evaluate([pair], where=expression, resamples=0)
    message = str(caught.value)
    assert f"invalid --where expression {expression!r} at position {position}:" in message
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize("expression,words", [
    ("   ", "it is empty"),
    ("params.length", "gives BIGINT values, not true/false"),
    ("1 < params.length < 3", "Chained comparisons"),
    ("nosuchfunction(params.length)", "nosuchfunction does not exist"),
    ("1) UNION SELECT * FROM records WHERE (1", "')' without a matching '('"),
])
def test_other_bad_expressions(pair, expression, words):
    with pytest.raises(ContourError) as caught:
        evaluate([pair], where=expression, resamples=0)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_value_of_the_wrong_type_fails_clearly(pair):
    with pytest.raises(ContourError, match=r"--where \"params.length > 'a'\" failed on .*"
                                           r"Could not convert string 'a'"):
        evaluate([pair], where="params.length > 'a'", resamples=0)


def test_typo_in_where_is_one_cli_line_naming_the_nearest_field(pair):
    result = run_command(evaluate_command, pair, "--where", "genresult.has_distractor")
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: invalid --where expression 'genresult.has_distractor': no record has the "
                     "field 'genresult.has_distractor'; did you mean 'genresult.has_distractors'?"]


def test_group_by_errors(pair):
    with pytest.raises(ContourError, match="invalid --group-by field 'params.lenght': no record has "
                                           "the field 'params.lenght'; did you mean 'params.length'"):
        evaluate([pair], group_by=["params.lenght"], resamples=0)
    with pytest.raises(ContourError, match=r"invalid --group-by field 'params\.\.x' at position 8"):
        evaluate([pair], group_by=["params..x"], resamples=0)


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
    assert unfiltered.metrics.n == len(records) != row.metrics.n


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


def test_group_by_an_expression(tmp_path):
    records = grid_run(seed=5)
    write_run(tmp_path / "run", records)
    result = evaluate([tmp_path / "run"], group_by=["params.length >= 4"], resamples=0)
    counts = {row.group["params.length >= 4"]: row.metrics.n for row in result.rows("group")}
    lengths = [r["params"].get("length") for r in records]
    assert counts == {True: sum(n is not None and n >= 4 for n in lengths),
                      False: sum(n is not None and n < 4 for n in lengths),
                      None: lengths.count(None)}      # SQL: a comparison with a missing value is null


def test_damaged_lines_keep_the_filter_aligned(tmp_path):
    """Bad lines of every kind between good ones: the filter still applies to the right records."""
    records = grid_run(seed=6)[:40]
    folder = write_run(tmp_path / "run", [])
    # the last: JSON with a trailing comma, which DuckDB reads and Python rejects
    junk = ["not json", "[1, 2]", "42", '{"task": "x"}', "", "   ", '"a string"',
            '{"task": "t", "base_task": "arithmetic", "key": "extra", "params": {"length": 9},}']
    lines = []
    for i, record in enumerate(records):
        lines.append(json.dumps(record))
        if i % 5 == 0:
            lines.append(junk[(i // 5) % len(junk)])
    body = ("\n".join(lines) + "\n").encode() + b'{"task": "\xff\xfe"}\n' + b'{"task": "cut'
    (folder / "records.jsonl").write_bytes(body)
    warnings = []
    result = evaluate([folder], where="params.length >= 4 and is_correct", resamples=0,
                      group_by=["key"], on_damaged=warnings.append)
    expected = {r["key"] for r in records if r["params"].get("length", 0) >= 4 and r["is_correct"]}
    assert {row.group["key"] for row in result.rows("group")} == expected
    assert result.runs[0].records == len(records)
    assert len(warnings) == 8     # 6 junk lines that are not blank, bad UTF-8, the cut-off tail


def test_fields_of_one_run_are_null_in_another(tmp_path):
    a = write_run(tmp_path / "a", [make_record("000_x", genresult={"only_here": 3}, sample=0),
                                   make_record("000_x", genresult={"only_here": 5}, sample=1)])
    b = write_run(tmp_path / "b", [make_record("000_x", genresult={"elsewhere": 1}, model="m-b")])
    result = evaluate([a, b], where="genresult.only_here > 4", resamples=0)
    assert [run.kept for run in result.runs] == [1, 0]
