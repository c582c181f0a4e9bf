#!/usr/bin/env python3
"""Contour's benchmark: prints tables of throughput measured in one run, and
the coverage of every interval Contour prints.

    python scripts/bench.py [generation] [runner] [evaluate] [passk] [sql] [coverage]

generation: per task, tests generated per second and tests generated and
            rendered (zerocot-nosys and multishot) per second, at the middle
            point of configs/full.yaml at degree 1, and the one-time cost of a
            point's first test (its guess-chance simulation, once per process).
runner:     requests/s and CPU per request of the full online engine
            (generation, rendering, cache, HTTP, scoring, records, stats)
            beside a plain requests+threads client and lm-eval's
            local-chat-completions client (when importable, here or from
            $CONTOUR_BENCH_LMEVAL_PYTHON), each in its own process, against
            one local server (tests/faultserver.py, its own process) that
            answers after 0 and 50 ms, at C = threads x parallel = 1, 16, 64,
            256; then a fully cached rerun of 100,000 tests (0 requests sent).
            Contour's rate is given over the whole command and over its
            sending span (first step to last record), the span the other
            clients' clocks cover; the ratios use the latter.
            Options: runner --requests N --delays 0,50 --concurrency 1,16,64,256
            --cached N --no-stream (also Contour with --no-stream)
            --requests-transport (also Contour with --transport requests).
evaluate:   records/s and peak memory of evaluation at 100k and 1M records.
passk:      simulated coverage of the 95% intervals of pass@1, pass@2, pass@k,
            maj@k and agreement (contour.evaluate.passk_coverage) over n tests
            of k completions, near 0 and 1 and for mixed difficulty.
sql:        the DuckDB paths (--where/--group-by, contour sql on JSONL and Parquet,
            the Parquet export, the HTML report) against plain evaluation, 100k records.
coverage:   coverage of the per-point, adaptive, row, score and paired
            intervals (exact enumeration, or simulation with its Monte Carlo
            error), and samples spent by the shipped adaptive precision
            blocks against the fixed count that reports the same width.
            Not part of the default run; about two minutes on 2 cores.
"""

from __future__ import annotations

