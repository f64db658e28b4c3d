"""Dreams (`PHASE9_ENABLED`): after a cell, its variants run in the background and become mutations.

Each variant (`codexlab.patterns.dreams.dream_variants`) runs in a scratch container `<container>~dream`
that starts as a copy of the cell's container, so the user's names never change while dreaming. A dream
runs only while the overload controller reports the Lab within its latency budget; the rest are skipped.
Each dream is a DNA mutation (reason `repair`, mutated glyph `<cell>:dream:<kind>`) judged by the cell's
qscore; it is accepted, and re-run as the user's cell with `source="photon"`, only under `SPE_AUTO_FUSE`
and only when qscore improves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..contracts.dna_mutation import MutationSide
from ..errors import CodexError
from ..patterns import CellSettings
from ..patterns.dreams import dream_variants
from .repairs import cell_qscore

if TYPE_CHECKING:
    from .lab import Lab
    from .run import Run

__all__ = ["dream"]


def dream(lab: Lab, run: Run) -> list[str]:
    """Run the cell's dreams (see the module doc); returns the mutation ids recorded."""
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
        if lab.overload.status()["state"] != "ok":
            break
        lab.fork(base, scratch)
        try:
            after = cell_qscore(lab.run(variant.scroll, scratch, source="photon").scores)
        except CodexError:
            after = 0.0
        accepted = bool(lab.flags.SPE_AUTO_FUSE) and after > before
        mutation = lab.record_mutation(
            MutationSide(glyph=cell, scroll=code),
            MutationSide(glyph=f"{cell}:dream:{variant.kind}", scroll=variant.scroll),
            "repair",
            container=cid,
            accepted=accepted,
            qscore_before=before,
            qscore_after=after,
        )
        recorded.append(mutation.mutation_id)
        if accepted:
            lab.run(variant.scroll, cid, cell_id=cell, source="photon")
            before = after
    return recorded
