"""Several endpoints as one client (contour/run/endpoints.py), against local
HTTP servers that misbehave on request (tests/faultserver.py). The same
behaviour against two real vLLM servers is in tests/test_endpoints_vllm.py."""

import json
import threading
import time

import pytest

from contour.errors import ContourError
from contour.run.client import ChatClient, RetryPolicy
from contour.run.endpoints import EndpointPool, open_endpoints, parse_apibases
from tests import faultserver as fs
from tests.runhelp import assert_stats_match_records, quick_size, records, run_online

MODEL = fs.DEFAULT_MODEL
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def pool(*servers, retries=3, check=True, **kw):
    clients = [ChatClient(s.apibase, timeout=5, retry=RetryPolicy(max_retries=0)) for s in servers]
    sleeps = []
    made = EndpointPool(clients, RetryPolicy(max_retries=retries, backoff_base=0.01),
                        sleep=sleeps.append, **kw)
    if check:
        made.check_model(MODEL)
    return made, sleeps


def test_apibases_from_repeats_and_comma_lists():
    assert parse_apibases(["http://a:1,http://b:2/v1/", "http://c:3/v1/chat/completions"]) == [
        "http://a:1/v1", "http://b:2/v1", "http://c:3/v1"]
    assert parse_apibases("http://a:1") == ["http://a:1/v1"]
    with pytest.raises(ContourError, match="given twice"):
        parse_apibases("http://a:1,http://a:1/v1")
    with pytest.raises(ContourError, match="ftp://x"):
        parse_apibases(["http://a:1", "ftp://x"])


def test_one_endpoint_is_a_plain_client_several_a_pool():
    one = open_endpoints(["http://127.0.0.1:9/v1"], None, 5, RetryPolicy(), 4)
    several = open_endpoints(["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"], None, 5, RetryPolicy(), 4)
    assert type(one) is ChatClient and type(several) is EndpointPool
    assert several.apibases == ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]


@pytest.mark.usefixtures("each_transport")
def test_least_in_flight_spreads_concurrent_requests_evenly():
    slow = fs.Fault(delay=0.3)
    with fs.FaultServer(default=slow) as a, fs.FaultServer(default=slow) as b:
        endpoints, _ = pool(a, b)
        results = []
        threads = [threading.Thread(target=lambda: results.append(endpoints.complete(BODY)))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.ok for r in results) and len(results) == 8
        assert (a.hits, b.hits) == (4, 4)
        assert a.max_in_flight == b.max_in_flight == 4
        counts = endpoints.stats()
        assert counts[a.apibase]["answered"] == counts[b.apibase]["answered"] == 4


@pytest.mark.usefixtures("each_transport")
def test_a_pooled_completion_keeps_its_stream_timings():
    """Time to first token and decode rate reach the record through the pool
    as through one client (they were dropped there, so a run over several
    endpoints had none)."""
    with fs.FaultServer() as a, fs.FaultServer() as b:
        endpoints, _ = pool(a, b)
        done = [endpoints.complete(BODY) for _ in range(4)]
    assert all(d.ok for d in done)
    assert all(d.timings.ttft_s is not None and d.timings.ttft_s >= 0 for d in done)


def test_failing_endpoint_is_drained_and_its_requests_go_elsewhere_at_once():
    with fs.FaultServer(default=fs.server_error()) as bad, fs.FaultServer() as good:
        endpoints, sleeps = pool(bad, good, drain_after=3, probe_interval_s=3600)
        results = [endpoints.complete(BODY) for _ in range(20)]
        assert all(r.ok for r in results)
        assert bad.hits == 3 and good.hits == 20
        assert sleeps == []     # a failed attempt went to the other endpoint without backoff
        counts = endpoints.stats()[bad.apibase]
        assert counts["state"] == "drained" and counts["drained"] == 1
        assert counts["failed"] == {"server_error": 3} and counts["requests"] == 3


@pytest.mark.usefixtures("each_transport")
def test_drained_endpoint_is_probed_and_comes_back():
    with fs.FaultServer([fs.server_error()] * 3) as flaky, fs.FaultServer() as good:
        endpoints, _ = pool(flaky, good, drain_after=3, probe_interval_s=0.2)
        for _ in range(6):
            assert endpoints.complete(BODY).ok
        assert endpoints.stats()[flaky.apibase]["state"] == "drained"
        hits = flaky.hits
        deadline = time.monotonic() + 10
        while endpoints.stats()[flaky.apibase]["state"] != "up" and time.monotonic() < deadline:
            endpoints.complete(BODY)    # a request is what starts a due probe
            time.sleep(0.05)
        counts = endpoints.stats()[flaky.apibase]
        assert counts["state"] == "up" and counts["recovered"] == 1
        assert any(r.path == "/v1/models" for r in flaky.requests[1:])
        for _ in range(4):
            assert endpoints.complete(BODY).ok
        assert flaky.hits > hits


