"""PHASE9_ENABLED dreams: variants of a cell run in the background and are recorded as mutations; the
user's values change only under SPE_AUTO_FUSE and only when qscore improves."""

from __future__ import annotations

import numpy as np

from codexlab import Lab

COARSE = "@grid x:-1..1:16, y:-1..1:16\nf := gaussian(x, y, σ=0.15)\nL = Δf\n"


def _dreams(lab: Lab, container: str) -> list:
    return [m for m in lab.mutations(container) if ":dream:" in m.mutated.glyph]


def test_dreams_are_recorded_but_leave_the_users_values_alone(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"PHASE9_ENABLED": True})
    lab.progress = False
    run = lab.run(COARSE, "c")
    kept = lab.memory("c").bindings["L"].value
    lab.wait_for_dreams(timeout=120)
    dreams = _dreams(lab, "c")
    assert {m.mutated.glyph.rsplit(":", 1)[1] for m in dreams} == {"precision", "method", "spectral"}
    assert all(m.accepted is False for m in dreams)
    assert lab.memory("c").bindings["L"].value is kept
    assert np.array_equal(run.values["L"].values, lab.memory("c").bindings["L"].value.data.values)
    assert "c~dream" in {r["container_id"] for r in lab.store.rows("beams")}


def test_under_auto_fuse_a_better_dream_replaces_the_cell(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"PHASE9_ENABLED": True, "SPE_AUTO_FUSE": True})
    lab.progress = False
    lab.dream_count = 2
    lab.run(COARSE, "c", cell_id="coarse")
    lab.wait_for_dreams(timeout=120)
    accepted = [m for m in _dreams(lab, "c") if m.accepted]
    for m in accepted:
        assert m.qscore_after > m.qscore_before
    rejected = [m for m in _dreams(lab, "c") if not m.accepted]
    assert all(m.qscore_after <= m.qscore_before for m in rejected)
