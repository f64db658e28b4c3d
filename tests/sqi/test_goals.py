"""Goal match: met goals score 1, violated ones exp(−violation/scale), the cell's score is the mean."""

from __future__ import annotations

import math

import pytest

from codexlab.errors import CodexValueError
from codexlab.sqi import GoalResult, goal_match_score, goal_result_from_comparison, unmet_goal_gaps


def test_violated_goal_from_the_plan_example() -> None:
    # ⟦ Goal | smooth : ‖∇ψ‖ < 40 ⟧ with ‖∇ψ‖ = 52: violated by 12 at scale 40.
    g = goal_result_from_comparison("smooth", "<", 52.0, 40.0)
    assert (g.met, g.violation, g.scale) == (False, 12.0, 40.0)
    assert g.score == pytest.approx(math.exp(-12 / 40))


@pytest.mark.parametrize(
    ("op", "lhs", "rhs", "met", "violation"),
    [
        ("<", 3.0, 5.0, True, 0.0),
        ("<", 7.0, 5.0, False, 2.0),
        (">", 3.0, 5.0, False, 2.0),
        (">", 6.0, 5.0, True, 0.0),
        ("≤", 5.0, 5.0, True, 0.0),
        ("<=", 5.5, 5.0, False, 0.5),
        ("≥", 4.0, 5.0, False, 1.0),
        (">=", 5.0, 5.0, True, 0.0),
        ("==", 5.0, 5.0, True, 0.0),
        ("==", 4.0, 5.0, False, 1.0),
        ("≠", 4.0, 5.0, True, 0.0),
        ("!=", 5.0, 5.0, False, 5.0),
    ],
)
def test_comparisons(op: str, lhs: float, rhs: float, met: bool, violation: float) -> None:
    g = goal_result_from_comparison("g", op, lhs, rhs)
    assert g.met is met and g.violation == pytest.approx(violation)


def test_scale_is_one_for_a_zero_rhs_and_nan_lhs_misses_completely() -> None:
    g = goal_result_from_comparison("zero", "<", 0.5, 0.0)
    assert g.scale == 1.0 and g.score == pytest.approx(math.exp(-0.5))
    nan = goal_result_from_comparison("nan", "<", math.nan, 1.0)
    assert not nan.met and nan.score == 0.0


def test_unknown_op_and_bad_rhs_are_refused() -> None:
    with pytest.raises(CodexValueError, match="not a comparison .* use one of"):
        goal_result_from_comparison("g", "=<", 1.0, 2.0)
    with pytest.raises(CodexValueError, match="must be finite"):
        goal_result_from_comparison("g", "<", 1.0, math.inf)
    with pytest.raises(CodexValueError, match="scale"):
        GoalResult("g", False, 1.0, 0.0)


def test_goal_match_score_is_the_mean() -> None:
    assert goal_match_score([]) == (1.0, "goals: none")
    met = goal_result_from_comparison("a", "<", 1.0, 2.0)
    missed = goal_result_from_comparison("smooth", "<", 52.0, 40.0)
    assert goal_match_score([met])[0] == 1.0
    score, detail = goal_match_score([met, missed])
    assert score == pytest.approx((1 + math.exp(-12 / 40)) / 2)
    assert detail.startswith("goals: 1/2 met") and "`smooth` missed by 12" in detail


def test_unmet_goals_become_gaps_of_weight_one_and_a_half() -> None:
    gaps = unmet_goal_gaps([goal_result_from_comparison("a", "<", 1.0, 2.0), GoalResult("b", False, 3.0, 1.0)])
    assert [(g.kind, g.weight) for g in gaps] == [("unmet_goal", 1.5)]
    assert "`b`" in gaps[0].detail
