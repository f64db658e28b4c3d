"""The Codex AST: what `codexlab.lang.parse` returns and `codexlab.lang.to_text` prints.

Nodes are frozen dataclasses. Every node carries the 1-based `line` and `column` where it starts;
positions are excluded from equality and hashing, so `parse(to_text(tree)) == tree` compares structure.
Glyphs are stored in their canonical Unicode spelling (ASCII aliases and lookalikes are normalized by
the parser), e.g. `Unary("∇·", f)` whether the source said `∇·f`, `div(f)` or `∇⋅f`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Node",
    "Number",
    "String",
    "Name",
    "Unary",
    "Binary",
    "Interfere",
    "Call",
    "Keyword",
    "Vector",
    "Norm",
    "Density",
    "Expr",
    "AxisSpec",
    "Option",
    "Word",
    "Directive",
    "Definition",
    "Assignment",
    "ExprStmt",
    "Loop",
    "GlyphRecord",
    "Statement",
    "Scroll",
    "UNARY_OPS",
    "BINARY_OPS",
    "RESERVED_NAMES",
]

#: Prefix operators, canonical spelling (level 7 of CODEXLANG.md).
UNARY_OPS = ("∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "∂y", "∂z", "∂t", "⧖", "-")
#: Infix operators, canonical spelling, loosest to tightest (`⋈[φ]` is `Interfere`).
BINARY_OPS = ("->", "<", ">", "≤", "≥", "==", "≠", "↔", "⊕", "⊖", "+", "-", "⊗", "×", "•", "*", "/", "^")
#: Names with a fixed meaning: coordinates and the imaginary unit.
RESERVED_NAMES = ("x", "y", "z", "t", "i")


@dataclass(frozen=True)
class Node:
    """Base of every AST node: where it starts in the source (1-based, not part of equality)."""

    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


# ----------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Number(Node):
    """A real literal: `int` when written without a point or exponent, else `float`."""

    value: int | float


@dataclass(frozen=True)
class String(Node):
    """A double-quoted string literal (paths, keyword values such as `eq="heat"`)."""

    value: str


@dataclass(frozen=True)
class Name(Node):
    """A name: a user binding, a coordinate (`x y z t`) or the imaginary unit `i`."""

    id: str


@dataclass(frozen=True)
class Unary(Node):
    """A prefix operator applied to one operand: `∇f`, `Δψ`, `⧖ψ`, `-a`."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    """An infix operator: arithmetic, products, `⊕ ⊖ ↔`, comparisons and `->`."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Interfere(Node):
    """`a ⋈[φ] b` (also `interfere(a, b, φ)`): a + e^{iφ} b."""

    left: Expr
    right: Expr
    phase: Expr


@dataclass(frozen=True)
class Keyword(Node):
    """A keyword argument `k=v` of a call."""

    name: str
    value: Expr


@dataclass(frozen=True)
class Call(Node):
    """A function call `f(a, b, k=v)`; builtins and user fusion glyphs alike."""

    func: str
    args: tuple[Expr, ...] = ()
    kwargs: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class Vector(Node):
    """A vector literal `[a, b, c]`: the components of a vector field."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Norm(Node):
    """`‖e‖`: the L2 norm of a field (Σ|e|²ΔA)^½, or |e| of a number."""

    operand: Expr


@dataclass(frozen=True)
class Density(Node):
    """`|e|²`: the pointwise density |e|²."""

    operand: Expr


Expr = Number | String | Name | Unary | Binary | Interfere | Call | Vector | Norm | Density


# ------------------------------------------------------------------------------------------ directives


@dataclass(frozen=True)
class AxisSpec(Node):
    """One axis of `@grid`: `x:-1..1:256` is name `x`, lo -1, hi 1, n 256."""

    name: str
    lo: int | float
    hi: int | float
    n: int


@dataclass(frozen=True)
class Option(Node):
    """A `key=value` argument of a directive (`bc=dirichlet`, `c=2`)."""

    key: str
    value: int | float | str


@dataclass(frozen=True)
class Word(Node):
    """A bare argument of a directive: `fp32`, `auto`, `7`, `lab1`."""

    value: int | float | str


DirectiveArg = AxisSpec | Option | Word


# ------------------------------------------------------------------------------------------ statements


@dataclass(frozen=True)
class Directive(Node):
    """`@name args…`: grid, precision, seed, container, wave; holds for the rest of the scroll."""

    name: str
    args: tuple[DirectiveArg, ...] = ()


@dataclass(frozen=True)
class Definition(Node):
    """`name := expr`: a binding kept symbolic until a kernel needs numbers."""

    name: str
    value: Expr


@dataclass(frozen=True)
class Assignment(Node):
    """`name = expr`: evaluated, stored and shown."""

    name: str
    value: Expr


@dataclass(frozen=True)
class ExprStmt(Node):
    """A bare expression: evaluated and shown as `_`."""

    value: Expr


@dataclass(frozen=True)
class Loop(Node):
    """`⟲ N { body }` (count) or `⟲ until C max N { body }` (do-while with a bound)."""

    body: tuple[Statement, ...]
    count: Expr | None = None
    until: Expr | None = None
    max: Expr | None = None


@dataclass(frozen=True)
class GlyphRecord(Node):
    """`⟦ Type | Tag : Value -> Action ⟧`: intent (Goal, Plan, Skill, Note) carried beside the code."""

    type: str
    tag: str
    value: Expr | Loop | None = None
    action: str | None = None


Statement = Directive | Definition | Assignment | ExprStmt | Loop | GlyphRecord


@dataclass(frozen=True)
class Scroll(Node):
    """A parsed scroll: its statements in source order."""

    statements: tuple[Statement, ...] = ()
