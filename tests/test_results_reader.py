"""The one record reader and the one tally: resume, live stats and evaluation agree."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import pytest

from contour.errors import ContourError
from contour.evaluate import evaluate
from contour.results.reader import (DamagedLine, ignore_damaged, read_records, refuse_damaged,
                                    warn_damaged)
from contour.results.schema import SCHEMA_VERSION, ResultRecord
from contour.results.tally import RecordClass, Tally, classify
from contour.results.writer import read_superseded
from contour.run.livestats import RunStats
from contour.run.resume import load_finished
from tests.evalfixtures import make_record, write_run


def _mixed_records() -> list[dict]:
    """Every class of record, at two points."""
    records = [make_record("000_t", "t", i, correct=i % 2 == 0, truncated=i == 1) for i in range(6)]
    records.append(make_record("000_t", "t", 6, error={"type": "client_error", "message": "context too long",
                                                         "status": 400}))
    records.append(make_record("000_t", "t", 7, error={"type": "timeout", "message": "timed out"}))
    crashed = make_record("001_t", "t", 0, correct=False)
    crashed["extra"] = {"scoring_error": "ValueError: bad"}
    records.append(crashed)
    records += [make_record("001_t", "t", i, correct=True) for i in range(1, 4)]
    records.append(make_record("001_t", "t", 4, offline=True))
    return records


def test_every_record_has_one_class():
    kinds = [classify(r) for r in _mixed_records()]
    assert kinds.count(RecordClass.SCORED) == 9
    assert kinds.count(RecordClass.PERMANENT_ERROR) == 1
    assert kinds.count(RecordClass.TRANSIENT_ERROR) == 1
    assert kinds.count(RecordClass.SCORER_ERROR) == 1
    assert kinds.count(RecordClass.UNSCORED) == 1
    assert classify({"error": {"type": "something new"}}) is RecordClass.PERMANENT_ERROR


def test_tally_counts_permanent_errors_as_wrong_unless_excluded():
    tally = Tally()
    for record in _mixed_records():
        tally.add(record)
    assert (tally.records, tally.n, tally.correct, tally.valid) == (13, 10, 6, 9)
    assert (tally.permanent_errors, tally.transient_errors, tally.scorer_errors, tally.unscored) == (1, 1, 1, 1)
    assert tally.errors == {"client_error": 1, "timeout": 1}
    excluded = tally.counts(exclude_permanent_errors=True)
    assert (excluded.n, excluded.correct, excluded.valid) == (9, 6, 9)
    merged = Tally().merge(tally).merge(tally)
    assert merged.n == 20 and merged.errors == {"client_error": 2, "timeout": 2} and len(merged.tokens) == 18


def test_live_stats_and_evaluation_count_the_same(tmp_path):
    records = _mixed_records()
    folder = write_run(tmp_path / "run", records)
    stats = RunStats(tmp_path / "stats.json")
    for record in records:
        stats.add(record, from_this_session=False)
    stats.write(final=True)
    live = json.loads((tmp_path / "stats.json").read_text())
    result = evaluate([folder], resamples=0)
    (run,) = result.rows("run")
    for name in ("n", "valid", "correct", "truncated", "errors", "scorer_errors", "unscored"):
        live_name = {"errors": "error_count"}.get(name, name)
        assert live["total"][live_name] == getattr(run.metrics, name), name
    points = {row.group["point"]: row.metrics for row in result.rows("point")}
    for point, counts in live["per_point"].items():
        assert (counts["n"], counts["correct"]) == (points[point].n, points[point].correct)


def test_resume_keeps_the_file_and_supersedes_transient_failures(tmp_path):
    records = _mixed_records()
    folder = write_run(tmp_path / "run", records)
    before = (folder / "records.jsonl").read_bytes().splitlines(keepends=True)
    seen = []
    earlier = load_finished(folder, seen.append)
    assert earlier.retried == 1 and len(earlier.kept) == len(records) - 1
    assert (folder / "records.jsonl").read_bytes().splitlines(keepends=True) == before   # append-only
    timed_out = [n for n, line in enumerate(before, 1) if b'"timeout"' in line]
    assert read_superseded(folder) == {timed_out[0]: "000_t-7"}
    assert [r["key"] for r in seen] == [r["key"] for r in records if r.get("error") is None
                                        or r["error"]["type"] != "timeout"]
    # Every reader now skips the superseded line; resume still sees it, flagged.
    assert [line.key for line in read_records(folder)] == [r["key"] for r in seen]
    flagged = [line for line in read_records(folder, superseded=True) if line.superseded]
    assert [(line.line, line.key) for line in flagged] == [(timed_out[0], "000_t-7")]


def test_reader_yields_typed_lines_and_applies_the_damage_policy(tmp_path, capsys):
    good = make_record("000_t", "t", 0)
    legacy = {k: v for k, v in make_record("000_t", "t", 1).items() if k != "schema_version"}
    folder = write_run(tmp_path / "run", [good, legacy], tail="[1, 2]\n\n{\"task\": \"x\"}\n{broken")
    lines = list(read_records(folder, ignore_damaged))
    assert [(line.line, line.key, line.point, line.task, line.step) for line in lines] == [
        (1, "000_t-0", "000_t", "t", 0), (2, "000_t-1", "000_t", "t", 0)]
    assert [line.schema_version for line in lines] == [SCHEMA_VERSION, 1]
    assert lines[0].raw == (folder / "records.jsonl").read_bytes().splitlines(keepends=True)[0]
    assert lines[0].kind is RecordClass.SCORED

    damage: list[DamagedLine] = []
    list(read_records(folder, damage.append))
    assert [(d.line, d.reason.split(" (")[0]) for d in damage] == [
        (3, "not a JSON object"), (5, "missing base_task, key"),
        (6, "incomplete last line, 7 bytes: not valid JSON")]
    list(read_records(folder, warn_damaged))
    assert f"{folder / 'records.jsonl'}:3: damaged line skipped (not a JSON object)" in capsys.readouterr().err
    with pytest.raises(ContourError, match=r"records.jsonl: line 3 is not a JSON object"):
        list(read_records(folder, refuse_damaged))


def test_schema_version_is_the_last_field_and_nothing_else_moved():
    record = make_record()
    names = [f.name for f in fields(ResultRecord)]
    assert names[-1] == "schema_version" and record["schema_version"] == SCHEMA_VERSION
    full = ResultRecord(**record).to_json()
    without = json.dumps({k: v for k, v in asdict(ResultRecord(**record)).items() if k != "schema_version"},
                         ensure_ascii=False, separators=(",", ":"))
    assert full == without[:-1] + f',"schema_version":{SCHEMA_VERSION}}}'
