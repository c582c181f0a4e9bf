"""The online engine: steps of (point, round) sent to a server, scored, recorded.

Concurrency: `threads` step threads, and the requests as coroutines on the
process's one event loop (`contour.run.loop`) under one semaphore of
threads x parallel slots shared by the whole run, so at most threads x
parallel requests are in flight. A step thread builds its tests, looks up
and claims all their cache keys in one query and one transaction, records
its cache hits on the spot in one write, hands the rest to the loop in one
call, and scores and writes each sample's records as they come back (all
that are back in one write). No thread waits on a socket: a request costs
a task, not a thread and two hand-offs. Responses reach the cache through
its writer thread (committed in batches, each with its claim's release).
A record becomes a dict once, shallowly.

Adaptive precision: when a round of a point completes, the next round is
scheduled unless `contour.run.adaptive.stop_reason` says stop (round limit,
target half-width reached by the design's Clopper–Pearson interval, or too
many truncations); that module says why its intervals stay valid. Only each
test's first completion counts there: the design assumes independent samples.

K completions per test (`--completions`): each sample's missing completions
are fetched together (`contour.run.fetch`) and each becomes its own record.

A round is final when each of its records (samples x completions) is final:
anything but a failure worth retrying (`contour.run.resume.RETRY_ON_RESUME`).
The next round is decided only from final rounds, so a run with failures
decides exactly as a fault-free run once a rerun has retried them; a point
whose round is not final waits (status "incomplete", exit code 3).

Faults: a sample whose test cannot be generated or rendered becomes an error
record of type generation_error / template_error (`--fail-fast`: the run
stops instead). Any other failure in a worker (a full disk under the output
or the cache, a bug) stops the run at once: the folder is closed as "stopped"
and stays resumable, and the error reaches the CLI as one line.

Resume: see `contour.run.resume`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

import click

from contour.run.cache import Claim, ResponseCache
from contour.run.adaptive import RoundCounts, stop_reason
from contour.run.client import RetryPolicy
from contour.errors import ContourError
from contour.results.failures import CONNECTION, is_transient
from contour.results.tally import RecordClass
from contour.exits import Interrupted
from contour.results.manifest import build_manifest, run_fingerprint
from contour.spec.checks import ShortPoint, point_short, record_short_points, samples_per_point
from contour.spec.manifold import Point
from contour.results.writer import RecordWriter, records_path, write_json_atomic
from contour.run.fetch import CompletionFetcher, Fetched, Found, held_claims
from contour.run.loop import submit
from contour.run.plan import OnlineSettings, SampleError, Step, build_record, failed_record, record_key
from contour.run.progress import Progress
from contour.results.schema import MANIFEST_FILE, STATS_FILE, ResultRecord
from contour.run.resume import Claimed, Outcome, claim_folder, find_run, load_finished
from contour.run.scoring import score_record
from contour.run.livestats import RunStats
from contour.run.sampling import Draw, plan_draws, sample_identity
from contour.run.shard import Shard, shard_mode, shard_points
from contour.run.stepbatch import fetch_step
from contour.run.transport import AsyncTransport, BatchTransport, Transport, describe, open_transport

ONLINE_MODE = {"online": True}


@dataclass(frozen=True)
class OnlineOptions:
    apibase: str | None         # one, or a comma list; None with engine "vllm"
    apikey: str | None
    parallel: int = 4
    threads: int = 4
    timeout: float = 600.0          # longest silence (streamed) or whole wait (not streamed)
    retries: int = 5
    cache: Path = Path("contour-cache.sqlite")
    shuffle: bool = False
    quiet: bool = False
    completions: int = 1
    fail_fast: bool = False     # stop at the first sample that cannot be generated or rendered
    stream: bool = True
    max_time: float | None = None   # cap on one attempt's total time
    heartbeat: float = 30.0         # seconds without a completion before an in-flight line
    engine: str = "http"        # or "vllm": the model runs in this process
    engine_args: dict[str, Any] | None = None   # keyword arguments for vllm.LLM
    shard: Shard | None = None  # this process's share of the points
    transport: str | None = None    # HTTP library: "aiohttp" or "requests" (None: the default)


def online_mode(options: OnlineOptions) -> dict[str, Any]:
    """What besides the settings decides an online run's records (part of its fingerprint)."""
    return {**ONLINE_MODE, "completions": options.completions} if options.completions > 1 else ONLINE_MODE


