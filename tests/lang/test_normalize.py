"""Lookalike normalization and the map back to original columns."""

from __future__ import annotations

import pytest

from codexlab.lang import normalize, parse, parse_expr
from codexlab.lang.normalize import normalize_with_map


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("∆ψ", "Δψ"),
        ("a − b", "a - b"),
        ("a – b", "a - b"),
        ("a ⋅ b", "a • b"),
        ("a · b", "a • b"),
        ("a ∙ b", "a • b"),
        ("∇⋅F", "∇·F"),
        ("∇ ⋅ F", "∇ · F"),
        ("∇·F", "∇·F"),
        ("∇•F", "∇·F"),
        ("a ✕ b", "a × b"),
        ("a ⨯ b", "a × b"),
        ("∇⨯F", "∇×F"),
        ("a ⨂ b", "a ⊗ b"),
        ("a ⨁ b", "a ⊕ b"),
        ("a ⊝ b", "a ⊖ b"),
        ("a ⨝[1] b", "a ⋈[1] b"),
        ("a ⟷ b", "a ↔ b"),
        ("∥a∥", "‖a‖"),
        ("psi'", "psi′"),
        ("psi''", "psi′′"),
        ("ψ’", "ψ′"),
        ("ψʹ", "ψ′"),
        ("↺ 3 { a }", "⟲ 3 { a }"),
        ("〚 Note | n 〛", "⟦ Note | n ⟧"),
        ("a ⩽ b ⩾ c", "a ≤ b ≥ c"),
        ("𝛁f + 𝜕x f", "∇f + ∂x f"),
        ("◻w", "□w"),
        ("⏳ψ", "⧖ψ"),
        ("a ∗ b ÷ c", "a * b / c"),
        ("“ring.nc”", '"ring.nc"'),
        ("a\u200b\u200cb\ufeff", "ab"),
        ("µ", "μ"),
    ],
)
def test_lookalikes(written: str, normalized: str) -> None:
    assert normalize(written) == normalized


def test_strings_and_comments_are_left_alone() -> None:
    text = 'p = load("a−b·c∆.nc")  # ∆ − · stay in comments'
    assert normalize(text) == text
    assert parse_expr('"a−b"').value == "a−b"


def test_apostrophe_not_after_a_name_is_kept() -> None:
    assert normalize("'x'") == "'x′"  # the first one starts nothing; the second follows the name `x`


def test_text_without_lookalikes_is_returned_unchanged() -> None:
    text = "ψ := gaussian(x, y, σ=0.15) * exp(i*8*x)\nL = ∇·∇ψ • ∇ψ ⊗ φ\n"
    assert normalize(text) is text


def test_source_map_columns() -> None:
    smap = normalize_with_map("ab\u200bcd\u200b\u200be\nx\u200by")
    assert smap.normalized == "abcde\nxy"
    # normalized (line, column) → original
    assert smap.original_position(1, 1) == (1, 1)
    assert smap.original_position(1, 3) == (1, 4)  # c
    assert smap.original_position(1, 5) == (1, 8)  # e, after three removed characters
    assert smap.original_position(2, 2) == (2, 3)
    assert smap.source_line(1) == "ab\u200bcd\u200b\u200be"


def test_one_for_one_rules_keep_columns() -> None:
    written = "L = ∆ψ − a⋅b"
    smap = normalize_with_map(written)
    assert len(smap.normalized) == len(written) and smap.removed == ()
    tree = parse(written)
    assert tree.statements[0].value.right.column == written.index("a⋅b") + 1


def test_normalized_and_glyph_spellings_parse_alike() -> None:
    assert parse("E = ∇ψ ⋅ ∇ψ + ∆ψ − ψ'") == parse("E = ∇ψ • ∇ψ + Δψ - ψ′")
