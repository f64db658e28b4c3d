"""Motif mining: n-gram support and time share, attractors, entanglement topology, the trace file."""

from __future__ import annotations

import json

from codexlab.patterns import attractors, entanglement_topology, op_ngrams, read_trace, record_trace
from tests.patterns.conftest import energy_run


def test_ngram_support_counts_distinct_paths_across_runs(beam) -> None:
    beams = energy_run(beam, "r1") + energy_run(beam, "r2") + energy_run(beam, "r3")
    frame = op_ngrams(beams, n=(2, 3))
    rows = {r["ops"]: r for r in frame.to_dicts()}
    assert rows["∇ → • → +"]["support"] == 3
    assert rows["∇ → • → +"]["runs"] == 3
    assert rows["Δ → +"]["support"] == 3
    # time share: ∇ (2) + • (1) + (1) of the 7 ms per run
    assert abs(rows["∇ → • → +"]["time_share"] - 4 / 7) < 1e-12
    assert set(rows) == {"∇ → •", "• → +", "Δ → +", "∇ → • → +"}


def test_vetoed_beams_break_paths(beam) -> None:
    beams = energy_run(beam, "r1") + energy_run(beam, "r2", veto_dot=True)
    rows = {r["ops"]: r["support"] for r in op_ngrams(beams).to_dicts()}
    assert rows["∇ → • → +"] == 1
    assert rows["Δ → +"] == 2


def test_attractors_from_loop_beams(beam) -> None:
    loop = beam(
        "r1", "loop", "⟲", attractor={"kind": "cycle", "period": 3, "iteration": 9, "first_seen": 6}, names=["u"]
    )
    plain = beam("r1", "loop", "⟲", attractor=None)
    frame = attractors([loop, plain])
    assert frame.height == 1
    assert frame.row(0, named=True)["period"] == 3
    assert frame.row(0, named=True)["names"] == ["u"]


def test_entanglement_topology_components_and_cliques() -> None:
    emap = {
        "eid::r::1": ["a", "b"],
        "eid::r::2": ["b", "c"],
        "eid::r::3": ["a", "c"],
        "eid::r::4": ["d", "e"],
        "eid::r::5": ["f"],
    }
    topo = entanglement_topology(emap)
    comps = [c["cells"] for c in topo["components"]]
    assert comps == [["a", "b", "c"], ["d", "e"], ["f"]]
    cliques = [c["cells"] for c in topo["cliques"]]
    assert cliques == [["a", "b", "c"], ["d", "e"]]
    assert topo["cliques"][0]["eids"] == ["eid::r::1", "eid::r::2", "eid::r::3"]


def test_trace_appends_one_line_per_call(tmp_path, beam) -> None:
    frame = op_ngrams(energy_run(beam, "r1"))
    first = record_trace(tmp_path, "demo", {"ngrams": frame})
    before = first.read_bytes()
    second = record_trace(tmp_path, "demo", {"ngrams": frame, "note": "again"})
    assert first == second
    after = second.read_bytes()
    assert after.startswith(before)
    lines = after.decode().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1])["patterns"]["note"] == "again"
    assert [r["container_id"] for r in read_trace(tmp_path, "demo")] == ["demo", "demo"]
