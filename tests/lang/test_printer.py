"""to_text: canonical text with minimal parentheses, and parse(to_text(tree)) == tree for every tree."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexSyntaxError, CodexValueError
from codexlab.lang import ast, parse, parse_expr, to_text
from tests.strategies import exprs, scrolls, statements

N, Num = ast.Name, ast.Number
a, b, c = N("a"), N("b"), N("c")
_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(scrolls())
def test_scroll_round_trip(tree: ast.Scroll) -> None:
    assert parse(to_text(tree)) == tree


@_PROPERTY
@given(exprs())
def test_expression_round_trip(tree: ast.Expr) -> None:
    assert parse_expr(to_text(tree)) == tree


@_PROPERTY
@given(statements())
def test_printing_is_canonical(tree: ast.Statement) -> None:
    text = to_text(tree)
    assert to_text(parse(text)) == text + "\n"


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=0, max_value=10**40), st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)
    )
)
def test_numbers_round_trip_with_their_type(value: int | float) -> None:
    back = parse_expr(to_text(Num(value)))
    assert isinstance(back, ast.Number) and type(back.value) is type(value)
    assert back.value == value and math.copysign(1, back.value) == math.copysign(1, value)


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("(a + b) * c", "(a + b) * c"),
        ("a + (b * c)", "a + b * c"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a^b)^c", "(a^b)^c"),
        ("a^(b^c)", "a^b^c"),
        ("-(x^2)", "-x^2"),
        ("(-x)^2", "(-x)^2"),
        ("x^(-1)", "x^-1"),
        ("x²", "x^2"),
        ("(∇ψ) • (∇ψ)", "∇ψ • ∇ψ"),
        ("∇(ψ • φ)", "∇(ψ • φ)"),
        ("div(grad(psi))", "∇·∇psi"),
        ("d/dt(w)", "d/dt w"),
        ("dx(f)", "∂x f"),
        ("(a < b) < c", "(a < b) < c"),
        ("a < (b < c)", "a < (b < c)"),
        ("(a < b) -> c", "a < b -> c"),
        ("a -> (b -> c)", "a -> (b -> c)"),
        ("superpose(a, b) ⋈[φ] cancel(a, b)", "(a ⊕ b) ⋈[φ] (a ⊖ b)"),
        ("interfere(a + b, c, 0.5)", "a + b ⋈[0.5] c"),
        ("‖ψ - φ‖ + |ψ|^2", "‖ψ - φ‖ + |ψ|²"),
        ("[1, 2.5, 1e-6]", "[1, 2.5, 1e-06]"),
        ('f(a, k="s")', 'f(a, k="s")'),
        ("a<=b", "a ≤ b"),
        ("a != b", "a ≠ b"),
        ("a → b", "a -> b"),
        ("--a", "--a"),
        ("d / dt", "d / dt"),
    ],
)
def test_canonical_expressions(source: str, canonical: str) -> None:
    assert to_text(parse_expr(source)) == canonical


def test_canonical_statements() -> None:
    source = (
        "@grid x:-1..1:256,y:-1..1:256 , bc=dirichlet\n"
        "ψ:=gaussian(x,y,σ=0.15)\n"
        "repeat 50 {\n  ψ = ψ+1\n  φ = ψ\n}\n"
        "⟲ until ‖ψ - ψ′‖<1e-6 max 500 {ψ′=ψ}\n"
        "⟦Goal|smooth:‖∇ψ‖<40⟧\n"
        '⟦ Note | "two words" -> act ⟧\n'
        "⟦ Plan | p : (a -> b) ⟧\n"
        '@note "a b" x 7 -2.5\n'
    )
    assert to_text(parse(source)) == (
        "@grid x:-1..1:256, y:-1..1:256, bc=dirichlet\n"
        "ψ := gaussian(x, y, σ=0.15)\n"
        "⟲ 50 { ψ = ψ + 1; φ = ψ }\n"
        "⟲ until ‖ψ - ψ′‖ < 1e-06 max 500 { ψ′ = ψ }\n"
        "⟦ Goal | smooth : ‖∇ψ‖ < 40 ⟧\n"
        '⟦ Note | "two words" -> act ⟧\n'
        "⟦ Plan | p : (a -> b) ⟧\n"
        '@note "a b", x, 7, -2.5\n'
    )
    assert to_text(ast.Scroll(())) == ""


def test_hand_built_trees_that_need_care() -> None:
    # A loop count starting with the name `until` is parenthesized so it is not read as the keyword.
    loop = ast.Loop((), count=ast.Binary("+", N("until"), Num(1)))
    assert to_text(loop) == "⟲ (until + 1) { }"
    assert parse(to_text(loop)).statements == (loop,)
    # `∇` right before a glyph call spelled with `×` or `•` would read as `∇×` / `∇·`.
    odd = ast.Unary("∇", ast.Call("×", (a, b, c)))
    assert to_text(odd) == "∇(×(a, b, c))"
    assert parse_expr(to_text(odd)) == odd
    # Negative numbers print as negations and get parentheses where a negation would.
    assert to_text(ast.Binary("^", Num(-2), Num(2))) == "(-2)^2"
    assert to_text(ast.Binary("-", a, Num(-1))) == "a - -1"
    # Strings escape quotes, backslashes and control characters.
    text = ast.String('say "hi"\\\n\t')
    assert to_text(text) == '"say \\"hi\\"\\\\\\n\\t"'
    assert parse_expr(to_text(text)) == text


def test_printing_other_nodes() -> None:
    assert to_text(ast.Keyword("σ", Num(0.1))) == "σ=0.1"
    assert to_text(ast.AxisSpec("x", -1, 1.5, 64)) == "x:-1..1.5:64"
    assert to_text(ast.Option("bc", "dirichlet")) == "bc=dirichlet"
    assert to_text(ast.Word("two words")) == '"two words"'
    assert to_text(ast.Directive("seed", (ast.Word(7),))) == "@seed 7"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_have_no_spelling(value: float) -> None:
    with pytest.raises(CodexValueError, match="has no CodexLang literal"):
        to_text(Num(value))


def test_unprintable_trees() -> None:
    with pytest.raises(CodexValueError, match="needs a `count` or an `until`"):
        to_text(ast.Loop(()))
    with pytest.raises(CodexValueError, match="needs a bound"):
        to_text(ast.Loop((), until=a))
    with pytest.raises(CodexValueError, match="record type must be a name"):
        to_text(ast.GlyphRecord("two words", "t"))
    with pytest.raises(CodexValueError, match="unknown binary operator `%`"):
        to_text(ast.Binary("%", a, b))


def test_too_deep_to_print() -> None:
    tree: ast.Expr = a
    for _ in range(5000):
        tree = ast.Unary("-", tree)
    with pytest.raises(CodexSyntaxError, match="nesting is too deep to print"):
        to_text(tree)
