"""Canonical operand order for the commutative operators `+`, `⊕` and `•`.

Commutativity is a normalization pass, never a rewrite rule (a rule `a + b → b + a` would undo itself
forever). Operands are sorted by a stable key — numbers last, then the printed form, then the node id —
so `b + a` and `a + b` become the same interned node. `+` is also associative, so a chain of `+` is
flattened, sorted and rebuilt left-nested; `⊕` (a normalized sum) and `•` are not associative, so only
their two operands are ordered.
"""

from __future__ import annotations

from functools import lru_cache

from codexlab.photon.ir import PNode
from codexlab.photon.printing import to_unicode

__all__ = ["COMMUTATIVE", "canonical_order", "sort_key"]

#: Operators whose operands are put in canonical order.
COMMUTATIVE = ("+", "⊕", "•")


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


# Canonical forms already computed (nodes are interned, so a node's form never changes); bounded.
_CACHE: dict[str, PNode] = {}
_CACHE_LIMIT = 1 << 16


def _canonical(n: PNode, done: dict[str, PNode]) -> PNode:
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
    if rebuilt.op in COMMUTATIVE and len(rebuilt.args) == 2:
        first, second = rebuilt.args
        if sort_key(second) < sort_key(first):
            return PNode(rebuilt.op, (second, first), rebuilt.value, rebuilt.kwargs)
    return rebuilt


def canonical_order(root: PNode) -> PNode:
    """The expression with every commutative operator's operands in canonical order (idempotent)."""
    done: dict[str, PNode] = {}
    stack: list[tuple[PNode, bool]] = [(root, False)]
    while stack:
        n, ready = stack.pop()
        if n.id in done:
            continue
        cached = _CACHE.get(n.id)
        if cached is not None:
            done[n.id] = cached
            continue
        if n.is_leaf:
            done[n.id] = n
            continue
        deps = _sum_terms(n)[0] if _is_sum(n) else list(n.children)
        if not ready:
            stack.append((n, True))
            stack.extend((d, False) for d in reversed(deps) if d.id not in done)
            continue
        result = _canonical(n, done)
        done[n.id] = result
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[n.id] = result
        _CACHE[result.id] = result
    return done[root.id]
