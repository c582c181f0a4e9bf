"""Where Contour keeps things between runs on this machine: $CONTOUR_HOME,
else ~/.cache/contour (the local vLLM set-up, the guess-chance memo)."""

from __future__ import annotations

import os
from pathlib import Path


def contour_home() -> Path:
    return Path(os.environ.get("CONTOUR_HOME") or Path.home() / ".cache" / "contour")