import os
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
    print(f"{'task':<12}{'point':<52}{'first ms':>9}{'gen/s':>10}{'gen+zerocot/s':>15}"
          f"{'gen+multishot/s':>17}")
    for entry in config.tasks:
        points = resolve_entry(entry, 1, "normal")
        point = points[len(points) // 2]
        task = get_task(point.task)
        start = time.perf_counter()
        generate_test(task, 0, point.params, 0)
        first_ms = 1000 * (time.perf_counter() - start)
        rates = []
        for template in [None, *templates]:
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                test = generate_test(task, 0, point.params, n)
                if template is not None:
                    template.render(task, point.params, test)
                n += 1
            rates.append(n / (time.perf_counter() - start))
        print(f"{entry.name:<12}{point.point_id[:50]:<52}{first_ms:>9.0f}{rates[0]:>10.0f}"
              f"{rates[1]:>15.0f}{rates[2]:>17.0f}")


# -- runner: Contour beside other clients ------------------------------------------------

# C = threads x parallel, as a user would set them for that concurrency.
SHAPES = {1: (1, 1), 4: (2, 2), 16: (4, 4), 64: (8, 8), 256: (16, 16)}
LMEVAL_PYTHON_ENV = "CONTOUR_BENCH_LMEVAL_PYTHON"
BENCH_MODEL = "bench-model"


def _serve(port_queue, stop_event, delay: float) -> None:
    """The far end: tests/faultserver.py answering every request after `delay`
    seconds, validly (streamed when asked), in a process of its own so it does
    not share the clients' GIL. Puts its apibase, then at the end its hit count."""
    from tests.faultserver import Fault, FaultServer

    with FaultServer(models=[BENCH_MODEL], default=Fault(delay=delay)) as server:
        port_queue.put(server.apibase)
        stop_event.wait()
        port_queue.put(server.hits)


class _Server:
    def __init__(self, delay_s: float):
        import multiprocessing

        self.queue, self.stop = multiprocessing.Queue(), multiprocessing.Event()
        self.process = multiprocessing.Process(target=_serve, args=(self.queue, self.stop, delay_s),
                                               daemon=True)

    def __enter__(self) -> str:
        self.process.start()
        return self.queue.get(timeout=60)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.hits = self.queue.get(timeout=30)
        self.process.join(timeout=30)


def _bench_config(folder: Path, requests: int) -> tuple[Path, int]:
    """An arithmetic grid of 32 points with enough samples for `requests` distinct tests."""
    points = 32
    count = -(-requests // points)
    config = folder / "bench.yaml"
    config.write_text(
        "name: bench\n"
        f"precision: {{p: {{count: {count}}}}}\n"
        "tasks:\n"
        "  - name: arithmetic\n"
        "    params: {digits: 3, ops: '+-*'}\n"
        "    manifold: {length: [3, 4, 5, 6, 7, 8, 9, 10], depth: [0, 1, 2, 3]}\n")
    return config, points * count


def _cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _contour_client(apibase: str, concurrency: int, requests: int, extra: list[str]) -> dict:
    """The whole online engine (generation, rendering, cache, HTTP, scoring,
    records, stats) as `python runner.py` runs it, quiet, on a fresh cache."""
    import json

    from contour.run.options import RunOptions, run
    # Imported before the clock starts, as the other clients' libraries are
    # (the task modules too: they are Contour's library code).
    import contour.run.engine  # noqa: F401
    import contour.run.endpoints  # noqa: F401
    from contour.tasks.registry import task_names
    task_names()
    if not any(e == "--transport=requests" for e in extra):
        import contour.run.aiowire  # noqa: F401

    threads, parallel = SHAPES[concurrency]
    with tempfile.TemporaryDirectory() as tmp:
        config, _ = _bench_config(Path(tmp), requests)
        cache = Path(os.environ.get("CONTOUR_BENCH_CACHE") or Path(tmp) / "cache.sqlite")
        transport = next((e.split("=", 1)[1] for e in extra if e.startswith("--transport=")), None)
        options = RunOptions(
            config=str(config), template="zerocot-nosys", model=BENCH_MODEL, sampler="greedy-2k",
            apibase=apibase, threads=threads, parallel=parallel, timeout=60, cache=cache,
            output=Path(tmp) / "run", quiet=True, stream="--no-stream" not in extra,
            transport=transport)
        sending = _time_engine_run()
        cpu, start = _cpu_s(), time.perf_counter()
        folder = run(options)
        elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu
        total = json.loads((folder / "stats.json").read_text())["total"]
    return {"requests": total["model_calls"], "records": total["records"], "seconds": elapsed,
            "sending_s": sending[0], "cpu_s": cpu, "errors": total["error_count"]}


def _time_engine_run() -> list[float]:
    """Times `Engine.run` in this (child) process: from the first step planned
    to the last record written. That leaves out what the other clients' clocks
    leave out too (lm-eval's starts once its requests are built): reading the
    config, checking the server, opening the cache and folder, and closing.
    Drawing the tests is inside it: each step draws its point's."""
    from contour.run.engine import Engine

    took = [0.0]
    run_engine = Engine.run

    def timed(engine: Engine) -> None:
        start = time.perf_counter()
        try:
            run_engine(engine)
        finally:
            took[0] += time.perf_counter() - start
    Engine.run = timed  # type: ignore[method-assign]
    return took


def _plain_client(apibase: str, concurrency: int, requests: int) -> dict:
    """What a careful script does: one requests.Session, a thread pool, JSON bodies."""
    from concurrent.futures import ThreadPoolExecutor

    import requests as http
    from requests.adapters import HTTPAdapter

    session = http.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=concurrency, max_retries=0))
    url = apibase + "/chat/completions"

    def one(i: int) -> bool:
        body = {"model": BENCH_MODEL, "max_tokens": 2048, "temperature": 0.0,
                "messages": [{"role": "user", "content": f"What is {i} + {i}?"}]}
        resp = session.post(url, json=body, timeout=60)
        return resp.status_code == 200 and bool(resp.json()["choices"][0]["message"]["content"])

    cpu, start = _cpu_s(), time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        ok = sum(pool.map(one, range(requests)))
    elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu
    return {"requests": requests, "records": ok, "seconds": elapsed, "cpu_s": cpu,
            "errors": requests - ok}


