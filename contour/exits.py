"""Exit codes, and the one place where an outcome becomes a line and a code.

Every command (`contour run` / `python runner.py`, `evaluate`, `grid`,
`tasks`, `demo`, and any command mounted on `contour.cli.cli` later) is run
through `invoke`, so they all share this table:

====  ==========================================================================
code  meaning
====  ==========================================================================
0     done (a run: every planned sample has a final record)
1     internal error: a bug in Contour; one line names the exception
      (set CONTOUR_TRACEBACK=1 to see the traceback)
2     usage, input or environment error: the line names the flag, file or value
      (a bad option, an unreadable config, a foreign cache file, a full disk);
      nothing already written was damaged; fix it and run the same command again
3     finished with failures: some samples have no final record (transient server
      failures, a task or template that raised); the same command retries them;
      for `grid --check`: the config has warnings
130   interrupted (Ctrl-C or SIGTERM); the same command resumes the run
====  ==========================================================================

Every error line starts with ``error: ``; notes start with ``note: ``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, NoReturn

import click

from contour.errors import ContourError

OK = 0
INTERNAL_ERROR = 1
USAGE_ERROR = 2
UNFINISHED = 3
INTERRUPTED = 130

ERROR_PREFIX = "error: "

_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())

# A run's manifest status -> its exit code (anything else is a stopped run,
# which ends through an exception instead).
STATUS_EXIT = {"complete": OK, "incomplete": UNFINISHED}


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM under `invoke`. `line` is what the user is told (a run
    adds how to resume). Not a KeyboardInterrupt, which click would turn into
    an Abort (and an empty line on stderr) on its way out."""

    def __init__(self, line: str = "interrupted") -> None:
        super().__init__(line)
        self.line = line


def status_exit_code(status: str | None) -> int:
    return STATUS_EXIT.get(status or "", UNFINISHED)


def main(command: click.Command, args: list[str] | None = None,
         prog_name: str | None = None) -> NoReturn:
    """A process's entry point: `invoke`, then exit with its code."""
    code = invoke(command, args, prog_name)
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads may still be blocked in a request for up to --timeout;
    # everything worth keeping is written and the folder closed, so a stopped
    # run does not wait for them.
    if code != OK and any(t.is_alive() and not t.daemon for t in threading.enumerate()
                          if t is not threading.main_thread()):
        os._exit(code)
    sys.exit(code)


def invoke(command: click.Command, args: list[str] | None = None,
           prog_name: str | None = None) -> int:
    """Run a click command; every outcome becomes at most one line on stderr
    and an exit code, which is returned. A command may return an int (its
    exit code); None means 0."""
    previous = _catch_signals()
    try:
        result: Any = command.main(args=args, standalone_mode=False,
                                   prog_name=prog_name or command.name)
        return _finish(result if isinstance(result, int) else OK)
    except Interrupted as exc:
        return _finish(INTERRUPTED, exc.line)
    except (click.exceptions.Abort, KeyboardInterrupt):
        return _finish(INTERRUPTED, "interrupted")
    except click.exceptions.Exit as exc:   # --help, --version
        return _finish(exc.exit_code)
    except _NO_ARGS_IS_HELP as exc:
        click.echo(exc.format_message(), err=True)    # a group called bare: its help, as is
        return USAGE_ERROR
    except click.ClickException as exc:
        return _finish(USAGE_ERROR, exc.format_message())
    except ContourError as exc:
        return _finish(USAGE_ERROR, str(exc))
    except OSError as exc:
        # An environment problem no layer turned into a ContourError: still
        # one line, naming the file the system call was about.
        return _finish(USAGE_ERROR, _describe_os_error(exc))
    except Exception as exc:  # noqa: BLE001 - the CLI edge: one line, not a traceback
        if os.environ.get("CONTOUR_TRACEBACK"):
            raise
        return _finish(INTERNAL_ERROR, f"internal error ({type(exc).__name__}: {exc}); "
                       "this is a bug in Contour: please report it (CONTOUR_TRACEBACK=1 shows "
                       "the traceback)")
    finally:
        _restore_signals(previous)


def _describe_os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else "a file"
    return f"{where}: {exc.strerror or exc}"


def _finish(code: int, line: str | None = None) -> int:
    if line is not None:
        click.echo(ERROR_PREFIX + " ".join(line.split()), err=True)
    return code


def _catch_signals() -> dict[int, Any]:
    """SIGTERM is handled like Ctrl-C: the run closes its folder as
    "interrupted" and the command exits 130. A second signal while closing
    ends the process at once."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if received:
            os._exit(INTERRUPTED)
        received.append(signum)
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}")

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
