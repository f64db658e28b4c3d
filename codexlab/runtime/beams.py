"""Beam recording: one `BeamEvent` per executed op, its result summary and vault snapshot, the live feed.

The recorder never persists: the pipeline's persist stage commits a cell's beams together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy
import xarray as xr

from ..contracts import BeamEvent, new_beam_id, utc_now_iso
from ..contracts.beam import Stage
from .summary import summarize_array, summarize_number
from .values import Value

__all__ = ["BeamRecorder", "value_summary"]

_EXPR_TEXT = 400


def value_summary(value: Value, data: Any, cell_volume: float, *, hashed: bool = True) -> dict[str, Any]:
    """The op-specific `result` summary of a value (shape, dtype, min, max, norm, checksum when `hashed`,
    …); a field's statistics come from `value.meta["stats"]` when its program computed them."""
    if isinstance(data, xr.DataArray):
        out = summarize_array(data.values, cell_volume, stats=value.meta.get("stats"), hashed=hashed)
    elif isinstance(data, bool | np.bool_):
        out = {"shape": [], "dtype": "bool", "value": bool(data), "finite": True}
    elif isinstance(data, complex | np.complexfloating):
        out = summarize_number(complex(data))
    elif isinstance(data, int | float | np.integer | np.floating):
        out = summarize_number(float(data))
    elif value.kind == "pair":
        lam = np.asarray(data.lam)
        out = {
            "schmidt_rank": int(data.schmidt_rank),
            "entropy_bits": float(data.entropy_bits),
            "lambdas": [float(v) for v in lam],
            "finite": bool(np.all(np.isfinite(lam))),
        }
    elif value.kind == "measurement":
        out = {
            "outcome": [float(v) for v in data.outcome],
            "probability": float(data.probability),
            "mode": data.mode,
            "sigma": float(data.sigma),
            "finite": bool(np.isfinite(float(data.probability))),
        }
    else:
        out = {"value": str(data)}
    out["kind"] = value.kind
    if value.expr is not None:
        text = sympy.sstr(value.expr)
        out["expr"] = text if len(text) <= _EXPR_TEXT else text[: _EXPR_TEXT - 1] + "…"
    return out


class BeamRecorder:
    """Makes a cell's beams in order; `live` (a `LiveFeed`) sees each one as it is made."""

    def __init__(
        self, *, cell_id: str, run_id: str, container_id: str, source: str, vault: Any = None, live: Any = None
    ) -> None:
        self.cell_id = cell_id
        self.run_id = run_id
        self.container_id = container_id
        self.source = source
        #: The source of the statement being recorded when it differs from the cell's (`photon` for a
        #: statement a Photon rule rewrote); None otherwise.
        self.statement_source: str | None = None
        self.vault = vault
        self.live = live
        self.beams: list[BeamEvent] = []

    def add(
        self,
        stage: Stage,
        token: str,
        result: dict[str, Any],
        parents: Sequence[str | None] = (),
        eid: str | None = None,
    ) -> BeamEvent:
        """Record one beam (parents deduplicated, in order)."""
        beam = BeamEvent(
            beam_id=new_beam_id(self.cell_id, stage),
            cell_id=self.cell_id,
            sheet_run_id=self.run_id,
            container_id=self.container_id,
            eid=eid,
            stage=stage,
            token=token,
            result=result,
            timestamp=utc_now_iso(),
            parents=list(dict.fromkeys(p for p in parents if p)),
            source=self.statement_source or self.source,
        )
        self.beams.append(beam)
        if self.live is not None:
            self.live.beam(beam)
        return beam

    def summary(self, value: Value, data: Any, cell_volume: float, *, snapshot: bool = True) -> dict[str, Any]:
        """A value's summary, with a vault snapshot of a field's values (`vault_ref`) when `snapshot`.

        The checksum identifies the snapshot, so a field without one (an intermediate, by default) is
        not hashed: it has neither `checksum` nor `vault_ref`, never a reference that does not resolve.
        """
        out = value_summary(value, data, cell_volume, hashed=snapshot)
        if snapshot and self.vault is not None and isinstance(data, xr.DataArray):
            out["vault_ref"] = self.vault.save(data, out["checksum"])
        return out

    def replace(self, beam: BeamEvent) -> None:
        """Put an updated copy of a recorded beam (a verdict, a score) in its place."""
        for i, b in enumerate(self.beams):
            if b.beam_id == beam.beam_id:
                self.beams[i] = beam
                return
