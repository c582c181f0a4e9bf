#!/usr/bin/env python3
"""Beyond one machine, measured on this one: prints tables with ratios.

    python scripts/bench_scale.py [endpoints] [shards] [vllm]

endpoints: the full runner (configs/full.yaml, corner, degree 0) over 1, 2
           and 3 instantly answering local servers (each in its own process),
           threads x parallel = 8 x 8: requests/s, and the ratio to 1 endpoint.
           The servers cost nothing, so this is the pool's own overhead.
shards:    the same run as 1 process, and as 3 `--shard i/3` processes side
           by side against one instant server, sharing one cache file or
           each with its own: wall time (process start included) and ratio.
vllm:      (slow, needs the local vLLM setup) configs/quick.yaml, 16 tokens,
           greedy, the tiny model: one vLLM server, two servers as two
           endpoints, and --engine vllm (run with the vLLM venv's Python):
           the run's own wall time from stats.json (servers started before,
           the in-process model load not included), requests/s, the ratio to
           one server, and the whole process's time (load included).

Everything runs on this machine's CPU cores, shared by the servers, the
runner and anything else running: ratios here say what the code costs or
saves on one machine, not what several GPUs or machines would give.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _serve_instantly(port_queue, stop_event) -> None:
    from tests.faultserver import FaultServer

    with FaultServer(models=["bench-model"]) as server:
        port_queue.put(server.apibase)
        stop_event.wait()


class InstantServers:
    def __init__(self, n: int):
        self.queue, self.stop = multiprocessing.Queue(), multiprocessing.Event()
        self.procs = [multiprocessing.Process(target=_serve_instantly, args=(self.queue, self.stop),
                                              daemon=True) for _ in range(n)]

    def __enter__(self) -> list[str]:
        for p in self.procs:
            p.start()
        return [self.queue.get(timeout=30) for _ in self.procs]

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for p in self.procs:
            p.join(timeout=10)


def _run_args(apibase: str, out: Path, cache: Path, *extra: str, config="full.yaml",
              model="bench-model", sampler="greedy-2k") -> list[str]:
    return [sys.executable, str(REPO / "runner.py"), "--config", str(REPO / "configs" / config),
            "--template", "zerocot-nosys", "--sampler", sampler, "--model", model,
            "--apibase", apibase, "--output", str(out), "--cache", str(cache), "--quiet", *extra]


def _calls(folder: Path) -> int:
    return json.loads((folder / "stats.json").read_text())["total"]["model_calls"]


def bench_endpoints() -> None:
    print(f"{'endpoints':<11}{'requests':>9}{'seconds':>9}{'req/s':>9}{'ratio':>8}")
    base = None
    with InstantServers(3) as apibases:
        for n in (1, 2, 3):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                subprocess.run(_run_args(",".join(apibases[:n]), Path(tmp) / "run", Path(tmp) / "c.sqlite",
                                         "--density", "corner", "--threads", "8", "--parallel", "8"),
                               check=True, cwd=REPO)
                elapsed = time.perf_counter() - start
                calls = _calls(Path(tmp) / "run")
            rate = calls / elapsed
            base = base or rate
            print(f"{n:<11}{calls:>9}{elapsed:>9.2f}{rate:>9.1f}{rate / base:>8.2f}")


def bench_shards() -> None:
    print(f"{'processes':<22}{'requests':>9}{'seconds':>9}{'req/s':>9}{'ratio':>8}")
    with InstantServers(1) as (apibase,):
        base = None
        for n, shared in ((1, True), (3, True), (3, False)):
            with tempfile.TemporaryDirectory() as tmp:
                extra = ("--density", "corner", "--threads", "4", "--parallel", "4")
                start = time.perf_counter()
                procs = [subprocess.Popen(_run_args(
                    apibase, Path(tmp) / f"s{i}", Path(tmp) / ("c.sqlite" if shared else f"c{i}.sqlite"),
                    *extra, *(["--shard", f"{i}/{n}"] if n > 1 else [])), cwd=REPO)
                    for i in range(1, n + 1)]
                for p in procs:
                    if p.wait() != 0:
                        raise SystemExit("a shard failed")
                elapsed = time.perf_counter() - start
                calls = sum(_calls(Path(tmp) / f"s{i}") for i in range(1, n + 1))
            rate = calls / elapsed
            base = base or rate
            label = f"{n}" + ("" if n == 1 else (", one cache" if shared else ", a cache each"))
            print(f"{label:<22}{calls:>9}{elapsed:>9.2f}{rate:>9.1f}{rate / base:>8.2f}")


def bench_vllm() -> None:
    from contour.local.server import LocalServerConfig, LocalVLLMServer, ensure_setup, model_dir, vllm_python
    from tests.vllmdeps import vllm_runner_env

    ensure_setup()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sampler = tmp / "s16.json"
        sampler.write_text(json.dumps({"max_tokens": 16, "temperature": 0.0}))
        servers = []
        try:
            for _ in range(2):
                t = time.perf_counter()
                servers.append(LocalVLLMServer(LocalServerConfig.for_model("tiny")).start())
                print(f"(a vLLM server started in {time.perf_counter() - t:.1f} s)")
            for label, bases in [("1 server", servers[:1]), ("2 servers", servers)]:
                out = tmp / label.replace(" ", "")
                start = time.perf_counter()
                subprocess.run(_run_args(",".join(s.base_url for s in bases), out, tmp / f"{out.name}.sqlite",
                                         "--threads", "4", "--parallel", "4", config="quick.yaml",
                                         model="tiny", sampler=str(sampler)), check=True, cwd=REPO)
                rows.append((label, out, time.perf_counter() - start))
        finally:
            for s in servers:
                s.stop()
        out = tmp / "inproc"
        args = _run_args("", out, tmp / "inproc.sqlite", "--threads", "4", "--engine", "vllm",
                         "--engine-arg", "dtype=bfloat16", "--engine-arg", "max_model_len=2048",
                         "--engine-arg", "enforce_eager=true", config="quick.yaml",
                         model=str(model_dir("tiny")), sampler=str(sampler))
        args[0] = str(vllm_python())
        at = args.index("--apibase")
        del args[at:at + 2]
        start = time.perf_counter()
        subprocess.run(args, check=True, cwd=REPO, env=vllm_runner_env(REPO))
        rows.append(("in-process", out, time.perf_counter() - start))
        print(f"{'engine':<12}{'requests':>9}{'run s':>8}{'req/s':>8}{'ratio':>7}{'process s':>11}")
        base = None
        for label, folder, process_s in rows:
            stats = json.loads((folder / "stats.json").read_text())
            calls, seconds = stats["total"]["model_calls"], stats["wall_time_s"]
            rate = calls / seconds
            base = base or rate
            print(f"{label:<12}{calls:>9}{seconds:>8.1f}{rate:>8.1f}{rate / base:>7.2f}{process_s:>11.1f}")


def main(argv: list[str]) -> None:
    parts = argv or ["endpoints", "shards"]
    for part in parts:
        print(f"\n== {part} ==")
        {"endpoints": bench_endpoints, "shards": bench_shards, "vllm": bench_vllm}[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
