"""Streaming result folders, damaged lines, missing folders."""

from __future__ import annotations

import json

import pytest

from contour.errors import ContourError
from contour.evaluate import evaluate, open_result_folder, stream_records
from tests.evalfixtures import make_record, write_run


def _records(n: int) -> list[dict]:
    return [make_record(sample=i, correct=i % 2 == 0) for i in range(n)]


def test_streams_every_record(tmp_path):
    write_run(tmp_path / "run", _records(5))
    assert [r["sample"] for r in stream_records(tmp_path / "run")] == [0, 1, 2, 3, 4]
    assert len(list(stream_records(tmp_path / "run" / "records.jsonl"))) == 5


def test_truncated_last_line_is_reported_and_rest_evaluated(tmp_path, capsys):
    folder = write_run(tmp_path / "run", _records(6), tail=json.dumps(make_record(sample=6))[:57])
    result = evaluate([folder], resamples=0)
    (row,) = result.rows("run")
    assert row.metrics.n == 6 and row.metrics.correct == 3
    err = capsys.readouterr().err
    assert f"{folder / 'records.jsonl'}:7: damaged line skipped" in err
    assert "incomplete last line" in err
    assert [(d.line, d.file) for d in result.runs[0].damaged] == [(7, str(folder / "records.jsonl"))]


def test_damaged_middle_line_is_reported_and_rest_evaluated(tmp_path, capsys):
    folder = write_run(tmp_path / "run", _records(4))
    lines = (folder / "records.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = lines[1][:40] + b"\xff\xfe garbage\n"
    lines.insert(3, b'["not", "an", "object"]\n')
    lines.insert(4, b'{"task": "x"}\n')
    lines.insert(5, b"\n")
    (folder / "records.jsonl").write_bytes(b"".join(lines))
    damaged = []
    kept = list(stream_records(folder, damaged.append))
    assert [r["sample"] for r in kept] == [0, 2, 3]
    assert [d.line for d in damaged] == [2, 4, 5]         # the blank line 6 is not damage
    assert "not a JSON object" in damaged[1].reason
    assert "missing base_task, key" in damaged[2].reason

    result = evaluate([folder], resamples=0)
    assert result.rows("run")[0].metrics.n == 3
    err = capsys.readouterr().err
    assert ":2: damaged line skipped" in err and ":5: damaged line skipped" in err


def test_missing_folder_and_missing_records_are_clear_errors(tmp_path):
    with pytest.raises(ContourError, match="does not exist"):
        open_result_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ContourError, match="has no records.jsonl"):
        open_result_folder(tmp_path / "empty")


def test_manifest_is_read_and_a_broken_one_is_tolerated(tmp_path, capsys):
    folder = write_run(tmp_path / "run", _records(1), manifest={"seed": 9})
    assert open_result_folder(folder).manifest == {"seed": 9}
    (folder / "manifest.json").write_text("{broken")
    assert open_result_folder(folder).manifest == {}
    assert "manifest.json: unreadable" in capsys.readouterr().err
