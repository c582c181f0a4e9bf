"""Helpers for tests that drive the runner CLI against a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import REPO, run_cli


def online_args(apibase: str, model: str, out: Path, cache: Path, *extra: str,
                config: Path | None = None, sampler: str = "greedy-2k",
                template: str = "zerocot-nosys") -> list[str]:
    return ["--config", str(config or REPO / "configs" / "quick.yaml"), "--template", template,
            "--sampler", sampler, "--model", model, "--apibase", apibase,
            "--output", str(out), "--cache", str(cache), *extra]


def run_online(apibase: str, model: str, tmp: Path, *extra: str, out: str = "run", **kw):
    return run_cli(*online_args(apibase, model, tmp / out, tmp / "cache.sqlite", *extra, **kw))


def records(folder: Path) -> list[dict[str, Any]]:
    """Every line of records.jsonl, superseded ones included."""
    return [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]


def final_records(folder: Path) -> list[dict[str, Any]]:
    """The records a reader sees: lines marked in records.superseded.jsonl skipped."""
    from contour.results.writer import read_superseded

    superseded = read_superseded(folder)
    return [r for n, r in enumerate(records(folder), 1) if superseded.get(n) != r["key"]]


def assert_stats_match_records(folder: Path) -> None:
    stats = json.loads((folder / "stats.json").read_text())
    recs = final_records(folder)
    total = stats["total"]
    assert total["records"] == len(recs)
    assert total["correct"] == sum(bool(r["is_correct"]) for r in recs)
    assert total["valid"] == sum(bool(r["is_valid"]) for r in recs)
    assert total["truncated"] == sum(bool(r["is_truncated"]) for r in recs)
    assert total["error_count"] == sum(bool(r["error"]) for r in recs)
    assert total["cache_hits"] == sum(bool(r["cache_hit"]) and not r["error"] for r in recs)
    assert total["completion_tokens"] == sum((r["usage"] or {}).get("completion_tokens", 0) for r in recs)
    assert total["prompt_tokens"] == sum((r["usage"] or {}).get("prompt_tokens", 0) for r in recs)
    assert sum(t["records"] for t in stats["per_point"].values()) == len(recs)
    assert sum(t["records"] for t in stats["per_task"].values()) == len(recs)
    assert stats["final"] is True


def quick_size() -> int:
    from contour.spec.config import load_config
    from contour.spec.manifold import resolve_grid

    config = load_config(REPO / "configs" / "quick.yaml")
    return len(resolve_grid(config)) * config.precision(None).count


def error_line(proc, code: int = 2) -> str:
    """The one stderr line of a failed command (no traceback), checked for its exit code."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    return lines[0]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes), to show nothing changed."""
    if not root.exists():
        return {}
    if root.is_file():
        return {root.name: root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_folders(results: Path) -> list[Path]:
    return sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []


def small_config(folder: Path, precision: str = "{count: 8}", lengths=(2, 3), name: str = "small") -> Path:
    config = folder / f"{name}.yaml"
    config.write_text(f"precision: {{p: {precision}}}\ntasks:\n  - name: arithmetic\n"
                      f"    manifold: {{length: {list(lengths)}}}\n")
    return config


def comparable(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records without what legitimately differs between two runs of the same
    command (latency, time to first token, decode speed, cache hits,
    attempts), sorted by key."""
    drop = {"latency_s", "cache_hit", "extra"}
    measured = {"ttft_s", "decode_tokens_per_s"}

    def keep(r: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in r.items() if k not in drop}
        if isinstance(out.get("timings"), dict):
            out["timings"] = {k: v for k, v in out["timings"].items() if k not in measured}
        return out
    return sorted((keep(r) for r in recs), key=lambda r: r["key"])
