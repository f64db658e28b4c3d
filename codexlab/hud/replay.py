"""`ReplayWidget`: step through the GHX replay of an eid or a run (`lab.replay(ref, n)`), oldest first.

Synced state stays small: `steps` (one compact dict per beam) and `fields` (one downsampled, uint8-quantized
heatmap per distinct vault snapshot, at most `MAX_SIDE`×`MAX_SIDE` cells, stored as a flat list of ints with the
min/max needed to dequantize, in image order: the field's first dim left → right, its second bottom → top).
`step` is the current step and `playing` runs a timer in the frontend.
Without a widget frontend, `_repr_html_` lists the steps as a static HTML table.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from ..qwave.pictures import downsample

__all__ = ["MAX_SIDE", "ReplayWidget", "field_heatmap", "quantize", "replay_html", "replay_state"]

_STATIC = Path(__file__).parent / "static"

#: Largest heatmap side (cells) sent to the frontend; bigger fields are block-averaged down to it.
MAX_SIDE = 64
#: Quantization levels above the minimum (uint8); non-finite cells are sent as -1.
LEVELS = 255


def quantize(values: np.ndarray) -> tuple[list[int], float | None, float | None]:
    """uint8 codes of `values` over its finite range: round((v − min)/(max − min)·255); -1 for non-finite.

    Returns (flat codes, min, max); min/max are None when no value is finite. A constant field codes as 0.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(v)
    if not finite.any():
        return [-1] * v.size, None, None
    lo, hi = float(v[finite].min()), float(v[finite].max())
    span = hi - lo
    scaled = (v - lo) / span * LEVELS if span > 0 else np.zeros_like(v)
    codes = np.where(finite, np.rint(np.nan_to_num(scaled)), -1).astype(np.int64)
    return codes.tolist(), lo, hi


def _magnitude(data: Any) -> tuple[np.ndarray, list[str], bool]:
    """Real values of a field to draw: |·| of complex values; the Euclidean norm over vector components."""
    dims = [str(d) for d in getattr(data, "dims", ())]
    values = np.asarray(getattr(data, "values", data))
    if not dims or len(dims) != values.ndim:
        dims = [f"dim_{i}" for i in range(values.ndim)]
    reduced = bool(np.iscomplexobj(values))
    values = np.abs(values) if reduced else values.astype(np.float64, copy=False)
    if values.ndim > 2:
        lead = [i for i, d in enumerate(dims) if d == "component"] or list(range(values.ndim - 2))
        if values.ndim - len(lead) > 2:
            lead = list(range(values.ndim - 2))
        values = np.sqrt(np.sum(values**2, axis=tuple(lead)))
        dims = [d for i, d in enumerate(dims) if i not in lead]
        reduced = True
    return values, dims, reduced


def field_heatmap(data: Any, max_side: int = MAX_SIDE) -> dict[str, Any] | None:
    """The compact heatmap (2-D) or line (1-D) of a field, or None for a scalar or an empty field.

    A heatmap's `data` is row-major in image order: `shape` = [rows, cols], the first row at the top (the
    highest coordinate of the second dim), columns along the first dim (`dims` = [horizontal, vertical]).
    """
    values, dims, reduced = _magnitude(data)
    if values.ndim not in (1, 2) or values.size == 0:
        return None
    small = downsample(values, max_side)
    if small.ndim == 2:
        small = small.T
        if _increasing(data, dims[1]):
            small = small[::-1]
        if not _increasing(data, dims[0]):
            small = small[:, ::-1]
    codes, lo, hi = quantize(small)
    return {
        "kind": "heatmap" if small.ndim == 2 else "line",
        "shape": list(small.shape),
        "source_shape": list(values.shape),
        "dims": dims,
        "magnitude": reduced,
        "min": lo,
        "max": hi,
        "data": codes,
    }


