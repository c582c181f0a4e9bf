import io

from contour.run.progress import Progress


def test_cache_hits_leave_the_total_instead_of_counting_as_done():
    stream = io.StringIO()
    progress = Progress(10, stream=stream, interval_s=0)
    progress.completed(cache_hit=True)
    progress.completed(cache_hit=True)
    progress.completed(cache_hit=False)
    assert (progress.done, progress.total, progress.cached) == (1, 8, 2)
    progress.add_work(5)
    assert progress.total == 13
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines and all(line.startswith("progress: ") for line in lines)   # not a TTY: plain lines
    assert "1/13 requests, 2 cached" in lines[-1] and "\r" not in stream.getvalue()


def test_quiet_prints_nothing():
    stream = io.StringIO()
    progress = Progress(3, enabled=False, stream=stream)
    progress.completed(cache_hit=False)
    progress.close()
    assert stream.getvalue() == ""


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_heartbeat_names_the_oldest_request_in_flight_after_a_quiet_spell():
    clock, stream = Clock(), io.StringIO()
    progress = Progress(4, stream=stream, heartbeat_s=30, clock=clock)
    try:
        assert progress.heartbeat() is None
        with progress.sending("point-a-0"):
            clock.now += 5
            with progress.sending("point-b-1"):
                clock.now += 26
                line = progress.heartbeat()
                assert line == ("waiting: 2 requests in flight, oldest 31s (point-a-0); "
                                "last completion 31s ago")
                assert progress.heartbeat() is None         # once per quiet period
                clock.now += 30
                assert "oldest 61s (point-a-0)" in progress.heartbeat()
        progress.completed(cache_hit=False)
        clock.now += 29
        assert progress.heartbeat() is None                 # a completion resets the silence
        with progress.sending("point-c-2"):
            clock.now += 2
            assert "1 request in flight, oldest 2s (point-c-2)" in progress.heartbeat()
    finally:
        progress.close()


def test_heartbeat_thread_prints_while_a_request_hangs():
    import time

    stream = io.StringIO()
    progress = Progress(1, stream=stream, heartbeat_s=0.2)
    with progress.sending("stuck-0"):
        time.sleep(0.9)
    progress.close()
    beats = [line for line in stream.getvalue().splitlines() if line.startswith("waiting:")]
    assert len(beats) >= 2 and all("(stuck-0)" in line for line in beats)


def test_no_heartbeat_when_disabled_or_quiet():
    stream = io.StringIO()
    for progress in (Progress(1, stream=stream, heartbeat_s=None),
                     Progress(1, stream=stream, enabled=False, heartbeat_s=0.01)):
        with progress.sending("x"):
            pass
        progress.close()
    assert "waiting:" not in stream.getvalue()


def test_a_run_against_a_hanging_server_prints_heartbeats(tmp_path):
    import re

    from tests.faultserver import FaultServer, slow
    from tests.runhelp import records, run_online

    config = tmp_path / "one.yaml"
    config.write_text("precision: {p: {count: 2}}\ntasks:\n  - name: arithmetic\n")
    with FaultServer(default=slow(60)) as server:
        proc = run_online(server.apibase, "test-model", tmp_path, "--heartbeat", "0.4",
                          "--timeout", "2", "--retries", "0", config=config)
    assert proc.returncode == 3, proc.stderr     # timeouts are retried by a rerun: incomplete
    ages = [int(m.group(2)) for m in re.finditer(
        r"waiting: (2) requests in flight, oldest (\d+)s \(\S+-[01]\)", proc.stderr)]
    assert len(ages) >= 3 and ages == sorted(ages), proc.stderr
    assert {r["error"]["type"] for r in records(tmp_path / "run")} == {"timeout"}