def connect(settings: OnlineSettings, options: OnlineOptions) -> tuple[Transport, OnlineSettings]:
    """A transport (one server, several, or vLLM in this process), after checking
    that it serves the model; a sampler asking for `max_tokens: "model"` gets
    the served context length."""
    if options.engine == "vllm":
        from contour.run.inprocess import check_body_fields

        check_body_fields(settings.sampler.request_body(settings.model, []), str(settings.sampler.path))
    client = open_transport(options.engine, options.apibase, settings.model, api_key=options.apikey,
                            timeout=options.timeout, retries=options.retries,
                            pool_size=options.threads * options.parallel,
                            engine_args=options.engine_args, stream=options.stream,
                            max_time=options.max_time, transport=options.transport)
    try:
        client.check_model(settings.model)
        sampler = settings.sampler
        if sampler.params.get("max_tokens") == "model":
            length = client.max_model_len(settings.model)
            if not length:
                raise ContourError(f"sampler {sampler.path}: max_tokens is \"model\" but the "
                                   f"server does not report a context length for '{settings.model}'")
            settings = settings.with_sampler(sampler.with_max_tokens(length))
    except BaseException:
        client.close()
        raise
    return client, settings


def open_cache(options: OnlineOptions) -> ResponseCache:
    # A waiter on another thread's or process's claim gives up (and sends
    # the request itself) only after the worst case of one complete() call.
    # A streamed attempt is bounded by --max-time, not --timeout; without a
    # cap the claim's heartbeat, not this wait, tells a live sender from a dead one.
    retry = RetryPolicy(max_retries=options.retries)
    attempt = max(options.timeout, options.max_time or 0)
    worst = attempt * (retry.max_retries + 1) + retry.backoff_max * retry.max_retries
    return ResponseCache(options.cache, max_wait=worst + 60)


# A step thread's wait, after a first sample is back, for others to record
# with it: one wake-up and one write for several samples. On the runner's
# benchmark (50 ms server, C=64) it cut the CPU per request by a tenth and
# raised the request rate by 3-4%; an answer's record is at most this late.
_GATHER_S = 0.005


class _FailFast(ContourError):
    """A sample could not be generated or rendered under --fail-fast."""


@dataclass
class _Sending:
    """A sample whose draws are not all cached: what the cache said, and the claims it holds."""

    sample: int
    template: ResultRecord
    draws: list[Draw]
    found: dict[str, Found]
    claims: dict[int, Claim]     # by completion; left ones are released by the step thread