def _increasing(data: Any, dim: str) -> bool:
    """Whether `dim`'s coordinate grows with its index (True without a numeric coordinate)."""
    coords = getattr(data, "coords", {})
    if dim not in coords:
        return True
    c = np.asarray(coords[dim].values)
    return c.size < 2 or not np.issubdtype(c.dtype, np.number) or bool(c[-1] >= c[0])


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def replay_state(lab: Any, ref: str, n: int = 10) -> dict[str, Any]:
    """The replay of an eid or a run (`lab.replay(ref, n)`) as compact JSON: `{ref, steps, fields}`.

    `ref` may also be a beam id: its eid (or its run) is replayed and `step` points at that beam. One step
    per beam, oldest first, with its entanglement membership; one heatmap per distinct vault snapshot
    (`field_heatmap`), or `{"error": …}` when the snapshot cannot be read.
    """
    resolved = lab.replay_ref(ref)
    beams = lab.replay(resolved, n=n)
    members = _members(lab, {b.beam_id for b in beams})
    fields: dict[str, Any] = {}
    steps = []
    for i, b in enumerate(beams):
        result = b.result or {}
        vault_ref = result.get("vault_ref")
        vault_ref = vault_ref if isinstance(vault_ref, str) and vault_ref else None
        if vault_ref is not None and vault_ref not in fields:
            fields[vault_ref] = _field(lab, vault_ref)
        member_of = members.get(b.beam_id, [])
        role = result.get("role") or next((r for _, r in member_of if r), None)
        steps.append(
            {
                "index": i,
                "beam_id": b.beam_id,
                "stage": str(b.stage),
                "token": b.token,
                "timestamp": str(b.timestamp),
                "eid": b.eid,
                "entangled": bool(b.eid) or bool(member_of),
                "member_of": sorted({e for e, _ in member_of}),
                "role": str(role) if role else None,
                "qscore": _float(b.qscore),
                "verdict": b.verdict,
                "name": result.get("name") if isinstance(result.get("name"), str) else None,
                "vault_ref": vault_ref,
                "has_field": "data" in (fields.get(vault_ref or "") or {}),
            }
        )
    ids = [s["beam_id"] for s in steps]
    return {
        "ref": str(resolved),
        "steps": steps,
        "fields": {k: v for k, v in fields.items() if v is not None},
        "step": ids.index(ref) if ref in ids else 0,  # a beam id starts the replay at that beam
    }


def _field(lab: Any, vault_ref: str) -> dict[str, Any] | None:
    try:
        data = lab.vault.load(vault_ref)
    except Exception as err:  # a pruned or missing snapshot: the step shows why, the widget still works
        return {"error": str(err)[:200]}
    return field_heatmap(data)


def _members(lab: Any, beam_ids: set[str]) -> dict[str, list[tuple[str, str | None]]]:
    """Entanglement-member rows (eid, role) of these beams, from the store's `entanglement_members`."""
    try:
        rows = lab.store.frame("entanglement_members").to_dicts()
    except Exception:  # a store without the table: membership comes from `eid` alone
        return {}
    out: dict[str, list[tuple[str, str | None]]] = {}
    for row in rows:
        if row.get("beam_id") in beam_ids:
            out.setdefault(row["beam_id"], []).append((row.get("eid"), row.get("role")))
    return out


