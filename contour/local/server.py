"""Run a real vLLM server (CPU build) locally, for tests, CI and demos.

vLLM and its models live in their own virtualenv under CONTOUR_HOME, built
by scripts/setup_local_vllm.sh; this module only needs the standard library,
so it works from the project's own environment.

    with LocalVLLMServer(LocalServerConfig.for_model("tiny")) as server:
        server.base_url       # http://127.0.0.1:PORT (OpenAI API under /v1)
        server.request_count()

CLI: python -m contour.local.server --model smollm2 --port 8000
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from contour.home import contour_home

MODEL_DIRS = {"tiny": "tiny", "smollm2": "smollm2-135m-instruct"}
MARKER = ".contour-complete"
# Counts every request the engine finished (any finished_reason): requests
# rejected during validation (400/404) never reach the engine and are not in it.
REQUEST_COUNTER = "vllm:request_success_total"

# Loopback only: an http_proxy in the environment must not capture these calls.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalServerError(RuntimeError):
    pass


def vllm_python() -> Path:
    return contour_home() / "vllm-venv" / "bin" / "python"


def model_dir(name: str) -> Path:
    if name not in MODEL_DIRS:
        raise ValueError(f"unknown local model {name!r}; choose from {sorted(MODEL_DIRS)}")
    return contour_home() / "models" / MODEL_DIRS[name]


def setup_script() -> Path:
    default = Path(__file__).resolve().parent / "setup" / "setup_local_vllm.sh"
    return Path(os.environ.get("CONTOUR_SETUP_SCRIPT") or default)


def is_setup() -> bool:
    dirs = [vllm_python().parents[1]] + [model_dir(name) for name in MODEL_DIRS]
    return all((d / MARKER).is_file() for d in dirs)


def ensure_setup() -> None:
    """Run the setup script unless every completion marker is there (minutes, once)."""
    if is_setup():
        return
    script = setup_script()
    if not script.is_file():
        raise LocalServerError(f"local vLLM is not set up and {script} is missing")
    result = subprocess.run(["bash", str(script)], check=False)
    if result.returncode != 0 or not is_setup():
        raise LocalServerError(
            f"local vLLM setup failed (exit {result.returncode}); "
            f"run `bash {script}` to see why"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalServerConfig:
    model_dir: Path
    served_name: str
    port: int = 0  # 0: pick a free one
    max_model_len: int = 2048
    # Eager skips torch.compile: faster to start, slower per token.
    enforce_eager: bool = True
    env: dict[str, str] = field(default_factory=dict)
    log_file: Path | None = None  # default: CONTOUR_HOME/logs/
    startup_timeout: float = 300.0
    extra_args: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model_dir = Path(self.model_dir)
        if self.log_file is not None:
            self.log_file = Path(self.log_file)

    @classmethod
    def for_model(cls, name: str, **kwargs) -> LocalServerConfig:
        return cls(model_dir=model_dir(name), served_name=name, **kwargs)


def _die_with_parent() -> None:
    # Runs in the child before exec: if the process that started the server
    # dies without cleaning up (SIGKILL, crash), the kernel sends the server
    # SIGTERM instead of leaving a 3 GB orphan. Linux only. The kernel tracks
    # the starting *thread*: start servers from a thread that outlives them.
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _default_env() -> dict[str, str]:
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    return {
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; vLLM otherwise sizes it from total RAM
        # vLLM reserves a core for its scheduler and leaves compute one thread
        # on a 2-core machine; use all cores instead.
        "VLLM_CPU_OMP_THREADS_BIND": cpus,
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "TORCHINDUCTOR_CACHE_DIR": str(contour_home() / "torchinductor"),
    }


def _prune_logs(folder: Path, keep: int) -> None:
    try:
        logs = sorted(folder.glob("vllm-*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in logs[keep:]:
            old.unlink(missing_ok=True)
    except OSError:  # another process pruning at the same time
        pass


class LocalVLLMServer:
    def __init__(self, config: LocalServerConfig):
        self.config = config
        self.port = config.port
        self.log_path = config.log_file
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def served_name(self) -> str:
        return self.config.served_name

    def command(self) -> list[str]:
        cfg = self.config
        cmd = [
            str(vllm_python()), "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(cfg.model_dir),
            "--served-model-name", cfg.served_name,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--max-model-len", str(cfg.max_model_len),
            "--dtype", "bfloat16",
        ]  # fmt: skip
        if cfg.enforce_eager:
            cmd.append("--enforce-eager")
        return cmd + list(cfg.extra_args)

    def start(self) -> LocalVLLMServer:
        if self.process is not None:
            raise LocalServerError("server already started")
        cfg = self.config
        for path, what in [(vllm_python(), "vLLM venv"), (cfg.model_dir / "config.json", "model")]:
            if not path.exists():
                raise LocalServerError(f"{what} missing at {path}; run scripts/setup_local_vllm.sh")
        if not self.port:
            self.port = free_port()
        if self.log_path is None:
            logs = contour_home() / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            _prune_logs(logs, keep=50)
            self.log_path = logs / f"vllm-{cfg.served_name}-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**_default_env(), **os.environ, **cfg.env}
        with open(self.log_path, "wb") as log:
            process = self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: stop() reaches the engine too
                preexec_fn=_die_with_parent,
            )
        atexit.register(self.stop)
        try:
            self._wait_ready(process, cfg.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, process: subprocess.Popen, timeout: float) -> None:
        # vLLM opens its port only once the engine is up: refused until then.
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise LocalServerError(
                    f"vLLM exited with code {process.returncode} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                self._get("/v1/models", timeout=5)
                return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"vLLM not ready after {timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.5)

    def _get(self, path: str, timeout: float = 10) -> bytes:
        with _opener.open(self.base_url + path, timeout=timeout) as resp:
            return resp.read()

    def models(self) -> list[str]:
        return [m["id"] for m in json.loads(self._get("/v1/models"))["data"]]

    def metrics_text(self) -> str:
        return self._get("/metrics").decode()

    def metric_total(self, name: str, **labels: str) -> float:
        """Sum of every sample of a Prometheus metric whose labels match."""
        return sum_metric(self.metrics_text(), name, **labels)

    def request_count(self) -> float:
        """Requests this server's engine has finished, whatever the outcome."""
        return self.metric_total(REQUEST_COUNTER, model_name=self.served_name)

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None:
            return "(no log)"
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the whole process group, SIGKILL whatever is left after grace."""
        proc = self.process
        if proc is None:
            return
        atexit.unregister(self.stop)
        self._signal_group(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        # Also reaches engine processes that outlived the API server.
        self._signal_group(signal.SIGKILL)
        proc.wait()
        self._wait_group_gone(timeout=10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL everything at once, like a crash (the object stays stoppable)."""
        if self.process is not None:
            self._signal_group(signal.SIGKILL)
            self.process.wait()

    def _signal_group(self, sig: int) -> bool:
        if self.process is None:
            return False
        try:
            os.killpg(self.process.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def _wait_group_gone(self, timeout: float) -> None:
        # Killed engine workers are reparented to init and linger as zombies
        # for a moment; waiting makes "no vLLM process left" hold on return.
        deadline = time.monotonic() + timeout
        while self._signal_group(0) and time.monotonic() < deadline:
            time.sleep(0.1)

    def __enter__(self) -> LocalVLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def sum_metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        found = dict(_LABEL.findall(m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def _raise_interrupt(signum, frame):
    # SIGTERM (e.g. from a supervisor) takes the same clean path as Ctrl-C.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contour.local.server",
        description="Serve a local model with a real vLLM (CPU) until Ctrl-C.",
    )
    parser.add_argument("--model", choices=sorted(MODEL_DIRS), default="smollm2")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--served-name", help="model name clients send (default: --model)")
    parser.add_argument("--max-model-len", type=int, default=2048)
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the model: slower start, faster tokens")  # fmt: skip
    parser.add_argument("--no-setup", action="store_true", help="fail instead of running setup")
    args = parser.parse_args(argv)

    if not args.no_setup:
        ensure_setup()
    config = LocalServerConfig.for_model(
        args.model,
        port=args.port,
        max_model_len=args.max_model_len,
        enforce_eager=not args.compile,
        startup_timeout=600,
    )
    if args.served_name:
        config.served_name = args.served_name
    server = LocalVLLMServer(config)
    print(f"starting vLLM for {args.model!r} (log: {contour_home() / 'logs'}) ...", flush=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # A shell starting us in the background ignores SIGINT; Ctrl-C should still work.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        server.start()
        print(f"serving model {server.served_name!r} at {server.base_url}/v1 "
              f"(log: {server.log_path}); Ctrl-C stops it", flush=True)  # fmt: skip
        while server.is_running():
            time.sleep(1)
        print(f"vLLM exited unexpectedly:\n{server.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
        return 0
    except LocalServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
