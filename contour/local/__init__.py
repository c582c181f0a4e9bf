"""A real vLLM on this machine: its setup (setup/), a server's lifecycle, and the demo."""

from typing import Any

__all__ = ["LocalServerConfig", "LocalServerError", "LocalVLLMServer", "ensure_setup"]


def __getattr__(name: str) -> Any:
    # Imported on first use, not with the package: `python -m contour.local.server`
    # would otherwise find its own module already imported and warn.
    if name in __all__:
        from contour.local import server
        return getattr(server, name)
    raise AttributeError(f"module 'contour.local' has no attribute {name!r}")
