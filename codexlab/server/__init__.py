"""The live service: a jupyter_server extension with the WebSocket glyph stream, a REST API and a dashboard.

`codexlab serve` runs it standalone; installed with the `jupyter` extra it is enabled in every Jupyter
server (JupyterLab, JupyterHub, Binder) at `/codexlab/`. `codex_fabric.start()` starts the runtime
(a Lab, supervised workers, a tick) without a server. See docs/server.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CodexLabApp", "Fabric", "start"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The extension jupyter_server loads: `CodexLabApp`."""
    from .app import CodexLabApp

    return [{"module": "codexlab.server", "app": CodexLabApp}]


def __getattr__(name: str) -> Any:
    if name == "CodexLabApp":  # jupyter_server is optional (the `jupyter` extra): import it on use
        from .app import CodexLabApp

        return CodexLabApp
    if name in ("Fabric", "start"):
        from . import codex_fabric

        return getattr(codex_fabric, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
