"""Photon IR: a hash-consed expression DAG plus the statements of a scroll.

Every `PNode` is interned: building the same operator over the same children twice returns the same
object, so identical subexpressions are one node and `a is b` iff they are structurally equal. A node's
`id` is the content hash of its op, value, children and keyword children, stable across processes.

Leaf ops: `num` (value int | float | complex), `str` (value str), `name` (a user binding), `coord`
(`x y z t`), `imag` (the unit `i`). Compound ops: the canonical glyphs of `codexlab.lang.ast`
(`∇ ∇· ∇× Δ □ d/dt ∂x ∂y ∂z ∂t ⧖` unary, `neg` for unary minus, binary `-> < > ≤ ≥ == ≠ ↔ ⊕ ⊖ + - ⊗ × • * / ^`),
`⋈` (args a, b, phase), `call` (value = function name, args, kwargs), `vec`, `norm`, `density`.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PNode",
    "node",
    "num",
    "name",
    "LEAF_OPS",
    "UNARY_GLYPHS",
    "BINARY_GLYPHS",
    "PDirective",
    "PDefine",
    "PAssign",
    "PExpr",
    "PLoop",
    "PRecord",
    "PStatement",
    "PhotonProgram",
    "walk",
]

LEAF_OPS = ("num", "str", "name", "coord", "imag")
UNARY_GLYPHS = ("∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "∂y", "∂z", "∂t", "⧖", "neg")
BINARY_GLYPHS = ("->", "<", ">", "≤", "≥", "==", "≠", "↔", "⊕", "⊖", "+", "-", "⊗", "×", "•", "*", "/", "^")

_INTERN: weakref.WeakValueDictionary[str, PNode] = weakref.WeakValueDictionary()


def _value_key(value: Any) -> str:
    """A type-tagged text form of a leaf value, so `1`, `1.0` and `"1"` hash differently."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        raise TypeError("Photon leaves do not hold booleans.")
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return f"f{value!r}"
    if isinstance(value, complex):
        return f"c{value.real!r},{value.imag!r}"
    return f"s{value}"


class PNode:
    """One interned node of the Photon DAG; compare with `is` or `==` (they agree)."""

    __slots__ = ("op", "args", "value", "kwargs", "id", "__weakref__")

    op: str
    args: tuple[PNode, ...]
    value: Any
    kwargs: tuple[tuple[str, PNode], ...]
    id: str

    def __new__(
        cls,
        op: str,
        args: tuple[PNode, ...] = (),
        value: Any = None,
        kwargs: tuple[tuple[str, PNode], ...] = (),
    ) -> PNode:
        parts = [op, _value_key(value), *(a.id for a in args), *(f"{k}={v.id}" for k, v in kwargs)]
        digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
        existing = _INTERN.get(digest)
        if existing is not None:
            return existing
        self = object.__new__(cls)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "args", tuple(args))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "kwargs", tuple(kwargs))
        object.__setattr__(self, "id", digest)
        _INTERN[digest] = self
        return self

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("PNode is immutable; build a new node with `node(...)`.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (PNode, (self.op, self.args, self.value, self.kwargs))

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, PNode) and other.id == self.id)

    def __repr__(self) -> str:
        if self.op in LEAF_OPS:
            return f"PNode({self.op}:{self.value!r})"
        inner = ", ".join(repr(a) for a in self.args)
        if self.kwargs:
            inner += ", " + ", ".join(f"{k}={v!r}" for k, v in self.kwargs)
        label = f"{self.op}:{self.value}" if self.value is not None else self.op
        return f"PNode({label}; {inner})"

    @property
    def is_leaf(self) -> bool:
        """Whether the node has no children."""
        return self.op in LEAF_OPS

    @property
    def children(self) -> tuple[PNode, ...]:
        """Positional then keyword children."""
        return self.args + tuple(v for _, v in self.kwargs)

    def with_children(self, children: tuple[PNode, ...]) -> PNode:
        """The same op and value over new children (in `children` order)."""
        n = len(self.args)
        kwargs = tuple((k, c) for (k, _), c in zip(self.kwargs, children[n:], strict=True))
        return PNode(self.op, tuple(children[:n]), self.value, kwargs)

    def at(self, path: tuple[int, ...]) -> PNode:
        """The subnode at a path of child indices."""
        cur = self
        for i in path:
            cur = cur.children[i]
        return cur

    def replace(self, path: tuple[int, ...], new: PNode) -> PNode:
        """A new DAG with the subnode at `path` replaced by `new`."""
        if not path:
            return new
        kids = list(self.children)
        kids[path[0]] = kids[path[0]].replace(path[1:], new)
        return self.with_children(tuple(kids))

    def names(self) -> frozenset[str]:
        """User names this expression reads."""
        return frozenset(n.value for n in walk(self) if n.op == "name")


