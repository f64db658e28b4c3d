"""Goal records change `goal_match_score` (SEMANTICS: 1 when met, else exp(−violation/scale))."""

from __future__ import annotations

import math

import pytest

BASE = "@grid x:-1..1:64, y:-1..1:64\nu := gaussian(x, y, σ=0.2)\nL = Δu\nn = ‖L‖\n"


def _score_of(run, token: str):
    beam = next(b for b in run.beams if b.token == token and b.stage in ("wave", "symbolic"))
    return next(s for s in run.scores if s.beam_id == beam.beam_id)


def test_without_goals_the_goal_factor_is_one(lab) -> None:
    run = lab.run(BASE)
    assert _score_of(run, "Δ").goal_match_score == 1.0


def test_a_met_goal_keeps_it_at_one(lab) -> None:
    run = lab.run(BASE + "⟦ Goal | bounded : ‖L‖ < 1e6 ⟧\n")
    assert _score_of(run, "Δ").goal_match_score == 1.0
    assert lab.status().gaps == ()


def test_a_missed_goal_scores_exp_of_minus_the_relative_violation(lab) -> None:
    norm = lab.run(BASE, "ref").values["n"]
    bound = 0.9 * float(norm)
    run = lab.run(BASE + f"⟦ Goal | small : ‖L‖ < {bound!r} ⟧\n", "goal")
    expected = math.exp(-(float(norm) - bound) / bound)
    assert _score_of(run, "Δ").goal_match_score == pytest.approx(expected, rel=1e-6)
    status = lab.status("goal")
    assert status.status == "OPEN" and status.gaps[0]["kind"] == "unmet_goal"
    assert status.gap_weight == pytest.approx(1.5)


def test_a_goal_on_a_name_not_yet_bound_does_not_judge_earlier_statements(lab) -> None:
    run = lab.run(BASE + "⟦ Goal | later : ‖Q‖ < 1 ⟧\nQ = u * 0.5\n")
    assert _score_of(run, "Δ").goal_match_score == 1.0
    assert _score_of(run, "*").goal_match_score == 1.0


def test_a_goal_on_the_norm_of_a_definition_reports_its_real_violation(lab) -> None:
    norm = float(lab.run(BASE + "m = ‖u‖\n", "ref").values["m"])
    lab.run(BASE + f"⟦ Goal | near : ‖u‖ < {0.9 * norm!r} ⟧\n", "defs")
    (gap,) = lab.status("defs").gaps
    assert gap["kind"] == "unmet_goal" and f"missed by {0.1 * norm:.4g}" in gap["detail"]
