"""`contour grid --check`: distinct tests per point, and axes that bite."""

from __future__ import annotations

from pathlib import Path

import pytest

from contour.spec.checks import (Measured, check_config, estimate_space, unreached_values,
                                 verdict)
from contour.spec.config import load_config, parse_config
from tests.conftest import run_contour

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _config(tmp_path, tasks: str, count: int = 4) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\nprecision:\n  low: {{count: {count}}}\ntasks:\n{tasks}")
    return path


def test_verdicts():
    assert verdict(Measured(1.0, 0.0), Measured(2.0, 0.0)) == "rises"
    assert verdict(Measured(1.84, 0.02), Measured(1.90, 0.02)) == "flat"      # +3%
    assert verdict(Measured(1.0, 0.2), Measured(1.3, 0.2)) == "flat"         # within noise
    assert verdict(Measured(2.0, 0.01), Measured(1.5, 0.01)) == "reversed"
    assert verdict(Measured(0.0, 0.0), Measured(0.0, 0.0)) == "flat"


def test_space_estimates():
    exact = estimate_space("brackets", {"open": 2, "pairs": 0, "types": 2, "noise": 0.0,
                                        "spacing": "spaced"})
    assert (exact.kind, exact.size, exact.answers) == ("exact", 4, 4)
    big = estimate_space("tables", {"rows": 20, "columns": 4, "conditions": 1,
                                    "format": "csv", "operation": "mixed"})
    assert big.kind == "at least" and big.size >= 600 and big.text().startswith(">= ")


def test_a_flat_axis_is_a_warning_and_exit_3(tmp_path):
    # Two operands cannot nest: depth 0 -> 1 changes nothing at length 2.
    path = _config(tmp_path, "  - name: arithmetic\n    params: {}\n"
                             "    manifold: {length: [2, 5], depth: [0, 1]}\n")
    result = run_contour("grid", "--check", "--config", str(path))
    assert result.returncode == 3, result.stderr
    assert "arithmetic: step depth 0 -> 1 (length=2): nesting 0 -> 0, flat" in result.stdout
    assert "depth 0 -> 1 (length=5)" not in result.stdout.split("warnings")[-1]
    assert "1 warnings:" in result.stdout


def test_a_reversed_axis_is_a_warning(tmp_path):
    config = parse_config({"precision": {"low": {"count": 2}}, "tasks": [
        {"name": "letters", "params": {"words": 4},
         "manifold": {"word_length": ["long", "short"]}}]}, "inline")
    [report] = check_config(config, 0, 2)
    [step] = report.steps
    assert step.verdict == "reversed" and step.measure == "letters per word"
    assert any("reversed" in w for w in report.warnings)


def test_short_point_constant_answer_and_unreached_values_are_warnings(tmp_path):
    config = parse_config({"precision": {"low": {"count": 8}}, "tasks": [
        {"name": "brackets", "params": {"pairs": 0, "types": 2},
         "manifold": {"open": {"values": [1, 2, 3, 4, 6], "window": 2, "stride": 1}}},
        {"name": "objects", "params": {"max_quantity": 1, "distractors": 0.0},
         "manifold": {"items": [2, 3]}}]}, "inline")
    reports = check_config(config, 0, 8)
    assert unreached_values(config.tasks[0]) == {}
    warnings = [w for r in reports for w in r.warnings]
    assert "brackets: point 000_brackets_open-1: only 2 distinct tests for 8 samples; " \
           "the rest repeat them" in warnings
    assert any(w.startswith("objects: point 001_objects_items-2: every test has the same answer")
               for w in warnings)
    stuck = parse_config({"precision": {"low": {"count": 1}}, "tasks": [
        {"name": "brackets", "degree": 0,
         "manifold": {"open": {"values": [1, 2, 3, 4], "window": 2, "stride": 1}}}]}, "inline")
    assert unreached_values(stuck.tasks[0]) == {"open": [3, 4]}


def test_every_listed_value_is_reached():
    for name in ("full.yaml", "quick.yaml"):
        config = load_config(CONFIGS / name)
        for entry in config.tasks:
            assert unreached_values(entry) == {}, (name, entry.name)


@pytest.mark.slow
def test_full_config_passes_its_check():
    result = run_contour("grid", "--check", "--config", str(CONFIGS / "full.yaml"), timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.rstrip().endswith("0 warnings")