def _lmeval_client(apibase: str, concurrency: int, requests: int) -> dict:
    """lm-evaluation-harness's own OpenAI-compatible chat client (aiohttp),
    `local-chat-completions`, driven through its generate_until."""
    import json
    import logging

    logging.disable(logging.WARNING)
    from lm_eval.api.instance import Instance
    from lm_eval.models.openai_completions import LocalChatCompletion

    lm = LocalChatCompletion(model=BENCH_MODEL, base_url=apibase + "/chat/completions",
                             num_concurrent=concurrency, max_retries=3, timeout=60,
                             tokenized_requests=False)
    instances = [Instance(request_type="generate_until", doc={}, idx=i, arguments=(
        _lmeval_chat(json.dumps([{"role": "user", "content": f"What is {i} + {i}?"}])),
        {"until": [], "max_gen_toks": 2048, "do_sample": False})) for i in range(requests)]
    cpu, start = _cpu_s(), time.perf_counter()
    answers = lm.generate_until(instances, disable_tqdm=True)
    elapsed, cpu = time.perf_counter() - start, _cpu_s() - cpu
    ok = sum(bool(a) for a in answers)
    return {"requests": requests, "records": ok, "seconds": elapsed, "cpu_s": cpu,
            "errors": requests - ok}


def _lmeval_chat(text: str):
    from lm_eval.models.api_models import JsonChatStr

    return JsonChatStr(text)


def _client_main(argv: list[str]) -> None:
    """Child process: `_client KIND APIBASE C N [flags]`; prints one JSON line."""
    import json

    kind, apibase, concurrency, requests, extra = argv[0], argv[1], int(argv[2]), int(argv[3]), argv[4:]
    if kind == "contour":
        result = _contour_client(apibase, concurrency, requests, extra)
    elif kind == "plain":
        result = _plain_client(apibase, concurrency, requests)
    else:
        result = _lmeval_client(apibase, concurrency, requests)
    print("RESULT " + json.dumps(result), flush=True)


def _lmeval_python() -> str | None:
    """A Python that can import lm_eval: $CONTOUR_BENCH_LMEVAL_PYTHON, or this one."""
    import importlib.util

    configured = os.environ.get(LMEVAL_PYTHON_ENV)
    if configured:
        return configured
    return sys.executable if importlib.util.find_spec("lm_eval") else None


