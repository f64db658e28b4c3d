"""The cost report: predicted detail from the op specs and calibration, never deciding a path."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from codexlab.contracts import GlyphExecution
from codexlab.ops import spec_of
from codexlab.runtime import CodexCostEstimator, Lab
from codexlab.runtime.cost import (
    ETHICS_PRIOR,
    POWER_RATIO,
    PRIOR_BYTES_PER_S,
    PRIOR_FLOPS_PER_S,
    glyph_execution_payload,
)

CELL = "@grid x:-1..1:32, y:-1..1:32\nψ := gaussian(x, y, σ=0.2)\nL = Δψ\nE = ∇ψ • ∇ψ\n"


def test_the_work_comes_from_the_ops_spec_and_the_detail_adds_up() -> None:
    est = CodexCostEstimator()
    e = est.estimate("Δ", "grid", points=1024, components=1, dtype="fp64")
    spec = spec_of("Δ")
    assert (e.flops, e.bytes) == (spec.flops * 1024, spec.bytes * 1024)
    prior = (e.flops / PRIOR_FLOPS_PER_S + e.bytes / PRIOR_BYTES_PER_S) * 1e3 + 0.05
    assert e.delay == pytest.approx(prior) and e.calibration == 1.0 and e.observations == 0
    assert e.energy == pytest.approx(e.delay * POWER_RATIO["cpu"])
    assert e.cost == pytest.approx(sum(e.detail().values()))
    assert est.estimate("Δ", "grid", points=1024) == e  # a pure function until runs are observed
    vec = est.estimate("∇", "grid", points=1024, components=2)
    assert vec.flops == spec_of("∇").flops * 2048


def test_calibration_is_the_median_ratio_of_steady_runs_and_survives_a_new_estimator(tmp_path) -> None:
    lab = Lab(home=tmp_path / "h")
    est = CodexCostEstimator(lab.store)
    e = est.estimate("Δ", "grid", points=4096)
    prior = e.delay
    for ratio in (2.0, 3.0, 10.0):
        est.observe(e, prior * ratio)
    assert est.estimate("Δ", "grid", points=4096).calibration == pytest.approx(3.0)
    assert est.flush() == 3
    again = CodexCostEstimator(lab.store)
    assert again.estimate("Δ", "grid", points=4096).delay == pytest.approx(3.0 * prior)
    assert again.estimate("Δ", "grid", points=4096, dtype="fp32").observations == 0  # per dtype


def test_ethics_risk_is_the_veto_posterior_times_the_delay() -> None:
    est = CodexCostEstimator()
    beams = [SimpleNamespace(token="log", container_id="c", verdict=v) for v in ("veto", "pass", "pass", "pass")]
    assert est.record_verdicts(beams) == 4
    alpha, beta = ETHICS_PRIOR
    p = (alpha + 1) / (alpha + beta + 4)
    e = est.estimate("log", "grid", points=10, container="c")
    assert e.veto_prob == pytest.approx(p) and e.ethics_risk == pytest.approx(p * e.delay)
    assert est.veto_probability("log", "other") == pytest.approx(alpha / (alpha + beta))


def test_measured_timings_never_change_the_plan(tmp_path) -> None:
    lab = Lab(home=tmp_path / "h")
    before = str(lab.compile(CELL))
    e = lab.estimator.estimate("Δ", "exact", points=1024, nodes=40)
    for _ in range(10):
        lab.estimator.observe(e, 1e6)  # the exact path "measured" absurdly slow
    lab.run(CELL)
    assert str(lab.compile(CELL)) == before
    run = lab.run(CELL)
    schedules = [b.result for b in run.beams if b.stage == "schedule"]
    assert all(
        math.isfinite(s["predicted_ms"]) and s["cost"] == pytest.approx(sum(s["detail"].values())) for s in schedules
    )


def test_the_glyph_execution_payload_is_contract_3() -> None:
    e = CodexCostEstimator().estimate("Δ", "grid", points=64)
    payload = glyph_execution_payload("Δ", {"run_id": "r1"}, "photon", e, timestamp=1.5)
    msg = GlyphExecution.model_validate(payload)
    assert msg.payload.source == "photon" and msg.payload.cost == pytest.approx(e.cost)
    assert msg.payload.cost == pytest.approx(sum(e.detail().values()))
    assert payload == glyph_execution_payload("Δ", {"run_id": "r1"}, "photon", e.detail(), timestamp=1.5)
