#!/usr/bin/env python3
"""Contour's benchmark: prints tables of throughput measured in one run.

    python scripts/bench.py [generation] [runner] [evaluate] [passk] [sql]

generation: per task, tests generated per second and tests generated and
            rendered (zerocot-nosys and multishot) per second, at the middle
            point of configs/full.yaml at degree 1.
runner:     requests/s and overhead per request of the full online engine
            (generation, cache, HTTP, scoring, writing) against a local server
            that answers instantly, at threads x parallel = 1, 16 and 64.
evaluate:   records/s and peak memory of evaluation at 100k and 1M records.
passk:      simulated coverage of the 95% intervals of pass@1, pass@2, pass@k,
            maj@k and agreement (contour.evaluate.passk_coverage) over n tests
            of k completions, near 0 and 1 and for mixed difficulty.
sql:        the DuckDB paths (--where/--group-by, contour sql on JSONL and Parquet,
            the Parquet export, the HTML report) against plain evaluation, 100k records.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def bench_generation(seconds: float = 0.5) -> None:
    from contour.spec.config import load_config
    from contour.spec.generation import generate_test
    from contour.spec.manifold import resolve_entry
    from contour.tasks import get_task
    from contour.spec.templates import load_template

    config = load_config(REPO / "configs" / "full.yaml")
    templates = [load_template("zerocot-nosys"), load_template("multishot")]
    print(f"{'task':<12}{'point':<52}{'gen/s':>10}{'gen+zerocot/s':>15}{'gen+multishot/s':>17}")
    for entry in config.tasks:
        points = resolve_entry(entry, 1, "normal")
        point = points[len(points) // 2]
        task = get_task(point.task)
        rates = []
        for template in [None, *templates]:
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                test = generate_test(task, 0, point.params, n)
                if template is not None:
                    template.render(task, point.params, test)
                n += 1
            rates.append(n / (time.perf_counter() - start))
        print(f"{entry.name:<12}{point.point_id[:50]:<52}{rates[0]:>10.0f}{rates[1]:>15.0f}{rates[2]:>17.0f}")


def _serve_instantly(port_queue, stop_event) -> None:
    from tests.faultserver import FaultServer

    with FaultServer(models=["bench-model"]) as server:
        port_queue.put(server.apibase)
        stop_event.wait()


def bench_runner() -> None:
    """The server runs in its own process so it does not share our GIL."""
    import json
    import multiprocessing

    from contour.spec.config import load_config
    from contour.spec.manifold import resolve_grid
    from contour.run.plan import OnlineSettings
    from contour.run.engine import OnlineOptions, run_online
    from contour.spec.samplers import load_sampler
    from contour.spec.templates import load_template

    config = load_config(REPO / "configs" / "full.yaml")
    points = resolve_grid(config, 0, "corner")
    print(f"{'threads x parallel':<20}{'requests':>9}{'seconds':>9}{'req/s':>9}{'ms/request':>12}")
    queue, stop = multiprocessing.Queue(), multiprocessing.Event()
    server = multiprocessing.Process(target=_serve_instantly, args=(queue, stop), daemon=True)
    server.start()
    apibase = queue.get(timeout=30)
    try:
        for threads, parallel in [(1, 1), (4, 4), (8, 8)]:
            with tempfile.TemporaryDirectory() as tmp:
                settings = OnlineSettings(config, load_template("zerocot-nosys"), 0,
                                          config.precision(None), "corner", 0,
                                          model="bench-model", sampler=load_sampler("greedy-2k"))
                options = OnlineOptions(apibase=apibase, apikey=None, parallel=parallel, threads=threads,
                                        timeout=30, cache=Path(tmp) / "cache.sqlite", quiet=True)
                start = time.perf_counter()
                folder = run_online(settings, points, options, Path(tmp) / "results")
                elapsed = time.perf_counter() - start
                n = json.loads((folder / "stats.json").read_text())["total"]["model_calls"]
            print(f"{threads} x {parallel} = {threads * parallel:<11}{n:>9}{elapsed:>9.2f}"
                  f"{n / elapsed:>9.1f}{1000 * elapsed / n:>12.2f}")
    finally:
        stop.set()
        server.join(timeout=10)


def bench_evaluate() -> None:
    from contour.evaluate.bench import main as evaluate_bench

    evaluate_bench()


def bench_passk(reps: int = 4000) -> None:
    from contour.evaluate.passk_coverage import METRICS, SCENARIOS, simulate

    se = (0.95 * 0.05 / reps) ** 0.5
    for k, wrong in ((4, 1), (8, 3)):
        print(f"\nk = {k} completions per test, {wrong} wrong answer(s); {reps} replications "
              f"(Monte-Carlo s.e. {se:.4f} at 0.95)")
        print(f"{'scenario':<26}{'tests':>6}" + "".join(f"{m:>11}" for m in METRICS))
        lowest = 1.0
        for scenario in SCENARIOS:
            for tests in (8, 16, 32):
                coverage = simulate(scenario, tests, k=k, wrong=wrong, reps=reps)
                lowest = min(lowest, *coverage.values())
                print(f"{scenario.name:<26}{tests:>6}" + "".join(f"{coverage[m]:>11.3f}" for m in METRICS))
        print(f"lowest coverage: {lowest:.3f}")


def bench_sql() -> None:
    from contour.evaluate.sqlbench import main as sql_bench

    sql_bench()


def main(argv: list[str]) -> None:
    parts = argv or ["generation", "runner", "evaluate", "passk", "sql"]
    for part in parts:
        print(f"\n== {part} ==")
        {"generation": bench_generation, "runner": bench_runner, "evaluate": bench_evaluate,
         "passk": bench_passk, "sql": bench_sql}[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
