"""Contour's own dependencies for the vLLM venv, without installing into it.

The vLLM venv (~/.cache/contour/vllm-venv) is vLLM's; `--engine vllm` runs the
runner with that venv's Python and the clone on PYTHONPATH. What Contour
needs and the venv lacks is installed once with `pip --target` into a folder
beside it (CONTOUR_HOME/vllm-contour-deps/...), which goes on PYTHONPATH too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from contour.local.server import _default_env, contour_home, vllm_python

# import name: PyPI name
CONTOUR_DEPS = {"jinja2": "jinja2", "yaml": "pyyaml", "requests": "requests", "sqlitedict": "sqlitedict",
                "numpy": "numpy", "scipy": "scipy", "click": "click", "tqdm": "tqdm", "orjson": "orjson"}


class DepsError(RuntimeError):
    pass


def contour_deps_path() -> str:
    """The folder that supplies what the vLLM venv lacks ("" when it lacks nothing)."""
    probe = subprocess.run(
        [str(vllm_python()), "-c",
         "import importlib.util, sys; "
         "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))",
         *CONTOUR_DEPS], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        raise DepsError(f"cannot run {vllm_python()}: {probe.stderr[-1000:]}")
    missing = sorted(CONTOUR_DEPS[m] for m in probe.stdout.split())
    if not missing:
        return ""
    folder = contour_home() / "vllm-contour-deps" / hashlib.sha256(" ".join(missing).encode()).hexdigest()[:12]
    marker = folder / ".contour-complete"
    if not marker.exists():
        # --no-deps: what they need (numpy) is the venv's own; a second copy would shadow it.
        install = subprocess.run([str(vllm_python()), "-m", "pip", "install", "--quiet", "--no-deps",
                                  "--upgrade", "--target", str(folder), *missing],
                                 capture_output=True, text=True, timeout=600)
        if install.returncode != 0:
            raise DepsError(f"could not install {missing} for the vLLM venv: {install.stderr[-2000:]}")
        marker.write_text(" ".join(missing))
    return str(folder)


def vllm_runner_env(repo: Path) -> dict[str, str]:
    """Environment for running the runner with the vLLM venv's Python on CPU."""
    paths = [str(repo), contour_deps_path()]
    return {**os.environ, **_default_env(), "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