def _measure(python: str, kind: str, apibase: str, concurrency: int, requests: int,
             *extra: str) -> dict | None:
    """One client in a fresh process (clean CPU accounting, no shared state)."""
    import json
    import subprocess

    proc = subprocess.run([python, str(Path(__file__).resolve()), "_client", kind, apibase,
                           str(concurrency), str(requests), *extra],
                          capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  ({kind} at C={concurrency} failed: {(proc.stderr or proc.stdout).strip()[-300:]})")
    return None


def _rate(result: dict | None, clock: str = "seconds") -> float | None:
    return result["requests"] / result[clock] if result and result.get(clock) else None


def _fmt(value: float | None, spec: str = ",.0f") -> str:
    return "–" if value is None else format(value, spec)


def bench_runner(argv: list[str] = ()) -> None:
    """Contour beside a plain requests+threads client and lm-eval, on one
    local server per delay, at each concurrency; then a fully cached rerun."""
    import argparse

    parser = argparse.ArgumentParser(prog="bench.py runner")
    parser.add_argument("--requests", type=int, default=2000, help="requests per client and cell")
    parser.add_argument("--delays", default="0,50", help="server delays in ms")
    parser.add_argument("--concurrency", default="1,16,64,256", help="values of C = threads x parallel")
    parser.add_argument("--cached", type=int, default=100_000,
                        help="tests in the cached-rerun measurement (0: skip it)")
    parser.add_argument("--no-stream", action="store_true",
                        help="also measure Contour with --no-stream")
    parser.add_argument("--requests-transport", action="store_true",
                        help="also measure Contour with --transport requests")
    args = parser.parse_args(list(argv))
    lmeval = _lmeval_python()
    if lmeval is None:
        print(f"note: lm-eval is not installed here; its column is skipped (pip install "
              f"'lm-eval[api]' into this Python, or point ${LMEVAL_PYTHON_ENV} at a Python that has it)")
    levels = [int(c) for c in args.concurrency.split(",")]
    columns = ["server delay", "C", "requests+threads", "lm-eval (aiohttp)", "Contour", "Contour sending"]
    columns += ["Contour sending --no-stream"] * args.no_stream
    columns += ["Contour sending --transport requests"] * args.requests_transport
    columns += ["Contour / lm-eval", "Contour / ideal", "CPU per request: plain / lm-eval / Contour"]
    header = "| " + " | ".join(columns) + " |"
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    print(f"up to {args.requests} requests per cell; Contour streams (its default) unless noted; "
          "the others do not stream; CPU = user + system time of the client's process.\n"
          "Contour: the whole command (config, server check, cache and folder, run, close); "
          "Contour sending: the same run from its first step to its last record, the span "
          "lm-eval's clock covers (it starts once lm-eval's requests are built); the ratios "
          "use the sending rate")
    for delay_ms in [int(d) for d in args.delays.split(",")]:
        with _Server(delay_ms / 1000) as apibase:
            for c in levels:
                ideal = c / (delay_ms / 1000) if delay_ms else None
                # A delayed cell lasts about 5 s at the ideal rate (C=1 at 50 ms
                # would otherwise take 100 s a client), never under 200 requests.
                n = args.requests if ideal is None else min(args.requests, max(200, int(ideal * 5)))
                plain = _measure(sys.executable, "plain", apibase, c, n)
                other = _measure(lmeval, "lmeval", apibase, c, n) if lmeval else None
                mine = _measure(sys.executable, "contour", apibase, c, n)
                plain_nostream = (_measure(sys.executable, "contour", apibase, c, n,
                                           "--no-stream") if args.no_stream else None)
                threaded = (_measure(sys.executable, "contour", apibase, c, n,
                                     "--transport=requests") if args.requests_transport else None)
                cpu = " / ".join(_fmt(1000 * r["cpu_s"] / r["requests"], ".2f") + " ms" if r else "–"
                                 for r in (plain, other, mine))
                sent = _rate(mine, "sending_s")
                cells = [f"{delay_ms} ms", f"{c}" + (f" (ideal {ideal:,.0f})" if ideal else ""),
                         _fmt(_rate(plain)), _fmt(_rate(other)), _fmt(_rate(mine)), _fmt(sent)]
                if args.no_stream:
                    cells.append(_fmt(_rate(plain_nostream, "sending_s")))
                if args.requests_transport:
                    cells.append(_fmt(_rate(threaded, "sending_s")))
                ratio = sent / _rate(other) if sent and _rate(other) else None
                cells += [_fmt(ratio, ".2f"), _fmt(sent / ideal if ideal and sent else None, ".2f"), cpu]
                rows.append("| " + " | ".join(cells) + " |")
                print(rows[-1], flush=True)
    print()
    print("\n".join(rows))
    if args.cached:
        bench_cached_rerun(args.cached)


def bench_cached_rerun(tests: int) -> None:
    """A run of `tests` tests, then the same run again into a new folder on the
    same cache: the rerun must send nothing; its wall time is the replay speed."""
    import json

    print(f"\ncached rerun of {tests:,} tests (first run fills the cache at C=64)")
    with tempfile.TemporaryDirectory() as tmp:
        env_cache = Path(tmp) / "cache.sqlite"
        os.environ["CONTOUR_BENCH_CACHE"] = str(env_cache)
        try:
            server = _Server(0.0)
            with server as apibase:
                first = _measure(sys.executable, "contour", apibase, 64, tests)
            sent_first = server.hits
            server = _Server(0.0)
            with server as apibase:
                again = _measure(sys.executable, "contour", apibase, 64, tests)
            sent_again = server.hits
        finally:
            del os.environ["CONTOUR_BENCH_CACHE"]
    if not (first and again):
        return
    print("| run | records | requests sent | seconds | records/s | CPU per record |")
    print("|---|---|---|---|---|---|")
    for name, r, sent in (("first (fills the cache)", first, sent_first), ("rerun (all cached)", again, sent_again)):
        print(f"| {name} | {r['records']:,} | {sent:,} | {r['seconds']:.1f} | "
              f"{r['records'] / r['seconds']:,.0f} | {1000 * r['cpu_s'] / r['records']:.3f} ms |")


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


COVERAGE_PS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]


