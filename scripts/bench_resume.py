#!/usr/bin/env python3
"""What a resume costs on a large records.jsonl: memory, time, disk written.

    python scripts/bench_resume.py [SIZE_MB ...]     (default: 50 200)

For each size it writes a run folder of realistic online records (about 2 kB
each), then takes it over with the resume code, each case in a fresh process:

clean:     every record final
10% retry: one record in ten failed for a transient reason (they are retried)
cut tail:  10% retry, and the last line was cut by a crash mid-write

and prints, for this checkout's resume and for the one before issue 10
(`git show 2d0be3d:contour/run/resume.py`, which rewrote a copy of the file):
peak memory above the interpreter's baseline, seconds, and bytes written to
disk (a rewrite costs the whole file; an append-only resume, the superseded
list).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OLD_COMMIT = "2d0be3d"


def make_folder(folder: Path, size_mb: int, retry_every: int | None, cut_tail: bool) -> int:
    from contour.results.schema import ResultRecord

    folder.mkdir(parents=True)
    base = ResultRecord(
        task="", version=1, base_task="arithmetic", key="", sample=0, step=0, seed=0,
        params={"length": 4, "depth": 1, "count": 8}, input="Evaluate: 3 + 4 * (2 - 7) =",
        target="-17", response_enum=None, guess_chance=0.0,
        genresult={"chain": [3, "+", 4, "*", [2, "-", 7]], "nesting": 1},
        messages=[{"role": "user", "content": "Evaluate the arithmetic expression. Think step by "
                                              "step, then end with 'Final Answer: <integer>'."}],
        model="bench-model", template="zerocot-nosys", sampler="greedy-2k",
        answer="Let me think. " * 120 + "Final Answer: -17", usage={"prompt_tokens": 60,
                                                                  "completion_tokens": 400},
        timings={"finish_reason": "stop", "stop_reason": None}, extracted_answer="-17",
        normalized_answer="-17", is_valid=True, is_correct=True, is_truncated=False,
        latency_s=1.5, cache_hit=False, extra={"attempts": 1, "request_key": "0" * 64})
    target = size_mb * 1_000_000
    written = n = 0
    with open(folder / "records.jsonl", "w", encoding="utf-8") as out:
        while written < target:
            point, sample = divmod(n, 64)
            base.task, base.key, base.sample = f"{point:05d}_arithmetic", f"{point:05d}_arithmetic-{sample}", sample
            base.error = {"type": "server_error", "message": "HTTP 500", "status": 500} \
                if retry_every and n % retry_every == 0 else None
            line = base.to_json() + "\n"
            out.write(line)
            written += len(line)
            n += 1
        if cut_tail:
            out.write(line[: len(line) // 2])
    (folder / "manifest.json").write_text(json.dumps({"fingerprint": "bench", "status": "running"}))
    return n


def measure(folder: Path, which: str) -> dict:
    """In a fresh interpreter, load the earlier records with `which` resume code;
    returns peak memory above the baseline, seconds, and bytes written
    (write() system calls, from /proc/self/io)."""
    code = f"""
import json, resource, sys, time, types, subprocess
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
import contour.run.resume as new
def old(path, name):
    source = subprocess.run(["git", "show", "{OLD_COMMIT}:" + path], cwd={str(REPO)!r},
                            capture_output=True, text=True, check=True).stdout
    module = sys.modules[name] = types.ModuleType(name)
    exec(compile(source, path, "exec"), module.__dict__)
    return module
if {which!r} == "before":
    module = old("contour/run/resume.py", "old_resume")
    module.repair_tail = old("contour/results/writer.py", "old_writer").repair_tail
    load = lambda folder: module.load_finished(folder, lambda record: None)
else:
    load = lambda folder: new.load_finished(folder, lambda record: None)
def wchar():
    return int(dict(l.split(": ") for l in open("/proc/self/io").read().splitlines())["wchar"])
base, written = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, wchar()
start = time.perf_counter()
load(Path({str(folder)!r}))
seconds = time.perf_counter() - start
written = wchar() - written
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mb": (peak - base) / 1024, "written_mb": written / 1e6}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(sizes: list[int]) -> None:
    print(f"{'size':>6} {'case':<10} {'records':>8} {'resume':<7} {'peak MB':>8} {'seconds':>8} "
          f"{'written MB':>11}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        for size in sizes:
            for case, retry_every, cut in [("clean", None, False), ("10% retry", 10, False),
                                           ("cut tail", 10, True)]:
                for which in ("before", "now"):
                    folder = Path(tmp) / f"{size}-{case}-{which}".replace(" ", "").replace("%", "")
                    n = make_folder(folder, size, retry_every, cut)
                    result = measure(folder, which)
                    print(f"{size:>4}MB {case:<10} {n:>8} {which:<7} {result['peak_mb']:>8.1f} "
                          f"{result['seconds']:>8.2f} {result['written_mb']:>11.2f}", flush=True)
                    for p in folder.iterdir():
                        p.unlink()
                    folder.rmdir()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50, 200])
