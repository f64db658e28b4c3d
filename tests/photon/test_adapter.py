"""Codex AST ⇄ Photon IR adapters: the round trip is the identity, and each node maps as specified."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.lang import ast as A
from codexlab.photon import (
    PAssign,
    PDefine,
    PDirective,
    PExpr,
    PhotonProgram,
    PLoop,
    PNode,
    PRecord,
    codex_to_photon_ast,
    node,
    num,
    photon_to_codex_ast,
    var,
)
from tests.strategies import exprs, scrolls, statements


@settings(max_examples=200, deadline=None)
@given(exprs())
def test_expression_round_trip_is_identity(tree: A.Expr) -> None:
    ir = codex_to_photon_ast(tree)
    back = photon_to_codex_ast(ir)
    assert back == tree
    # repr shows literal types, which `==` does not compare (1 == 1.0).
    assert repr(back) == repr(tree)
    assert codex_to_photon_ast(back) is ir


@settings(max_examples=100, deadline=None)
@given(scrolls())
def test_scroll_round_trip_is_identity(tree: A.Scroll) -> None:
    program = codex_to_photon_ast(tree)
    assert isinstance(program, PhotonProgram)
    back = photon_to_codex_ast(program)
    assert back == tree
    assert repr(back) == repr(tree)


@settings(max_examples=100, deadline=None)
@given(statements())
def test_statement_round_trip_is_identity(stmt: A.Statement) -> None:
    assert photon_to_codex_ast(codex_to_photon_ast(stmt)) == stmt


@given(st.integers(0, 10**6))
def test_int_and_float_literals_stay_distinct(k: int) -> None:
    as_int, as_float = codex_to_photon_ast(A.Number(k)), codex_to_photon_ast(A.Number(float(k)))
    assert as_int is not as_float
    back_int, back_float = photon_to_codex_ast(as_int), photon_to_codex_ast(as_float)
    assert isinstance(back_int, A.Number) and isinstance(back_float, A.Number)
    assert type(back_int.value) is int and type(back_float.value) is float


def test_names_map_to_coord_imag_and_name() -> None:
    assert [codex_to_photon_ast(A.Name(n)).op for n in ("x", "y", "z", "t")] == ["coord"] * 4
    assert codex_to_photon_ast(A.Name("i")).op == "imag"
    psi = codex_to_photon_ast(A.Name("ψ"))
    assert (psi.op, psi.value) == ("name", "ψ")


def test_unary_minus_is_neg_and_binary_minus_stays() -> None:
    neg = codex_to_photon_ast(A.Unary("-", A.Name("a")))
    sub = codex_to_photon_ast(A.Binary("-", A.Name("a"), A.Name("b")))
    assert neg.op == "neg" and sub.op == "-"
    assert photon_to_codex_ast(neg) == A.Unary("-", A.Name("a"))


def test_compound_nodes_map_to_their_ops() -> None:
    call = codex_to_photon_ast(A.Call("gaussian", (A.Name("x"), A.Name("y")), (A.Keyword("σ", A.Number(0.15)),)))
    assert (call.op, call.value, [a.value for a in call.args]) == ("call", "gaussian", ["x", "y"])
    assert call.kwargs == (("σ", num(0.15)),)
    bowtie = codex_to_photon_ast(A.Interfere(A.Name("a"), A.Name("b"), A.Name("φ")))
    assert bowtie.op == "⋈" and [a.value for a in bowtie.args] == ["a", "b", "φ"]
    assert codex_to_photon_ast(A.Vector((A.Number(1), A.Number(2)))).op == "vec"
    assert codex_to_photon_ast(A.Norm(A.Name("a"))).op == "norm"
    assert codex_to_photon_ast(A.Density(A.Name("a"))).op == "density"
    text = codex_to_photon_ast(A.String("data/f.nc"))
    assert (text.op, text.value) == ("str", "data/f.nc")


def test_statements_map_to_photon_statements() -> None:
    psi = A.Name("ψ")
    loop = A.Loop((A.Assignment("ψ", A.Binary("+", psi, A.Number(1))),), count=A.Number(50))
    scroll = A.Scroll(
        (
            A.Directive("grid", (A.AxisSpec("x", -1, 1, 64),)),
            A.Definition("ψ", A.Call("sin", (A.Name("x"),))),
            A.Assignment("L", A.Unary("Δ", psi)),
            A.ExprStmt(psi),
            loop,
            A.GlyphRecord("Plan", "relax", loop, "go"),
        )
    )
    program = codex_to_photon_ast(scroll)
    kinds = [type(s) for s in program.statements]
    assert kinds == [PDirective, PDefine, PAssign, PExpr, PLoop, PRecord]
    directive, record = program.statements[0], program.statements[5]
    assert isinstance(directive, PDirective) and directive.args == (A.AxisSpec("x", -1, 1, 64),)
    assert isinstance(record, PRecord) and isinstance(record.value, PLoop)
    assert len(list(program.expressions())) == 7
    assert photon_to_codex_ast(program) == scroll


def test_shared_subterms_are_one_node() -> None:
    grad = A.Unary("∇", A.Name("ψ"))
    ir = codex_to_photon_ast(A.Binary("•", grad, grad))
    assert ir.args[0] is ir.args[1]


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(CodexTypeError, match="Cannot convert `int` to Photon IR"):
        codex_to_photon_ast(42)  # type: ignore[call-overload]
    with pytest.raises(CodexValueError, match=r"Photon op `\?` has no Codex AST form"):
        photon_to_codex_ast(node("∇", var("f")))
    with pytest.raises(CodexTypeError, match="Cannot convert `str` to a Codex statement"):
        photon_to_codex_ast("ψ")  # type: ignore[call-overload]


def test_complex_literals_from_rewriting_convert_back_as_arithmetic() -> None:
    assert photon_to_codex_ast(num(2j)) == A.Binary("*", A.Number(2.0), A.Name("i"))
    back = photon_to_codex_ast(num(1 + 2j))
    assert back == A.Binary("+", A.Number(1.0), A.Binary("*", A.Number(2.0), A.Name("i")))
    assert isinstance(codex_to_photon_ast(back), PNode)
