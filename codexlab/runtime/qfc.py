"""QFC payloads of a committed run: what the HUD and the WebSocket server draw, built once, stored, broadcast.

A run yields one `QfcUpdate` envelope (CONTRACTS.md) per payload kind: the cell (statements and value
summaries), the sheet metrics (phase timings, beam counts, qscores), the beam timeline, the beam lineage
(nodes and parent edges), the entanglement map and, when profiled, the precision profile. They are
written as one JSON file `<home>/qfc/<run_id>.json` (`lab.qfc(run.qfc_id)` reads it back) and published
on the metrics bus as `qfc_update` events by `broadcast_qfc_update`.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..contracts import BeamEvent, QfcUpdate
from ..errors import CodexNameError, CodexValueError
from .metrics import BUS, MetricsBus
from .run import describe_value

__all__ = ["timeline_rows", "build_qfc_updates", "broadcast_qfc_update", "save_qfc", "load_qfc", "qfc_id_for"]


_QFC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def qfc_id_for(run_id: str) -> str:
    """The QFC id of a run (`qfc::<run_id>`)."""
    return f"qfc::{run_id}"


def _envelope(container_id: str, kind: str, body: Mapping[str, Any]) -> QfcUpdate:
    return QfcUpdate(source=f"container::{container_id}", payload={"kind": kind, **body})


def timeline_rows(beams: Iterable[BeamEvent]) -> list[dict[str, Any]]:
    """One compact row per beam for the `qpu_beam_timeline` payload."""
    return [
        {
            "beam_id": b.beam_id,
            "stage": b.stage,
            "token": b.token,
            "timestamp": b.timestamp,
            "duration_ms": b.result.get("duration_ms"),
            "predicted_ms": b.result.get("predicted_ms"),
            "compile_ms": b.result.get("compile_ms"),
            "path": b.result.get("path"),
            "eid": b.eid,
            "qscore": b.qscore,
            "drift": b.drift,
            "verdict": b.verdict,
        }
        for b in beams
    ]


def build_qfc_updates(
    run: Any,
    *,
    metrics: Iterable[Mapping[str, Any]] = (),
    entanglement_map: Mapping[str, list[str]] | None = None,
    precision_table: list[dict[str, Any]] | None = None,
) -> list[QfcUpdate]:
    """The QFC envelopes of one committed `Run` (validated as contract payloads)."""
    cid = run.container_id
    beams = list(run.beams)
    phases: dict[str, float] = {}
    for event in metrics:
        name = str(event.get("name", ""))
        phases[name] = phases.get(name, 0.0) + float(event.get("duration_ms", 0.0))
    qscores = [s.qscore for s in run.scores if s.qscore is not None]
    updates = [
        _envelope(
            cid,
            "qpu_cell_update",
            {
                "run_id": run.run_id,
                "cell_id": run.cell_id,
                "statements": list(run.statements),
                "values": {name: describe_value(v) for name, v in run.values.items()},
                "eids": list(run.eids),
            },
        ),
        _envelope(
            cid,
            "qpu_sheet_metrics",
            {
                "run_id": run.run_id,
                "duration_ms": run.duration_ms,
                "phases_ms": phases,
                "beams": len(beams),
                "stages": dict(Counter(b.stage for b in beams)),
                "vetoes": sum(1 for b in beams if b.verdict == "veto"),
                "qscore_mean": sum(qscores) / len(qscores) if qscores else None,
                "qscore_min": min(qscores) if qscores else None,
            },
        ),
        _envelope(cid, "qpu_beam_timeline", {"run_id": run.run_id, "beams": timeline_rows(beams)}),
        _envelope(
            cid,
            "qpu_beam_lineage",
            {
                "run_id": run.run_id,
                "nodes": [{"id": b.beam_id, "stage": b.stage, "token": b.token} for b in beams],
                "edges": [{"from": p, "to": b.beam_id} for b in beams for p in b.parents],
            },
        ),
        _envelope(cid, "qpu_entanglement_map", {"run_id": run.run_id, "map": dict(entanglement_map or {})}),
    ]
    if precision_table:
        updates.append(_envelope(cid, "qpu_precision_profile", {"run_id": run.run_id, "rows": precision_table}))
    return updates


def broadcast_qfc_update(update: QfcUpdate, bus: MetricsBus | None = None) -> None:
    """Publish one QFC envelope on the metrics bus (type `qfc_update`), for the HUD and the WebSocket."""
    (bus or BUS).publish(update.model_dump(mode="json"))


def _qfc_path(root: str | os.PathLike[str], qfc_id: str) -> Path:
    """`<root>/<run_id>.json` for `qfc::<run_id>`, refusing anything that could name a file elsewhere."""
    name = qfc_id.removeprefix("qfc::") if isinstance(qfc_id, str) else ""
    if not _QFC_NAME.fullmatch(name):
        raise CodexValueError(
            f"`{qfc_id}` is not a QFC id: they are `qfc::<run id>` (letters, digits, `_`, `-`), as `run.qfc_id` "
            "and `codexlab run` print them; pass one of those."
        )
    folder = Path(root).resolve()
    path = (folder / f"{name}.json").resolve()
    if path.parent != folder:  # a symlink in the folder pointing elsewhere
        raise CodexValueError(f"`{qfc_id}` resolves outside `{folder}`; QFC payloads are read from that folder only.")
    return path


def save_qfc(root: str | os.PathLike[str], qfc_id: str, updates: list[QfcUpdate]) -> Path:
    """Write a run's QFC envelopes to `<root>/<run_id>.json` (write then rename: never half a file)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    path = _qfc_path(root, qfc_id)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps([u.model_dump(mode="json") for u in updates], default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_qfc(root: str | os.PathLike[str], qfc_id: str) -> list[QfcUpdate]:
    """The stored QFC envelopes of a run, validated; `CodexNameError` for an unknown id, `CodexValueError`
    for text that is not a QFC id (a path, `..`), so nothing outside `root` is ever read."""
    path = _qfc_path(root, qfc_id)
    if not path.is_file():
        raise CodexNameError(f"No QFC payloads `{qfc_id}` under `{root}`; use a `run.qfc_id` of this home.")
    return [QfcUpdate.model_validate(item) for item in json.loads(path.read_text(encoding="utf-8"))]
