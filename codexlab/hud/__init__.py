"""The inline HUD: panel data from QFC payloads (`panels`) and the anywidget `Hud` that draws it."""

from __future__ import annotations

from .panels import Panels, mutation_rows, panels_from_updates, panels_html

__all__ = ["Hud", "Panels", "ReplayWidget", "mutation_rows", "panels_from_updates", "panels_html"]


def __getattr__(name: str):
    if name == "Hud":  # anywidget is an optional dependency (the `jupyter` extra): import it on use
        from .widget import Hud

        return Hud
    if name == "ReplayWidget":
        from .replay import ReplayWidget

        return ReplayWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
