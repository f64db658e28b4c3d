"""Intents from glyph records: type, tag, printed value, action, origin; Goals keep their condition."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.lang import ast as A
from codexlab.photon import (
    Intent,
    PLoop,
    PRecord,
    codex_to_photon_ast,
    extract_intents_from_glyphs,
    node,
    num,
)

PSI = A.Name("ψ")
CONDITION = A.Binary("<", A.Norm(A.Unary("∇", PSI)), A.Number(40))
GOAL = A.GlyphRecord("Goal", "smooth", CONDITION)
BODY = (
    A.Assignment(
        "ψ",
        A.Binary("+", PSI, A.Binary("*", A.Binary("*", A.Number(0.001), A.Name("i")), A.Unary("Δ", PSI))),
    ),
)
PLAN = A.GlyphRecord("Plan", "relax", A.Loop(BODY, count=A.Number(50)), "evolve")


def test_goal_keeps_its_condition_and_prints_its_value() -> None:
    (goal,) = extract_intents_from_glyphs([GOAL])
    assert isinstance(goal, Intent)
    assert (goal.type, goal.tag, goal.action) == ("Goal", "smooth", None)
    assert goal.text == "‖∇ψ‖ < 40"
    assert goal.condition is codex_to_photon_ast(CONDITION)
    assert goal.condition.op == "<"
    assert goal.metadata == {"origin": "codex"}


def test_plan_prints_its_loop_and_has_no_condition() -> None:
    (plan,) = extract_intents_from_glyphs(PLAN)
    assert plan.text == "⟲ 50 { ψ = ψ + 0.001 * i * Δψ }"
    assert plan.action == "evolve"
    assert plan.condition is None
    assert isinstance(plan.value, PLoop)


def test_origin_from_metadata_is_kept_and_metadata_is_copied() -> None:
    meta = {"origin": "photon", "cell": "c1"}
    intents = extract_intents_from_glyphs([GOAL, PLAN], metadata=meta)
    assert [i.metadata for i in intents] == [meta, meta]
    assert intents[0].metadata is not meta and intents[0].metadata is not intents[1].metadata


def test_photon_records_and_whole_programs_are_accepted() -> None:
    note = PRecord("Note", "why", node("+", num(1), num(2)))
    skill = A.GlyphRecord("Skill", "lap", None)
    scroll = A.Scroll((A.ExprStmt(PSI), GOAL, A.Loop((skill,), count=A.Number(2))))
    assert [i.text for i in extract_intents_from_glyphs([note])] == ["1 + 2"]
    from_scroll = extract_intents_from_glyphs(scroll)
    assert [(i.type, i.tag, i.text) for i in from_scroll] == [
        ("Goal", "smooth", "‖∇ψ‖ < 40"),
        ("Skill", "lap", ""),
    ]
    assert extract_intents_from_glyphs(codex_to_photon_ast(scroll)) == from_scroll


def test_unknown_types_pass_through_unless_strict() -> None:
    typo = A.GlyphRecord("Gaol", "smooth", A.Number(1))
    assert extract_intents_from_glyphs([typo])[0].type == "Gaol"
    with pytest.raises(CodexValueError, match=r"Unknown glyph record type `Gaol` \(did you mean `Goal`\?\)"):
        extract_intents_from_glyphs([typo], strict=True)


def test_non_records_are_refused() -> None:
    with pytest.raises(CodexTypeError, match="takes glyph records, not `ExprStmt`"):
        extract_intents_from_glyphs([A.ExprStmt(PSI)])
