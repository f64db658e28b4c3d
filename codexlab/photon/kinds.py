"""Kinds of Photon expressions, inferred from the op specs before any rewrite or run.

`infer_kinds(expr, lookup, env)` gives every node of a DAG its kind (number, field, vector, tensor,
pair, measurement, bool, string, or data for a loaded field whose kind is known only after loading).
A glyph applied to the wrong kind is a `CodexTypeError` naming the operand as written, so one statement
and the same thing split into two statements fail with the same sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..errors import CodexTypeError
from ..ops import GLOBAL, KindEnv, KindMismatch, OpSpec, OpTable
from ..ops.glyphs import words
from .ir import BINARY_GLYPHS, UNARY_GLYPHS, PNode, walk

__all__ = ["infer_kinds", "kind_of", "spec_key", "Lookup"]

#: Returns the kind of a name (raises `CodexNameError` for an unknown one).
Lookup = Callable[[str], str]

_GLYPH_CALLS = frozenset({*UNARY_GLYPHS, *BINARY_GLYPHS, "⋈"}) - {"->"}


def spec_key(n: PNode) -> str | None:
    """The spec key of an op node: its glyph, or a call's function name; None for leaves and `->`."""
    if n.is_leaf or n.op == "->":
        return None
    return str(n.value) if n.op == "call" else n.op


def _text(n: PNode) -> str:
    from .printing import to_unicode

    text = to_unicode(n)
    return text if len(text) <= 60 else text[:59] + "…"


def _leaf_kind(n: PNode, lookup: Lookup) -> str:
    if n.op in ("num", "imag"):
        return "number"
    if n.op == "str":
        return "string"
    if n.op == "coord":
        return "field"
    return lookup(str(n.value))


def _mismatch(n: PNode, spec: OpSpec, err: KindMismatch) -> CodexTypeError:
    glyph = spec.key
    fix = f"; {err.fix}" if err.fix else ""
    if err.operand is not None and err.operand < len(n.args):
        operand = _text(n.args[err.operand])
        got = f", but `{operand}` is {words(err.got)}" if err.got else f" (`{operand}`)"
        return CodexTypeError(f"`{glyph}` {err.problem}{got}{fix}.")
    return CodexTypeError(f"`{glyph}` {err.problem} in `{_text(n)}`{fix}.")


def _pipe(n: PNode, kinds: Mapping[str, str], table: OpTable, env: KindEnv) -> str:
    """`a -> name` binds a (its kind); `a -> f` pipes a into the function f."""
    left, right = n.args
    if right.op == "name" and table.find(str(right.value)) is None:
        return kinds[left.id]
    fname = str(right.value) if right.op in ("name", "call") else None
    spec = table.find(fname) if fname is not None else None
    if spec is None:
        raise CodexTypeError(f"`->` needs a name or a function on its right, got `{_text(right)}`.")
    operands = (kinds[left.id], *(kinds[a.id] for a in right.args))
    try:
        return spec.result_kind(operands, env)
    except KindMismatch as err:
        raise _mismatch(n, spec, err) from None


def infer_kinds(
    expr: PNode,
    lookup: Lookup,
    env: KindEnv | None = None,
    *,
    table: OpTable = GLOBAL,
    memo: dict[str, str] | None = None,
) -> dict[str, str]:
    """The kind of every node of `expr` (node id → kind), children first.

    Raises `CodexTypeError` for a glyph on the wrong kind of operand (the message names the operand as
    written and says the fix), `CodexNameError` (from `lookup`) for an unknown name, `BackendError` for
    an unknown function.
    """
    env = env or KindEnv()
    kinds: dict[str, str] = {} if memo is None else memo
    for n in walk(expr):
        if n.id in kinds:
            continue
        if n.is_leaf:
            kinds[n.id] = _leaf_kind(n, lookup)
            continue
        if n.op == "->":
            kinds[n.id] = _pipe(n, kinds, table, env)
            continue
        key = spec_key(n)
        spec = table.get(key) if key is not None else None
        if spec is None:  # pragma: no cover - every non-leaf op has a key
            raise CodexTypeError(f"`{n.op}` is not an operation.")
        operands = tuple(kinds[a.id] for a in n.args)
        try:
            kinds[n.id] = spec.result_kind(operands, env)
        except KindMismatch as err:
            raise _mismatch(n, spec, err) from None
    return kinds


def kind_of(expr: PNode, lookup: Lookup, env: KindEnv | None = None, *, table: OpTable = GLOBAL) -> str:
    """The kind of one expression (see `infer_kinds`)."""
    return infer_kinds(expr, lookup, env, table=table)[expr.id]
