"""Lab.run end to end: values against analytic references, beams and lineage, failure atomicity."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import BackendError, CodexCancelled, CodexNameError, CodexSyntaxError, CodexValueError
from codexlab.runtime import Lab

GAUSS = "@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\n"


def _gauss_lap(grid_x: np.ndarray, grid_y: np.ndarray, s: float) -> np.ndarray:
    """Analytic Δ of exp(−r²/(2s²)): (r²/s⁴ − 2/s²)·g."""
    X, Y = np.meshgrid(grid_x, grid_y, indexing="ij")
    r2 = X**2 + Y**2
    return (r2 / s**4 - 2 / s**2) * np.exp(-r2 / (2 * s**2))


def test_laplacian_matches_analytic_formula_and_records_derivation(lab):
    run = lab.run(GAUSS + "L = ∇·∇ψ")
    L = run.values["L"]
    assert isinstance(L, xr.DataArray) and L.dims == ("x", "y")
    ref = _gauss_lap(L.x.values, L.y.values, 0.2)
    assert np.max(np.abs(L.values - ref)) / np.max(np.abs(ref)) < 0.02
    rules = [s.rule for s in run.derivations["L"].steps]
    assert any("div" in r and "grad" in r for r in rules), rules


def test_every_op_beam_descends_from_the_ingest_beam(lab):
    run = lab.run(GAUSS + "E = ∇ψ • ∇ψ + Δψ")
    ingest = [b for b in run.beams if b.stage == "ingest" and b.result.get("name") == "ψ"]
    assert len(ingest) == 1
    ops = [b for b in run.beams if b.stage in ("wave", "symbolic")]
    assert {b.token for b in ops} >= {"∇", "•", "Δ", "+"}
    for b in ops:
        ancestors = lab.lineage(b.beam_id, ids_only=True)
        assert ingest[0].beam_id in ancestors
    stored = lab.store.beams_for_run(run.run_id)
    assert [b.beam_id for b in stored] == run.beam_ids


def test_symbolic_and_wave_paths_agree(tmp_path):
    exact = Lab(home=tmp_path / "a", flags={"COST_THRESHOLD": 1e9}).run(GAUSS + "L = Δψ")
    wave = Lab(home=tmp_path / "b", flags={"COST_THRESHOLD": 0.0}).run(GAUSS + "L = Δψ")
    paths = {b.result.get("path") for b in wave.beams if b.token == "Δ" and b.stage != "schedule"}
    assert paths == {"grid"}
    a, b = exact.values["L"].values, wave.values["L"].values
    assert np.max(np.abs(a - b)) / np.max(np.abs(a)) < 0.02


def test_failed_cell_leaves_only_one_error_beam_and_memory_untouched(lab):
    lab.run(GAUSS)
    before = len(lab.store.frame("beams"))
    with pytest.raises(CodexNameError, match="`φ` is not defined"):
        lab.run("A = Δψ\nB = φ + 1")
    beams = lab.store.frame("beams")
    assert len(beams) == before + 1
    assert beams["stage"].to_list()[-1] == "error"
    assert "A" not in lab.memory().bindings


def test_a_cancelled_run_keeps_only_its_error_beam(lab):
    lab.run(GAUSS)
    before = len(lab.store.frame("beams"))
    stop = threading.Event()
    stop.set()
    with pytest.raises(CodexCancelled, match="cancelled"):
        lab.run("A = Δψ\nB = A + 1", cancel=stop)
    beams = lab.store.frame("beams")
    assert len(beams) == before + 1 and beams["stage"].to_list()[-1] == "error"
    assert "A" not in lab.memory().bindings


def test_syntax_error_is_recorded_with_its_position(lab):
    with pytest.raises(CodexSyntaxError):
        lab.run("a = (1 +")
    row = lab.store.frame("beams").to_dicts()[-1]
    err = lab.store.get_beam(row["beam_id"])
    assert err.stage == "error" and err.result["line"] == 1 and err.result["column"] >= 8


def test_wave_path_off_with_data_field_names_the_flag(tmp_path):
    lab = Lab(home=tmp_path / "h", flags={"QWAVE_EXEC_ON": False})
    with pytest.raises(BackendError, match="QWAVE_EXEC_ON"):
        lab.run("@grid x:-1..1:32, y:-1..1:32\nr := random(seed=1)\nL = Δr")


def test_carrier_memory_keeps_names_and_grid_across_cells(lab):
    lab.run(GAUSS)
    run = lab.run("N = ‖ψ‖")
    ref = np.sqrt(np.pi * 0.2**2)  # ∫ exp(−r²/s²) over the plane, Gaussian well inside [−1, 1]²
    assert run.values["N"] == pytest.approx(ref, rel=1e-3)


def test_number_loop_reaches_its_fixed_point(lab):
    run = lab.run("a = 0\n⟲ until a > 1.99999 max 100 { a = 0.5*a + 1 }")
    loop = [b for b in run.beams if b.stage == "loop"][0]
    assert run.values["a"] == pytest.approx(2.0, abs=1e-4)
    assert loop.result["condition_met"] is True
    assert loop.result["iterations"] < 100


def test_loop_detects_a_cycle(lab):
    run = lab.run("a = 0.25\n⟲ 10 { a = 1 - a }")
    loop = [b for b in run.beams if b.stage == "loop"][0]
    assert loop.result["attractor"]["kind"] == "cycle"
    assert loop.result["attractor"]["period"] == 2


def test_entangle_then_measure_member_and_replay_by_eid(lab):
    code = (
        "@grid x:-1..1:48, y:-1..1:48\n@seed 7\n"
        "a := gaussian(x, y, x0=-0.5, σ=0.1)\nb := gaussian(x, y, x0=0.5, σ=0.1)\n"
        "P = a ↔ b\nm = ⧖a"
    )
    run = lab.run(code)
    assert run.values["P"].entropy_bits < 0.05  # measuring a member leaves (nearly) a product
    assert len(run.eids) == 1
    eid = run.eids[0]
    replayed = lab.replay(eid, n=10)
    assert {b.stage for b in replayed} >= {"entangle", "collapse"}
    again = Lab(home=lab.home).run(code)
    assert again.values["m"].outcome == run.values["m"].outcome


def test_vault_refs_load_back_the_exact_field_and_identical_results_are_stored_once(lab):
    run = lab.run(GAUSS + "L = Δψ\nM = Δψ")
    refs = [b.result["vault_ref"] for b in run.beams if b.token == "Δ" and b.stage in ("wave", "symbolic")]
    assert len(refs) == 2 and refs[0] == refs[1]  # two statements, one stored snapshot
    loaded = lab.vault.load(refs[0])
    np.testing.assert_array_equal(loaded.values, run.values["L"].values)
    before = len(lab.vault.ids())
    lab.run("K = Δψ")
    assert len(lab.vault.ids()) == before


def test_only_bound_values_get_a_snapshot_unless_vault_all_and_every_ref_resolves(tmp_path):
    cell = GAUSS + "E = ∇ψ • ∇ψ + Δψ"
    for flag, snapshotted in ((False, {"+"}), (True, {"∇", "•", "Δ", "+"})):
        lab = Lab(home=tmp_path / str(flag), flags={"COST_THRESHOLD": 0.0, "VAULT_ALL": flag})
        run = lab.run(cell)
        ops = [b for b in run.beams if b.stage == "wave"]
        assert {b.token for b in ops if "vault_ref" in b.result} == snapshotted
        for b in ops:
            assert ("checksum" in b.result) is ("vault_ref" in b.result)
            if "vault_ref" in b.result:
                loaded = lab.vault.load(b.result["vault_ref"]).values
                assert np.isclose(
                    np.sqrt(np.sum(np.abs(loaded) ** 2) * lab.memory().grid.cell_volume), b.result["norm"]
                )
        stored = {b.beam_id: b.result for b in lab.store.beams_for_run(run.run_id)}
        assert all(lab.vault.load(r["vault_ref"]) is not None for r in stored.values() if "vault_ref" in r)


def test_grid_summaries_and_entropies_match_numpy(lab):
    """The statistics the fused program computes agree with NumPy's on the loaded snapshot."""
    from codexlab.sqi.entropy import shannon_entropy

    lab = Lab(home=lab.home, flags={"COST_THRESHOLD": 0.0, "VAULT_ALL": True})
    run = lab.run(GAUSS + "E = ∇ψ • ∇ψ + Δψ")
    for b in (b for b in run.beams if b.stage == "wave"):
        da = lab.vault.load(b.result["vault_ref"])
        real = np.abs(da.values)
        assert b.result["min"] == np.min(da.values) and b.result["max"] == np.max(da.values)
        cv = lab.memory().grid.cell_volume
        assert np.isclose(b.result["norm"], np.sqrt(np.sum(real**2) * cv), rtol=1e-12)
        assert b.result["finite"] is True
    fields = [lab.vault.load(b.result["vault_ref"]) for b in run.beams if "vault_ref" in b.result]
    expected = [shannon_entropy(f) for f in fields]
    cell = [lab.entropy_cache[b.beam_id] for b in run.beams if b.beam_id in lab.entropy_cache and b.stage == "wave"]
    assert cell and all(np.isclose(expected, h, rtol=1e-12).any() for h in cell)


