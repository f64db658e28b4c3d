"""Fused execution in the runtime: cell statements as one jitted program, `⟲` loops in one lax loop."""

from __future__ import annotations

import numpy as np
import pytest

from codexlab.errors import CodexNameError
from codexlab.runtime import Lab

GAUSS = "@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\n"
HEAT = "u = ψ\n⟲ 50 { u = u + 0.0001*Δu }"
RELAX_INLINE = "u = ψ\n⟲ until r < 0.001 max 300 { d = 0.0002*Δu\nr = ‖d‖\nu = u + d }"
RELAX_BUILTIN = "u = ψ\n⟲ until ‖u - v‖ < 0.000001 max 40 { v = u\nu = relax(u) }"


def _labs(tmp_path, threshold: float = 0.0) -> tuple[Lab, Lab]:
    """Two labs with the wave path preferred: fusion on, and fusion off (`fuse=False`)."""
    fused = Lab(home=tmp_path / "fused", flags={"COST_THRESHOLD": threshold})
    plain = Lab(home=tmp_path / "plain", flags={"COST_THRESHOLD": threshold})
    plain.configure(None, fuse=False)
    return fused, plain


def _close(a: np.ndarray, b: np.ndarray, rel: float = 1e-10) -> None:
    assert np.max(np.abs(a - b)) <= rel * np.max(np.abs(b))


def _loop_beam(run):
    (beam,) = [b for b in run.beams if b.stage == "loop" and "iterations" in b.result]
    return beam


def _qglyph_ids(runs) -> set[str]:
    return {v for r in runs for b in r.beams for k, v in b.result.items() if k.endswith("qglyph_id") and v}


def test_heat_loop_fused_equals_the_python_loop(tmp_path):
    fused, plain = _labs(tmp_path)
    a, b = fused.run(GAUSS + HEAT), plain.run(GAUSS + HEAT)
    fa, fb = _loop_beam(a).result, _loop_beam(b).result
    assert fa["fused"] is True and fa["iterations"] == fb["iterations"] == 50
    assert fb["fused"] is False and "fuse=False" in fb["why_not"]
    assert fa["attractor"] == fb["attractor"] is None
    assert fused.qglyph(fa["qglyph_id"]).qglyph_id == fa["qglyph_id"]
    _close(a.values["u"].values, b.values["u"].values)
    assert a.values["u"].dims == b.values["u"].dims == ("x", "y")


def test_until_relaxation_loop_fused_equals_the_python_loop(tmp_path):
    fused, plain = _labs(tmp_path)
    a, b = fused.run(GAUSS + RELAX_INLINE), plain.run(GAUSS + RELAX_INLINE)
    fa, fb = _loop_beam(a).result, _loop_beam(b).result
    assert fa["fused"] is True and "until_qglyph_id" in fa
    assert (fa["iterations"], fa["condition_met"]) == (fb["iterations"], fb["condition_met"])
    assert 1 < fa["iterations"] < 300 and fa["condition_met"] is True
    for name in ("u", "d"):
        _close(a.values[name].values, b.values[name].values)
    assert a.values["r"] == pytest.approx(b.values["r"], rel=1e-10)


def test_until_loop_with_the_relax_builtin_runs_op_by_op(tmp_path):
    fused, plain = _labs(tmp_path)
    a, b = fused.run(GAUSS + RELAX_BUILTIN), plain.run(GAUSS + RELAX_BUILTIN)
    fa, fb = _loop_beam(a).result, _loop_beam(b).result
    assert fa["fused"] is False and "`relax`" in fa["why_not"]
    assert (fa["iterations"], fa["condition_met"]) == (fb["iterations"], fb["condition_met"])
    _close(a.values["u"].values, b.values["u"].values)


def test_fused_loops_report_attractors_like_the_python_loop(tmp_path):
    fused, plain = _labs(tmp_path)
    for code in ("a = 0.25\n⟲ 10 { a = 1 - a }", "a = 0\n⟲ 200 { a = 0.5*a + 1 }"):
        fa, fb = _loop_beam(fused.run(code)).result, _loop_beam(plain.run(code)).result
        assert fa["fused"] is True and fb["fused"] is False
        assert fa["attractor"] == fb["attractor"] is not None
        assert fused.memory().bindings["a"].value.data == pytest.approx(plain.memory().bindings["a"].value.data)


