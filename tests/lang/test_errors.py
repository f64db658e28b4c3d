"""Syntax errors: exact line and column, the expected tokens in words, and nothing else ever escapes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexError, CodexSyntaxError
from codexlab.lang import parse, to_text

# (source, line, column, message pattern)
BAD_INPUTS = [
    ("a = b ⊗", 1, 8, r"expected an operand after `⊗`"),
    ("a = b ⊗\nc = 1", 1, 8, r"expected an operand after `⊗`"),
    ("a ⊗ )", 1, 5, r"expected an operand after `⊗`, not `\)`"),
    ("x0 = 1\n⟲ 5 {\n  a = 1\n", 3, 8, r"expected `}` to close the loop opened at line 2"),
    ("f(a))", 1, 5, r"unexpected `\)`"),
    ("a < b < c", 1, 7, r"comparisons cannot be chained"),
    ("1 = 2", 1, 3, r"only a name can stand before `=`"),
    ("y = 1", 1, 1, r"`y` is a coordinate and cannot be assigned"),
    ("i := 2", 1, 1, r"`i` is the imaginary unit and cannot be defined"),
    ('a = "abc', 1, 5, r"unterminated string"),
    ("a = $", 1, 5, r"unexpected character `\$`"),
    ("b = 2\na = (1 + 2\nc = 3", 2, 11, r"expected `\)` to close the `\(` opened at line 2, column 5"),
    ("@grid x:-1..1", 1, 14, r"a grid axis is written `name:lo\.\.hi:n`"),
    ("⟲ until a < 1 { }", 1, 15, r"expected `max` and an iteration bound"),
    ("⟦ Goal smooth ⟧", 1, 8, r"a glyph record is written `⟦ Type \| Tag : Value -> Action ⟧`"),
    ("a b", 1, 3, r"two expressions cannot stand side by side"),
    ("y = 2x", 1, 6, r"a number and a name cannot touch"),
    ("a = |b|", 1, 8, r"expected `²` after `\|…\|`"),
    ("a = |b|^3", 1, 9, r"a density is written `\|e\|²`"),
    ("⟲ { a }", 1, 3, r"expected a count or `until` after `⟲`"),
    ("repeat = 1", 1, 1, r"`repeat` is a keyword"),
    ("a ⋈ b", 1, 5, r"expected `\[φ\]` after `⋈`"),
    ("a = d/dt", 1, 9, r"expected an operand after `d/dt` \(to divide `d` by `dt`, write `d / dt`\)"),
    ("a := ", 1, 5, r"expected an expression after `:=`"),
    ("(a]", 1, 3, r"unexpected `\]`: expected `\)` to close the `\(` opened at line 1, column 1"),
    ("v = [a, b", 1, 10, r"expected `\]` to close the `\[` opened at line 1, column 5"),
    ("n = ‖a", 1, 7, r"expected `‖` to close the norm"),
    ("⟦ Goal | g : a", 1, 15, r"expected `⟧` to close the glyph record"),
    ("a = 1.", 1, 6, r"a number cannot end with `\.`"),
    ("a = 'x'", 1, 5, r"strings are written with double quotes"),
    ("@ grid", 1, 1, r"a directive needs its name right after `@`"),
    ("a = 1e999", 1, 5, r"too large for a float"),
    ("⟲ 5 a", 1, 5, r"expected `{` to start the loop body"),
    ("f(a,)", 1, 5, r"expected an expression after `,`, not `\)`"),
    ("{ a }", 1, 1, r"unexpected `{`: expected a statement"),
    ("μ = 1", 1, 1, r"`μ` is an operator letter"),
    ("  z−1 = 0", 1, 7, r"only a name can stand before `=`"),
    ("f(k=1, k=2)", 1, 8, r"keyword argument `k` is given twice"),
    ("@grid x:0..1:2.5", 1, 14, r"needs a whole number of points"),
]


@pytest.mark.parametrize(("source", "line", "column", "pattern"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_reports_line_column_and_words(source: str, line: int, column: int, pattern: str) -> None:
    with pytest.raises(CodexSyntaxError, match=pattern) as info:
        parse(source)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert err.source_line == source.split("\n")[line - 1]
    assert err.caret.endswith(" " * (column - 1) + "^")
    assert f"(line {line}, column {column})" in str(err)


def test_error_is_a_syntax_error_with_expected_words() -> None:
    with pytest.raises(SyntaxError) as info:
        parse("a = b ⊗")
    err = info.value
    assert isinstance(err, CodexError) and isinstance(err, CodexSyntaxError)
    assert err.expected == ("an operand",)
    assert (err.lineno, err.offset, err.text) == (1, 8, "a = b ⊗")


def test_expected_words_follow_the_context() -> None:
    with pytest.raises(CodexSyntaxError) as info:
        parse("⟲ until a < 1 { }")
    assert info.value.expected == ("`max`",)
    with pytest.raises(CodexSyntaxError) as info:
        parse("y = 2x")
    assert "`max`" not in info.value.expected  # only what fits here, not what LALR merging allows elsewhere
    assert "an operator" in info.value.expected


def test_columns_are_those_of_the_original_text() -> None:
    # ∆ (U+2206) and − (U+2212) are rewritten one for one; a zero-width joiner is removed.
    with pytest.raises(CodexSyntaxError) as info:
        parse("a = ∆b\u200d − $")
    assert (info.value.line, info.value.column) == (1, 11)


@pytest.mark.parametrize("opener", ["(", "-(", "f(", "[", "‖", "∇"])
def test_deep_nesting_never_overflows(opener: str) -> None:
    closer = {"(": ")", "-(": ")", "f(": ")", "[": "]", "‖": "‖", "∇": ""}[opener]
    text = opener * 500 + "a" + closer * 500
    try:
        tree = parse(text)
    except CodexSyntaxError as err:
        assert "nesting is too deep" in err.message
    else:
        assert parse(to_text(tree)) == tree


def test_nesting_limit_message() -> None:
    with pytest.raises(CodexSyntaxError, match=r"nesting is too deep \(more than 200 levels"):
        parse("-" * 300 + "a")
    with pytest.raises(CodexSyntaxError, match="nesting is too deep"):
        parse(" + ".join(["a"] * 400))
    assert parse("(" * 500 + "a" + ")" * 500).statements[0].value.id == "a"


def test_deeply_nested_loops_across_lines() -> None:
    with pytest.raises(CodexSyntaxError, match="nesting is too deep"):
        parse("⟲ 1 {\n" * 250 + "a\n" + "}\n" * 250)


_ALPHABET = [
    *"∇Δ□⧖∂⊗×•⊕⊖⋈↔‖|²⟲⟦⟧{}()[],;:=+-*/^<>≤≥≠!.@\"'#\n xyztiψφ0123456789",
    "∇·",
    "∇×",
    "d/dt",
    "->",
    ":=",
    "==",
    "!=",
    "<=",
    "until",
    "max",
    "repeat",
    "grad",
    "dx",
    "1e5",
    "@grid",
    "@seed",
    "..",
    "Goal",
    "μ",
    "∆",
    "−",
    "’",
    "\u200b",
    "“",
    "″",
    "₀",
    "superpose(",
]


def _only_syntax_errors(text: str) -> None:
    try:
        tree = parse(text)
    except CodexSyntaxError as err:
        assert err.line >= 1 and err.column >= 1
        assert err.line <= text.count("\n") + 1
        return
    assert parse(to_text(tree)) == tree


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_fuzz_arbitrary_unicode_raises_only_syntax_errors(text: str) -> None:
    _only_syntax_errors(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ALPHABET), max_size=40).map("".join))
def test_fuzz_grammar_alphabet_raises_only_syntax_errors(text: str) -> None:
    _only_syntax_errors(text)
