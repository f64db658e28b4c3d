"""The word lists of CodexLang shared by the transformer, the printer and the error messages."""

from __future__ import annotations

import re

from .ast import RESERVED_NAMES

#: Glyph words that spell a prefix operator as a function: `grad(f)` is `∇f`.
UNARY_ALIASES: dict[str, str] = {
    "grad": "∇",
    "div": "∇·",
    "curl": "∇×",
    "lap": "Δ",
    "dalembert": "□",
    "ddt": "d/dt",
    "collapse": "⧖",
}
#: Glyph words that spell an infix operator as a function: `superpose(a, b)` is `a ⊕ b`.
BINARY_ALIASES: dict[str, str] = {
    "entangle": "↔",
    "superpose": "⊕",
    "cancel": "⊖",
    "tensor": "⊗",
    "cross": "×",
    "dot": "•",
}
#: `interfere(a, b, φ)` is `a ⋈[φ] b`; `norm(e)` is `‖e‖`.
INTERFERE_ALIAS = "interfere"
NORM_ALIAS = "norm"
#: Called with exactly one argument these are partial derivatives; otherwise they are ordinary names,
#: because `dx` and `dt` are the usual names of grid spacings and time steps.
PARTIAL_CALLS: dict[str, str] = {"dx": "∂x", "dy": "∂y", "dz": "∂z", "dt": "∂t"}

#: Every glyph word: none of them can be defined or assigned.
GLYPH_WORDS: frozenset[str] = frozenset({*UNARY_ALIASES, *BINARY_ALIASES, INTERFERE_ALIAS, NORM_ALIAS})
#: `repeat` is the ASCII spelling of `⟲` and never a name.
KEYWORDS: frozenset[str] = frozenset({"repeat"})
#: Names that cannot be the target of `:=` or `=`.
UNBINDABLE: frozenset[str] = frozenset(RESERVED_NAMES) | GLYPH_WORDS | KEYWORDS

#: Canonical glyph → the word that spells it, for messages.
GLYPH_WORD_OF: dict[str, str] = {
    **{g: w for w, g in UNARY_ALIASES.items()},
    **{g: w for w, g in BINARY_ALIASES.items()},
    "⋈": INTERFERE_ALIAS,
}

#: Glyphs that may be called as functions, with the arity of their operator form.
GLYPH_ARITY: dict[str, int] = {
    **{g: 1 for g in UNARY_ALIASES.values()},
    **{g: 1 for g in PARTIAL_CALLS.values()},
    **{g: 2 for g in BINARY_ALIASES.values()},
    "⋈": 3,
}

#: Token text → canonical operator (ASCII spellings and lookalike arrows included).
CANONICAL_OP: dict[str, str] = {
    "->": "->",
    "→": "->",
    "<": "<",
    ">": ">",
    "<=": "≤",
    "≤": "≤",
    ">=": "≥",
    "≥": "≥",
    "==": "==",
    "!=": "≠",
    "≠": "≠",
    "∇·": "∇·",
    "∇•": "∇·",
    "∇×": "∇×",
}

_NABLA_SPACED = re.compile(r"∇[ \t]*([·•×])")


def canonical_op(text: str) -> str:
    """The canonical spelling of an operator token (`<=` → `≤`, `∇ ·` → `∇·`, `→` → `->`)."""
    op = CANONICAL_OP.get(text)
    if op is not None:
        return op
    spaced = _NABLA_SPACED.fullmatch(text)
    if spaced is not None:
        return "∇×" if spaced.group(1) == "×" else "∇·"
    return text


#: The NAME terminal of the grammar, kept in step with `codexlang.lark` (a test checks they agree).
NAME_RE = re.compile(r"[^\W\d²³¹⁰⁴-⁹₀-₉Δμµ][^\W²³¹⁰⁴-⁹₀-₉Δμµ]*[₀-₉]*[′″‴]*")


def binding_problem(name: str, verb: str) -> str | None:
    """Why `name` cannot be defined or assigned (verb: `defined`/`assigned`), or None if it can."""
    if name in ("x", "y", "z", "t"):
        return f"`{name}` is a coordinate and cannot be {verb}; use another name such as `{name}0`"
    if name == "i":
        return f"`i` is the imaginary unit and cannot be {verb}; use another name such as `k`"
    if name in KEYWORDS:
        return f"`{name}` is a keyword (the ASCII spelling of `⟲`) and cannot be {verb}; use another name"
    if name in GLYPH_WORDS:
        glyph = {**UNARY_ALIASES, **BINARY_ALIASES, INTERFERE_ALIAS: "⋈", NORM_ALIAS: "‖·‖"}[name]
        return f"`{name}` is the ASCII spelling of `{glyph}` and cannot be {verb}; use another name"
    return None
