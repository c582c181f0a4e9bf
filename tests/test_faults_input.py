"""Bad input and hostile environments end in one line, exit code 2, and no
trace on disk: no traceback, no run folder left behind, nothing already
written changed (issue 10, items 5-9)."""

import json
import sqlite3

import pytest

from tests import faultserver as fs
from tests.conftest import REPO, run_cli
from tests.mounts import remount_readonly, tmpfs
from tests.runhelp import (error_line, online_args, records, run_folders, small_config, snapshot)

MODEL = fs.DEFAULT_MODEL


def online(apibase, tmp_path, *extra, results=None, cache=None, config=None):
    """The runner with --results-dir (no --output), so a leftover folder would show."""
    return run_cli("--config", str(config or small_config(tmp_path)), "--template", "zerocot-nosys",
                   "--sampler", "greedy-2k", "--model", MODEL, "--apibase", apibase,
                   "--cache", str(cache or tmp_path / "c.sqlite"),
                   "--results-dir", str(results or tmp_path / "results"), "--quiet", *extra)


def offline(tmp_path, *extra, config=None, template="zerocot-nosys"):
    return run_cli("--config", str(config or small_config(tmp_path)), "--template", template,
                   "--offline", "1", "--results-dir", str(tmp_path / "results"), "--quiet", *extra)


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01"


# -- item 5: one line instead of a traceback ------------------------------------

@pytest.mark.parametrize("kind", ["config", "template", "sampler"])
def test_a_binary_file_is_one_line_naming_it(tmp_path, kind):
    bad = tmp_path / f"bad.{kind}"
    bad.write_bytes(BINARY)
    args = {"config": ["--config", str(bad)], "template": [], "sampler": ["--sampler", str(bad)]}[kind]
    proc = offline(tmp_path, *args, template=str(bad) if kind == "template" else "zerocot-nosys")
    line = error_line(proc)
    assert str(bad) in line and "not a UTF-8 text file" in line
    assert bad.read_bytes() == BINARY and not (tmp_path / "results").exists()


def test_output_that_is_a_file(tmp_path):
    target = tmp_path / "taken.txt"
    target.write_text("mine")
    with fs.FaultServer() as server:
        line = error_line(run_cli(*online_args(server.apibase, MODEL, target, tmp_path / "c.sqlite",
                                               config=small_config(tmp_path))))
        assert server.hits == 0
    assert f"--output {target} is a file" in line and target.read_text() == "mine"
    line = error_line(run_cli("--config", str(small_config(tmp_path)), "--template", "zerocot-nosys",
                              "--offline", "1", "--output", str(target)))
    assert str(target) in line and target.read_text() == "mine"


def test_output_that_holds_someone_elses_files(tmp_path):
    """Only a runner's own dot files (its lock, a manifest being written) mean
    "another runner of this command": any other file is someone's data."""
    target = tmp_path / "theirs"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with fs.FaultServer() as server:
        line = error_line(run_cli(*online_args(server.apibase, MODEL, target, tmp_path / "c.sqlite",
                                               config=small_config(tmp_path))))
        assert server.hits == 0
    assert f"--output {target} is not empty and holds no Contour run" in line
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_results_dir_that_is_a_file(tmp_path, mode):
    target = tmp_path / "results"
    target.write_text("mine")
    with fs.FaultServer() as server:
        proc = online(server.apibase, tmp_path) if mode == "online" else offline(tmp_path)
    line = error_line(proc)
    assert f"--results-dir {target} is a file" in line and target.read_text() == "mine"


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_read_only_results_dir(tmp_path, mode):
    results = tmp_path / "results"
    with tmpfs(results, "1m"):
        (results / "earlier").mkdir()
        (results / "earlier" / "records.jsonl").write_text("{}\n")
        before = snapshot(results)
        remount_readonly(results)
        with fs.FaultServer() as server:
            proc = online(server.apibase, tmp_path) if mode == "online" else offline(tmp_path)
            assert server.hits == 0
        line = error_line(proc)
        assert str(results) in line and "Read-only file system" in line
        assert snapshot(results) == before


def test_cache_with_a_foreign_responses_table(tmp_path):
    cache = tmp_path / "other.sqlite"
    with sqlite3.connect(cache) as db:
        db.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY, body TEXT, created REAL)")
        db.execute("INSERT INTO responses VALUES (1, 'keep me', 0)")
    db.close()
    before = cache.read_bytes()
    with fs.FaultServer() as server:
        line = error_line(online(server.apibase, tmp_path, cache=cache))
        assert server.hits == 0
    assert f"--cache {cache}" in line and "not a Contour cache" in line and "responses" in line
    assert cache.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite", "small.yaml"]


# -- item 6: errors caught late leave no folder ----------------------------------

