"""`Hud`: one anywidget with internal panels (timeline, field pictures, lineage DAG, entanglement, SQI/drift,
vetoes, mutations, cost per opcode, precision heatmap, replay of the clicked beam), fed by a run's QFC
payloads or live from the Lab's bus (executed beams and loop progress while a cell runs)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..qwave.pictures import value_pictures
from .panels import Panels, mutation_rows, panels_html
from .replay import replay_state

__all__ = ["Hud"]

_STATIC = Path(__file__).parent / "static"


class Hud(anywidget.AnyWidget):
    """The inline HUD of a Lab: `hud.update(run)` shows a run, `hud.follow()` follows the bus live.

    Only compact panel data is synced (`panels`, a dict of capped lists; see `codexlab.hud.panels`).
    Without a widget frontend, `_repr_html_` shows a static HTML summary of the same panels.
    """

    _esm = _STATIC / "hud.js"
    _css = _STATIC / "hud.css"
    view = traitlets.Unicode("hud").tag(sync=True)
    panels = traitlets.Dict().tag(sync=True)
    #: The beam clicked in the timeline (set by the frontend or `select()`); the replay panel follows it.
    selected = traitlets.Unicode("").tag(sync=True)
    #: The replay of the selected beam's eid (or of its run): `replay_state(...)` plus `selected`, `step`.
    replay = traitlets.Dict().tag(sync=True)
    #: Beams shown in the replay panel.
    replay_n = traitlets.Int(20)

    def __init__(self, lab: Any, container: str | None = None, history: Hud | None = None, **kwargs: Any) -> None:
        """`history`: an earlier HUD of the same session whose SQI/drift run history this one continues."""
        from .library import plotly_library

        super().__init__(**kwargs)
        self._plotly = plotly_library()
        self._lab = lab
        self._container = container
        self._state = Panels(container)
        if history is not None:
            self._state.history = {k: dict(v) for k, v in history._state.history.items()}
        self._lock = threading.RLock()
        self._unsubscribe: Any = None
        self.panels = self._state.to_dict()

    def __repr__(self) -> str:
        run = self._state.run_id or "no run"
        return f"<Hud container={self._container or 'any'} run={run}>"

    # ------------------------------------------------------------------------------------- feeding

    def update(self, run: Any) -> Hud:
        """Show a run: read its stored QFC payloads (`lab.qfc(run.qfc_id)`) and the container's mutations;
        given the `Run` itself (not its QFC id), also a picture of each field it bound."""
        qfc_id = run if isinstance(run, str) else run.qfc_id
        if not qfc_id:
            raise ValueError("This run has no QFC payloads (`run.qfc_id` is None); pass a committed Lab run.")
        updates = self._lab.qfc(qfc_id)
        pictures = None if isinstance(run, str) else value_pictures(run.values)
        with self._lock:
            for update in updates:
                self._state.apply(update)
            if pictures is not None:
                self._state.fields, self._state.fields_left = pictures
            self._refresh_mutations(updates[0].container_id if updates else None)
            self._refresh_stale(updates[0].container_id if updates else None)
            self.panels = self._state.to_dict()
        return self

    def follow(self) -> Hud:
        """Update live from the Lab's metrics bus (`qfc_update` and `dna_mutation` events); idempotent."""
        with self._lock:
            if self._unsubscribe is None:
                self._unsubscribe = self._lab.bus.subscribe(self._on_event, {"qfc_update", "dna_mutation"})
        return self

    def unfollow(self) -> None:
        """Stop following the bus (the widget stays open)."""
        with self._lock:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

    def close(self) -> None:
        """Stop following the bus and close the widget."""
        self.unfollow()
        super().close()

    def _on_event(self, event: dict[str, Any]) -> None:
        with self._lock:
            if event.get("type") == "dna_mutation":
                cid = (event.get("metadata") or {}).get("container_id")
                if self._container is not None and cid != self._container:
                    return
                self._refresh_mutations(cid)
            elif self._state.apply(event):
                if (event.get("payload") or {}).get("kind") == "qpu_cell_update":
                    cid = str(event.get("source", "")).removeprefix("container::")
                    self._refresh_mutations(cid)
                    self._refresh_stale(cid)
            else:
                return
            self.panels = self._state.to_dict()

    def _refresh_mutations(self, container: str | None) -> None:
        cid = self._container or container
        if cid:
            self._state.mutations = mutation_rows(self._lab.mutations(cid))

    def _refresh_stale(self, container: str | None) -> None:
        """The container's cells with the stale ones marked (the sheet panel), from the Lab's cell watch."""
        cid = self._container or container
        if cid:
            payload = self._lab.cell_watch.panel(cid, self._lab.memory(cid))
            self._state.apply({"type": "qfc_update", "source": f"container::{cid}", "payload": payload})

    # ------------------------------------------------------------------------------------- replay

    def select(self, beam_id: str) -> Hud:
        """Select a beam (as a click in the timeline does): the replay panel shows its eid or its run."""
        self.selected = str(beam_id)
        return self

    @traitlets.observe("selected")
    def _on_selected(self, change: dict[str, Any]) -> None:
        beam_id = change["new"]
        if not beam_id:
            self.replay = {}
            return
        beam = self._lab.store.get_beam(beam_id)
        if beam is None:
            self.replay = {"ref": beam_id, "steps": [], "fields": {}, "selected": beam_id, "error": "unknown beam"}
            return
        self.replay = {**replay_state(self._lab, beam_id, self.replay_n), "selected": beam_id}

    # ------------------------------------------------------------------------------------- display

    def _repr_html_(self) -> str:
        return panels_html(self.panels)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[Any, Any], dict[Any, Any]] | None:
        """The widget view plus an HTML summary and a stable text/plain (frontends pick what they show)."""
        data, meta = super()._repr_mimebundle_(**kwargs) or ({}, {})
        return {**data, "text/html": panels_html(self.panels), "text/plain": repr(self)}, meta
