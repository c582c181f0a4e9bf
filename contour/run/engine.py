"""The online engine: steps of (point, round) sent to a server, scored, recorded.

Concurrency: `threads` step workers; each step runs its missing samples on a
pool of `parallel` threads, so at most threads x parallel requests are in
flight. Adaptive precision: when a round of a point completes, the next round
is scheduled unless the point has reached `max_rounds`, its accuracy's 95%
Wilson half-width is within `target_halfwidth`, or its truncation rate exceeds
`max_truncation`.

Resume: see `contour.run.resume`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from contour.run.cache import ResponseCache, request_key
from contour.run.client import TRANSIENT_ERRORS, ChatClient, RetryPolicy, normalize_apibase
from contour.errors import ContourError
from contour.evaluate.stats import wilson_interval
from contour.results.manifest import build_manifest, run_fingerprint
from contour.spec.manifold import Point
from contour.results.writer import RecordWriter, read_manifest, records_path, write_json_atomic
from contour.run.plan import RunSettings, Step, build_record, sample_key
from contour.run.progress import Progress
from contour.results.schema import MANIFEST_FILE, STATS_FILE
from contour.run.resume import Outcome, choose_folder, load_finished, lock_folder
from contour.run.scoring import score_record
from contour.run.livestats import RunStats

ONLINE_MODE = {"online": True}


@dataclass(frozen=True)
class OnlineOptions:
    apibase: str
    apikey: str | None
    parallel: int = 4
    threads: int = 4
    timeout: float = 600.0
    retries: int = 5
    cache: Path = Path("contour-cache.sqlite")
    shuffle: bool = False
    quiet: bool = False


def wilson_halfwidth(correct: int, n: int) -> float:
    interval = wilson_interval(correct, n)
    return math.inf if interval is None else (interval[1] - interval[0]) / 2


class Engine:
    def __init__(self, settings: RunSettings, points: list[Point], options: OnlineOptions, folder: Path):
        self.settings = settings
        self.points = points
        self.options = options
        self.folder = folder
        self.finished: dict[str, Outcome] = {}   # by key, earlier attempts included
        self.client = ChatClient(options.apibase, api_key=options.apikey, timeout=options.timeout,
                                 retry=RetryPolicy(max_retries=options.retries), pool_size=options.threads * options.parallel)
        self.sampler = settings.sampler
        self.cache: ResponseCache | None = None
        self.writer: RecordWriter | None = None
        self.stats = RunStats(folder / STATS_FILE)
        self.progress: Progress | None = None
        self.stop = threading.Event()
        self._by_point: dict[str, list[Outcome]] = {}
        self._lock = threading.Lock()
        self._order_rng = random.Random(f"shuffle-{settings.seed}")

    # -- preparation -----------------------------------------------------
    def check_server(self) -> None:
        self.client.check_model(self.settings.model)
        if self.sampler.params.get("max_tokens") == "model":
            length = self.client.max_model_len(self.settings.model)
            if not length:
                raise ContourError(f"sampler {self.sampler.path}: max_tokens is \"model\" but the "
                                   f"server does not report a context length for '{self.settings.model}'")
            self.sampler = self.sampler.with_max_tokens(length)

    # -- the work --------------------------------------------------------
    def resume(self) -> int:
        """Take over the records of an earlier attempt; returns how many were dropped to retry."""
        def keep(record: dict[str, Any]) -> None:
            self.stats.add(record, from_this_session=False)
            self._by_point.setdefault(record["task"], []).append(Outcome.of(record))

        self.finished, dropped = load_finished(self.folder, keep)
        return dropped

    def run(self) -> None:
        # A waiter on another thread's or process's claim gives up (and sends
        # the request itself) only after the worst case of one complete() call.
        retry = self.client.retry
        worst = self.options.timeout * (retry.max_retries + 1) + retry.backoff_max * retry.max_retries
        self.cache = ResponseCache(self.options.cache, max_wait=worst + 60)
        self.writer = RecordWriter(records_path(self.folder))
        self.progress = Progress(0, enabled=not self.options.quiet)
        queue = [Step(p, 0, self.settings.precision.count) for p in self.points]
        if self.options.shuffle:
            self._order_rng.shuffle(queue)
        for step in queue:
            self._announce(step)
        running: dict[Future, Step] = {}
        pool = ThreadPoolExecutor(self.options.threads, thread_name_prefix="step")
        try:
            while queue or running:
                while queue and len(running) < self.options.threads and not self.stop.is_set():
                    step = queue.pop(0)
                    running[pool.submit(self._run_step, step)] = step
                if not running:
                    break
                done, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    step = running.pop(future)
                    future.result()
                    following = self._next_round(step)
                    if following is not None:
                        self._announce(following)
                        at = self._order_rng.randrange(len(queue) + 1) if self.options.shuffle else len(queue)
                        queue.insert(at, following)
        except BaseException:
            self.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _announce(self, step: Step) -> None:
        missing = sum(1 for s in step.samples if sample_key(step.point, s) not in self.finished)
        self.progress.add_work(missing)

    def _run_step(self, step: Step) -> None:
        todo = [s for s in step.samples if sample_key(step.point, s) not in self.finished]
        if not todo:
            return
        with ThreadPoolExecutor(min(self.options.parallel, len(todo)), thread_name_prefix="req") as pool:
            for future in [pool.submit(self._run_sample, step, s) for s in todo]:
                future.result()

    def _run_sample(self, step: Step, sample: int) -> None:
        if self.stop.is_set():
            return
        record = build_record(self.settings, step.point, sample, step.round)
        body = self.sampler.request_body(self.settings.model, record.messages)
        key = request_key(body)
        started = time.monotonic()
        cached = self.cache.get_or_claim(key)
        if isinstance(cached, dict):
            response, error, attempts, hit = cached, None, 0, True
        else:
            try:
                completion = self.client.complete(body)
                response, error, attempts, hit = completion.response, completion.error, completion.attempts, False
                if response is not None:
                    self.cache.put(key, response)
            finally:
                self.cache.release(cached)
        if self.stop.is_set() and error and error.get("type") in TRANSIENT_ERRORS:
            return  # an interrupted request: leave it to the resume
        score_record(record, response, error)
        record.latency_s = round(time.monotonic() - started, 4)
        record.cache_hit = hit
        record.extra.update(attempts=attempts, request_key=key)
        data = asdict(record)
        outcome = Outcome.of(data)
        with self._lock:
            self.writer.write(record)
            self.finished[record.key] = outcome
            self._by_point.setdefault(record.task, []).append(outcome)
        self.stats.add(data, from_this_session=True)
        self.progress.completed(cache_hit=hit)

    def _next_round(self, step: Step) -> Step | None:
        precision = self.settings.precision
        if step.round + 1 >= precision.max_rounds or self.stop.is_set():
            return None
        with self._lock:
            done = [o for o in self._by_point.get(step.point.point_id, [])
                    if o.step <= step.round and o.error_type is None]
        n = len(done)
        if precision.max_truncation is not None and n and \
                sum(o.truncated for o in done) / n > precision.max_truncation:
            return None
        if precision.target_halfwidth is not None and \
                wilson_halfwidth(sum(o.correct for o in done), n) <= precision.target_halfwidth:
            return None
        return Step(step.point, step.round + 1, step.count)

    def transient_failures(self) -> int:
        with self._lock:
            return sum(o.retry_later for o in self.finished.values())

    def close(self, status: str) -> None:
        if self.progress:
            self.progress.close()
        if self.writer:
            self.writer.close()
        if self.cache:
            self.cache.close()
        self.stats.write(final=True)
        manifest = read_manifest(self.folder) or {}
        manifest["status"] = status
        manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json_atomic(self.folder / MANIFEST_FILE, manifest)


def run_online(settings: RunSettings, points: list[Point], options: OnlineOptions,
               results_dir: Path, output: Path | None = None) -> Path:
    fingerprint = run_fingerprint(settings, ONLINE_MODE)
    folder = choose_folder(settings, fingerprint, results_dir, output)
    engine = Engine(settings, points, options, folder)
    engine.check_server()   # before creating anything: a bad server or model writes nothing
    folder.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(folder)
    try:
        dropped = engine.resume()
        if not options.quiet:
            resumed = (f" (resuming: {len(engine.finished)} records kept, {dropped} failed ones to retry)"
                       if engine.finished or dropped else "")
            click.echo(f"run folder: {folder}{resumed}", err=True)
        manifest = read_manifest(folder) or build_manifest(settings, points, fingerprint, ONLINE_MODE)
        manifest.update(status="running", apibase=normalize_apibase(options.apibase))
        write_json_atomic(folder / MANIFEST_FILE, manifest)
        try:
            engine.run()
        except BaseException:
            engine.close("interrupted")
            raise
        retry_later = engine.transient_failures()
        # A run with transient failures stays resumable: the same command retries them.
        engine.close("incomplete" if retry_later else "complete")
    finally:
        lock.close()
    if not options.quiet:
        click.echo(engine.stats.summary_table())
        click.echo(f"results: {folder}")
        if retry_later:
            click.echo(f"note: {retry_later} requests failed for a transient reason (server down, "
                       "timeouts, 5xx); run the same command again to retry just those", err=True)
    return folder
