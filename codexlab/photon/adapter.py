"""Adapters between the Codex AST and Photon IR, so that `photon_to_codex_ast(codex_to_photon_ast(t)) == t`.

The IR is hash-consed and position-free: converting forth and back keeps structure and literal types
(`1` stays an int, `1.0` a float), not source positions (which the AST leaves out of equality anyway).
"""

from __future__ import annotations

from typing import Any, overload

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.lang import ast as A
from codexlab.photon.ir import (
    BINARY_GLYPHS,
    UNARY_GLYPHS,
    PAssign,
    PDefine,
    PDirective,
    PExpr,
    PhotonProgram,
    PLoop,
    PNode,
    PRecord,
    PStatement,
    name,
    node,
    num,
    walk,
)

__all__ = ["codex_to_photon_ast", "photon_to_codex_ast"]


def _ast_children(e: A.Expr) -> tuple[A.Expr, ...]:
    """The sub-expressions of a Codex expression, in Photon child order (keyword values last)."""
    if isinstance(e, (A.Number, A.String, A.Name)):
        return ()
    if isinstance(e, (A.Unary, A.Norm, A.Density)):
        return (e.operand,)
    if isinstance(e, A.Binary):
        return (e.left, e.right)
    if isinstance(e, A.Interfere):
        return (e.left, e.right, e.phase)
    if isinstance(e, A.Call):
        return (*e.args, *(k.value for k in e.kwargs))
    if isinstance(e, A.Vector):
        return e.items
    raise CodexTypeError(
        f"Cannot convert `{type(e).__name__}` to Photon IR; pass a Scroll, a statement or an expression."
    )


def _build_photon(e: A.Expr, kids: tuple[PNode, ...]) -> PNode:
    """The Photon node of one Codex expression, its children already converted."""
    if isinstance(e, A.Number):
        return num(e.value)
    if isinstance(e, A.String):
        return PNode("str", (), e.value)
    if isinstance(e, A.Name):
        return name(e.id)
    if isinstance(e, A.Unary):
        return node("neg" if e.op == "-" else e.op, *kids)
    if isinstance(e, A.Binary):
        return node(e.op, *kids)
    if isinstance(e, A.Interfere):
        return node("⋈", *kids)
    if isinstance(e, A.Call):
        n = len(e.args)
        kwargs = tuple((k.name, v) for k, v in zip(e.kwargs, kids[n:], strict=True))
        return node("call", *kids[:n], value=e.func, kwargs=kwargs)
    if isinstance(e, A.Vector):
        return node("vec", *kids)
    return node("norm" if isinstance(e, A.Norm) else "density", *kids)