def test_execution_metrics_reach_the_bus_and_the_metrics_table(lab):
    seen = []
    unsubscribe = lab.bus.subscribe(seen.append, {"execution_metrics"})
    try:
        run = lab.run(GAUSS + "L = Δψ")
    finally:
        unsubscribe()
    names = {e["name"] for e in seen if e.get("run_id") == run.run_id}
    assert {"parse", "execute", "persist", "kernel"} <= names
    frame = lab.store.frame("metrics")
    assert set(frame["name"].to_list()) >= {"parse", "execute", "persist", "kernel"}
    assert (frame["value"] >= 0).all()


def test_a_number_definition_under_a_grid_stays_a_number(lab):
    run = lab.run(GAUSS + "s := 0.3\nk := s*2\nw = ψ * k")
    assert run.values["s"] == pytest.approx(0.3) and run.values["k"] == pytest.approx(0.6)
    ingest = {b.result["name"]: b for b in run.beams if b.stage == "ingest"}
    assert ingest["s"].result["kind"] == "number" and ingest["s"].result["value"] == pytest.approx(0.3)
    assert ingest["k"].result["shape"] == []
    np.testing.assert_allclose(run.values["w"].values, 0.6 * run.values["ψ"].values, rtol=1e-12)


def test_a_caller_chosen_run_id_is_used_once(lab):
    run = lab.run("a := 2", run_id="study_p0001")
    assert run.run_id == "study_p0001" and lab.store.beams_for_run("study_p0001")
    with pytest.raises(CodexValueError, match="already holds a run"):
        lab.run("a := 3", run_id="study_p0001")
    with pytest.raises(CodexValueError, match="is not 1-64 letters"):
        lab.run("a := 3", run_id="no spaces/please")
    assert len(lab.store.beams_for_run("study_p0001")) == len(run.beams)