def node(
    op: str,
    *args: PNode,
    value: Any = None,
    kwargs: tuple[tuple[str, PNode], ...] = (),
) -> PNode:
    """Build (or find) the interned node `op(args…)`."""
    return PNode(op, tuple(args), value, tuple(kwargs))


def num(value: int | float | complex) -> PNode:
    """A numeric leaf."""
    return PNode("num", (), value)


def name(ident: str) -> PNode:
    """A name leaf (coordinates and `i` get their own ops)."""
    if ident in ("x", "y", "z", "t"):
        return PNode("coord", (), ident)
    if ident == "i":
        return PNode("imag", (), "i")
    return PNode("name", (), ident)


def walk(root: PNode) -> Iterator[PNode]:
    """Each distinct node once, children before parents."""
    seen: set[str] = set()
    stack: list[tuple[PNode, bool]] = [(root, False)]
    while stack:
        cur, expanded = stack.pop()
        if cur.id in seen:
            continue
        if expanded:
            seen.add(cur.id)
            yield cur
            continue
        stack.append((cur, True))
        stack.extend((c, False) for c in reversed(cur.children) if c.id not in seen)


# -------------------------------------------------------------------------------------------- statements
# Statements keep the 1-based line and column of their source (0 when built by hand), for errors.


@dataclass(frozen=True)
class PDirective:
    """A directive, with the AST's argument nodes kept as they are (plain data)."""

    name: str
    args: tuple[Any, ...] = ()
    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class PDefine:
    """`name := expr`."""

    name: str
    expr: PNode
    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class PAssign:
    """`name = expr`."""

    name: str
    expr: PNode
    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class PExpr:
    """A bare expression statement."""

    expr: PNode
    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class PLoop:
    """`⟲` with a count, or an until-condition and a max."""

    body: tuple[PStatement, ...]
    count: PNode | None = None
    until: PNode | None = None
    max: PNode | None = None
    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class PRecord:
    """A glyph record `⟦ Type | Tag : Value -> Action ⟧`."""

    type: str
    tag: str
    value: PNode | PLoop | None = None
    action: str | None = None
    line: int = field(default=0, compare=False, kw_only=True, repr=False)
    column: int = field(default=0, compare=False, kw_only=True, repr=False)


PStatement = PDirective | PDefine | PAssign | PExpr | PLoop | PRecord


@dataclass(frozen=True)
class PhotonProgram:
    """A scroll in Photon form: statements over one shared DAG."""

    statements: tuple[PStatement, ...]

    def expressions(self) -> Iterator[PNode]:
        """Top-level expression roots, in statement order (loop bodies included)."""

        def visit(stmts: tuple[PStatement, ...]) -> Iterator[PNode]:
            for s in stmts:
                if isinstance(s, (PDefine, PAssign, PExpr)):
                    yield s.expr
                elif isinstance(s, PLoop):
                    yield from (e for e in (s.count, s.until, s.max) if e is not None)
                    yield from visit(s.body)
                elif isinstance(s, PRecord) and s.value is not None:
                    yield from visit((s.value,)) if isinstance(s.value, PLoop) else iter((s.value,))

        return visit(self.statements)