class ReplayWidget(anywidget.AnyWidget):
    """Replay the newest `n` beams of an eid, a run id, or a beam (its eid or run, starting at it), oldest
    first, one step per beam.

    `next()`, `prev()` and `goto(k)` move `step` (clamped to the steps there are); `play()`/`pause()` set
    `playing`, which advances `step` every `interval_ms` in the frontend and stops at the last step.
    """

    _esm = _STATIC / "hud.js"
    _css = _STATIC / "hud.css"
    view = traitlets.Unicode("replay").tag(sync=True)
    ref = traitlets.Unicode("").tag(sync=True)
    steps: traitlets.List[Any] = traitlets.List().tag(sync=True)
    fields = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    interval_ms = traitlets.Int(800).tag(sync=True)

    def __init__(self, lab: Any, ref: str, n: int = 10, **kwargs: Any) -> None:
        from .library import plotly_library

        super().__init__(**kwargs)
        self._plotly = plotly_library()
        self._lab = lab
        self._n = int(n)
        self.ref = str(ref)
        self.refresh()

    def __repr__(self) -> str:
        return f"<ReplayWidget ref={self.ref} steps={len(self.steps)} step={self.step}>"

    # ------------------------------------------------------------------------------------- state

    def refresh(self) -> ReplayWidget:
        """Read the replay again (`lab.replay(ref, n)`) and rebuild the steps and heatmaps."""
        state = replay_state(self._lab, self.ref, self._n)
        with self.hold_sync():
            self.playing = False
            self.fields = state["fields"]
            self.steps = state["steps"]
            start = state["step"] if self.ref != state["ref"] else self.step
            self.ref = state["ref"]
            self.step = min(start, max(0, len(self.steps) - 1))
        return self

    # ------------------------------------------------------------------------------------- moving

    def goto(self, k: int) -> int:
        """Go to step `k`, clamped to [0, len(steps) − 1]; returns the step now shown."""
        self.step = max(0, min(int(k), len(self.steps) - 1))
        return self.step

    def next(self) -> int:
        """One step forward (stays on the last step)."""
        return self.goto(self.step + 1)

    def prev(self) -> int:
        """One step back (stays on the first step)."""
        return self.goto(self.step - 1)

    def play(self) -> ReplayWidget:
        """Advance `step` on a timer in the frontend (from the start when on the last step)."""
        if self.steps and self.step >= len(self.steps) - 1:
            self.step = 0
        self.playing = len(self.steps) > 1
        return self

    def pause(self) -> ReplayWidget:
        self.playing = False
        return self

    # ------------------------------------------------------------------------------------- display

    def _repr_html_(self) -> str:
        return replay_html(self.ref, self.steps, self.step, self.fields)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[Any, Any], dict[Any, Any]] | None:
        """The widget view plus the static HTML step list and a stable text/plain."""
        data, meta = super()._repr_mimebundle_(**kwargs) or ({}, {})
        return {**data, "text/html": self._repr_html_(), "text/plain": repr(self)}, meta


_COLUMNS = ("#", "stage", "token", "beam_id", "timestamp", "eid", "entangled", "qscore", "verdict", "field")


def replay_html(ref: str, steps: list[dict[str, Any]], current: int = 0, fields: dict[str, Any] | None = None) -> str:
    """A static HTML table of the steps (every text escaped); entangled members and the current step marked."""
    e = html.escape
    fields = fields or {}
    head = f"<div><b>codexlab replay</b> · {e(str(ref))} · {len(steps)} steps</div>"
    if not steps:
        return f'<div class="cx-hud">{head}<div>No beams for this reference.</div></div>'
    rows = ["<tr>" + "".join(f"<th>{c}</th>" for c in _COLUMNS) + "</tr>"]
    for s in steps:
        f = fields.get(s.get("vault_ref") or "")
        shape = "×".join(str(x) for x in f["source_shape"]) if f and "source_shape" in f else ""
        cells = [
            str(s["index"]),
            s["stage"],
            s["token"],
            s["beam_id"],
            s["timestamp"],
            s["eid"] or "",
            ("member" + (f" ({s['role']})" if s.get("role") else "")) if s["entangled"] else "",
            "" if s["qscore"] is None else f"{s['qscore']:.4g}",
            s["verdict"] or "",
            shape,
        ]
        style = []
        if s["entangled"]:
            style.append("background:rgba(178,121,162,0.18)")
        if s["index"] == current:
            style.append("font-weight:600")
        attr = f' style="{";".join(style)}"' if style else ""
        rows.append(f"<tr{attr}>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>")
    return f'<div class="cx-hud">{head}<table>{"".join(rows)}</table></div>'
