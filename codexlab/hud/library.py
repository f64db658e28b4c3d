"""`PlotlyLibrary`: the HUD's Plotly, sent to the frontend once per kernel session.

anywidget sends a widget's `_esm` with every instance, so a Plotly bundle inside each HUD would cost
~1.5 MB per cell. Instead one `PlotlyLibrary` model carries the bundle (`static/plotly.js`, built by
`make hud-bundle` from `widgets/`); its `initialize` hands Plotly to every HUD and replay view through a
promise on `globalThis`. Without the bundle (a checkout where node never ran) the HUD draws SVG.
"""

from __future__ import annotations

import threading
from pathlib import Path

import anywidget

__all__ = ["BUNDLE", "PlotlyLibrary", "plotly_library"]

#: The esbuild bundle of plotly.js (cartesian traces) from the npm registry.
BUNDLE = Path(__file__).parent / "static" / "plotly.js"

_LOCK = threading.Lock()
_INSTANCE: list[PlotlyLibrary] = []


class PlotlyLibrary(anywidget.AnyWidget):
    """A view-less model whose only job is to load the Plotly bundle in the frontend once."""

    _esm = BUNDLE

    def __repr__(self) -> str:
        return "<PlotlyLibrary>"


def plotly_library() -> PlotlyLibrary | None:
    """The session's `PlotlyLibrary` (created on first use), or None when the bundle was not built."""
    if not BUNDLE.is_file():
        return None
    with _LOCK:
        if not _INSTANCE or _INSTANCE[0].comm is None:
            _INSTANCE[:] = [PlotlyLibrary()]
        return _INSTANCE[0]
