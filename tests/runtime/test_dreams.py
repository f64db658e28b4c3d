"""PHASE9_ENABLED dreams: variants of a cell run in a forked container in the background and are recorded
as mutations; the user's values never change until the user adopts a dream."""

from __future__ import annotations

import numpy as np

from codexlab import Lab

COARSE = "@grid x:-1..1:16, y:-1..1:16\n@method fd2\nf := gaussian(x, y, σ=0.15)\nL = Δf\n"


def _dreams(lab: Lab, container: str) -> list:
    return [m for m in lab.mutations(container) if ":dream:" in m.mutated.glyph]


def test_dreams_run_in_a_fork_and_leave_the_users_values_alone(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"PHASE9_ENABLED": True})
    lab.progress = False
    run = lab.run(COARSE, "c")
    kept = lab.memory("c").bindings["L"].value
    lab.wait_for_dreams(timeout=120)
    dreams = _dreams(lab, "c")
    assert {m.mutated.glyph.rsplit(":", 1)[1] for m in dreams} == {"precision", "method", "spectral"}
    # a dream that scores better is accepted (adoptable), a worse one is not
    assert all((m.qscore_after > m.qscore_before) == m.accepted for m in dreams)
    assert any(m.accepted for m in dreams)  # fd4 or spectral beat fd2 on a 16² grid
    assert lab.memory("c").bindings["L"].value is kept
    assert np.array_equal(run.values["L"].values, lab.memory("c").bindings["L"].value.data.values)
    assert "c~dream" in {r["container_id"] for r in lab.store.rows("beams")}


def test_a_dream_changes_the_users_cell_only_when_adopted(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"PHASE9_ENABLED": True})
    lab.progress = False
    lab.dream_count = 2
    lab.run(COARSE, "c", cell_id="coarse")
    before = lab.memory("c").bindings["L"].value.data.values.copy()
    lab.wait_for_dreams(timeout=120)
    (method,) = [m for m in _dreams(lab, "c") if m.mutated.glyph.endswith(":method")]
    assert "@method fd4" in method.mutated.scroll
    assert np.array_equal(lab.memory("c").bindings["L"].value.data.values, before)
    adopted = lab.adopt_dream(method.mutation_id, "c")
    assert adopted.cell_id == "coarse"
    after = lab.memory("c").bindings["L"].value.data.values
    x = np.linspace(-1, 1, 16, endpoint=False)
    X, Y = np.meshgrid(x, x, indexing="ij")
    s2 = 0.15**2
    exact = ((X**2 + Y**2) / s2**2 - 2 / s2) * np.exp(-(X**2 + Y**2) / (2 * s2))
    # fd4 is closer to the analytic Laplacian than fd2 on this grid
    assert np.linalg.norm(after - exact) < np.linalg.norm(before - exact)
