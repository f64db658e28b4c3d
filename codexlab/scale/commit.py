"""The client's side of a finished point: vault snapshots, the cell in one transaction, then the rest.

Order matters for "nothing half-written": snapshots first (content-addressed, so a repeat is free and an
orphan harmless), then the beams with their links and rows in one transaction, at most once per run
(`persist_cell`), then what derives from them — the collapse-trace lines (only when this commit wrote
the run), the run's QFC payloads (`lab.qfc(run_id)`), the knowledge-graph export (idempotent: RDF quads
form a set) and the SQI score events on the Lab's bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..contracts import QfcUpdate, SqiScore, load_payload
from ..kg import export_after_commit
from ..runtime.qfc import qfc_id_for, save_qfc
from ..sqi._jsonl import append_jsonl
from .point import PointResult

if TYPE_CHECKING:
    from ..runtime.lab import Lab

__all__ = ["commit_point"]


def commit_point(lab: Lab, result: PointResult) -> PointResult:
    """Write a finished point into `lab`'s home (see the module doc); returns it with its stored beams."""
    for snapshot in result.snapshots.values():
        lab.vault.save(snapshot)
    if result.written is None and not result.beams:  # a run with no beams (a sheet's directive-only cell)
        result.written, result.committed_by = False, "client"
    if result.written is None:
        commit = lab.store.persist_cell(result.beams, links=result.links, rows=result.rows)
        result.beams, result.written, result.committed_by = commit.beams, commit.written, "client"
    if result.written:
        append_jsonl(lab.trace_path, result.trace)
    if result.qfc:
        save_qfc(lab.home / "qfc", qfc_id_for(result.run_id), [QfcUpdate.model_validate(u) for u in result.qfc])
    scores = [load_payload(SqiScore, row) for row in result.rows.get("sqi_scores", [])]
    if lab.graph and result.beams:
        export_after_commit(lab.home, lab.store, result.run_id, scores, result.beams)
    if result.written:
        for score in scores:
            lab.bus.publish({**score.model_dump(mode="json"), "type": "sqi_score"})
    return result
