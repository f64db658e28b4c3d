"""qscore, its factors and `process_beams`: hand-computed values, the score events on a bus and in a store."""

from __future__ import annotations

import math

import pytest

from codexlab.contracts import BeamEvent, SqiScore, new_beam_id, utc_now_iso
from codexlab.photon.ruleset import RuleStats
from codexlab.runtime.metrics import MetricsBus
from codexlab.sqi import (
    DriftComponent,
    DriftReport,
    GoalResult,
    accuracy,
    process_beams,
    qscore,
    rating,
    record_sqi_score_event,
    rewrite_success_prob,
    stability,
)
from codexlab.store import JSONLStore, SQLStore


def _beam(stage: str, token: str, result: dict, parents: tuple[str, ...] = ()) -> BeamEvent:
    return BeamEvent(
        beam_id=new_beam_id("cell_1", stage),
        cell_id="cell_1",
        sheet_run_id="run_1",
        container_id="box",
        stage=stage,
        token=token,
        result=result,
        timestamp=utc_now_iso(),
        parents=list(parents),
    )


FIELD = {"kind": "field", "norm": 2.0, "min": -1.0, "max": 1.0, "finite": True}


# -------------------------------------------------------------------------------------------- factors


def test_rewrite_success_prob_from_beta_posteriors() -> None:
    assert rewrite_success_prob(["div-grad"], {"div-grad": (9, 0)}) == pytest.approx(10 / 11)
    stats = {"div-grad": (9, 0), "curl-grad": RuleStats(passes=3, failures=1)}
    assert rewrite_success_prob(["div-grad", "curl-grad"], stats) == pytest.approx(10 / 11 * 4 / 6)
    assert rewrite_success_prob(["div-grad", "div-grad"], stats) == pytest.approx((10 / 11) ** 2)
    assert rewrite_success_prob([], stats) == 1.0
    assert rewrite_success_prob(["canonical-order"], stats) == 1.0
    assert rewrite_success_prob(["new-rule"], {"new-rule": (0, 0)}) == 0.5


def test_stability_is_finite_and_bounded_growth() -> None:
    assert stability(FIELD, 1.0, growth_limit=10.0) == 1
    assert stability(FIELD, 0.1, growth_limit=10.0) == 0
    assert stability({**FIELD, "finite": False}, 1.0, growth_limit=10.0) == 0
    assert stability({"norm": "nan", "min": "nan", "max": "nan"}, None, growth_limit=10.0) == 0
    assert stability({"value": "inf", "shape": []}, None, growth_limit=10.0) == 0
    assert stability(FIELD, None, growth_limit=10.0) == 1
    assert stability(FIELD, 0.0, growth_limit=10.0) == 1


def test_accuracy_qscore_and_rating() -> None:
    assert accuracy(None) == 1.0 and accuracy(math.inf) == 0.0
    assert accuracy(0.25) == pytest.approx(math.exp(-2.5))
    q = qscore(1, accuracy(0.05), goal=0.8, rewrite=10 / 11)
    assert q == pytest.approx(math.exp(-0.5) ** 0.5 * 0.8**0.3 * (10 / 11) ** 0.2)
    assert qscore(0, 1.0) == 0.0
    # An error of about a quarter is what the SQI floor (0.35) vetoes.
    assert qscore(1, accuracy(0.2)) > 0.35 > qscore(1, accuracy(0.22))
    assert [rating(v) for v in (0.9, 0.85, 0.7, 0.5, 0.3, 0.1)] == [
        "exceptional",
        "exceptional",
        "strong",
        "moderate",
        "weak",
        "poor",
    ]


# -------------------------------------------------------------------------------------- process_beams


