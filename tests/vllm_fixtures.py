"""Pytest plugin: real local vLLM servers, one per session and model.

Enable with `pytest_plugins = ["tests.vllm_fixtures"]` in conftest.py.
Tests that use these fixtures are marked `vllm` automatically (conftest.py).

When the local vLLM is not set up (scripts/setup_local_vllm.sh, 3 GB), these
tests SKIP with that reason, unless the selection asks for them (`-m vllm`)
or CONTOUR_REQUIRE_VLLM=1 (set by scripts/test.sh and CI, which install it):
then setup runs and a server that cannot start FAILS the tests, never skips.
"""

import os

import pytest

from contour.local.server import (LocalServerConfig, LocalServerError, LocalVLLMServer,
                                  ensure_setup, is_setup)


def _required(config: pytest.Config) -> bool:
    return os.environ.get("CONTOUR_REQUIRE_VLLM") == "1" or "vllm" in (config.option.markexpr or "").replace(
        "not vllm", "")


def _serving(request: pytest.FixtureRequest, name: str):
    if not is_setup() and not _required(request.config):
        pytest.skip("the local vLLM is not set up (run scripts/setup_local_vllm.sh, or select "
                    "-m vllm to set it up now)")
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
def tiny_server(request):
    """A random-weight 2-layer Llama served as "tiny": fast, gibberish output."""
    yield from _serving(request, "tiny")


@pytest.fixture(scope="session")
def smollm2_server(request):
    """SmolLM2-135M-Instruct served as "smollm2": slow, but answers sensibly."""
    yield from _serving(request, "smollm2")
