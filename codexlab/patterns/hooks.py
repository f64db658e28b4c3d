"""The pattern engine after a cell: repairs, fusion and dreams — hooks above the Lab that use only its
public API (`run`, `memory`, `fork`, `cells`, `record_mutation`, `ops`, `rules`, `library`).

- `repair_cell` runs a cell's ranked patches as the same cell and keeps the first that raises its qscore
  (the others roll back); proposals (new definitions) are recorded, never run.
- `fuse` turns a container's most frequent fusable chain into a fusion glyph of that Lab only.
- `dream` runs variants of a cell in a forked container `<container>~dream`; the user's container never
  changes — `adopt_dream` re-runs a recorded variant there when the user asks.
- `auto_spe` / `auto_repair` are what `SPE_AUTO_FUSE` does after a committed or a failed cell.
Every try is a DNA mutation (contract 5); no patch bypasses SoulLaw (each runs through `Lab.run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contracts.dna_mutation import MutationSide
from ..errors import CodexError, CodexNameError
from ..sqi.scoring import cell_qscore
from .dreams import dream_variants
from .mutations import fusion_sides, repair_sides
from .repair import CellSettings, repair_from_drift

if TYPE_CHECKING:
    from ..runtime.lab import Lab
    from ..runtime.run import Run

__all__ = ["RepairOutcome", "repair_cell", "fuse", "dream", "adopt_dream", "auto_spe", "auto_repair"]

#: Drift above this leaves a cell for `SPE_AUTO_FUSE` to repair (the container status's CLOSED bound).
DRIFT_TOL = 1e-2


@dataclass
class RepairOutcome:
    """What `lab.repair` did: the cell, the ranked candidates, each try, the proposals and the patch kept."""

    cell_id: str
    qscore_before: float
    candidates: list[Any] = field(default_factory=list)
    tries: list[dict[str, Any]] = field(default_factory=list)
    proposals: list[Any] = field(default_factory=list)
    accepted: Any = None
    run: Any = None

    def __str__(self) -> str:
        lines = [f"repair of {self.cell_id} (qscore before {self.qscore_before:.3f}):"]
        for t in self.tries:
            verdict = "accepted" if t["accepted"] else "rejected"
            lines.append(f"  {t['kind']:12s} qscore {t['qscore_after']:.3f} {verdict}  {t['mutation_id']}")
        lines += [f"  proposal: {p.description}" for p in self.proposals]
        return "\n".join(lines)


def _worst_cell(lab: Lab, container: str) -> str:
    reports = lab.cells.reports(container)
    if not reports:
        raise CodexNameError(f"Container `{container}` has no cells to repair; run one first.")
    return max(reports, key=lambda c: (reports[c].gap_weight, reports[c].drift or 0.0))


def repair_cell(lab: Lab, container: str, cell_id: str | None = None, *, tries: int = 3) -> RepairOutcome:
    """Try the best `tries` applicable repair candidates of one cell in rank order; see the module doc."""
    cell = cell_id or _worst_cell(lab, container)
    record = lab.cells.get(container, cell)
    code, report = (record.code, record.report) if record is not None else (None, None)
    if code is None or report is None:
        raise CodexNameError(f"Cell `{cell}` has not run in container `{container}`; pass one of its cell ids.")
    memory = lab.memory(container)
    before = float(record.qscore) if record is not None else 0.0
    settings = CellSettings.of(memory.grid, memory.method, memory.precision)
    candidates = repair_from_drift(
        report, code, library=lab.library, memory_names=sorted(memory.bindings), settings=settings
    )
    outcome = RepairOutcome(cell, before, candidates, proposals=[c for c in candidates if c.proposal])
    for proposal in outcome.proposals[:tries]:
        lab.record_mutation(
            *repair_sides(proposal, code, glyph=cell),
            "repair",
            container=container,
            accepted=False,
            qscore_before=before,
        )
    for candidate in [c for c in candidates if not c.proposal][:tries]:
        snapshot = memory.snapshot()
        run, after = None, 0.0
        try:
            run = lab.run(candidate.patched_scroll, container, cell_id=cell, source="photon")
            after = cell_qscore(run.scores) or 0.0
        except CodexError:
            run = None
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


def fuse(lab: Lab, container: str, *, min_support: int = 3) -> Any:
    """The container's most frequent fusable chain as a fusion glyph of this Lab (see `Lab.fuse`)."""
    from ..photon.rules import DEFAULT_RULES
    from ..runtime.fusion_glyphs import register_fusion
    from .fusion import recombine_from_beams
    from .motifs import container_beams

    found = recombine_from_beams(container_beams(lab.store, container), min_support=min_support)
    if not found or found[0].name in lab.fusion_mutations:
        return None
    glyph = found[0]
    kept = glyph.traffic_gain >= lab.min_fusion_gain
    if kept:
        if lab.rules is None:
            lab.rules = DEFAULT_RULES.copy(f"lab:{lab.home.name}")
            lab.rules.table = lab.ops
        register_fusion(glyph, lab.ops, lab.rules)
        lab.fusions[glyph.name] = glyph
        _save_fusion_scroll(lab, glyph)
    original, mutated = fusion_sides(glyph)
    mutation = lab.record_mutation(original, mutated, "fusion", container=container, accepted=kept)
    lab.fusion_mutations[glyph.name] = mutation.mutation_id
    return glyph if kept else None


