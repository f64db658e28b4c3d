"""Unicode and LaTeX printing: glyphs as specified, parentheses only where precedence requires them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings

from codexlab.errors import CodexTypeError
from codexlab.lang import ast as A
from codexlab.lang import parse_expr, to_text
from codexlab.photon import (
    PAssign,
    PNode,
    PRecord,
    codex_to_photon_ast,
    name,
    node,
    num,
    to_latex,
    to_unicode,
)
from codexlab.photon.printing import latex_name
from tests.strategies import exprs, scrolls

a, b, c, f, psi, phi = (name(n) for n in ("a", "b", "c", "f", "ψ", "φ"))
x = name("x")


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (node("∇·", node("∇", psi)), "∇·∇ψ"),
        (node("∇×", node("∇", psi)), "∇×∇ψ"),
        (node("Δ", node("+", node("*", num(2), psi), phi)), "Δ(2 * ψ + φ)"),
        (node("-", a, node("+", b, c)), "a - (b + c)"),
        (node("-", node("+", a, b), c), "a + b - c"),
        (node("+", a, node("+", b, c)), "a + (b + c)"),
        (node("*", a, node("+", b, c)), "a * (b + c)"),
        (node("+", a, node("*", b, c)), "a + b * c"),
        (node("neg", node("^", x, num(2))), "-x^2"),
        (node("^", node("neg", x), num(2)), "(-x)^2"),
        (node("^", a, node("^", b, c)), "a^b^c"),
        (node("^", node("^", a, b), c), "(a^b)^c"),
        (node("^", x, node("neg", num(1))), "x^-1"),
        (node("^", num(-2), num(2)), "(-2)^2"),
        (node("neg", node("neg", x)), "-(-x)"),
        (node("∇", node("call", a, value="×")), "∇(×(a))"),
        (node("-", a, num(-3)), "a - (-3)"),
        (node("d/dt", psi), "d/dt ψ"),
        (node("∂x", node("+", f, psi)), "∂x (f + ψ)"),
        (node("∂t", node("∂t", f)), "∂t ∂t f"),
        (node("<", node("<", a, b), c), "(a < b) < c"),
        (node("->", node("->", a, b), c), "a -> b -> c"),
        (node("↔", psi, node("⊕", a, b)), "ψ ↔ a ⊕ b"),
        (node("⊕", node("↔", a, b), psi), "(a ↔ b) ⊕ ψ"),
        (node("⋈", a, b, phi), "a ⋈[φ] b"),
        (node("⋈", a, node("⋈", b, c, phi), phi), "a ⋈[φ] (b ⋈[φ] c)"),
        (node("call", x, name("y"), value="gaussian", kwargs=(("σ", num(0.15)),)), "gaussian(x, y, σ=0.15)"),
        (node("vec", a, b), "[a, b]"),
        (node("norm", node("-", a, b)), "‖a - b‖"),
        (node("density", psi), "|ψ|²"),
        (node("*", name("i"), num(2.5)), "i * 2.5"),
        (PNode("str", (), 'say "hi"\n'), '"say \\"hi\\"\\n"'),
        (num(1e-06), "1e-06"),
    ],
)
def test_unicode_text(expr: PNode, text: str) -> None:
    assert to_unicode(expr) == text


def test_statements_and_records_print_as_codexlang() -> None:
    cond = A.Binary("<", A.Name("a"), A.Number(1))
    loop = A.Loop((A.Assignment("ψ", A.Unary("Δ", A.Name("ψ"))),), until=cond, max=A.Number(9))
    axes = (A.AxisSpec("x", -1, 1, 256), A.AxisSpec("y", -1, 1, 256), A.Option("bc", "dirichlet"))
    scroll = A.Scroll(
        (
            A.Directive("grid", axes),
            A.Definition("ψ", A.Name("φ")),
            loop,
            A.GlyphRecord("Goal", "g", cond, "fix"),
        )
    )
    assert to_unicode(codex_to_photon_ast(scroll)).splitlines() == [
        "@grid x:-1..1:256, y:-1..1:256, bc=dirichlet",
        "ψ := φ",
        "⟲ until a < 1 max 9 { ψ = Δψ }",
        "⟦ Goal | g : a < 1 -> fix ⟧",
    ]
    assert to_unicode(PRecord("Note", "n")) == "⟦ Note | n ⟧"


@pytest.mark.parametrize(
    ("expr", "latex"),
    [
        (node("∇", psi), r"\nabla \psi"),
        (node("∇·", node("∇", psi)), r"\nabla\cdot \nabla \psi"),
        (node("∇×", f), r"\nabla\times f"),
        (node("Δ", psi), r"\Delta \psi"),
        (node("□", psi), r"\Box \psi"),
        (node("d/dt", psi), r"\frac{d}{dt} \psi"),
        (node("∂x", f), r"\partial_x f"),
        (node("⊗", a, b), r"a \otimes b"),
        (node("⊕", a, b), r"a \oplus b"),
        (node("⊖", a, b), r"a \ominus b"),
        (node("↔", a, b), r"a \leftrightarrow b"),
        (node("⧖", psi), r"\mathcal{M} \psi"),
        (node("•", a, b), r"a \cdot b"),
        (node("×", a, b), r"a \times b"),
        (node("norm", psi), r"\left\lVert \psi \right\rVert"),
        (node("density", psi), r"\left\lvert \psi \right\rvert^{2}"),
        (node("/", node("+", a, b), c), r"\frac{a + b}{c}"),
        (node("^", node("+", a, b), num(2)), r"{\left(a + b\right)}^{2}"),
        (node("^", x, node("neg", num(1))), r"{x}^{-1}"),
        (node("*", num(2), psi), r"2 \, \psi"),
        (node("*", num(2), num(3)), r"2 \cdot 3"),
        (node("-", a, node("+", b, c)), r"a - \left(b + c\right)"),
        (node("call", psi, value="sqrt"), r"\sqrt{\psi}"),
        (node("call", x, value="sin"), r"\sin\left(x\right)"),
        (node("call", x, value="gaussian", kwargs=(("σ", num(0.15)),)),
         r"\operatorname{gaussian}\left(x, \sigma = 0.15\right)"),
        (node("⋈", a, b, phi), r"a \bowtie_{\varphi} b"),
        (num(1e-06), r"10^{-6}"),
        (num(2.5e20), r"2.5 \times 10^{20}"),
        (name("i"), "i"),
    ],
)  # fmt: skip
def test_latex_text(expr: PNode, latex: str) -> None:
    assert to_latex(expr) == latex


@pytest.mark.parametrize(
    ("ident", "latex"),
    [
        ("ψ", r"\psi"),
        ("Ψ", r"\Psi"),
        ("φ", r"\varphi"),
        ("λ", r"\lambda"),
        ("psi", r"\psi"),
        ("ψ₀", r"\psi_{0}"),
        ("psi_0", r"\psi_{0}"),
        ("ψ′", r"\psi'"),
        ("x″", "x''"),
        ("E2", r"\mathrm{E2}"),
        ("rate_max", r"\mathrm{rate}_{\mathrm{max}}"),
        ("f", "f"),
    ],
)
def test_latex_names(ident: str, latex: str) -> None:
    assert latex_name(ident) == latex


def test_latex_of_statements() -> None:
    assert to_latex(PAssign("L", node("Δ", psi))) == r"L = \Delta \psi"


@settings(max_examples=150, deadline=None)
@given(exprs())
def test_latex_groups_balance(tree: A.Expr) -> None:
    text = to_latex(codex_to_photon_ast(tree))
    assert len(re.findall(r"\\left(?![a-z])", text)) == len(re.findall(r"\\right(?![a-z])", text))
    depth = 0
    for i, ch in enumerate(text):
        if ch in "{}" and i and text[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0


def test_unprintable_inputs_raise() -> None:
    with pytest.raises(CodexTypeError, match="Cannot print `int` as CodexLang"):
        to_unicode(3)
    with pytest.raises(CodexTypeError, match="Cannot print Photon op `mystery`"):
        to_unicode(node("mystery", a))
    with pytest.raises(CodexTypeError, match="Cannot print `PRecord` as LaTeX"):
        to_latex(PRecord("Note", "n"))


@settings(max_examples=100, deadline=None)
@given(exprs())
def test_unicode_text_parses_back_to_the_same_tree(tree: A.Expr) -> None:
    """The CodexLang parser is the independent reference for the printer's parentheses and spelling."""
    assert parse_expr(to_unicode(codex_to_photon_ast(tree))) == tree


@settings(max_examples=100, deadline=None)
@given(scrolls())
def test_program_text_is_the_language_printers(tree: A.Scroll) -> None:
    assert to_unicode(codex_to_photon_ast(tree)) == to_text(tree).rstrip("\n")