class Engine:
    """Built whole: the folder exists and is locked, the server was checked, the cache is open."""

    def __init__(self, settings: OnlineSettings, points: list[Point], options: OnlineOptions,
                 folder: Path, client: Transport, cache: ResponseCache,
                 manifest: dict[str, Any] | None = None):
        self.settings = settings
        self.points = points
        self.options = options
        self.folder = folder
        self.client = client
        self.cache = cache
        self.manifest = manifest if manifest is not None else {}
        self.stats = RunStats(folder / STATS_FILE)
        if hasattr(client, "stats"):    # several endpoints: per-endpoint counts
            self.stats.add_section("endpoints", client.stats)
        self.stop = threading.Event()
        self.failure: BaseException | None = None   # what stopped the run from a worker
        self._by_point: dict[str, list[Outcome]] = {}
        self._planned: list[Step] = []
        self._lock = threading.Lock()
        self._order_rng = random.Random(f"shuffle-{settings.seed}")
        # The earlier attempt's records are taken over before the writer
        # opens the file for appending.
        earlier = load_finished(folder, self._keep)
        self.finished, self.dropped, self.started = earlier.kept, earlier.retried, earlier.started
        self.writer = RecordWriter(records_path(folder))
        self.progress = Progress(0, enabled=not options.quiet, heartbeat_s=options.heartbeat or None)
        # HTTP transports' requests; a batching one gets whole steps (`_run_batch`).
        self.fetcher = (CompletionFetcher(client, cache, sending=self.progress.sending)
                        if isinstance(client, AsyncTransport) else None)
        # The run's requests in flight, over all steps (a semaphore on the shared loop).
        self._slots = asyncio.Semaphore(options.threads * options.parallel)
        # Held by a step thread while it plans or records: one at a time. The
        # other step threads only wait on the network, and Python threads that
        # compute side by side only trade the GIL (measured: 8 step threads
        # computing at once spent 60% more CPU per record than one).
        self._cpu = threading.Lock()
        # The short-point check draws every sample a point may be asked for
        # (`samples_per_point`). Each point's first step does it, as it
        # plans, keeping the tests for itself, rather than the whole run
        # before the first request: the drawing is the same, but requests go
        # out at once and the drawing shares the run's waits. Point id ->
        # ShortPoint or None; None once the manifest has them all.
        self._checked: dict[str, ShortPoint | None] | None = {}

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
                if self._checked is not None and len(self._checked) == len(self.points):
                    self._record_short_points()
                if self.failure is not None:
                    raise self.failure
                self.cache.check()      # a failed background commit stops the run now
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
        self.cache.flush()
        if self._checked is not None:
            # Points no step planned (resumed whole, or sent as batches):
            # their samples are drawn already or never asked, so none is kept.
            for point in self.points:
                if point.point_id not in self._checked:
                    self._check_point(point, self._checked, keep=False)
            self._record_short_points()

    def _check_point(self, point: Point, checked: dict[str, ShortPoint | None], keep: bool) -> None:
        """Is the point short? (`keep`: its step is about to ask for its samples.)"""
        short = point_short(point, self.settings.seed, samples_per_point(self.settings.precision),
                            keep=keep)
        if short is not None:
            self.progress.note(short.note())
        checked[point.point_id] = short

    def _record_short_points(self) -> None:
        assert self._checked is not None
        record_short_points(self.manifest, [s for s in (self._checked[p.point_id] for p in self.points)
                                            if s is not None])
        self._checked = None
        self.write_manifest("running")

    def _missing(self, step: Step, sample: int) -> list[int]:
        """The completions of a sample that have no record yet."""
        return [c for c in range(self.options.completions)
                if record_key(step.point, sample, c) not in self.finished]

    def _announce(self, step: Step) -> None:
        self._planned.append(step)
        self.progress.add_work(sum(len(self._missing(step, s)) for s in step.samples))

    def _run_step(self, step: Step) -> None:
        todo = [s for s in step.samples if self._missing(step, s)]
        if not todo or self.stop.is_set():
            return
        if isinstance(self.client, BatchTransport):
            self._run_batch(self.client, step, todo)
            return
        fetcher = self.fetcher
        assert fetcher is not None
        with self._cpu:
            to_send, looked_up_s, stopped = self._prepare(fetcher, step, todo)
        try:
            if to_send:
                self._send(fetcher, step, to_send, looked_up_s)
        finally:
            # Claims not stored (failed, or never sent), every one tried even if one fails.
            fetcher.release({(sending.sample, completion): claim for sending in to_send
                             for completion, claim in sending.claims.items()})
        if stopped is not None:
            raise stopped

    def _prepare(self, fetcher: CompletionFetcher, step: Step, todo: list[int]
                 ) -> tuple[list[_Sending], float, _FailFast | None]:
        """Plan the step's samples, look them up and claim them in the cache, and
        record its cache hits; what is left to send (each with its claims)."""
        planned: list[tuple[int, ResultRecord, list[Draw]]] = []
        stopped: _FailFast | None = None
        checked = self._checked
        if checked is not None and step.point.point_id not in checked:
            self._check_point(step.point, checked, keep=True)
        for sample in todo:
            try:
                got = self._plan(step, sample)
            except _FailFast as exc:
                # --fail-fast: the samples before this one still run, then the run stops.
                stopped = exc
                break
            if got is not None:
                planned.append((sample, *got))
        # One query and one claim transaction for the whole step.
        started = time.monotonic()
        found = fetcher.lookup([d for _, _, draws in planned for d in draws])
        looked_up_s = time.monotonic() - started
        hits: list[ResultRecord] = []
        to_send: list[_Sending] = []
        given: set[str] = set()
        try:
            for sample, template, draws in planned:
                values = [found.get(d.key) for d in draws]
                if all(isinstance(v, dict) for v in values):
                    for d, v in zip(draws, values):
                        assert isinstance(v, dict)
                        hits.append(self._record(step, sample, template,
                                                 Fetched(d, v, None, 0, True, looked_up_s),
                                                 only=len(draws) == 1))
                    continue
                mine: dict[str, Found] = {}
                for d, v in zip(draws, values):
                    # Two tests with one body (greedy): the first sends, the second waits for it.
                    mine[d.key] = None if isinstance(v, Claim) and d.key in given else v
                    if isinstance(v, Claim):
                        given.add(d.key)
                to_send.append(_Sending(sample, template, draws, mine, held_claims(draws, mine)))
            self._finish_many(hits)     # a step's cache hits: one write
        except BaseException:
            fetcher.release({key: v for key, v in found.items() if isinstance(v, Claim)})
            raise
        return to_send, looked_up_s, stopped

    def _send(self, fetcher: CompletionFetcher, step: Step, to_send: list[_Sending],
              looked_up_s: float) -> None:
        """The step's samples as coroutines on the shared loop, at most threads x
        parallel requests in flight in the whole run; each sample's records are
        written as soon as it is back (several in one write when several are)."""
        back: SimpleQueue[tuple[_Sending, list[Fetched] | BaseException]] = SimpleQueue()

        async def one(sending: _Sending) -> None:
            outcome: list[Fetched] | BaseException = []
            try:
                async with self._slots:
                    if not self.stop.is_set():
                        outcome = await fetcher.afetch(
                            sending.draws, sending.found, sending.claims, self.stop, looked_up_s,
                            lambda c: record_key(step.point, sending.sample, c))
            except BaseException as exc:    # noqa: BLE001 - handed to the step thread
                outcome = exc
                if isinstance(exc, asyncio.CancelledError):
                    raise
            finally:
                back.put((sending, outcome))

        async def every_sample() -> None:
            # Every sample's own outcome, a cancelled one's too: without
            # return_exceptions one cancelled sample would end the gather while
            # the others are still in flight, and their records would be lost.
            await asyncio.gather(*(one(s) for s in to_send), return_exceptions=True)

        waiting = {id(s): s for s in to_send}

        def record(arrived: list[tuple[_Sending, list[Fetched] | BaseException]]) -> None:
            records: list[ResultRecord] = []
            for sending, outcome in arrived:
                del waiting[id(sending)]
                if isinstance(outcome, asyncio.CancelledError):
                    outcome = self._cancelled(sending)
                elif isinstance(outcome, BaseException):
                    raise outcome
                fetcher.release(sending.claims)
                records += self._scored(step, sending.sample, sending.template, outcome)
            self._finish_many(records)

        running = submit(every_sample())
        try:
            while waiting:
                try:
                    arrived = [back.get(timeout=1.0)]
                except Empty:
                    if not running.done():
                        continue
                    try:
                        arrived = [back.get_nowait()]   # put just before the gather ended
                    except Empty:
                        break   # cancelled before some samples even started
                if len(waiting) > 1:
                    time.sleep(_GATHER_S)
                with self._cpu:
                    # Drained once the turn to compute has come: whatever
                    # arrived while waiting for it goes into the same write.
                    while True:
                        try:
                            arrived.append(back.get_nowait())
                        except Empty:
                            break
                    record(arrived)
            if waiting:     # cancelled before they even started: as if cancelled in flight
                with self._cpu:
                    record([(s, asyncio.CancelledError()) for s in list(waiting.values())])
        except BaseException:
            running.cancel()
            raise

    def _cancelled(self, sending: _Sending) -> list[Fetched]:
        """A sample whose request was cancelled though the run goes on (never
        seen; a library's stray cancellation would do it): a retryable failure
        record for each draw rather than a silent gap, so the run ends
        "incomplete" with the reason and a rerun sends it again. After a stop
        it is left to the resume, as every interrupted request is."""
        if self.stop.is_set():
            return []
        error = {"type": CONNECTION, "status": None,
                 "message": "the request was cancelled inside the runner before it finished; "
                            "run the same command again to send it"}
        return [Fetched(d, None, dict(error), 0, False, 0.0) for d in sending.draws]

    def _plan(self, step: Step, sample: int) -> tuple[ResultRecord, list[Draw]] | None:
        """The record template and the missing draws of a sample; None after
        recording a generation/template error for it."""
        point = step.point
        try:
            # A template never scored itself: each completion's record is a fresh copy.
            template = build_record(self.settings, point, sample, step.round)
        except SampleError as exc:
            if self.options.fail_fast:
                raise _FailFast(f"{exc}; stopped by --fail-fast (run the same command again "
                                   "to resume)") from None
            failed = failed_record(self.settings, exc, step.round)
            self._finish_many([replace(failed, completion=c, key=record_key(point, sample, c))
                               for c in self._missing(step, sample)])
            return None
        identity = sample_identity(self.settings.seed, point.task, point.version, point.params, sample)
        draws = plan_draws(self.settings.sampler, self.settings.model, template.messages, identity,
                           self._missing(step, sample))
        return template, draws

    def _run_batch(self, batch: BatchTransport, step: Step, todo: list[int]) -> None:
        """A batching transport gets all of the step's uncached draws in one call."""
        try:
            plans = []
            for sample in todo:
                planned = self._plan(step, sample)
                if planned is not None:
                    plans.append((sample, *planned))
            fetched = iter(fetch_step(batch, self.cache, [d for _, _, draws in plans for d in draws]))
            records = []
            for sample, template, draws in plans:
                records += self._scored(step, sample, template, itertools.islice(fetched, len(draws)))
            self._finish_many(records)
        except BaseException as exc:    # noqa: BLE001 - handed to the main thread, which stops the run
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = exc
        self.stop.set()

    def _scored(self, step: Step, sample: int, template: ResultRecord,
                fetched: Iterable[Fetched]) -> list[ResultRecord]:
        """The records of a sample's fetched draws; an interrupted request is left to the resume."""
        kept = [got for got in fetched
                if not (self.stop.is_set() and got.error and is_transient(got.error.get("type")))]
        return [self._record(step, sample, template, got, only=len(kept) == 1) for got in kept]

    def _record(self, step: Step, sample: int, template: ResultRecord, fetched: Fetched,
                only: bool = False) -> ResultRecord:
        """`only`: the template becomes this one record (no other completion shares it)."""
        c = fetched.draw.completion
        # A shallow copy is what replace() makes here (no field has its own
        # __init__ logic), at half the cost; extra gets its own dict.
        record = template if only else copy.copy(template)
        record.completion, record.extra, record.key = c, {}, record_key(step.point, sample, c)
        score_record(record, fetched.response, fetched.error)
        # Every record has the timing keys; null for cache hits and unstreamed requests.
        record.timings = {**(record.timings or {}), **fetched.timings.as_dict()}
        record.latency_s = round(fetched.latency_s, 4)
        record.cache_hit = fetched.cache_hit
        record.extra.update(attempts=fetched.attempts, request_key=fetched.draw.key)
        if fetched.draw.seed is not None:
            record.extra["request_seed"] = fetched.draw.seed
        return record

    def _finish_many(self, records: list[ResultRecord]) -> None:
        if not records:
            return
        # Shallow: asdict() would deep-copy messages and genresult for nothing
        # (the record is not touched again), and cost more than the scoring.
        datas = [dict(vars(r)) for r in records]
        outcomes = [Outcome.of(d) for d in datas]
        with self._lock:
            self.writer.write_many(datas)
            for record, outcome in zip(records, outcomes):
                self.finished[record.key] = outcome
                self._by_point.setdefault(record.task, []).append(outcome)
        for record, data in zip(records, datas):
            self.stats.add(data, from_this_session=True)
            self.progress.completed(cache_hit=bool(record.cache_hit))

    def _next_round(self, step: Step) -> Step | None:
        precision = self.settings.precision
        if step.round + 1 >= precision.max_rounds or self.stop.is_set():
            return None
        if step.round + 1 <= self.started.get(step.point.point_id, 0):
            return Step(step.point, step.round + 1, step.count)   # an earlier attempt started it
        if not self._rounds_final(step):
            return None     # decided by a rerun, once the failed samples have final records
        with self._lock:
            outcomes = [o for o in self._by_point.get(step.point.point_id, [])
                        if o.step <= step.round and o.completion == 0]
        rounds = [RoundCounts(0, 0, 0) for _ in range(step.round + 1)]
        for o in outcomes:   # n counts as evaluation counts it (contour.results.tally)
            if o.kind is RecordClass.SCORED or o.kind is RecordClass.PERMANENT_ERROR:
                r = rounds[o.step]
                rounds[o.step] = RoundCounts(r.n + 1, r.correct + o.correct, r.truncated + o.truncated)
        if stop_reason(precision, rounds) is not None:
            return None
        return Step(step.point, step.round + 1, step.count)

    def _rounds_final(self, step: Step) -> bool:
        with self._lock:
            final = sum(1 for o in self._by_point.get(step.point.point_id, [])
                        if o.step <= step.round and not o.retry_later)
        return final >= (step.round + 1) * step.count * self.options.completions

    def unfinished(self) -> Counter[str]:
        """Planned samples without a final record, by error type ("not sent"
        for those never tried). Empty exactly when the run is complete."""
        missing: Counter[str] = Counter()
        with self._lock:
            for step in self._planned:
                for s in step.samples:
                    for c in range(self.options.completions):
                        outcome = self.finished.get(record_key(step.point, s, c))
                        if outcome is None:
                            missing["not sent"] += 1
                        elif outcome.retry_later:
                            missing[str(outcome.error_type)] += 1
        return missing

    def write_manifest(self, status: str) -> None:
        self.manifest["status"] = status
        if status != "running":
            self.manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json_atomic(self.folder / MANIFEST_FILE, self.manifest)

    def close(self, status: str) -> BaseException | None:
        """Close everything, then write `status` into the manifest. Returns the
        first problem instead of raising it (a run that is already failing
        must still close): after one, a finished run's status becomes
        "stopped", or stays "running" when even the manifest cannot be
        written (a full disk); both are resumable."""
        problem: BaseException | None = None
        for part in (self.progress.close, self.writer.close, self.cache.close,
                     lambda: self.stats.write(final=True)):
            try:
                part()
            except Exception as exc:    # noqa: BLE001 - close the rest, report the first
                problem = problem or exc
        if problem is not None and status in ("complete", "incomplete"):
            status = "stopped"
        try:
            self.write_manifest(status)
        except Exception as exc:        # noqa: BLE001
            problem = problem or exc
        return problem


