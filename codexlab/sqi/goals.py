"""Goal match: how well a cell's `⟦ Goal | tag : lhs op rhs ⟧` records hold.

A met goal scores 1; a violated one exp(−violation/scale), where the violation is how far the lhs lies
on the wrong side of the rhs and scale = |rhs| (1 when rhs = 0). `goal_match_score` is their mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from codexlab.errors import CodexValueError, did_you_mean
from codexlab.sqi.drift import Gap

__all__ = ["COMPARISONS", "GoalResult", "goal_match_score", "goal_result_from_comparison", "unmet_goal_gaps"]

#: Comparison spellings → canonical op.
COMPARISONS: dict[str, str] = {
    "<": "<",
    ">": ">",
    "≤": "≤",
    "<=": "≤",
    "≥": "≥",
    ">=": "≥",
    "==": "==",
    "≠": "≠",
    "!=": "≠",
}
#: Relative tolerance under which `==` holds (and `≠` does not).
EQUAL_RTOL = 1e-9


@dataclass(frozen=True)
class GoalResult:
    """One evaluated Goal record: met or not, by how much it is missed, and the scale of that miss."""

    tag: str
    met: bool
    violation: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (self.violation >= 0):
            raise CodexValueError(f"Goal `{self.tag}` has violation `{self.violation}`; it must be ≥ 0.")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise CodexValueError(f"Goal `{self.tag}` has scale `{self.scale}`; it must be finite and > 0.")

    @property
    def score(self) -> float:
        """1 when met, else exp(−violation/scale) (0 for an infinite or NaN miss)."""
        if self.met:
            return 1.0
        return math.exp(-self.violation / self.scale) if math.isfinite(self.violation) else 0.0


def goal_result_from_comparison(tag: str, op: str, lhs: float, rhs: float) -> GoalResult:
    """Evaluate `lhs op rhs` for the Goal `tag`.

    `<` `>` `≤` `≥` (and `<=` `>=`): the violation is how far lhs is on the wrong side (0 exactly on the
    bound of a strict comparison). `==`: |lhs − rhs| (met within a relative 1e-9). `≠`: missed only when
    equal, and no distance measures that, so the violation is one scale (score e^−1).
    A NaN or infinite lhs misses with an infinite violation.
    Raises: `CodexValueError` for an unknown op or a non-finite rhs.
    """
    canonical = COMPARISONS.get(op)
    if canonical is None:
        raise CodexValueError(
            f"Goal `{tag}` uses `{op}`, which is not a comparison{did_you_mean(op, COMPARISONS)}; use one of "
            f"{', '.join(f'`{c}`' for c in COMPARISONS)}."
        )
    lhs, rhs = float(lhs), float(rhs)
    if not math.isfinite(rhs):
        raise CodexValueError(f"Goal `{tag}` compares with `{rhs}`; its right-hand side must be finite.")
    scale = abs(rhs) if rhs != 0 else 1.0
    if not math.isfinite(lhs):
        return GoalResult(tag, False, math.inf, scale)
    equal = math.isclose(lhs, rhs, rel_tol=EQUAL_RTOL, abs_tol=0.0)
    if canonical == "<":
        met, violation = lhs < rhs, max(0.0, lhs - rhs)
    elif canonical == "≤":
        met, violation = lhs <= rhs, max(0.0, lhs - rhs)
    elif canonical == ">":
        met, violation = lhs > rhs, max(0.0, rhs - lhs)
    elif canonical == "≥":
        met, violation = lhs >= rhs, max(0.0, rhs - lhs)
    elif canonical == "==":
        met, violation = equal, abs(lhs - rhs)
    else:
        met, violation = not equal, (0.0 if not equal else scale)
    return GoalResult(tag, met, 0.0 if met else violation, scale)


def goal_match_score(goals: Sequence[GoalResult]) -> tuple[float, str]:
    """The mean goal score of a cell and a one-line detail; (1.0, "goals: none") without goals."""
    if not goals:
        return 1.0, "goals: none"
    score = sum(g.score for g in goals) / len(goals)
    met = sum(1 for g in goals if g.met)
    missed = [f"`{g.tag}` missed by {g.violation:.4g} (scale {g.scale:.4g})" for g in goals if not g.met]
    detail = f"goals: {met}/{len(goals)} met" + (f"; {'; '.join(missed)}" if missed else "")
    return score, detail


def unmet_goal_gaps(goals: Sequence[GoalResult]) -> list[Gap]:
    """One `unmet_goal` gap (weight 1.5) per goal that is not met, for a drift report."""
    return [Gap.unmet_goal(g.tag, f"missed by {g.violation:.4g}") for g in goals if not g.met]
