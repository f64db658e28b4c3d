"""parse / parse_expr: every statement kind, every glyph and its ASCII forms, precedence, positions."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexSyntaxError, CodexTypeError
from codexlab.lang import ast, parse, parse_expr

N, Num, S = ast.Name, ast.Number, ast.String


def U(op: str, e: ast.Expr) -> ast.Unary:
    return ast.Unary(op, e)


def B(op: str, a: ast.Expr, b: ast.Expr) -> ast.Binary:
    return ast.Binary(op, a, b)


a, b, c, d = N("a"), N("b"), N("c"), N("d")


# ------------------------------------------------------------------------------------------ statements


def test_every_statement_kind() -> None:
    text = (
        "@grid x:-1..1:256, y:-1..1:256, bc=dirichlet\n"
        "@precision fp32\n"
        "@seed 7\n"
        "@container lab1\n"
        "@wave c=2\n"
        "ψ := gaussian(x, y, σ=0.15) * exp(i*8*x)\n"
        "L = ∇·∇ψ\n"
        "ψ ↔ φ\n"
        "⟲ 50 { ψ = ψ + 0.001*i*Δψ }\n"
        "⟲ until ‖ψ - ψ′‖ < 1e-6 max 500 { ψ′ = ψ; ψ = relax(ψ) }\n"
        "⟦ Goal | smooth : ‖∇ψ‖ < 40 ⟧\n"
        "⟦ Plan | relax : ⟲ 50 { ψ = ψ + 0.001*i*Δψ } ⟧\n"
    )
    got = parse(text).statements
    psi, step = N("ψ"), B("+", N("ψ"), B("*", B("*", Num(0.001), N("i")), U("Δ", N("ψ"))))
    assert got[0] == ast.Directive(
        "grid", (ast.AxisSpec("x", -1, 1, 256), ast.AxisSpec("y", -1, 1, 256), ast.Option("bc", "dirichlet"))
    )
    assert got[1] == ast.Directive("precision", (ast.Word("fp32"),))
    assert got[2] == ast.Directive("seed", (ast.Word(7),))
    assert got[3] == ast.Directive("container", (ast.Word("lab1"),))
    assert got[4] == ast.Directive("wave", (ast.Option("c", 2),))
    gauss = ast.Call("gaussian", (N("x"), N("y")), (ast.Keyword("σ", Num(0.15)),))
    phase = ast.Call("exp", (B("*", B("*", N("i"), Num(8)), N("x")),))
    assert got[5] == ast.Definition("ψ", B("*", gauss, phase))
    assert got[6] == ast.Assignment("L", U("∇·", U("∇", psi)))
    assert got[7] == ast.ExprStmt(B("↔", psi, N("φ")))
    assert got[8] == ast.Loop((ast.Assignment("ψ", step),), count=Num(50))
    assert got[9] == ast.Loop(
        (ast.Assignment("ψ′", psi), ast.Assignment("ψ", ast.Call("relax", (psi,)))),
        until=B("<", ast.Norm(B("-", psi, N("ψ′"))), Num(1e-6)),
        max=Num(500),
    )
    assert got[10] == ast.GlyphRecord("Goal", "smooth", B("<", ast.Norm(U("∇", psi)), Num(40)))
    assert got[11] == ast.GlyphRecord("Plan", "relax", ast.Loop((ast.Assignment("ψ", step),), count=Num(50)))


def test_empty_and_comment_only_input_is_an_empty_scroll() -> None:
    assert parse("") == ast.Scroll(())
    assert parse("\n\n  # only a comment\n;;\n") == ast.Scroll(())


def test_separators_comments_and_multiline_loop_bodies() -> None:
    text = "a = 1; b = 2  # two on a line\n\n⟲ 3 {\n  a = a + 1\n\n  b = b * 2;\n}\n"
    got = parse(text).statements
    assert [type(s) for s in got] == [ast.Assignment, ast.Assignment, ast.Loop]
    body = (ast.Assignment("a", B("+", a, Num(1))), ast.Assignment("b", B("*", b, Num(2))))
    assert got[2] == ast.Loop(body, count=Num(3))
    assert parse("⟲ 2 { }").statements == (ast.Loop((), count=Num(2)),)


def test_loop_forms_and_ascii_keyword() -> None:
    body = (ast.Assignment("a", B("+", a, Num(1))),)
    assert parse("⟲(3, a = a + 1)").statements == (ast.Loop(body, count=Num(3)),)
    assert parse("⟲(3, { a = a + 1 })").statements == (ast.Loop(body, count=Num(3)),)
    assert parse("repeat 3 { a = a + 1 }") == parse("⟲ 3 { a = a + 1 }")
    assert parse("repeat until a > 9 max 20 { a = a + 1 }").statements == (
        ast.Loop(body, until=B(">", a, Num(9)), max=Num(20)),
    )
    # `until` and `max` are keywords only in a loop header: elsewhere they are names and calls.
    assert parse_expr("max(a, until)") == ast.Call("max", (a, N("until")))
    until = parse("⟲ until max(a, b) < 1 max 5 { }").statements[0].until
    assert until == B("<", ast.Call("max", (a, b)), Num(1))
    assert parse("⟲ (until) { }").statements[0].count == N("until")


def test_glyph_record_variants() -> None:
    assert parse("⟦ Note | todo ⟧").statements == (ast.GlyphRecord("Note", "todo"),)
    skill = ast.GlyphRecord("Skill", "two words", None, "run")
    assert parse('⟦ Skill | "two words" -> run ⟧').statements == (skill,)
    goal = ast.GlyphRecord("Goal", "g", B("<", a, Num(1)), "b")
    assert parse("⟦ Goal | g : a < 1 -> b ⟧").statements == (goal,)
    # An arrow in the value needs parentheses, otherwise it starts the action.
    assert parse("⟦ Plan | p : (a -> b) ⟧").statements == (ast.GlyphRecord("Plan", "p", B("->", a, b)),)


def test_directive_arguments() -> None:
    d = parse('@grid x:-1.5..2:64 y:0..1e1:8, bc=neumann\n@note "free text" -3 k=-0.5 lab').statements
    assert d[0] == ast.Directive(
        "grid", (ast.AxisSpec("x", -1.5, 2, 64), ast.AxisSpec("y", 0, 10.0, 8), ast.Option("bc", "neumann"))
    )
    note_args = (ast.Word("free text"), ast.Word(-3), ast.Option("k", -0.5), ast.Word("lab"))
    assert d[1] == ast.Directive("note", note_args)
    assert parse("@precision auto").statements[0].args == (ast.Word("auto"),)
    assert parse("@custom").statements == (ast.Directive("custom"),)


# ----------------------------------------------------------------------------------------- glyph forms


@pytest.mark.parametrize(
    ("glyph", "ascii_forms"),
    [
        ("∇f", ["grad(f)", "∇(f)"]),
        ("∇·f", ["div(f)", "∇·(f)", "∇ · f", "∇⋅f", "∇•f"]),
        ("∇×f", ["curl(f)", "∇×(f)", "∇ × f"]),
        ("Δf", ["lap(f)", "Δ(f)", "∆f"]),
        ("□f", ["dalembert(f)", "□(f)"]),
        ("d/dt f", ["ddt(f)", "d/dt(f)", "d/dtf"]),
        ("∂x f", ["dx(f)", "∂x(f)", "∂xf"]),
        ("∂y f", ["dy(f)"]),
        ("∂z f", ["dz(f)"]),
        ("∂t f", ["dt(f)"]),
        ("⧖f", ["collapse(f)", "⧖(f)"]),
        ("a ↔ b", ["entangle(a, b)", "↔(a, b)"]),
        ("a ⊕ b", ["superpose(a, b)", "⊕(a, b)"]),
        ("a ⊖ b", ["cancel(a, b)", "⊖(a, b)"]),
        ("a ⊗ b", ["tensor(a, b)", "⊗(a, b)", "a ⨂ b"]),
        ("a × b", ["cross(a, b)", "×(a, b)", "a ⨯ b"]),
        ("a • b", ["dot(a, b)", "•(a, b)", "a · b", "a ⋅ b"]),
        ("a ⋈[c] b", ["interfere(a, b, c)", "⋈(a, b, c)"]),
        ("‖a‖", ["norm(a)", "∥a∥"]),
        ("|a|²", ["|a|^2"]),
        ("a ≤ b", ["a <= b"]),
        ("a ≥ b", ["a >= b"]),
        ("a ≠ b", ["a != b"]),
        ("a -> b", ["a → b"]),
        ("a - b", ["a − b"]),
        ("a^2", ["a²"]),
    ],
)
def test_ascii_and_function_forms_give_the_same_ast(glyph: str, ascii_forms: list[str]) -> None:
    expected = parse_expr(glyph)
    for form in ascii_forms:
        assert parse_expr(form) == expected, form


def test_glyph_nodes_have_canonical_ops() -> None:
    f = N("f")
    for op in ast.UNARY_OPS:
        text = f"{op}(f)" if op != "-" else "-f"
        assert parse_expr(text) == U(op, f)
    assert parse_expr("interfere(a, b, c)") == ast.Interfere(a, b, c)
    assert parse_expr("superpose(a, b)") == B("⊕", a, b)
    assert parse_expr("grad(f)") == U("∇", f)


def test_glyph_calls_off_arity_or_with_keywords_stay_calls() -> None:
    psi = N("ψ")
    projective = ast.Keyword("mode", S("projective"))
    assert parse_expr('⧖(ψ, mode="projective")') == ast.Call("⧖", (psi,), (projective,))
    assert parse_expr('collapse(ψ, mode="projective")') == ast.Call("⧖", (psi,), (projective,))
    assert parse_expr("superpose(a, b, c)") == ast.Call("⊕", (a, b, c))
    assert parse_expr("⊕(a)") == ast.Call("⊕", (a,))
    assert parse_expr("grad()") == ast.Call("∇", ())
    assert parse_expr("∇(a, b)") == ast.Call("∇", (a, b))
    assert parse_expr("norm(a, p=1)") == ast.Call("norm", (a,), (ast.Keyword("p", Num(1)),))
    # dx dy dz dt are ordinary names unless called with exactly one argument.
    assert parse_expr("dt") == N("dt")
    assert parse_expr("dx(a, b)") == ast.Call("dx", (a, b))
    assert parse("dt = 0.01").statements == (ast.Assignment("dt", Num(0.01)),)


# ------------------------------------------------------------------------------------------ precedence


@pytest.mark.parametrize(
    ("text", "grouped"),
    [
        ("∇ψ • ∇ψ", "(∇ψ) • (∇ψ)"),
        ("-x^2", "-(x^2)"),
        ("Δψ^2", "Δ(ψ^2)"),
        ("a^b^c", "a^(b^c)"),
        ("x^-1", "x^(-1)"),
        ("a - b - c", "(a - b) - c"),
        ("a / b * c", "(a / b) * c"),
        ("a + b * c", "a + (b * c)"),
        ("a * b ⊗ c × d", "((a * b) ⊗ c) × d"),
        ("a + b ⋈[c] d + a", "(a + b) ⋈[c] (d + a)"),
        ("a ⋈[c] b ⋈[d] a", "(a ⋈[c] b) ⋈[d] a"),
        ("a ⊕ b ⋈[c] d", "a ⊕ (b ⋈[c] d)"),
        ("a ⊕ b ⊖ c", "(a ⊕ b) ⊖ c"),
        ("a ↔ b ⊕ c", "a ↔ (b ⊕ c)"),
        ("a ↔ b < c", "(a ↔ b) < c"),
        ("a < b -> c", "(a < b) -> c"),
        ("a -> b -> c", "(a -> b) -> c"),
        ("-a * b", "(-a) * b"),
        ("∇a + b", "(∇a) + b"),
        ("⧖ψ ⊗ φ", "(⧖ψ) ⊗ φ"),
        ("d/dt w + ∂x w", "(d/dt w) + (∂x w)"),
        ("x²^3", "(x^2)^3"),
        ("-2^2", "-(2^2)"),
        ("2^-x^2", "2^(-(x^2))"),
    ],
)
def test_precedence_table(text: str, grouped: str) -> None:
    assert parse_expr(text) == parse_expr(grouped)


def test_precedence_against_explicit_trees() -> None:
    assert parse_expr("∇ψ • ∇ψ") == B("•", U("∇", N("ψ")), U("∇", N("ψ")))
    assert parse_expr("-x^2") == U("-", B("^", N("x"), Num(2)))
    assert parse_expr("a ⊕ b ⋈[c] d") == B("⊕", a, ast.Interfere(b, d, c))
    assert parse_expr("a < b -> c") == B("->", B("<", a, b), c)


def test_comparisons_do_not_chain() -> None:
    with pytest.raises(CodexSyntaxError, match="comparisons cannot be chained"):
        parse_expr("a < b < c")
    assert parse_expr("(a < b) < c") == B("<", B("<", a, b), c)


# -------------------------------------------------------------------------------------- atoms and names


def test_numbers_keep_int_and_float() -> None:
    for text, value in [
        ("7", 7),
        ("007", 7),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2E-2", 0.02),
        ("1e+16", 1e16),
        ("12345678901234567890", 12345678901234567890),
    ]:
        got = parse_expr(text)
        assert got == Num(value) and type(got.value) is type(value), text
    assert parse_expr("-1") == U("-", Num(1))


def test_strings_and_escapes() -> None:
    assert parse_expr('"data/fields/ring.nc"') == S("data/fields/ring.nc")
    assert parse_expr(r'"a\"b\\c\nd\te"') == S('a"b\\c\nd\te')
    assert parse_expr(r'"C:\data"') == S("C:\\data")  # unknown escapes keep their backslash
    assert parse_expr('"a # not a comment"') == S("a # not a comment")


def test_vectors_norms_densities_calls() -> None:
    assert parse_expr("[a, b, c]") == ast.Vector((a, b, c))
    assert parse_expr("[]") == ast.Vector(())
    assert parse_expr("‖a - b‖") == ast.Norm(B("-", a, b))
    assert parse_expr("|a + b|²") == ast.Density(B("+", a, b))
    assert parse_expr("||a|²|²") == ast.Density(ast.Density(a))
    assert parse_expr("f()") == ast.Call("f")
    assert parse_expr("f(a, k=b)") == ast.Call("f", (a,), (ast.Keyword("k", b),))
    assert parse_expr('load("x.nc")') == ast.Call("load", (S("x.nc"),))


@pytest.mark.parametrize("name", ["psi_0", "ψ′", "x″", "ψ₀", "E2", "_", "λ₁₂′", "ψ‴", "ℏ", "Ωmega"])
def test_names(name: str) -> None:
    assert parse_expr(name) == N(name)


def test_primes_from_ascii_apostrophes() -> None:
    assert parse_expr("psi'") == N("psi′")
    assert parse_expr("psi''") == N("psi′′")
    assert parse_expr("ψ’") == N("ψ′")


def test_delta_and_mu_are_not_name_letters() -> None:
    assert parse_expr("Δx") == U("Δ", N("x"))
    assert parse_expr("a*Δb") == B("*", a, U("Δ", b))
    with pytest.raises(CodexSyntaxError, match="`μ` is an operator letter"):
        parse("μ = 1")
    with pytest.raises(CodexSyntaxError, match="`μ` is an operator letter"):
        parse("aµb = 1")  # the micro sign is normalized to μ first


def test_reserved_names_are_names_but_cannot_be_bound() -> None:
    for r in ast.RESERVED_NAMES:
        assert parse_expr(r) == N(r)
        with pytest.raises(CodexSyntaxError, match=f"`{r}` is"):
            parse(f"{r} = 1")
        with pytest.raises(CodexSyntaxError, match="cannot be defined"):
            parse(f"{r} := 1")
    with pytest.raises(CodexSyntaxError, match="`grad` is the ASCII spelling of `∇`"):
        parse("grad := 1")
    with pytest.raises(CodexSyntaxError, match="`repeat` is a keyword"):
        parse("a = repeat + 1")


def test_keyword_order_and_duplicates() -> None:
    with pytest.raises(CodexSyntaxError, match="positional argument follows the keyword argument `k`"):
        parse_expr("f(k=1, a)")
    with pytest.raises(CodexSyntaxError, match="keyword argument `k` is given twice"):
        parse_expr("f(k=1, k=2)")


# ------------------------------------------------------------------------------------------- positions


def _positions(node: ast.Node) -> list[tuple[str, int, int]]:
    """(type, line, column) of every node, depth first."""
    out = [(type(node).__name__, node.line, node.column)]
    for value in vars(node).values():
        items = value if isinstance(value, tuple) else (value,)
        out.extend(p for item in items if isinstance(item, ast.Node) for p in _positions(item))
    return out


def test_every_node_has_a_position() -> None:
    text = (
        "@grid x:-1..1:8\nψ := f(x, σ=2) + [1, ‖a‖, |b|²]\n⟲ until a ⋈[c] b > 1 max 3 {\n  a = -∇a\n}\n⟦ Goal | g : a ⟧"
    )
    for kind, line, column in _positions(parse(text)):
        assert line >= 1 and column >= 1, kind


def test_node_positions_are_where_nodes_start() -> None:
    s = parse("x0 = 1\n  L = (a + b) * ∇c\n⟲ 2 { d = 1 }")
    assign = s.statements[1]
    assert (assign.line, assign.column) == (2, 3)
    product = assign.value
    assert (product.line, product.column) == (2, 7)  # starts at the parenthesis
    assert (product.left.line, product.left.column) == (2, 7)
    assert (product.right.line, product.right.column) == (2, 17)  # the ∇
    assert (product.right.operand.line, product.right.operand.column) == (2, 18)
    loop = s.statements[2]
    assert (loop.line, loop.column) == (3, 1) and (loop.body[0].line, loop.body[0].column) == (3, 7)


def test_positions_count_removed_invisible_characters() -> None:
    # A zero-width space is removed before lexing, yet positions stay those of the original text.
    s = parse("a\u200b = 1 + b")
    assert s.statements[0].value.right == N("b")
    assert (s.statements[0].value.right.line, s.statements[0].value.right.column) == (1, 10)
    with pytest.raises(CodexSyntaxError) as info:
        parse("a\u200b = 1 + $")
    assert (info.value.line, info.value.column) == (1, 10)


def test_parse_expr_rejects_statements() -> None:
    with pytest.raises(CodexSyntaxError, match="expected a single expression, got a definition"):
        parse_expr("a := 1")
    with pytest.raises(CodexSyntaxError, match="got more than one statement"):
        parse_expr("a; b")
    with pytest.raises(CodexSyntaxError, match="got empty text"):
        parse_expr("  ")


def test_parse_rejects_non_text() -> None:
    with pytest.raises(CodexTypeError, match="takes CodexLang text"):
        parse(b"a = 1")  # type: ignore[arg-type]
