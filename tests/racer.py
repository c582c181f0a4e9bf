"""`python -m tests.racer GO_FILE ARGS...`: the runner, started on a signal.

It imports everything first, prints "ready", then waits for GO_FILE to exist
and runs `contour run ARGS` exactly as runner.py does. Two racers given the
same GO_FILE start the same command at the same instant (the time Python
takes to start, which differs between processes, is out of the race).
"""

import os
import sys
import time

import contour.run.engine  # noqa: F401 - imported before the start line, not after
import contour.run.options  # noqa: F401
from contour import exits
from contour.cli import run_command
from contour.tasks import task_names

if __name__ == "__main__":
    go, *args = sys.argv[1:]
    task_names()
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.0005)
    exits.main(run_command, args, prog_name="runner.py")
