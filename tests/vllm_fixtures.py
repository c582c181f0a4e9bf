"""Pytest plugin: real local vLLM servers, one per session and model.

Enable with `pytest_plugins = ["tests.vllm_fixtures"]` in conftest.py.
The first use runs scripts/setup_local_vllm.sh if needed (minutes, once per
machine). A server that cannot be set up or started FAILS the tests that use
it, never skips them: CI is expected to have everything.
"""

import pytest

from contour.local.server import LocalServerConfig, LocalServerError, LocalVLLMServer, ensure_setup


def _serving(name: str):
    # Eager: ~20 s to start against ~30 s compiled (45 s on a cold compile
    # cache), and the tests send too few tokens to win that back.
    server = LocalVLLMServer(LocalServerConfig.for_model(name, enforce_eager=True))
    error = None
    try:
        ensure_setup()
        server.start()
    except LocalServerError as exc:
        error = str(exc)
    if error:
        pytest.fail(f"local vLLM server for {name!r} could not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiny_server():
    """A random-weight 2-layer Llama served as "tiny": fast, gibberish output."""
    yield from _serving("tiny")


@pytest.fixture(scope="session")
def smollm2_server():
    """SmolLM2-135M-Instruct served as "smollm2": slow, but answers sensibly."""
    yield from _serving("smollm2")
