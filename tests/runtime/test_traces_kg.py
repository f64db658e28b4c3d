"""Collapse traces and the knowledge graph of committed cells: every id resolves, vetoed beams stay out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codexlab import Lab
from codexlab.errors import CodexNameError
from codexlab.kg.vocab import value_iri

SCROLL = """@grid x:-1..1:32, y:-1..1:32
@seed 3
ψ := gaussian(x, y, σ=0.2)
φ := gaussian(x, y, x0=0.3, σ=0.2)
M = ⧖ψ
ψ ↔ φ
N = ⧖ψ
D = ∇·∇ψ
"""


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(home=tmp_path / "home")


def _traces(lab: Lab) -> list[dict]:
    rows = [json.loads(line) for line in lab.trace_path.read_text().splitlines()]
    return [r for r in rows if "hologram" in r]


def test_every_id_in_a_collapse_trace_resolves(lab: Lab) -> None:
    run = lab.run(SCROLL)
    traces = _traces(lab)
    measured = [t for t in traces if t["adapter"] == "qwave"]
    assert [t["output"]["name"] for t in measured] == ["M", "N"]
    collapse_beams = {b.beam_id for b in run.beams if b.stage == "collapse"}
    for t in measured:
        block = t["hologram"]["signature_block"]
        replayed = {b.beam_id for b in lab.replay(block["ghx_projection_id"], n=1000)}
        assert collapse_beams <= replayed
        post = lab.vault.load(block["vault_snapshot_id"])
        assert post.shape == (32, 32)
        assert lab.qglyph(block["qglyph_id"]).qglyph_id == block["qglyph_id"]
        assert t["hologram"]["trigger_metadata"]["beam_id"] in collapse_beams
        assert t["output"]["outcome"] == list(run.values[t["output"]["name"]].outcome)
    with pytest.raises(CodexNameError, match="No QGlyph program"):
        lab.qglyph("0" * 24)


def test_the_post_state_snapshot_is_the_measured_state(lab: Lab) -> None:
    run = lab.run(SCROLL)
    first = _traces(lab)[0]
    post = lab.vault.load(first["hologram"]["signature_block"]["vault_snapshot_id"])
    assert (post.values == run.values["M"].post.values).all()


def test_approved_beams_are_in_the_run_graph_and_sparql_lineage_matches_the_store(lab: Lab) -> None:
    run = lab.run(SCROLL)
    d_beam = [b for b in run.beams if b.stage in ("wave", "symbolic")][-1]
    op_beams = [b for b in run.beams if b.stage in ("wave", "symbolic") and b.verdict != "veto"]
    target = op_beams[-1]
    assert lab.kg.lineage_query(target.beam_id) == [
        b for b in lab.lineage(target.beam_id, ids_only=True) if b != target.beam_id and _in_kg(lab, b)
    ]
    assert d_beam.beam_id
    rows = lab.kg.query("SELECT (COUNT(DISTINCT ?v) AS ?n) WHERE { GRAPH ?g { ?v a prov:Entity } }")
    assert rows[0]["n"] >= len(op_beams)


def _in_kg(lab: Lab, beam_id: str) -> bool:
    return bool(lab.kg.query(f"ASK {{ <{value_iri(beam_id).value}> a prov:Entity }}"))


def test_a_vetoed_beam_is_in_no_graph(lab: Lab) -> None:
    run = lab.run("@grid x:-1..1:16, y:-1..1:16\nf0 := x - x\nB = log(f0)\n")
    assert type(run.values["B"]).__name__ == "Vetoed"
    vetoed = [b for b in run.beams if b.verdict == "veto"]
    assert vetoed
    for beam in vetoed:
        assert not _in_kg(lab, beam.beam_id)
    approved = [b for b in run.beams if b.verdict == "pass"]
    assert approved and all(_in_kg(lab, b.beam_id) for b in approved)


def test_a_path_choice_near_the_size_bound_is_ambiguous_and_a_clear_one_is_not() -> None:
    from codexlab.runtime.tracing import _near_bound

    assert _near_bound({"path": "exact", "exact_nodes": 1900}, 2000) == {"exact_nodes": 1900, "bound": 2000}
    assert _near_bound({"path": "grid", "exact_nodes": 2150}, 2000) == {"exact_nodes": 2150, "bound": 2000}
    assert _near_bound({"path": "exact", "exact_nodes": 40}, 2000) is None
    assert _near_bound({"path": "grid"}, 2000) is None


def test_a_near_tie_of_the_path_rule_in_a_run_writes_a_trace(tmp_path) -> None:
    cell = "@grid x:-1..1:32, y:-1..1:32\nu := gaussian(x, y, σ=0.2)\nL = Δu\n"
    size = next(op.size for s in Lab(home=tmp_path / "probe").compile(cell).statements for op in s.ops)
    clear = Lab(home=tmp_path / "clear", flags={"COST_THRESHOLD": 10 * size})
    clear.run(cell)
    assert not [t for t in _traces(clear) if t["adapter"] == "codex"]
    lab = Lab(home=tmp_path / "near", flags={"COST_THRESHOLD": size})
    run = lab.run(cell)
    traces = [t for t in _traces(lab) if t["adapter"] == "codex"]
    assert len(traces) == 1 and traces[0]["expression"] == "Δ"
    assert traces[0]["output"] == {"chosen": "exact", "exact_nodes": size, "bound": size}
    beam_id = traces[0]["hologram"]["trigger_metadata"]["beam_id"]
    assert beam_id in {
        b.beam_id for b in lab.replay(traces[0]["hologram"]["signature_block"]["ghx_projection_id"], n=100)
    }
    assert beam_id in run.beam_ids
