"""`lab.repair`: ranked patches run as the same cell; the first that raises qscore stays, others roll back."""

from __future__ import annotations

import pytest

from codexlab import Lab
from codexlab.errors import CodexNameError
from codexlab.patterns import RepairCandidate
from codexlab.runtime import repairs


def _lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def test_an_undefined_name_is_defined_by_the_top_candidate_and_accepted(tmp_path) -> None:
    lab = _lab(tmp_path)
    lab.run("@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\n", "r")
    with pytest.raises(CodexNameError):
        lab.run("L = Δphi\n", "r", cell_id="broken")
    assert lab.status("r").status == "OPEN"
    outcome = lab.repair("r", "broken")
    assert outcome.accepted is not None and outcome.accepted.kind == "define_name"
    assert outcome.tries[-1]["accepted"] and outcome.tries[-1]["qscore_after"] > 0
    assert lab.status("r").status in ("CLOSED", "OPEN") and lab.status("r").gap_weight == 0
    assert "phi" in lab.memory("r").bindings and "L" in lab.memory("r").bindings
    assert all(b.source == "photon" for b in outcome.run.beams if b.stage != "schedule" or b.token != "cell")
    (mutation,) = [m for m in lab.mutations("r") if m.metadata.reason == "repair"]
    assert mutation.accepted is True and mutation.qscore_before == 0.0


def test_drift_on_a_coarse_grid_is_repaired_with_a_higher_qscore(tmp_path) -> None:
    lab = _lab(tmp_path)
    run = lab.run("@grid x:-1..1:16, y:-1..1:16\nf := gaussian(x, y, σ=0.15)\nL = Δf\n", "d", cell_id="coarse")
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
