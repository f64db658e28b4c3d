"""`lab.repair`: ranked patches run as the same cell; the first that raises qscore stays, others roll back."""

from __future__ import annotations

import pytest

from codexlab import Lab
from codexlab.errors import CodexNameError
from codexlab.patterns import RepairCandidate
from codexlab.patterns import hooks as repairs


def _lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def test_an_undefined_name_is_renamed_to_the_containers_name_and_accepted(tmp_path) -> None:
    lab = _lab(tmp_path)
    lab.run("@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\n", "r")
    with pytest.raises(CodexNameError):
        lab.run("L = Δpsi\n", "r", cell_id="broken")
    assert lab.status("r").status == "OPEN"
    outcome = lab.repair("r", "broken")
    assert outcome.accepted is not None and outcome.accepted.kind == "rename"
    assert "Δψ" in outcome.accepted.patched_scroll
    assert outcome.tries[-1]["accepted"] and outcome.tries[-1]["qscore_after"] > 0
    assert lab.status("r").status in ("CLOSED", "OPEN") and lab.status("r").gap_weight == 0
    # no value was made up: the container has the user's ψ and the repaired L, nothing named `psi`
    assert "psi" not in lab.memory("r").bindings and "L" in lab.memory("r").bindings
    assert all(b.source == "photon" for b in outcome.run.beams if b.stage != "schedule" or b.token != "cell")
    (mutation,) = [m for m in lab.mutations("r") if m.metadata.reason == "repair" and m.qscore_after is not None]
    assert mutation.accepted is True and mutation.qscore_before == 0.0


def test_drift_on_a_coarse_grid_is_repaired_with_a_higher_qscore(tmp_path) -> None:
    lab = _lab(tmp_path)
    cell = "@grid x:-1..1:16, y:-1..1:16\n@method fd2\nf := gaussian(x, y, σ=0.15)\nL = Δf\n"
    run = lab.run(cell, "d", cell_id="coarse")
    before = repairs.cell_qscore(run.scores)
    outcome = lab.repair("d", "coarse")
    assert outcome.accepted is not None
    assert repairs.cell_qscore(outcome.run.scores) > before


def test_a_patch_that_lowers_qscore_is_rejected_recorded_and_rolled_back(tmp_path, monkeypatch) -> None:
    lab = _lab(tmp_path)
    good = "@grid x:-1..1:64, y:-1..1:64\nf := gaussian(x, y, σ=0.3)\nL = Δf\n"
    lab.run(good, "w", cell_id="fine")
    worse = RepairCandidate("finer_grid", "a coarser grid, on purpose", good.replace("64", "8"), predicted_qscore=0.99)
    monkeypatch.setattr(repairs, "repair_from_drift", lambda *a, **k: [worse])
    kept = lab.memory("w").bindings["L"].value
    outcome = lab.repair("w", "fine")
    assert outcome.accepted is None and outcome.tries[0]["accepted"] is False
    assert outcome.tries[0]["qscore_after"] <= outcome.qscore_before
    assert lab.memory("w").bindings["L"].value is kept
    (mutation,) = lab.mutations("w")
    assert mutation.accepted is False and mutation.qscore_after <= mutation.qscore_before


def test_a_repair_that_would_define_a_value_is_only_a_proposal(tmp_path) -> None:
    lab = _lab(tmp_path)
    lab.library.save("waves", "psi0 := gaussian(x, y, σ=0.15) * exp(i*8*x)\n")
    lab.run("@grid x:-1..1:32, y:-1..1:32\nψ_0 := gaussian(x, y, σ=0.2)\n", "p")
    names = set(lab.memory("p").bindings)
    with pytest.raises(CodexNameError):
        lab.run("B = Δpsi0\n", "p", cell_id="typo")
    outcome = lab.repair("p", "typo")
    assert any(c.kind == "propose_definition" for c in outcome.proposals)
    assert all(t["kind"] != "propose_definition" for t in outcome.tries)
    # what ran only renamed `psi0` to the container's `ψ_0`; no `psi0` value exists anywhere
    assert "psi0" not in lab.memory("p").bindings and set(lab.memory("p").bindings) - names <= {"B"}
    proposals = [m for m in lab.mutations("p") if m.mutated.glyph.endswith(":propose_definition")]
    assert proposals and all(m.accepted is False and m.qscore_after is None for m in proposals)
