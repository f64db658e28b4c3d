"""Canonical operand order for commutative operators, as their specs and operand kinds allow.

Commutativity is a normalization pass, never a rewrite rule (a rule `a + b → b + a` would undo itself
forever). Operands are sorted by a stable key — numbers last, then the printed form, then the node id —
so `b + a` and `a + b` become the same interned node. `+` is also associative, so a chain of `+` is
flattened, sorted and rebuilt left-nested; other commutative ops (`⊕`, `•` of two vectors or scalars)
only order their two operands. Whether an op commutes for its operands' kinds is the caller's
`commutes(node)` (the rewrite engine asks the op's spec): `•` of a tensor and a vector never swaps.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from codexlab.photon.ir import PNode
from codexlab.photon.printing import to_unicode

__all__ = ["canonical_order", "sort_key"]


@lru_cache(maxsize=8192)
def sort_key(n: PNode) -> tuple[int, str, str]:
    """The canonical-order key of an operand: numbers last, then by printed form, then by id."""
    return (1 if n.op == "num" else 0, to_unicode(n), n.id)


def _sum_terms(n: PNode) -> tuple[list[PNode], bool]:
    """The operands of a `+` chain left to right, and whether the chain is already left-nested."""
    terms: list[PNode] = []
    left_nested = True
    stack = [n]
    while stack:
        cur = stack.pop()
        if cur.op == "+" and len(cur.args) == 2:
            left_nested = left_nested and not (cur.args[1].op == "+" and len(cur.args[1].args) == 2)
            stack.extend(reversed(cur.args))
        else:
            terms.append(cur)
    return terms, left_nested


def _is_sum(n: PNode) -> bool:
    return n.op == "+" and len(n.args) == 2


def _sums_only(n: PNode) -> bool:
    """The default `commutes`: only `+`, which commutes for every kind."""
    return n.op == "+"


def _canonical(n: PNode, done: dict[str, PNode], commutes: Callable[[PNode], bool]) -> PNode:
    """One node in canonical form, its dependencies (children, or a sum's terms) already in `done`."""
    if _is_sum(n):
        terms, left_nested = _sum_terms(n)
        canon = [done[t.id] for t in terms]
        ordered = sorted(canon, key=sort_key)
        if left_nested and all(a is b for a, b in zip(ordered, terms, strict=True)):
            return n
        out = ordered[0]
        for term in ordered[1:]:
            out = PNode("+", (out, term))
        return out
    kids = tuple(done[c.id] for c in n.children)
    rebuilt = n if all(k is c for k, c in zip(kids, n.children, strict=True)) else n.with_children(kids)
    if len(rebuilt.args) == 2 and not rebuilt.kwargs and commutes(rebuilt):
        first, second = rebuilt.args
        if sort_key(second) < sort_key(first):
            return PNode(rebuilt.op, (second, first), rebuilt.value, rebuilt.kwargs)
    return rebuilt


def canonical_order(
    root: PNode, commutes: Callable[[PNode], bool] = _sums_only, *, memo: dict[str, PNode] | None = None
) -> PNode:
    """The expression with the operands of every node `commutes` accepts in canonical order (idempotent).

    `memo` carries finished forms between calls that share one `commutes` (the steps of one rewrite).
    """
    done: dict[str, PNode] = {} if memo is None else memo
    stack: list[tuple[PNode, bool]] = [(root, False)]
    while stack:
        n, ready = stack.pop()
        if n.id in done:
            continue
        if n.is_leaf:
            done[n.id] = n
            continue
        deps = _sum_terms(n)[0] if _is_sum(n) else list(n.children)
        if not ready:
            stack.append((n, True))
            stack.extend((d, False) for d in reversed(deps) if d.id not in done)
            continue
        result = _canonical(n, done, commutes)
        done[n.id] = result
        done[result.id] = result
    return done[root.id]