def test_fused_statement_matches_op_by_op_with_one_beam_per_op(tmp_path):
    fused, plain = _labs(tmp_path)
    code = GAUSS + "E = ∇ψ • ∇ψ + Δψ"
    a, b = fused.run(code), plain.run(code)
    _close(a.values["E"].values, b.values["E"].values)
    assert [(x.stage, x.token) for x in a.beams] == [(x.stage, x.token) for x in b.beams]
    ops = [x for x in a.beams if x.stage == "wave"]
    assert {x.token for x in ops} == {"∇", "•", "Δ", "+"}
    ids = {x.result["qglyph_id"] for x in ops}
    assert len(ids) == 1 and all(x.result["fused"] is True for x in ops)
    assert sum(x.result["duration_ms"] for x in ops) == pytest.approx(ops[0].result["fused_ms"])
    program = fused.qglyph(ids.pop())
    assert sorted(i.op for i in program.instructions) == sorted(["∇", "•", "Δ", "+"])
    for x, y in zip(a.beams, b.beams, strict=True):
        assert len(x.parents) == len(y.parents)
        if x.stage == "wave":
            assert x.result["kind"] == y.result["kind"]
            assert x.result["schedule_beam"] in {s.beam_id for s in a.beams if s.stage == "schedule"}
    ingest = [x for x in a.beams if x.stage == "ingest"][0]
    assert all(ingest.beam_id in fused.lineage(x.beam_id, ids_only=True) for x in ops)
    assert not any("fused" in x.result for x in b.beams)


def test_exact_and_grid_ops_share_a_statement_the_grid_ones_fused(tmp_path):
    lab = Lab(home=tmp_path / "h")
    lab.run(GAUSS + "u = random(seed=3)")
    run = lab.run("E = Δψ + Δu * 2")
    paths = {x.token: x.result["path"] for x in run.beams if x.stage in ("wave", "symbolic")}
    assert paths["Δ"] in ("exact", "grid") and paths["+"] == "grid" and paths["*"] == "grid"
    grid_ops = [x for x in run.beams if x.stage == "wave"]
    assert len(grid_ops) == 3 and all(x.result.get("fused") for x in grid_ops)  # Δu, ·2, +: one program
    assert len({x.result["qglyph_id"] for x in grid_ops}) == 1
    exact = [x for x in run.beams if x.stage == "symbolic"]
    assert [x.token for x in exact] == ["Δ"] and exact[0].result["path"] == "exact"
    psi, u = lab.memory().bindings["ψ"].value.data.values, lab.memory().bindings["u"].value.data.values
    h = 2 / 64
    ref_u = sum(np.roll(u, s, a) for s in (1, -1) for a in (0, 1)) / h**2 - 4 * u / h**2
    X, Y = np.meshgrid(np.linspace(-1, 1, 64, endpoint=False), np.linspace(-1, 1, 64, endpoint=False), indexing="ij")
    s2 = 0.2**2
    ref_psi = ((X**2 + Y**2) / s2**2 - 2 / s2) * np.exp(-(X**2 + Y**2) / (2 * s2))
    np.testing.assert_allclose(run.values["E"].values, ref_psi + 2 * ref_u, rtol=1e-9, atol=1e-6)
    assert np.allclose(psi, np.exp(-(X**2 + Y**2) / (2 * s2)))


def test_an_op_the_fused_path_lacks_runs_on_the_host_and_the_rest_fuses(tmp_path):
    lab = Lab(home=tmp_path / "h", flags={"COST_THRESHOLD": 0.0})
    run = lab.run(GAUSS + "R = relax(ψ) + Δψ\nL = Δψ\nn = 2*3 + 1")
    wave = [x for x in run.beams if x.stage == "wave"]
    (relax,) = [x for x in wave if x.token == "relax"]
    assert relax.result["path"] == "host" and "fused" not in relax.result
    fused = [x for x in wave if x.result.get("fused")]
    assert sorted(x.token for x in fused) == ["+", "Δ"] and len({x.result["qglyph_id"] for x in fused}) == 1
    assert {x.token for x in run.beams if x.stage == "schedule"} >= {"relax", "Δ", "+"}
    assert run.values["n"] == 7


def test_every_qglyph_id_in_the_beams_resolves(tmp_path):
    lab = Lab(home=tmp_path / "h", flags={"COST_THRESHOLD": 0.0})
    runs = [lab.run(GAUSS + "E = ∇ψ • ∇ψ + Δψ"), lab.run(HEAT), lab.run(RELAX_INLINE)]
    ids = _qglyph_ids(runs)
    assert len(ids) >= 4
    for ident in ids:
        assert lab.qglyph(ident).qglyph_id == ident
    with pytest.raises(CodexNameError, match="No QGlyph program"):
        lab.qglyph("0" * 24)