def bench_coverage(score_reps: int = 2000, mc_reps: int = 20000) -> None:
    """Coverage tables for every interval (docs/evaluation.md quotes them)."""
    import numpy as np

    from contour.evaluate import coverage as cov

    fine = np.linspace(0.01, 0.99, 981)
    print("\n-- 1. one point, fixed n: exact coverage (no Monte Carlo error) --")
    print(f"{'n':>5} {'method':<16}{'min over p in [.01,.99]':>24}{'p=.02':>8}{'p=.5':>8}{'p=.98':>8}")
    for n in (8, 16, 32, 64, 128):
        for method in ("clopper-pearson", "wilson"):
            at = cov.point_coverage(n, np.array([0.02, 0.5, 0.98]), method)
            print(f"{n:>5} {method:<16}{cov.point_coverage(n, fine, method).min():>24.4f}"
                  + "".join(f"{c:>8.4f}" for c in at))
    _coverage_completions(cov, mc_reps // 4)
    _coverage_adaptive(cov, fine)
    _coverage_rows(cov, mc_reps)
    _coverage_score(cov, score_reps)
    _coverage_paired(cov)


def _coverage_completions(cov, reps: int) -> None:
    import numpy as np

    print(f"\n-- 1b. one point, T tests x K completions, tests differing in difficulty (simulated, "
          f"{reps} reps; ± {float(cov.mc_error(0.95, reps)):.3f}) --")
    print("rho = correlation of one test's completions; clustered = the interval evaluate prints, "
          "pooled = T·K records as independent trials;\n"
          "information = mean effective n / (T·K)")
    ps = (0.02, 0.1, 0.3, 0.5)
    print(f"{'T':>4}{'K':>4}{'rho':>6}" + "".join(f"{'p=' + str(p):>18}" for p in ps)
          + f"{'information':>13}")
    rng = np.random.default_rng(11)
    for tests, k in ((4, 8), (8, 8), (16, 4), (8, 16), (32, 8), (64, 4)):
        for rho in (0.0, 0.2, 0.5, 0.9):
            out = [cov.completion_coverage(p, rho, tests, k, reps, rng) for p in ps]
            cells = "".join(f"{o.coverage:>9.3f} ({o.pooled:.3f})" for o in out)
            print(f"{tests:>4}{k:>4}{rho:>6.1f}{cells}{np.mean([o.information for o in out]):>13.2f}")


def _shipped_blocks(cov):
    from contour.spec.config import load_config

    for name in ("quick", "full"):
        config = load_config(REPO / "configs" / f"{name}.yaml")
        for block in config.precisions.values():
            yield cov.Block(f"{name}.{block.name}", block.count, block.max_rounds,
                            block.target_halfwidth, block.max_truncation)


def _coverage_adaptive(cov, fine) -> None:
    import numpy as np

    from contour.run.adaptive import round_levels

    uniform = np.round(np.arange(0.01, 1.0, 0.02), 2)
    print("\n-- 2. adaptive precision, per shipped block: exact (no Monte Carlo error) --")
    print("coverage = of the interval reported where sampling stopped; old = plain 95% Wilson, "
          "stopping on its half-width;\nfixed n = the fixed count whose 95% Clopper-Pearson interval "
          "has the same mean half-width at that p")
    for block in _shipped_blocks(cov):
        if block.max_rounds == 1:
            print(f"\n{block.name}: count {block.count}, one round: a fixed count (table 1, n = {block.count})")
            continue
        levels = round_levels(block.count, block.max_rounds, block.target_halfwidth)
        print(f"\n{block.name}: count {block.count}, max_rounds {block.max_rounds}, target half-width "
              f"{block.target_halfwidth}; levels per round " + " ".join(f"{lv:.4f}" for lv in levels))
        new = cov.adaptive_design(block, np.array(COVERAGE_PS))
        old = cov.adaptive_design(block, np.array(COVERAGE_PS), cov.plain_wilson)
        fixed = cov.fixed_count_for_width(new.halfwidth, new.ps)
        print(f"{'p':>6}{'coverage':>10}{'old':>8}{'samples':>9}{'on target':>10}{'half-width':>11}"
              f"{'fixed n':>8}{'bias':>9}{'old bias':>9}")
        for i, p in enumerate(COVERAGE_PS):
            print(f"{p:>6.2f}{new.coverage[i]:>10.4f}{old.coverage[i]:>8.4f}{new.samples[i]:>9.1f}"
                  f"{new.on_target[i]:>10.3f}{new.halfwidth[i]:>11.3f}{fixed[i]:>8d}"
                  f"{new.bias[i]:>+9.4f}{old.bias[i]:>+9.4f}")
        grid_new, grid_old = cov.adaptive_design(block, fine), cov.adaptive_design(block, fine, cov.plain_wilson)
        spent = cov.adaptive_design(block, uniform)
        needed = cov.fixed_count_for_width(spent.halfwidth, uniform)
        print(f"min coverage over p in [.01,.99]: {grid_new.coverage.min():.4f} (old rule "
              f"{grid_old.coverage.min():.4f}); over p = .01,.03,..,.99: mean samples "
              f"{spent.samples.mean():.1f}, a fixed count needs {needed.max()} for the same half-width "
              f"at every p ({spent.samples.mean() / needed.max():.2f}x)")
    print("\n-- 2b. truncation stops (simulated, 200000 points each; a truncated answer is wrong, "
          "finished answers right with 0.6) --")
    print(f"{'block':<14}{'trunc.':>7}{'accuracy':>9}{'bias same-round':>16}{'bias lagged':>12}{'± MC':>7}"
          f"{'coverage':>9}{'samples same':>13}{'lagged':>7}")
    rng = np.random.default_rng(3)
    for block in _shipped_blocks(cov):
        if block.max_rounds == 1 or block.max_truncation is None:
            continue
        for t in (0.3, 0.4, 0.5, 0.6, 0.7):
            out = cov.truncation_bias(block, t, 0.6, 200_000, rng)
            print(f"{block.name:<14}{t:>7.2f}{out.accuracy:>9.3f}{out.bias_same_round:>+16.4f}"
                  f"{out.bias_lagged:>+12.4f}{out.bias_error:>7.4f}{out.coverage:>9.4f}"
                  f"{out.samples_same_round:>13.1f}{out.samples_lagged:>7.1f}")


def _coverage_rows(cov, reps: int) -> None:
    import numpy as np

    from contour.spec.config import load_config

    medium = load_config(REPO / "configs" / "full.yaml").precisions["medium"]
    design = cov.Block("full.medium", medium.count, medium.max_rounds, medium.target_halfwidth)
    print(f"\n-- 3. task/run accuracy = mean of 16 point accuracies (simulated, {reps} reps; "
          f"± = Monte Carlo error) --")
    patterns = {"spread .05-.95": np.linspace(0.05, 0.95, 16), "all at .5": np.full(16, 0.5),
                "near 0 (.00-.05)": np.linspace(0.0, 0.05, 16), "near 1 (.95-1)": np.linspace(0.95, 1.0, 16),
                "half 1, half .5": np.r_[np.ones(8), np.full(8, 0.5)],
                "one point .3, rest 0": np.r_[0.3, np.zeros(15)]}
    uneven = np.array([8, 16, 32, 64] * 4)
    rng = np.random.default_rng(4)
    print(f"{'points':<22}{'n = 8':>16}{'n = 32':>16}{'adaptive full.medium':>22}{'n = 8,16,32,64,...':>20}")
    for label, ps in patterns.items():
        cells = [cov.row_coverage(ps, ns, reps, rng) for ns in (8, 32, design, uneven)]
        print(f"{label:<22}" + "".join(f"{c:>10.4f} ±{cov.mc_error(c, reps):.3f}" for c, _ in cells))


def _coverage_score(cov, reps: int) -> None:
    import numpy as np

    from contour.spec.config import load_config
    from contour.spec.generation import generate_test
    from contour.spec.manifold import resolve_grid
    from contour.tasks import get_task

    points = resolve_grid(load_config(REPO / "configs" / "full.yaml"), 1, "normal")
    names = sorted({p.task for p in points})
    guess = [generate_test(get_task(p.task), 0, p.params, 0).guess_chance for p in points]
    grid = cov.Grid(np.array([names.index(p.task) for p in points]), np.array(guess, dtype=float))
    print(f"\n-- 4. overall score (full.yaml, degree 1: {len(points)} points, {len(names)} tasks; "
          f"simulated, {reps} reps, 1000 draws each) --")
    print(f"{'scenario':<12}{'true score':>11}{'n = 8':>18}{'width':>8}{'n = 32':>18}{'width':>8}")
    for name in cov.SCENARIOS:
        cells = [cov.score_coverage(grid, name, n, reps, 1000) for n in (8, 32)]
        print(f"{name:<12}{cells[0][2]:>11.2f}" + "".join(
            f"{c:>11.4f} ±{cov.mc_error(c, reps):.3f}{w:>8.2f}" for c, w, _ in cells))


def _coverage_paired(cov) -> None:
    import numpy as np

    print("\n-- 5. paired difference A − B: exact over P(only A), P(only B) in [0.001, 0.45] "
          "(no Monte Carlo error) --")
    print(f"{'pairs':>6}{'min coverage':>14}{'min, rare (sum <= .1)':>23}{'mean width':>12}{'P([0, 0])':>11}")
    grid, rare = cov.discordance_grid(), cov.discordance_grid(rare_only=True)
    for pairs in (16, 20, 24, 28, 32, 64):
        everywhere, width = cov.paired_coverage(pairs, grid)
        rare_cov, _ = cov.paired_coverage(pairs, rare)
        print(f"{pairs:>6}{everywhere.min():>14.4f}{rare_cov.min():>23.4f}{width.mean():>12.3f}{0.0:>11.1f}")


def main(argv: list[str]) -> None:
    if argv and argv[0] == "_client":
        _client_main(argv[1:])
        return
    if argv and argv[0] == "runner":        # the one part that takes options
        print("\n== runner ==")
        bench_runner(argv[1:])
        return
    parts = argv or ["generation", "runner", "evaluate", "passk", "sql"]
    for part in parts:
        print(f"\n== {part} ==")
        {"generation": bench_generation, "runner": bench_runner, "evaluate": bench_evaluate,
         "passk": bench_passk, "sql": bench_sql, "coverage": bench_coverage}[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
