"""`PlotlyLibrary`: the HUD's Plotly, sent to the frontend once per kernel session.

plotly.js comes from the Python `plotly` package (`plotly/package_data/plotly.min.js`), so no node, npm
or CDN is ever needed. anywidget sends a widget's `_esm` with every instance, so Plotly inside each HUD
would cost ~5 MB per cell; instead one `PlotlyLibrary` model carries it, and its `initialize` hands
Plotly to every HUD and replay view through a promise on `globalThis` (`static/plotly_library.js`).
"""

from __future__ import annotations

import importlib.resources
import threading
from pathlib import Path

import anywidget

__all__ = ["PLOTLY_JS", "PlotlyLibrary", "library_esm", "plotly_library"]

_STATIC = Path(__file__).parent / "static"

#: plotly.js as the `plotly` package ships it (a UMD bundle: it fills `module.exports` when one exists).
PLOTLY_JS = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"

_LOCK = threading.Lock()
_INSTANCE: list[PlotlyLibrary] = []


def library_esm() -> str:
    """The library's ES module: a module-scoped `module` for the UMD bundle, the bundle, the handshake.

    The UMD wrapper assigns `module.exports` when `module` is an object, so Plotly lands in this
    module's own binding; the handshake (`static/plotly_library.js`) then publishes it to the HUDs.
    """
    bundle = PLOTLY_JS.read_text(encoding="utf-8")
    handshake = (_STATIC / "plotly_library.js").read_text(encoding="utf-8")
    return f"const module = {{ exports: {{}} }};\n{bundle}\n{handshake}"


class PlotlyLibrary(anywidget.AnyWidget):
    """A view-less model whose only job is to load plotly.js in the frontend once per kernel."""

    _esm = library_esm()

    def __repr__(self) -> str:
        return "<PlotlyLibrary>"


def plotly_library() -> PlotlyLibrary:
    """The session's `PlotlyLibrary`: created on first use, replaced when its comm was closed."""
    with _LOCK:
        if not _INSTANCE or _INSTANCE[0].comm is None:
            _INSTANCE[:] = [PlotlyLibrary()]
        return _INSTANCE[0]
