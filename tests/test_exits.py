"""One exit-code table and one error line for every command (issue 8, item 6)."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from contour import exits
from contour.errors import ContourError
from tests.conftest import REPO, run_cli, run_contour


def _invoke(callback):
    command = click.command("toy")(callback)
    with CliRunner().isolation() as (out, err, _):
        code = exits.invoke(command, [])
        return code, out.getvalue().decode(), err.getvalue().decode()


def _raise(exc):
    def callback():
        raise exc
    return callback


@pytest.mark.parametrize("callback, code, line", [
    (lambda: None, exits.OK, None),
    (lambda: exits.UNFINISHED, exits.UNFINISHED, None),
    (_raise(ContourError("config x.yaml: bad\nthing")), exits.USAGE_ERROR, "error: config x.yaml: bad thing"),
    (_raise(click.BadParameter("nope", param_hint="--n")), exits.USAGE_ERROR,
     "error: Invalid value for --n: nope"),
    (_raise(PermissionError(13, "Permission denied", "/x/y")), exits.USAGE_ERROR,
     "error: /x/y: Permission denied"),
    (_raise(exits.Interrupted("interrupted by SIGTERM")), exits.INTERRUPTED,
     "error: interrupted by SIGTERM"),
    (_raise(KeyboardInterrupt()), exits.INTERRUPTED, "error: interrupted"),
    (_raise(ValueError("boom")), exits.INTERNAL_ERROR,
     "error: internal error (ValueError: boom); this is a bug in Contour: please report it "
     "(CONTOUR_TRACEBACK=1 shows the traceback)"),
])
def test_outcomes_become_one_line_and_a_code(callback, code, line):
    got, out, err = _invoke(callback)
    assert got == code and out == ""
    # (click itself writes an empty line before turning a KeyboardInterrupt into
    # an Abort; the signal handler raises Interrupted, which it lets through.)
    assert [ln for ln in err.splitlines() if ln] == ([line] if line else [])


def test_internal_error_traceback_on_request(monkeypatch):
    monkeypatch.setenv("CONTOUR_TRACEBACK", "1")
    with pytest.raises(ValueError, match="boom"):
        _invoke(_raise(ValueError("boom")))


@pytest.mark.parametrize("args, culprit", [
    (["grid", "--config", "no-such.yaml"], "no-such.yaml"),
    (["grid", "--config", "quick", "--degree", "x"], "--degree"),
    (["tasks", "--bogus"], "--bogus"),
    (["evaluate", "/no/such/folder"], "/no/such/folder"),
    (["demo", "--model", "gpt-5"], "gpt-5"),
    (["run", "--config", "quick", "--template", "zerocot-nosys"], "--model"),
    (["nosuchcommand"], "nosuchcommand"),
])
def test_every_command_uses_the_table(args, culprit):
    proc = run_contour(*args)
    assert proc.returncode == exits.USAGE_ERROR, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: ") and culprit in line


def test_runner_and_evaluate_entry_points_use_it_too():
    proc = run_cli("--config", "quick")
    assert proc.returncode == exits.USAGE_ERROR
    assert proc.stderr.splitlines() == ["error: Missing option '--template'."]
    proc = subprocess.run([sys.executable, "-m", "contour.evaluate"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == exits.USAGE_ERROR and proc.stderr.startswith("error: give at least one")


def test_bare_group_prints_its_help():
    proc = run_contour()
    assert proc.returncode == exits.USAGE_ERROR and proc.stderr.startswith("Usage: contour")