def _save_fusion_scroll(lab: Lab, glyph: Any) -> None:
    """A scroll in the library saying what a kept fusion glyph computes and how to call it."""
    call = f"{glyph.name}({', '.join(glyph.inputs)})"
    speed = f", {glyph.traffic_gain:.2f}× less memory traffic than op by op"
    text = f"# Fusion glyph `{glyph.name}` (support {glyph.support}{speed}):\n#   {call} = {glyph.text}\nE = {call}\n"
    lab.library.save(glyph.name, text, overwrite=True)


def dream(lab: Lab, run: Run) -> list[str]:
    """`PHASE9_ENABLED`: run the cell's variants in `<container>~dream`; returns the mutation ids recorded.

    A variant that raises the cell's qscore is recorded as accepted — a candidate the user may adopt
    (`adopt_dream`); the user's container is never touched here.
    """
    cid, cell = run.container_id, run.cell_id
    record = lab.cells.get(cid, cell)
    code = record.code if record is not None else None
    if code is None:
        return []
    before = float(record.qscore) if record is not None else 0.0
    base = lab.memory(cid).snapshot()
    scratch = f"{cid}~dream"
    recorded: list[str] = []
    memory = lab.memory(cid)
    settings = CellSettings.of(memory.grid, memory.method, memory.precision)
    for variant in dream_variants(code, lab.dream_count, settings):
        lab.fork(base, scratch)
        try:
            after = cell_qscore(lab.run(variant.scroll, scratch, source="photon").scores) or 0.0
        except CodexError:
            after = 0.0
        mutation = lab.record_mutation(
            MutationSide(glyph=cell, scroll=code),
            MutationSide(glyph=f"{cell}:dream:{variant.kind}", scroll=variant.scroll),
            "repair",
            container=cid,
            accepted=after > before,
            qscore_before=before,
            qscore_after=after,
        )
        recorded.append(mutation.mutation_id)
    return recorded


def adopt_dream(lab: Lab, mutation_id: str, container: str | None = None) -> Run:
    """Re-run a recorded dream's variant as its cell in the user's container (the user adopts it)."""
    cid = lab.memory(container).container_id
    mutation = next((m for m in lab.mutations(cid) if m.mutation_id == mutation_id), None)
    if mutation is None or ":dream:" not in mutation.mutated.glyph or not mutation.mutated.scroll:
        raise CodexNameError(f"`{mutation_id}` is not a dream of container `{cid}`; see `lab.mutations()`.")
    return lab.run(mutation.mutated.scroll, cid, cell_id=mutation.original.glyph, source="photon")


def auto_repair(lab: Lab, cell: str) -> Run | None:
    """`SPE_AUTO_FUSE` on a failed cell: the repaired run when a patch is accepted, else None."""
    container = lab.cells.container_of(cell)
    if container is None:
        return None
    outcome = repair_cell(lab, container, cell)
    if outcome.accepted is None:
        return None
    run = outcome.run
    run.mutations = [t["mutation_id"] for t in outcome.tries]
    return run


def auto_spe(lab: Lab, run: Run) -> Run:
    """`SPE_AUTO_FUSE` after a committed cell: repair drift gaps (kept only if qscore improves) and turn a
    chain with enough support into a fusion glyph (kept only if it is fast enough)."""
    cid = run.container_id
    record = lab.cells.get(cid, run.cell_id)
    report = record.report if record is not None else None
    mutations: list[str] = []
    if report is not None and (report.gaps or (report.drift or 0.0) > DRIFT_TOL):
        outcome = repair_cell(lab, cid, run.cell_id)
        mutations += [t["mutation_id"] for t in outcome.tries]
        if outcome.accepted is not None:
            run = outcome.run
    tried = set(lab.fusion_mutations)
    fuse(lab, cid)
    mutations += [m for name, m in lab.fusion_mutations.items() if name not in tried]
    run.mutations = list(run.mutations) + mutations
    return run