def _bad_caches(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(BINARY * 300)
    folder = tmp_path / "a-directory"
    folder.mkdir()
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    return {"random bytes": (junk, "not a usable SQLite cache"),
            "a directory": (folder, "is a directory"),
            "missing directory": (tmp_path / "nowhere" / "c.sqlite", "does not exist"),
            "foreign database": (foreign, "not a Contour cache")}


def test_a_bad_cache_leaves_no_run_folder(tmp_path):
    results = tmp_path / "results"
    with fs.FaultServer() as server:
        for name, (cache, message) in _bad_caches(tmp_path).items():
            before = snapshot(cache)
            line = error_line(online(server.apibase, tmp_path, cache=cache))
            assert f"--cache {cache}" in line and message in line, name
            assert run_folders(results) == [], name
            assert snapshot(cache) == before, name
        assert server.hits == 0


def test_a_read_only_cache_leaves_no_run_folder(tmp_path):
    store = tmp_path / "ro"
    with tmpfs(store, "4m"), fs.FaultServer() as server:
        cache = store / "c.sqlite"
        assert online(server.apibase, tmp_path, cache=cache, results=tmp_path / "first").returncode == 0
        hits = server.hits
        remount_readonly(store)
        before = snapshot(store)
        line = error_line(online(server.apibase, tmp_path, "--seed", "3", cache=cache))
        assert f"--cache {cache}" in line
        assert run_folders(tmp_path / "results") == [] and server.hits == hits
        assert snapshot(store) == before


# -- item 8: a damaged manifest ------------------------------------------------

def _unfinished_run(server, tmp_path, *where):
    """A run whose first two requests failed for good: status incomplete, exit 3."""
    server.push(*[fs.server_error()] * 2)
    proc = run_cli("--config", str(small_config(tmp_path)), "--template", "zerocot-nosys",
                   "--sampler", "greedy-2k", "--model", MODEL, "--apibase", server.apibase,
                   "--cache", str(tmp_path / "c.sqlite"), "--retries", "0", "--threads", "1",
                   "--parallel", "1", "--quiet", *where)
    assert proc.returncode == 3, proc.stderr


@pytest.mark.parametrize("where", ["output", "results-dir"])
def test_damaged_manifest_is_one_line_and_nothing_is_abandoned(tmp_path, where):
    flag = ["--output", str(tmp_path / "run")] if where == "output" else \
        ["--results-dir", str(tmp_path / "results")]
    with fs.FaultServer() as server:
        _unfinished_run(server, tmp_path, *flag)
        (folder,) = [tmp_path / "run"] if where == "output" else run_folders(tmp_path / "results")
        manifest = folder / "manifest.json"
        manifest.write_text(manifest.read_text()[:200])     # cut mid-way
        before = snapshot(folder)
        hits = server.hits
        proc = run_cli("--config", str(small_config(tmp_path)), "--template", "zerocot-nosys",
                       "--sampler", "greedy-2k", "--model", MODEL, "--apibase", server.apibase,
                       "--cache", str(tmp_path / "c.sqlite"), "--retries", "0", "--threads", "1",
                       "--parallel", "1", "--quiet", *flag)
        line = error_line(proc)
        assert server.hits == hits
    assert str(manifest) in line and "damaged" in line
    assert snapshot(folder) == before
    if where == "results-dir":
        assert run_folders(tmp_path / "results") == [folder]


# -- item 9: a key inside the URL ---------------------------------------------

def test_userinfo_in_apibase_is_masked_everywhere(tmp_path):
    secret = "S3CRET-in-the-URL"
    # Every third request is reset: error records carry the URL in their message.
    resets = iter(range(10**6))
    with fs.FaultServer(fault_for=lambda req: fs.reset() if next(resets) % 3 == 0 else None) as server:
        apibase = server.apibase.replace("http://", f"http://alice:{secret}@")
        proc = online(apibase, tmp_path, "--retries", "0", "--threads", "1", "--parallel", "1")
        assert proc.returncode == 3, proc.stderr
        assert server.completion_requests[0].headers.get("Authorization", "").startswith("Basic ")
    (folder,) = run_folders(tmp_path / "results")
    errors = [r["error"]["message"] for r in records(folder) if r["error"]]
    assert errors and all("***@127.0.0.1" in m for m in errors)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["apibase"] == server.apibase.replace("http://", "http://***@")
    assert manifest["command_line"][manifest["command_line"].index("--apibase") + 1] == \
        server.apibase.replace("http://", "http://***@")
    written = b"".join(snapshot(folder).values()).decode() + proc.stdout + proc.stderr
    assert secret not in written and "alice" not in written
    # The server is gone now: the one error line names the URL, masked.
    line = error_line(online(apibase, tmp_path, "--seed", "1"))
    assert "http://***@127.0.0.1" in line and secret not in line


def test_runner_help_lists_fail_fast_and_exit_codes():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "--fail-fast" in proc.stdout and "130 interrupted" in proc.stdout
    assert (REPO / "contour" / "exits.py").is_file()


def test_an_unknown_transport_is_one_line_and_sends_nothing(tmp_path):
    with fs.FaultServer() as server:
        line = error_line(run_cli(*online_args(server.apibase, MODEL, tmp_path / "run", tmp_path / "c.sqlite",
                                               "--transport", "curl", config=small_config(tmp_path))))
        assert server.hits == 0
    assert "--transport" in line and "'curl'" in line and "aiohttp" in line
    assert not (tmp_path / "run").exists()