def sampling_entry(settings: OnlineSettings, options: OnlineOptions) -> dict[str, Any]:
    """How samples were drawn, for the manifest (rules in contour.run.sampling)."""
    sampler = settings.sampler
    return {"decoding": "stochastic" if sampler.stochastic else "greedy",
            "cache_key": "body + sample identity" if sampler.stochastic else "body",
            "completions": options.completions, "per_request_seed": sampler.per_request_seed}


def run_online(settings: OnlineSettings, points: list[Point], options: OnlineOptions,
               results_dir: Path, output: Path | None = None) -> Path:
    """Run (or resume) the experiment; returns its folder, whose manifest
    status says how it ended ("complete" or "incomplete"; a run that stops
    raises: ContourError for a write error or --fail-fast, Interrupted for
    Ctrl-C/SIGTERM). A command whose run is already complete reports the
    folder and sends nothing."""
    points = shard_points(points, options.shard)
    mode = shard_mode(online_mode(options), options.shard)
    fingerprint = run_fingerprint(settings, mode)
    found = find_run(settings, fingerprint, results_dir, output)
    if found is not None and found[1].get("status") == "complete":
        return _already_complete(found[0], options)
    # Before creating anything: a bad server, model or cache writes nothing.
    client, settings = connect(settings, options)
    try:
        return _run_connected(settings, points, options, client, fingerprint, mode, results_dir,
                              output)
    finally:
        # Also ends requests still in flight after a stop (their threads then return).
        client.close()


