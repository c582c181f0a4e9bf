"""The online engine: steps of (point, round) sent to a server, scored, recorded.

Concurrency: `threads` step workers; each step runs its missing samples on a
pool of `parallel` threads, so at most threads x parallel requests are in
flight. Adaptive precision: when a round of a point completes, the next round
is scheduled unless the point has reached `max_rounds`, its accuracy's 95%
Wilson half-width is within `target_halfwidth`, or its truncation rate exceeds
`max_truncation`.

K completions per test (`--completions`): each sample's missing completions
are fetched together (`contour.run.fetch`) and each becomes its own record.

Resume: see `contour.run.resume`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import click

from contour.run.cache import ResponseCache
from contour.run.client import TRANSIENT_ERRORS, ChatClient, RetryPolicy, normalize_apibase
from contour.errors import ContourError
from contour.evaluate.stats import wilson_interval
from contour.results.manifest import build_manifest, run_fingerprint
from contour.spec.manifold import Point
from contour.results.writer import RecordWriter, read_manifest, records_path, write_json_atomic
from contour.run.fetch import CompletionFetcher
from contour.run.plan import OnlineSettings, Step, build_record, record_key
from contour.run.progress import Progress
from contour.results.schema import MANIFEST_FILE, STATS_FILE, ResultRecord
from contour.run.resume import Outcome, choose_folder, load_finished, lock_folder
from contour.run.scoring import score_record
from contour.run.livestats import RunStats
from contour.run.sampling import plan_draws, sample_identity

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
    completions: int = 1


def online_mode(options: OnlineOptions) -> dict[str, Any]:
    """What besides the settings decides an online run's records (part of its fingerprint)."""
    return {**ONLINE_MODE, "completions": options.completions} if options.completions > 1 else ONLINE_MODE


def wilson_halfwidth(correct: int, n: int) -> float:
    interval = wilson_interval(correct, n)
    return math.inf if interval is None else (interval[1] - interval[0]) / 2


def connect(settings: OnlineSettings, options: OnlineOptions) -> tuple[ChatClient, OnlineSettings]:
    """A client for the server, after checking that it serves the model; a
    sampler asking for `max_tokens: "model"` gets the served context length."""
    client = ChatClient(options.apibase, api_key=options.apikey, timeout=options.timeout,
                        retry=RetryPolicy(max_retries=options.retries),
                        pool_size=options.threads * options.parallel)
    client.check_model(settings.model)
    sampler = settings.sampler
    if sampler.params.get("max_tokens") == "model":
        length = client.max_model_len(settings.model)
        if not length:
            raise ContourError(f"sampler {sampler.path}: max_tokens is \"model\" but the "
                               f"server does not report a context length for '{settings.model}'")
        settings = settings.with_sampler(sampler.with_max_tokens(length))
    return client, settings


def open_cache(options: OnlineOptions) -> ResponseCache:
    # A waiter on another thread's or process's claim gives up (and sends
    # the request itself) only after the worst case of one complete() call.
    retry = RetryPolicy(max_retries=options.retries)
    worst = options.timeout * (retry.max_retries + 1) + retry.backoff_max * retry.max_retries
    return ResponseCache(options.cache, max_wait=worst + 60)


