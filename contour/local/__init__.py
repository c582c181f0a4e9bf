"""A real vLLM on this machine: its setup (setup/), a server's lifecycle, and the demo."""

from contour.local.server import LocalServerConfig, LocalServerError, LocalVLLMServer, ensure_setup

__all__ = ["LocalServerConfig", "LocalServerError", "LocalVLLMServer", "ensure_setup"]
