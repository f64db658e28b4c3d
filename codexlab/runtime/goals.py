"""The Goal records of a cell: `⟦ Goal | tag : lhs < rhs ⟧` as (tag, comparison) pairs the vet stage judges."""

from __future__ import annotations

from collections.abc import Sequence

from ..photon import ir

__all__ = ["goal_conditions"]


def goal_conditions(records: Sequence[ir.PRecord]) -> list[tuple[str, ir.PNode]]:
    """(tag, comparison) of every Goal record whose value is a comparison of two sides."""
    from ..photon.intents import extract_intents_from_glyphs
    from ..sqi.goals import COMPARISONS

    out = []
    for intent in extract_intents_from_glyphs(list(records)) if records else []:
        cond = intent.condition
        if intent.type == "Goal" and cond is not None and cond.op in COMPARISONS and len(cond.args) == 2:
            out.append((intent.tag, cond))
    return out