class Engine:
    """Built whole: the folder exists, the server was checked, the cache is open."""

    def __init__(self, settings: OnlineSettings, points: list[Point], options: OnlineOptions,
                 folder: Path, client: ChatClient, cache: ResponseCache):
        self.settings = settings
        self.points = points
        self.options = options
        self.folder = folder
        self.client = client
        self.cache = cache
        self.fetcher = CompletionFetcher(client, cache)
        self.stats = RunStats(folder / STATS_FILE)
        self.stop = threading.Event()
        self._by_point: dict[str, list[Outcome]] = {}
        self._lock = threading.Lock()
        self._order_rng = random.Random(f"shuffle-{settings.seed}")
        # The earlier attempt's records are taken over (and the file possibly
        # rewritten) before the writer opens it for appending.
        self.finished, self.dropped = load_finished(folder, self._keep)
        self.writer = RecordWriter(records_path(folder))
        self.progress = Progress(0, enabled=not options.quiet)

    # -- the work --------------------------------------------------------
    def _keep(self, record: dict[str, Any]) -> None:
        self.stats.add(record, from_this_session=False)
        self._by_point.setdefault(record["task"], []).append(Outcome.of(record))

    def run(self) -> None:
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

    def _missing(self, step: Step, sample: int) -> list[int]:
        """The completions of a sample that have no record yet."""
        return [c for c in range(self.options.completions)
                if record_key(step.point, sample, c) not in self.finished]

    def _announce(self, step: Step) -> None:
        self.progress.add_work(sum(len(self._missing(step, s)) for s in step.samples))

    def _run_step(self, step: Step) -> None:
        todo = [s for s in step.samples if self._missing(step, s)]
        if not todo:
            return
        with ThreadPoolExecutor(min(self.options.parallel, len(todo)), thread_name_prefix="req") as pool:
            for future in [pool.submit(self._run_sample, step, s) for s in todo]:
                future.result()

    def _run_sample(self, step: Step, sample: int) -> None:
        if self.stop.is_set():
            return
        # A template never scored itself: each completion's record is a fresh copy.
        template = build_record(self.settings, step.point, sample, step.round)
        point = step.point
        identity = sample_identity(self.settings.seed, point.task, point.version, point.params, sample)
        draws = plan_draws(self.settings.sampler, self.settings.model, template.messages, identity,
                           self._missing(step, sample))
        for fetched in self.fetcher.fetch(draws, self.stop):
            error = fetched.error
            if self.stop.is_set() and error and error.get("type") in TRANSIENT_ERRORS:
                continue    # an interrupted request: leave it to the resume
            c = fetched.draw.completion
            record = replace(template, completion=c, extra={}, key=record_key(point, sample, c))
            score_record(record, fetched.response, error)
            record.latency_s = round(fetched.latency_s, 4)
            record.cache_hit = fetched.cache_hit
            record.extra.update(attempts=fetched.attempts, request_key=fetched.draw.key)
            if fetched.draw.seed is not None:
                record.extra["request_seed"] = fetched.draw.seed
            self._finish(record)

    def _finish(self, record: ResultRecord) -> None:
        data = asdict(record)
        outcome = Outcome.of(data)
        with self._lock:
            self.writer.write(record)
            self.finished[record.key] = outcome
            self._by_point.setdefault(record.task, []).append(outcome)
        self.stats.add(data, from_this_session=True)
        self.progress.completed(cache_hit=bool(record.cache_hit))

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
        self.progress.close()
        self.writer.close()
        self.cache.close()
        self.stats.write(final=True)
        manifest = read_manifest(self.folder) or {}
        manifest["status"] = status
        manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json_atomic(self.folder / MANIFEST_FILE, manifest)


def sampling_entry(settings: OnlineSettings, options: OnlineOptions) -> dict[str, Any]:
    """How samples were drawn, for the manifest (rules in contour.run.sampling)."""
    sampler = settings.sampler
    return {"decoding": "stochastic" if sampler.stochastic else "greedy",
            "cache_key": "body + sample identity" if sampler.stochastic else "body",
            "completions": options.completions, "per_request_seed": sampler.per_request_seed}


def run_online(settings: OnlineSettings, points: list[Point], options: OnlineOptions,
               results_dir: Path, output: Path | None = None) -> Path:
    mode = online_mode(options)
    fingerprint = run_fingerprint(settings, mode)
    folder = choose_folder(settings, fingerprint, results_dir, output)
    # Before creating anything: a bad server, model or cache writes nothing.
    client, settings = connect(settings, options)
    cache = open_cache(options)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except BaseException:
        cache.close()
        raise
    lock = lock_folder(folder)
    try:
        engine = Engine(settings, points, options, folder, client, cache)
        if not options.quiet:
            resumed = (f" (resuming: {len(engine.finished)} records kept, "
                       f"{engine.dropped} failed ones to retry)" if engine.finished or engine.dropped else "")
            click.echo(f"run folder: {folder}{resumed}", err=True)
        manifest = read_manifest(folder) or build_manifest(settings, points, fingerprint, mode)
        manifest.update(status="running", apibase=normalize_apibase(options.apibase),
                        sampling=sampling_entry(settings, options))
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
