"""The end-to-end demo (`codexlab demo`, `make demo`, `scripts/demo_photon_qwave_sqi.py`).

Photon rewrites a CodexLang cell with ∇ and ⊗ → QWave runs its ops as compiled JAX kernels → beams and
the entangled pair are persisted → SQI scores and SoulLaw verdicts → SPE repairs a drifting cell and fuses
a repeated chain → the PROV-O graph is queried and exported. It ends with the ids a user can follow up:
`GHX replay id:` (for `codexlab replay`) and `QFC id:` (for `codexlab qfc`), and shows that both resolve.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEMO_CELL", "SPE_CELLS", "VETO_CELL", "DemoResult", "run_demo"]

#: The Photon/QWave cell: `∇·∇ψ` rewrites to `Δψ`; `∇φ ⊗ ∇φ` runs as one fused JAX program.
DEMO_CELL = """\
@grid x:-1..1:32, y:-1..1:32
@seed 11
ψ := gaussian(x, y, σ=0.2) * exp(i*6*x)
φ := gaussian(x, y, x0=0.4, σ=0.2)
L = ∇·∇ψ
T = ∇φ ⊗ ∇φ
P = ψ ↔ φ
M = ⧖ψ
"""

#: A value SoulLaw refuses (fail closed): log of a field that is zero everywhere is not finite.
VETO_CELL = "Z := x - x\nQ = log(Z)"

#: SPE cells: a Laplacian on a coarse grid (drifts, gets repaired), then one chain three times (fused).
SPE_CELLS = (
    "@grid x:-1..1:32, y:-1..1:32\nu := gaussian(x, y, σ=0.1)\n",
    "D = Δu\n",
    "E1 = ∇u • ∇u + u\n",
    "E2 = ∇u • ∇u + u\n",
    "E3 = ∇u • ∇u + u\n",
)


@dataclass
class DemoResult:
    """What the demo produced: the main run's ids and the SPE mutations."""

    home: Path
    ghx_id: str
    qfc_id: str
    eids: list[str]
    mutations: list[Any] = field(default_factory=list)
    kg_file: Path | None = None


def run_demo(home: str | os.PathLike[str] | None = None, out: Callable[[str], None] = print) -> DemoResult:
    """Run the demo in a Lab at `home` (default: `$CODEXLAB_HOME` or `./.codexlab`), printing with `out`."""
    from .photon.printing import to_unicode
    from .runtime import Lab
    from .runtime.run import describe_value
    from .runtime.values import Vetoed

    # COST_THRESHOLD=0 puts every field op on the grid (the JAX kernels), so drift is measured against
    # the exact forms; a second Lab on the same home runs the pattern engine (flags are per Lab).
    lab = Lab(home=home, flags={"COST_THRESHOLD": 0})
    lab.progress = False

    out("1 · Photon + QWave: one CodexLang cell")
    for line in DEMO_CELL.strip().splitlines():
        out(f"    {line}")
    run = lab.run(DEMO_CELL, container="demo")
    for name, d in run.derivations.items():
        rules = ", ".join(s.rule for s in d.steps)
        out(f"  Photon: {name} = {to_unicode(d.input)}  ⟶[{rules}]  {to_unicode(d.result)}")
    for b in run.beams:
        if b.stage == "wave":
            fused = f" · fused program {b.result['qglyph_id'][:12]}" if b.result.get("fused") else ""
            ms = b.result.get("duration_ms")
            timing = "" if ms is None else f" · {ms:.1f} ms"
            out(f"  QWave:  {b.token:2s} on the {b.result.get('backend', '?')} backend{fused}{timing}")
    for name, value in run.values.items():
        out(f"  value:  {name} = {describe_value(value)}")

    out("2 · Beams and entanglements, persisted in one transaction")
    stages: dict[str, int] = {}
    for b in run.beams:
        stages[b.stage] = stages.get(b.stage, 0) + 1
    out(f"  {len(run.beams)} beams ({', '.join(f'{k} {v}' for k, v in sorted(stages.items()))}) in {lab.store}")
    for eid, members in lab.store.entanglement_map(run.run_id).items():
        out(f"  entanglement {eid} ↔ {len(members)} member beam(s) linked")

    out("3 · SQI scores and SoulLaw verdicts")
    names = {b.beam_id: b.result.get("name") or b.token for b in run.beams}
    for s in run.scores:
        if s.qscore is not None:
            drift = "" if s.drift is None else f", drift {s.drift:.3g}"
            out(f"  {names.get(s.beam_id or '', '?'):4s} qscore {s.qscore:.3f} ({s.rating}{drift})")
    verdicts: dict[str, int] = {}
    for v in run.verdicts:
        verdicts[v.outcome] = verdicts.get(v.outcome, 0) + 1
    out(f"  SoulLaw: {', '.join(f'{k} {n}' for k, n in sorted(verdicts.items())) or 'no verdicts'}")
    vetoed = lab.run(VETO_CELL, container="demo")
    for name, value in vetoed.values.items():
        if isinstance(value, Vetoed):
            out(f"  `{VETO_CELL.splitlines()[-1]}` → vetoed by `{value.law}`: {value.reason}; `{name}` is not bound")

    out("4 · SPE: repair on drift, fusion of a repeated chain (SPE_AUTO_FUSE on)")
    engine = Lab(home=lab.home, flags={"SPE_AUTO_FUSE": True, "COST_THRESHOLD": 0})
    engine.progress = False
    for k, cell in enumerate(SPE_CELLS, 1):
        spe = engine.run(cell, container="spe", cell_id=f"spe_{k:02d}")
        for name, value in spe.values.items():
            if name in {"D", "E3"}:
                out(f"  cell {k}: {name} = {describe_value(value)}")
    mutations = engine.mutations("spe")
    for m in mutations:
        verdict = "accepted" if m.accepted else "rejected"
        scores = "" if m.qscore_after is None else f", qscore {m.qscore_before:.3f} → {m.qscore_after:.3f}"
        change = f"{m.original.glyph} → {m.mutated.glyph}"
        out(f"  mutation {m.mutation_id}: {m.metadata.reason} {verdict}, {change}{scores}")
    if not mutations:
        out("  no mutation was kept")

    out("5 · Knowledge graph (PROV-O)")
    rows = lab.kg.query("SELECT (COUNT(*) AS ?links) WHERE { ?v prov:wasDerivedFrom ?u }")
    assert isinstance(rows, list)  # a SELECT gives rows
    out(f"  SPARQL: {rows[0]['links']} prov:wasDerivedFrom links between approved values")
    kg_file = Path(lab.home) / "kg" / "demo.ttl"
    lab.kg.export("turtle", kg_file)
    out(f"  exported {kg_file} ({kg_file.stat().st_size} bytes of Turtle)")

    out("6 · Follow up")
    out(f"GHX replay id: {run.ghx_id}")
    out(f"QFC id: {run.qfc_id}")
    for eid in run.eids:
        out(f"eid: {eid}")
    replayed = lab.replay(run.ghx_id, n=100)
    payloads = lab.qfc(run.qfc_id) if run.qfc_id else []
    out(f"  resolves: `codexlab replay {run.ghx_id}` → {len(replayed)} beams;")
    out(f"            `codexlab qfc {run.qfc_id}` → {len(payloads)} payloads ({', '.join(p.kind for p in payloads)})")
    return DemoResult(Path(lab.home), run.ghx_id, run.qfc_id or "", list(run.eids), list(mutations), kg_file)
