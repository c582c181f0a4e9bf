"""Benchmark: evaluation speed and peak memory on 100k and 1M synthetic records.

    python -m contour.evaluate.bench [--sizes 100000 1000000] [--keep DIR]

Writes synthetic result folders (realistic records of about 1 KB each, over
3 tasks × 48 points) to a temporary folder, then evaluates each in a fresh
subprocess, so that the peak resident set size (getrusage ru_maxrss) of one
evaluation is not mixed with another's or with the writing. Each evaluation
streams the file, tallies, computes the score with 1000 Monte Carlo draws
and renders the Markdown tables. A "where + group-by" row adds a filter on a
genresult field and a grouping by two fields; a "compare (2 runs)" row
evaluates the folder twice as two runs with --compare (pairing every record). The baseline row is the
interpreter with the evaluation modules imported and nothing read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contour.results.schema import RECORDS_FILE

TASKS = {"arithmetic": 0.0, "boolean": 0.5, "movies": 1 / 3}
WHERE = "genresult.has_distractor == false and params.length >= 4"
GROUP_BY = ["params.length", "genresult.nesting"]


def write_synthetic(folder: Path, count: int, seed: int = 0) -> int:
    """Write `count` records; returns the file size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    points = [(task, guess, length, depth) for task, guess in TASKS.items()
              for length in (2, 4, 8, 16, 32, 64) for depth in range(8)]
    with open(folder / RECORDS_FILE, "w", encoding="utf-8") as handle:
        for i in range(count):
            task, guess, length, depth = points[i % len(points)]
            sample = i // len(points)
            point = f"{points.index((task, guess, length, depth)):03d}_{task}_depth-{depth}_length-{length}"
            truncated = rng.random() < 0.02 * depth
            correct = not truncated and rng.random() < max(0.05, 1 - 0.01 * length - 0.08 * depth)
            tokens = rng.randint(30, 900) + (4096 if truncated else 0)
            text = "Evaluate: " + " + ".join(str(rng.randint(1, 99)) for _ in range(min(length, 12)))
            record = {
                "task": point, "version": 1, "base_task": task, "key": f"{point}-{sample}",
                "sample": sample, "step": 0, "seed": 1,
                "params": {"length": length, "depth": depth, "count": 128},
                "input": text, "target": "42", "response_enum": None, "guess_chance": guess,
                "genresult": {"nesting": depth, "has_distractor": sample % 4 == 0},
                "messages": [{"role": "system", "content": "Answer with 'Final Answer: <value>'."},
                             {"role": "user", "content": text}],
                "model": "bench-model", "template": "zerocot-nosys", "sampler": "greedy-4k",
                "answer": "Let me compute this step by step. " * 6 + ("Final Answer: 42" if correct else ""),
                "usage": {"completion_tokens": tokens, "prompt_tokens": 80, "total_tokens": tokens + 80},
                "timings": {"finish_reason": "length" if truncated else "stop"},
                "extracted_answer": "42" if correct else None,
                "normalized_answer": "42" if correct else None,
                "is_valid": correct, "is_correct": correct, "is_truncated": truncated,
                "latency_s": 1.25, "cache_hit": False, "error": None, "extra": {},
            }
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
    return (folder / RECORDS_FILE).stat().st_size


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024   # bytes vs KiB


MODES = {
    "plain": lambda folder: ([folder], {}),
    "where + group-by": lambda folder: ([folder], {"where": WHERE, "group_by": GROUP_BY}),
    "compare (2 runs)": lambda folder: ([folder, folder], {"compare": True}),
}


def measure(folder: str | None, mode: str) -> dict:
    """Evaluate one folder in this process; report seconds and peak RSS."""
    from contour.evaluate import evaluate, summary_tables, to_markdown
    start = time.perf_counter()
    records = 0
    if folder is not None:
        folders, options = MODES[mode](folder)
        result = evaluate(folders, **options)
        to_markdown(summary_tables(result))
        records = sum(run.records for run in result.runs)
    return {"records": records, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def _measure_in_child(folder: Path | None, mode: str) -> dict:
    command = [sys.executable, "-m", "contour.evaluate.bench", "--measure", str(folder or ""),
               "--mode", mode]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m contour.evaluate.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", help="write the synthetic folders here and keep them")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="plain", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure or None, args.mode)))
        return
    with tempfile.TemporaryDirectory(prefix="contour-bench-") as scratch:
        root = Path(args.keep or scratch)
        base = _measure_in_child(None, "plain")
        print(f"{'mode':<18} {'records':>9} {'file MB':>8} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12}")
        print(f"{'baseline':<18} {0:>9} {'-':>8} {'-':>8} {'-':>10} {base['peak_rss_mb']:>12.0f}")
        for size in args.sizes:
            folder = root / f"synthetic-{size}"
            megabytes = write_synthetic(folder, size) / 1e6
            for mode in MODES:
                row = _measure_in_child(folder, mode)
                print(f"{mode:<18} {row['records']:>9} {megabytes:>8.0f} {row['seconds']:>8.1f} "
                      f"{row['records'] / row['seconds']:>10.0f} {row['peak_rss_mb']:>12.0f}", flush=True)
            if not args.keep:
                (folder / RECORDS_FILE).unlink()
        print(f"(python {sys.version.split()[0]}, {os.cpu_count()} cores; score interval with 1000 draws; "
              f"where = {WHERE!r}, group-by = {', '.join(GROUP_BY)})")


if __name__ == "__main__":
    main(sys.argv[1:])