def test_process_beams_scores_value_beams_and_skips_the_rest() -> None:
    ingest = _beam("ingest", ":=", {**FIELD, "name": "ψ"})
    schedule = _beam("schedule", "Δ", {"path": "wave"}, (ingest.beam_id,))
    wave = _beam("wave", "Δ", {**FIELD, "norm": 40.0, "duration_ms": 4.0, "predicted_ms": 2.0}, (ingest.beam_id,))
    error = _beam("error", "error", {"error": "CodexNameError"})
    drift = 0.05
    bus = MetricsBus()
    out = process_beams(
        [ingest, schedule, wave, error],
        drift_reports={wave.beam_id: DriftReport([DriftComponent("discretization", drift, "interior")])},
        rule_stats={"div-grad": (9, 0)},
        derivation_rules={wave.beam_id: ["div-grad"]},
        goals=[GoalResult("smooth", False, 12.0, 40.0)],
        spacing=(1 / 64, 1 / 64),
        publish=bus.publish,
    )
    assert out.skipped == [schedule.beam_id, error.beam_id]
    assert [u["beam_id"] for u in out.updates] == [ingest.beam_id, wave.beam_id]
    goal = math.exp(-12 / 40)
    expected = math.exp(-drift / 0.1) ** 0.5 * goal**0.3 * (10 / 11) ** 0.2
    update = out.updates[1]
    assert update == {
        "beam_id": wave.beam_id,
        "drift": drift,
        "qscore": pytest.approx(expected),
        "efficiency": 0.5,
    }
    assert out.updates[0]["drift"] is None and out.updates[0]["efficiency"] is None
    score = out.scores[1]
    assert isinstance(score, SqiScore) and score.container_id == "box" and score.rating == rating(expected)
    assert score.goal_match_score == pytest.approx(goal) and score.rewrite_success_prob == pytest.approx(10 / 11)
    events = bus.recent("sqi_score")
    assert [e["beam_id"] for e in events] == [ingest.beam_id, wave.beam_id]
    assert all(SqiScore.model_validate(e) for e in events)
    # Δ may grow ‖ψ‖ = 2 to 40 (20×): G = 1e6·h^−2 allows it.
    assert out.details[wave.beam_id]["stability"] == 1
    assert out.details[wave.beam_id]["growth_limit"] == pytest.approx(1e6 * 64**2)


def test_process_beams_is_deterministic_and_unstable_beams_score_zero() -> None:
    a = _beam("ingest", ":=", {**FIELD, "norm": 1.0})
    blown = _beam("wave", "•", {**FIELD, "norm": 1e9}, (a.beam_id,))
    nan = _beam("wave", "*", {"norm": "nan", "min": "nan", "max": "nan", "finite": False}, (a.beam_id,))
    first = process_beams([a, blown, nan], publish=MetricsBus().publish, container_id="other")
    second = process_beams([a, blown, nan], publish=MetricsBus().publish, container_id="other")
    assert [u["qscore"] for u in first.updates] == [u["qscore"] for u in second.updates] == [1.0, 0.0, 0.0]
    assert {s.container_id for s in first.scores} == {"other"}
    assert [s.rating for s in first.scores] == ["exceptional", "poor", "poor"]


def test_process_beams_entropy_delta_and_parents_from_earlier_cells() -> None:
    a = _beam("ingest", ":=", FIELD)
    b = _beam("wave", "Δ", FIELD, (a.beam_id, "beam_old_wave_1"))
    out = process_beams(
        [a, b],
        input_entropies={a.beam_id: 2.0, "beam_old_wave_1": 4.0, b.beam_id: 1.0},
        input_norms={"beam_old_wave_1": 1e-12},
    )
    assert out.scores[0].entropy_delta == 0.0
    assert out.scores[1].entropy_delta == pytest.approx(1.0 - 3.0)
    assert out.details[b.beam_id]["stability"] == 1
    infinite = process_beams([a, b], drift_reports={b.beam_id: DriftReport([DriftComponent("run", math.inf)])})
    assert infinite.updates[1]["drift"] is None and infinite.updates[1]["qscore"] == 0.0


@pytest.mark.parametrize("kind", ["sqlite", "jsonl"])
def test_scores_are_persisted_in_the_store(tmp_path, kind: str) -> None:
    store = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}") if kind == "sqlite" else JSONLStore(tmp_path / "j")
    store.ensure_tables()
    try:
        a = _beam("ingest", ":=", FIELD)
        out = process_beams([a], publish=MetricsBus().publish, store=store)
        record_sqi_score_event(out.scores[0], store=store)
        rows = store.rows("sqi_scores")
        assert len(rows) == 2
        assert SqiScore.model_validate(rows[0]) == out.scores[0]
    finally:
        store.close()


def test_record_sqi_score_event_publishes_contract_four() -> None:
    bus = MetricsBus()
    score = SqiScore(
        timestamp=1.0,
        container_id="c",
        goal_match_score=1.0,
        rewrite_success_prob=1.0,
        entropy_delta=0.0,
        beam_id="beam_x",
        qscore=0.9,
        drift=0.0,
        rating="exceptional",
    )
    event = record_sqi_score_event(score, publish=bus.publish)
    assert event["type"] == "sqi_score" and bus.recent("sqi_score") == [event]
