"""SQI and SoulLaw inside Lab.run: scores on beams, fail-closed vetoes, dependents not computed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codexlab.errors import ResourceError
from codexlab.runtime import Lab, Vetoed
from codexlab.sqi import law

GRID = "@grid x:-1..1:64, y:-1..1:64\n"


def test_value_beams_carry_drift_qscore_and_a_verdict(lab):
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\nL = Δψ")
    scored = [b for b in run.beams if b.stage in ("ingest", "wave", "symbolic")]
    assert scored and all(b.qscore is not None and b.verdict == "pass" for b in scored)
    stored = lab.store.get_beam(scored[-1].beam_id)
    assert stored.qscore == pytest.approx(scored[-1].qscore)
    assert len(run.scores) == len(scored)
    assert lab.store.frame("sqi_scores").height >= len(scored)


def test_coarse_laplacian_drifts_more_and_scores_lower_than_fine(tmp_path):
    def lap_beam(n: int):
        lab = Lab(home=tmp_path / f"h{n}", flags={"COST_THRESHOLD": 0.0})
        run = lab.run(f"@grid x:-1..1:{n}, y:-1..1:{n}\nψ := gaussian(x, y, σ=0.15)\nL = Δψ")
        return [b for b in run.beams if b.token == "Δ" and b.stage == "wave"][0]

    coarse, fine = lap_beam(16), lap_beam(128)
    assert coarse.drift > 10 * fine.drift
    assert coarse.qscore < fine.qscore
    assert fine.qscore == pytest.approx(np.exp(-fine.drift / 0.1) ** 0.5, rel=1e-6)


def test_nan_value_is_vetoed_not_bound_and_dependents_are_not_computed(lab):
    run = lab.run(GRID + "f := x^2 + y^2\nL = log(f)\nM = L + 1\nN = ‖f‖")
    assert isinstance(run.values["L"], Vetoed) and run.values["L"].law == "finite"
    assert isinstance(run.values["M"], Vetoed) and "not computed" in run.values["M"].reason
    assert "L" not in lab.memory().bindings
    assert isinstance(run.values["N"], float)
    vetoed = lab.store.get_beam(run.values["L"].beam_id)
    assert vetoed.verdict == "veto"
    events = [json.loads(line) for line in lab.trace_path.read_text().splitlines()]
    assert any(e["type"] == "soullaw_event" and e["event"] == "soullaw_veto" for e in events)


def test_an_exception_inside_a_law_vetoes(lab):
    @law("explodes_on_delta")
    def _explodes(beam, ctx):
        if beam["token"] == "Δ":
            raise RuntimeError("boom")
        return None

    try:
        run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\nL = Δψ")
    finally:
        from codexlab.sqi import LAWS

        LAWS.unregister("explodes_on_delta")
    assert isinstance(run.values["L"], Vetoed)
    assert "failed" in run.values["L"].reason and "boom" in run.values["L"].reason


def test_resource_law_refuses_a_huge_grid_before_allocating(lab):
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(ResourceError, match="refused"):
        lab.run("@grid x:-1..1:100000, y:-1..1:100000\nψ := gaussian(x, y)")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


def test_consent_is_required_before_measurement(lab):
    lab.configure(requires_consent=True)
    code = GRID + "@seed 3\nψ := gaussian(x, y, σ=0.2)\nm = ⧖ψ"
    run = lab.run(code)
    assert isinstance(run.values["m"], Vetoed) and run.values["m"].law == "consent"
    lab.configure(consent_granted=True)
    run = lab.run("m = ⧖ψ")
    assert not isinstance(run.values["m"], Vetoed)


def test_user_law_from_container_config_vetoes(lab):
    lab.configure(laws=[{"name": "small_norm", "when": "norm > 0.1", "verdict": "veto", "reason": "too big"}])
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\nS = 2*ψ")
    assert isinstance(run.values["ψ"], Vetoed) and run.values["ψ"].law == "small_norm"
    assert isinstance(run.values["S"], Vetoed)