def _expr_to_photon(root: A.Expr) -> PNode:
    """One Codex expression as an interned Photon node (iterative, so deep trees do not recurse)."""
    done: dict[int, PNode] = {}
    stack: list[tuple[A.Expr, bool]] = [(root, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in done:
            continue
        children = _ast_children(e)
        if ready:
            done[id(e)] = _build_photon(e, tuple(done[id(c)] for c in children))
        else:
            stack.append((e, True))
            stack.extend((c, False) for c in reversed(children))
    return done[id(root)]


def _opt(e: A.Expr | None) -> PNode | None:
    return None if e is None else _expr_to_photon(e)


def _stmt_to_photon(s: A.Statement) -> PStatement:
    """One Codex statement as a Photon statement (with its line and column)."""
    at = {"line": s.line, "column": s.column}
    if isinstance(s, A.Directive):
        return PDirective(s.name, tuple(s.args), **at)
    if isinstance(s, A.Definition):
        return PDefine(s.name, _expr_to_photon(s.value), **at)
    if isinstance(s, A.Assignment):
        return PAssign(s.name, _expr_to_photon(s.value), **at)
    if isinstance(s, A.ExprStmt):
        return PExpr(_expr_to_photon(s.value), **at)
    if isinstance(s, A.Loop):
        body = tuple(_stmt_to_photon(b) for b in s.body)
        return PLoop(body, _opt(s.count), _opt(s.until), _opt(s.max), **at)
    if isinstance(s, A.GlyphRecord):
        value: PNode | PLoop | None
        if s.value is None:
            value = None
        elif isinstance(s.value, A.Loop):
            loop = _stmt_to_photon(s.value)
            assert isinstance(loop, PLoop)
            value = loop
        else:
            value = _expr_to_photon(s.value)
        return PRecord(s.type, s.tag, value, s.action, **at)
    raise CodexTypeError(f"Cannot convert `{type(s).__name__}` to a Photon statement.")


@overload
def codex_to_photon_ast(tree: A.Scroll) -> PhotonProgram: ...
@overload
def codex_to_photon_ast(tree: A.Statement) -> PStatement: ...
@overload
def codex_to_photon_ast(tree: A.Expr) -> PNode: ...


def codex_to_photon_ast(tree: Any) -> PhotonProgram | PStatement | PNode:
    """Convert a Codex AST to Photon IR.

    Parameters: tree — a `Scroll`, one statement, or one expression.
    Returns: a `PhotonProgram`, a Photon statement, or an interned `PNode` respectively. Unary minus
        becomes op `neg`; names `x y z t` become `coord`, `i` becomes `imag`.
    Raises: CodexTypeError for anything that is not a Codex AST node.
    """
    if isinstance(tree, A.Scroll):
        return PhotonProgram(tuple(_stmt_to_photon(s) for s in tree.statements))
    if isinstance(tree, (A.Directive, A.Definition, A.Assignment, A.ExprStmt, A.Loop, A.GlyphRecord)):
        return _stmt_to_photon(tree)
    return _expr_to_photon(tree)


def _build_codex(n: PNode, kids: tuple[A.Expr, ...]) -> A.Expr:
    """The Codex expression of one Photon node, its children already converted."""
    op = n.op
    if op == "num":
        return _number_to_codex(n.value)
    if op == "str":
        return A.String(n.value)
    if op in ("name", "coord", "imag"):
        return A.Name(n.value)
    if op in UNARY_GLYPHS and len(kids) == 1:
        return A.Unary("-" if op == "neg" else op, kids[0])
    if op in BINARY_GLYPHS and len(kids) == 2:
        return A.Binary(op, kids[0], kids[1])
    if op == "⋈" and len(kids) == 3:
        return A.Interfere(*kids)
    if op == "call":
        k = len(n.args)
        kwargs = tuple(A.Keyword(key, v) for (key, _), v in zip(n.kwargs, kids[k:], strict=True))
        return A.Call(n.value, kids[:k], kwargs)
    if op == "vec":
        return A.Vector(kids)
    if op in ("norm", "density") and len(kids) == 1:
        return A.Norm(kids[0]) if op == "norm" else A.Density(kids[0])
    raise CodexValueError(f"Photon op `{op}` has no Codex AST form; only CodexLang operators convert back.")


def _expr_to_codex(root: PNode) -> A.Expr:
    """One Photon node as a Codex expression (shared subterms become equal subtrees); iterative."""
    done: dict[str, A.Expr] = {}
    for n in walk(root):
        done[n.id] = _build_codex(n, tuple(done[c.id] for c in n.children))
    return done[root.id]


def _number_to_codex(value: int | float | complex) -> A.Expr:
    """A literal; a complex one (only rewriting makes those) as `re + im * i`."""
    if not isinstance(value, complex):
        return A.Number(value)
    imag = A.Binary("*", A.Number(value.imag), A.Name("i"))
    return imag if value.real == 0 else A.Binary("+", A.Number(value.real), imag)


def _opt_back(n: PNode | None) -> A.Expr | None:
    return None if n is None else _expr_to_codex(n)


def _stmt_to_codex(s: PStatement) -> A.Statement:
    """One Photon statement as a Codex statement."""
    if isinstance(s, PDirective):
        return A.Directive(s.name, tuple(s.args))
    if isinstance(s, PDefine):
        return A.Definition(s.name, _expr_to_codex(s.expr))
    if isinstance(s, PAssign):
        return A.Assignment(s.name, _expr_to_codex(s.expr))
    if isinstance(s, PExpr):
        return A.ExprStmt(_expr_to_codex(s.expr))
    if isinstance(s, PLoop):
        body = tuple(_stmt_to_codex(b) for b in s.body)
        return A.Loop(body, _opt_back(s.count), _opt_back(s.until), _opt_back(s.max))
    if isinstance(s, PRecord):
        value: A.Expr | A.Loop | None
        if s.value is None:
            value = None
        elif isinstance(s.value, PLoop):
            loop = _stmt_to_codex(s.value)
            assert isinstance(loop, A.Loop)
            value = loop
        else:
            value = _expr_to_codex(s.value)
        return A.GlyphRecord(s.type, s.tag, value, s.action)
    raise CodexTypeError(f"Cannot convert `{type(s).__name__}` to a Codex statement.")


@overload
def photon_to_codex_ast(ir: PhotonProgram) -> A.Scroll: ...
@overload
def photon_to_codex_ast(ir: PStatement) -> A.Statement: ...
@overload
def photon_to_codex_ast(ir: PNode) -> A.Expr: ...


def photon_to_codex_ast(ir: Any) -> A.Scroll | A.Statement | A.Expr:
    """Convert Photon IR back to the Codex AST (the inverse of `codex_to_photon_ast`).

    Parameters: ir — a `PhotonProgram`, a Photon statement, or a `PNode`.
    Returns: a `Scroll`, a Codex statement, or an expression (positions are 0: they are not kept).
    Raises: CodexValueError for a node with no CodexLang form (e.g. a pattern metavariable);
        CodexTypeError for anything that is not Photon IR.
    """
    if isinstance(ir, PhotonProgram):
        return A.Scroll(tuple(_stmt_to_codex(s) for s in ir.statements))
    if isinstance(ir, PNode):
        return _expr_to_codex(ir)
    return _stmt_to_codex(ir)
