"""Sheet metrics (`qpu_sheet_metrics`, scope `sheet`): cells run and reused, beams, the wall time beside
the sum of cell times, and the critical path — the chain of dependent cells that bounds the wall time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..contracts import QfcUpdate
from ..runtime.metrics import MetricsBus
from ..runtime.qfc import broadcast_qfc_update, qfc_id_for, save_qfc
from .graph import SheetGraph
from .result import CellOutcome

__all__ = ["critical_path", "sheet_metrics", "publish_sheet_metrics"]


def critical_path(graph: SheetGraph, outcomes: Mapping[str, CellOutcome]) -> tuple[list[str], float]:
    """The dependency chain with the largest summed cell time, and that time (ms)."""
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for cell in graph.order:
        if cell not in outcomes:
            continue
        parents = [p for p in graph.parents(cell) if p in finish]
        best = max(parents, key=lambda p: finish[p], default=None)
        finish[cell] = outcomes[cell].duration_ms + (finish[best] if best is not None else 0.0)
        via[cell] = best
    if not finish:
        return [], 0.0
    last = max(finish, key=lambda c: finish[c])
    length = finish[last]
    path: list[str] = []
    step: str | None = last
    while step is not None:
        path.append(step)
        step = via[step]
    return path[::-1], length


def sheet_metrics(
    graph: SheetGraph, outcomes: Mapping[str, CellOutcome], *, sheet_run_id: str, wall_ms: float, jobs: int
) -> dict[str, Any]:
    """The `qpu_sheet_metrics` payload of a sheet run (scope `sheet`)."""
    cells_ms = sum(o.duration_ms for o in outcomes.values())
    path, path_ms = critical_path(graph, outcomes)
    beams = [b for o in outcomes.values() for b in o.beams]
    speedup = cells_ms / wall_ms if wall_ms > 0 else None
    status = {c: outcomes[c].status if c in outcomes else "not run" for c in graph.sheet.ids}
    return {
        "kind": "qpu_sheet_metrics",
        "scope": "sheet",
        "sheet_run_id": sheet_run_id,
        "sheet": graph.sheet.name,
        "cells": len(graph.sheet.cells),
        "ran": [c for c in graph.order if status[c] == "ran"],
        "cached": [c for c in graph.order if status[c] == "cached"],
        "failed": [c for c in graph.order if status[c] == "failed"],
        "not_run": [c for c in graph.sheet.ids if status[c] == "not run"],
        "beams": len(beams),
        "stages": dict(Counter(b.stage for b in beams)),
        "jobs": jobs,
        "wall_ms": wall_ms,
        "cells_ms": cells_ms,
        "speedup": speedup,
        "efficiency": speedup / jobs if speedup is not None else None,
        "critical_path": path,
        "critical_path_ms": path_ms,
        "edges": [{"from": e.parent, "to": e.child, "what": e.what} for e in graph.edges],
        "rows": [
            {
                "cell_id": c,
                "status": status[c],
                "ms": outcomes[c].duration_ms if c in outcomes else None,
                "start_ms": outcomes[c].start_ms if c in outcomes else None,
                "end_ms": outcomes[c].end_ms if c in outcomes else None,
                "reads": sorted(graph.deps[c].reads),
                "writes": sorted(graph.writes(c)),
                "run_id": outcomes[c].run_id if c in outcomes else None,
                "reused_run_id": outcomes[c].reused_run_id if c in outcomes else None,
                "beams": len(outcomes[c].beams) if c in outcomes else 0,
            }
            for c in graph.sheet.ids
        ],
    }


def publish_sheet_metrics(home: Path, container_id: str, payload: dict[str, Any], bus: MetricsBus) -> str:
    """Store the payload as the sheet run's QFC envelope and broadcast it; returns its QFC id."""
    update = QfcUpdate(source=f"container::{container_id}", payload=payload)
    qfc_id = qfc_id_for(str(payload["sheet_run_id"]))
    save_qfc(home / "qfc", qfc_id, [update])
    broadcast_qfc_update(update, bus)
    return qfc_id
