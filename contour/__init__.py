"""Contour: difficulty-manifold benchmark generator and runner for LLM reasoning.

The data path, one stage package per arrow (docs/architecture.md):
config -> points -> tests -> requests   `contour.spec`
requests -> records                      `contour.run`
records on disk (schema, writer, reader) `contour.results`
records -> statistics -> report          `contour.evaluate`
a local vLLM server and the demo         `contour.local`
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

__version__ = "0.2.0"

# The design card keeps tasks/, evaluate/, templates/, sampler/ and configs/ at
# the top of a clone. An installed wheel carries them inside this package
# (pyproject's package-dir); in a clone they are mounted from the clone's own
# top level, so `python runner.py` needs no install and a second checkout never
# imports the first one's tasks.
MOUNTED = ("tasks", "evaluate", "templates", "sampler", "configs")
PACKAGE_DIR = Path(__file__).resolve().parent
CLONE_ROOT: Path | None = None if (PACKAGE_DIR / "tasks").is_dir() else PACKAGE_DIR.parent


class _CloneFolders(importlib.abc.MetaPathFinder):
    def __init__(self, root: Path):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix != __name__ or name not in ("tasks", "evaluate"):
            return None
        init = self.root / name / "__init__.py"
        if not init.is_file():
            raise ImportError(f"contour was imported from {PACKAGE_DIR}, but {init} is missing: "
                              "run Contour from a complete clone or install it with pip")
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(init.parent)])


if CLONE_ROOT is not None:
    sys.meta_path.insert(0, _CloneFolders(CLONE_ROOT))


def data_dir(name: str) -> Path:
    """A shipped data folder (templates, sampler, configs) of this installation."""
    return (CLONE_ROOT or PACKAGE_DIR) / name
