"""Repairs applied through the Lab: run a cell's ranked patches, keep the first that raises its qscore.

`repair_from_drift` (patterns) proposes patched scrolls; here each is run on the container as the same
cell, marked `source="photon"`, and judged by the cell's qscore (the mean of its scored beams; 0 for a
cell that failed). A patch that does not improve it is rolled back — the container's names and the
cell's report return to what they were — and recorded as a rejected mutation; the first that improves
it stays and is recorded as accepted. Every try is a DNA mutation (contract 5), and no patch bypasses
SoulLaw: it runs through `Lab.run` like any cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import CodexError, CodexNameError
from ..patterns import CellSettings, repair_from_drift, repair_sides

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["RepairOutcome", "repair_cell", "cell_qscore"]


@dataclass
class RepairOutcome:
    """What `lab.repair` did: the cell, the ranked candidates, each try and the patch it kept (if any)."""

    cell_id: str
    qscore_before: float
    candidates: list[Any] = field(default_factory=list)
    tries: list[dict[str, Any]] = field(default_factory=list)
    accepted: Any = None
    run: Any = None

    def __str__(self) -> str:
        lines = [f"repair of {self.cell_id} (qscore before {self.qscore_before:.3f}):"]
        for t in self.tries:
            verdict = "accepted" if t["accepted"] else "rejected"
            lines.append(f"  {t['kind']:12s} qscore {t['qscore_after']:.3f} {verdict}  {t['mutation_id']}")
        return "\n".join(lines)


def cell_qscore(scores: list[Any]) -> float:
    """The qscore of a cell: the mean over its scored beams (0 when none was scored)."""
    values = [float(s.qscore) for s in scores if s.qscore is not None]
    return sum(values) / len(values) if values else 0.0


def _worst_cell(lab: Lab, container: str) -> str:
    reports = lab.cells.reports(container)
    if not reports:
        raise CodexNameError(f"Container `{container}` has no cells to repair; run one first.")
    return max(reports, key=lambda c: (reports[c].gap_weight, reports[c].drift or 0.0))


def repair_cell(lab: Lab, container: str, cell_id: str | None, *, tries: int = 3) -> RepairOutcome:
    """Try the best `tries` repair candidates of one cell in rank order; see the module doc."""
    cell = cell_id or _worst_cell(lab, container)
    record = lab.cells.get(container, cell)
    code, report = (record.code, record.report) if record is not None else (None, None)
    if code is None or report is None:
        raise CodexNameError(f"Cell `{cell}` has not run in container `{container}`; pass one of its cell ids.")
    memory = lab.memory(container)
    before = float(record.qscore)
    settings = CellSettings.of(memory.grid, memory.method, memory.precision)
    candidates = repair_from_drift(
        report, code, library=lab.library, memory_names=sorted(memory.bindings), settings=settings
    )
    outcome = RepairOutcome(cell, before, candidates)
    for candidate in candidates[:tries]:
        snapshot, flags = memory.snapshot(), lab.flags
        run, after = None, 0.0
        try:
            if candidate.flags:
                lab.flags = lab.flags.with_overrides(**dict(candidate.flags))
            run = lab.run(candidate.patched_scroll, container, cell_id=cell, source="photon")
            after = cell_qscore(run.scores)
        except CodexError:
            run = None
        finally:
            lab.flags = flags
        accepted = after > before
        mutation = lab.record_mutation(
            *repair_sides(candidate, code, glyph=cell),
            "repair",
            container=container,
            accepted=accepted,
            qscore_before=before,
            qscore_after=after,
        )
        outcome.tries.append(
            {
                "kind": candidate.kind,
                "description": candidate.description,
                "qscore_after": after,
                "accepted": accepted,
                "mutation_id": mutation.mutation_id,
            }
        )
        if accepted:
            outcome.accepted, outcome.run = candidate, run
            return outcome
        memory.restore(snapshot)
        record = lab.cells.record(container, cell)
        record.code, record.report, record.qscore = code, report, before
    return outcome