def _run_connected(settings: OnlineSettings, points: list[Point], options: OnlineOptions,
                   client: Transport, fingerprint: str, mode: dict[str, Any], results_dir: Path,
                   output: Path | None) -> Path:
    cache = open_cache(options)
    where = describe(client)     # engine and API base(s), credentials masked
    if options.shard is not None:
        where["shard"] = options.shard.manifest_entry(run_fingerprint(settings, online_mode(options)))
    try:
        claimed = claim_folder(settings, fingerprint, results_dir, output, lambda: {
            **build_manifest(settings, points, fingerprint, mode), **where,
            "sampling": sampling_entry(settings, options)})
    except BaseException:
        cache.close()
        raise
    if claimed.complete:
        cache.close()
        return _already_complete(claimed.folder, options)
    try:
        return _run_claimed(settings, points, options, client, cache, claimed, where)
    finally:
        claimed.release()


def _run_claimed(settings: OnlineSettings, points: list[Point], options: OnlineOptions,
                 client: Transport, cache: ResponseCache, claimed: Claimed,
                 where: dict[str, Any]) -> Path:
    folder = claimed.folder
    try:
        engine = Engine(settings, points, options, folder, client, cache, claimed.manifest)
        engine.manifest.update(sampling=sampling_entry(settings, options), **where)
        engine.write_manifest("running")
    except BaseException:
        cache.close()
        if claimed.created:
            claimed.discard()
        raise
    if not options.quiet:
        resumed = (f" (resuming: {len(engine.finished)} records kept, "
                   f"{engine.dropped} failed ones to retry)" if engine.finished or engine.dropped else "")
        click.echo(f"run folder: {folder}{resumed}", err=True)
    try:
        engine.run()
    except (KeyboardInterrupt, Interrupted) as exc:
        engine.stop.set()
        engine.close("interrupted")
        if isinstance(exc, Interrupted):
            raise Interrupted(f"{exc.line}; run the same command again to resume {folder}") from None
        raise
    except BaseException as exc:
        engine.stop.set()
        engine.close("stopped")
        if isinstance(exc, ContourError):
            raise ContourError(f"{exc}; the run stopped: run the same command again to resume "
                               f"{folder}") from None
        raise
    unfinished = engine.unfinished()
    problem = engine.close("incomplete" if unfinished else "complete")
    if problem is not None:
        raise ContourError(f"{problem}; run the same command again to finish {folder}") \
            if isinstance(problem, ContourError) else problem
    if not options.quiet:
        click.echo(engine.stats.summary_table())
        click.echo(f"results: {folder}")
        rejected = engine.stats.total.errors.get("client_error", 0)
        if rejected:
            click.echo(f"note: {rejected} requests were rejected by the server (client_error, e.g. "
                       "a prompt longer than the context); they are final and not retried", err=True)
    if unfinished:
        click.echo(f"note: {sum(unfinished.values())} planned records are not final "
                   f"({_describe(unfinished)}); run the same command again to retry just those",
                   err=True)
    return folder


def _describe(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def _already_complete(folder: Path, options: OnlineOptions) -> Path:
    click.echo(f"note: {folder} already holds this run, complete; nothing sent (use another "
               "--output to run it again)", err=True)
    if not options.quiet:
        click.echo(f"results: {folder}")
    return folder
