"""The same command started twice at the same instant runs once (issue 10,
item 2): the folder is chosen under the results directory's lock, so one
runner makes the folder and the other finds it and is refused by its lock
(or, if the first already finished, reports it complete)."""

import subprocess
import sys

import pytest

from contour import exits
from tests import faultserver as fs
from tests.conftest import REPO
from tests.runhelp import final_records, run_folders, small_config

MODEL = fs.DEFAULT_MODEL
ROUNDS = 20


def _racers(go, args):
    racers = [subprocess.Popen([sys.executable, "-m", "tests.racer", str(go), *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(2)]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready", racer.stderr.read()
    go.touch()
    return [(r.returncode, out, err) for r in racers for out, err in [r.communicate(timeout=120)]]


def _check_pair(outcomes, folder):
    codes = sorted(code for code, _, _ in outcomes)
    assert codes in ([0, 0], [0, exits.USAGE_ERROR]), outcomes
    loser = [err for code, _, err in outcomes if code == exits.USAGE_ERROR] or \
        [err for _, _, err in outcomes if "already holds this run" in err]
    assert len(loser) == 1, outcomes
    (line,) = loser[0].strip().splitlines()
    assert "in use by another runner" in line or "already holds this run" in line
    recs = final_records(folder)
    assert len(recs) == len({r["key"] for r in recs}) == 16


@pytest.mark.parametrize("where", ["results-dir", "output"])
def test_two_identical_commands_at_the_same_instant_make_one_folder(tmp_path, where):
    config = small_config(tmp_path)
    refused = 0
    with fs.FaultServer(default=fs.Fault(delay=0.03)) as server:
        for i in range(ROUNDS):
            results, output = tmp_path / f"results{i}", tmp_path / f"out{i}"
            place = ["--results-dir", str(results)] if where == "results-dir" else ["--output", str(output)]
            args = ["--config", str(config), "--template", "zerocot-nosys", "--sampler", "greedy-2k",
                    "--model", MODEL, "--apibase", server.apibase, "--cache", str(tmp_path / f"c{i}.sqlite"),
                    "--threads", "2", "--parallel", "2", "--quiet", *place]
            outcomes = _racers(tmp_path / f"go{i}", args)
            if where == "results-dir":
                folders = run_folders(results)
                assert len(folders) == 1, (i, folders, outcomes)
                folder = folders[0]
            else:
                assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == \
                    [f"out{j}" for j in sorted(range(i + 1), key=str)]
                folder = output
            _check_pair(outcomes, folder)
            refused += any(code == exits.USAGE_ERROR for code, _, _ in outcomes)
    # The race was real: most pairs met while the first was still running.
    assert refused >= ROUNDS // 2