@pytest.mark.usefixtures("each_transport")
def test_dead_endpoint_costs_no_request_its_budget():
    with fs.FaultServer() as good:
        dead = fs.FaultServer().start()
        dead.stop()             # connection refused from now on
        # (it died after the start-up check)
        endpoints, _ = pool(dead, good, retries=0, check=False, drain_after=1, probe_interval_s=3600)
        results = [endpoints.complete(BODY) for _ in range(5)]
        # retries=0, yet the attempt lost on the dead endpoint is sent again elsewhere
        assert all(r.ok for r in results), [r.error for r in results]
        assert results[0].attempts == 2 and good.hits == 5


@pytest.mark.usefixtures("each_transport")
def test_everything_down_ends_like_one_server_down():
    with fs.FaultServer(default=fs.server_error()) as a, fs.FaultServer(default=fs.server_error()) as b:
        endpoints, sleeps = pool(a, b, retries=3, drain_after=2, probe_interval_s=3600)
        result = endpoints.complete(BODY)
        assert not result.ok and result.error["type"] == "server_error"
        assert a.hits + b.hits == result.attempts
        assert 4 <= result.attempts <= 4 + 2      # the budget, plus at most one free attempt per endpoint
        assert sleeps, "with nowhere else to go, retries back off"


@pytest.mark.usefixtures("each_transport")
def test_request_errors_do_not_drain_and_are_not_retried():
    with fs.FaultServer(default=fs.bad_request()) as a, fs.FaultServer(default=fs.bad_request()) as b:
        endpoints, _ = pool(a, b, drain_after=1)
        for _ in range(4):
            result = endpoints.complete(BODY)
            assert result.error["type"] == "client_error" and result.attempts == 1
        assert all(s["state"] == "up" for s in endpoints.stats().values())


@pytest.mark.usefixtures("each_transport")
def test_an_endpoint_not_serving_the_model_is_named():
    with fs.FaultServer() as a, fs.FaultServer(models=["other"]) as b:
        endpoints = EndpointPool([ChatClient(a.apibase), ChatClient(b.apibase)])
        with pytest.raises(ContourError, match=f"not served by {b.apibase}"):
            endpoints.check_model(MODEL)


def _answers(recs):
    return {r["key"]: (r["answer"], r["is_valid"], r["is_correct"], r["is_truncated"]) for r in recs}


def test_runner_over_two_endpoints_equals_one_and_shares_the_cache(tmp_path):
    varied = lambda request: f"Final Answer: {len(request['messages'][-1]['content']) % 5}"
    with fs.FaultServer(responder=varied) as a, fs.FaultServer(responder=varied) as b:
        proc = run_online(a.apibase, MODEL, tmp_path, "--cache", str(tmp_path / "one.sqlite"), out="one")
        assert proc.returncode == 0, proc.stderr
        a_alone = a.hits
        proc = run_online(f"{a.apibase},{b.apibase}", MODEL, tmp_path, out="two")
        assert proc.returncode == 0, proc.stderr
        assert a.hits > a_alone and b.hits > 0
        one, two = records(tmp_path / "one"), records(tmp_path / "two")
        assert len(two) == quick_size() and _answers(two) == _answers(one)
        stats = json.loads((tmp_path / "two" / "stats.json").read_text())
        per = stats["endpoints"]
        assert set(per) == {a.apibase, b.apibase}
        assert per[a.apibase]["answered"] == a.hits - a_alone and per[b.apibase]["answered"] == b.hits
        assert sum(e["answered"] for e in per.values()) == stats["total"]["model_calls"]
        assert_stats_match_records(tmp_path / "two")
        manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
        assert manifest["apibase"] == [a.apibase, b.apibase] and manifest["engine"] == "http"
        assert manifest["transport"] == "aiohttp"        # the default wire, recorded

        # The cache key has no endpoint in it: the same run on b alone sends nothing.
        hits = b.hits
        proc = run_online(b.apibase, MODEL, tmp_path, out="again")
        assert proc.returncode == 0, proc.stderr
        assert b.hits == hits and all(r["cache_hit"] for r in records(tmp_path / "again"))


def test_runner_refuses_an_unreachable_endpoint_and_writes_nothing(tmp_path):
    with fs.FaultServer() as good:
        dead = fs.FaultServer().start()
        dead.stop()
        proc = run_online(good.apibase, MODEL, tmp_path, "--apibase", dead.apibase)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and dead.apibase in proc.stderr and "cannot reach" in proc.stderr
    assert not (tmp_path / "run").exists()
