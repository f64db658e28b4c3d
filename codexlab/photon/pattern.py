"""A tiny pattern language over Photon nodes: ordinary nodes with metavariables as leaves.

A pattern is a `PNode` built with `node(...)` whose leaves may be metavariables `var("f")`
(op `?`, value `"f:kind"`). Matching is structural; a metavariable binds any subterm its kind admits,
and a metavariable used twice must bind the same (interned, hence identical) node. The kind also tells
the soundness checker what to instantiate it with (a scalar field, a vector field, a number, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from codexlab.errors import CodexValueError, did_you_mean
from codexlab.photon.context import RewriteContext, is_constant, is_known_finite, is_number, is_t_free
from codexlab.photon.ir import PNode, walk

__all__ = [
    "META_OP",
    "KINDS",
    "Bindings",
    "var",
    "meta_name",
    "meta_kind",
    "metavariables",
    "match",
    "substitute",
]

META_OP = "?"
Bindings = Mapping[str, PNode]


def _is_zero(n: PNode, ctx: RewriteContext) -> bool:
    """A zero of any kind: `0`, `zeros()`, or a vector of them."""
    if n.op == "num":
        return bool(n.value == 0)
    if n.op == "call":
        return n.value == "zeros" and not n.args and not n.kwargs
    return n.op == "vec" and all(_is_zero(a, ctx) for a in n.args)


def _is_one(n: PNode, ctx: RewriteContext) -> bool:
    """`1` or the field `ones()`."""
    if n.op == "num":
        return bool(n.value == 1)
    return n.op == "call" and n.value == "ones" and not n.args and not n.kwargs


def _anything(n: PNode, ctx: RewriteContext) -> bool:
    return True


def _of_kind(*kinds: str) -> Callable[[PNode, RewriteContext], bool]:
    """Admits subterms of these kinds (or of unknown kind `data`: the expression was kind-checked, so a
    loaded field in this position has the kind the operator needs)."""
    allowed = frozenset({*kinds, "data"})

    def admits(n: PNode, ctx: RewriteContext) -> bool:
        return ctx.kind(n) in allowed

    return admits


#: Metavariable kinds: which subterms each admits (they also tell the soundness checker what to try).
KINDS: Mapping[str, Callable[[PNode, RewriteContext], bool]] = MappingProxyType(
    {
        "any": _anything,
        "scalar": _of_kind("number", "field"),
        "vector": _of_kind("vector"),
        "num": lambda n, ctx: is_number(n),
        "const": is_constant,
        "tfree": is_t_free,
        "finite": is_known_finite,
        "zero": _is_zero,
        "one": _is_one,
    }
)


def var(ident: str, kind: str = "scalar") -> PNode:
    """A metavariable `?ident` admitting the subterms of `kind` (see `KINDS`)."""
    if kind not in KINDS:
        raise CodexValueError(
            f"Unknown metavariable kind `{kind}`{did_you_mean(kind, KINDS)}; "
            f"choose one of {', '.join(f'`{k}`' for k in KINDS)}."
        )
    return PNode(META_OP, (), f"{ident}:{kind}")


def meta_name(n: PNode) -> str:
    """The identifier of a metavariable node."""
    return str(n.value).partition(":")[0]


def meta_kind(n: PNode) -> str:
    """The kind of a metavariable node."""
    return str(n.value).partition(":")[2]


def metavariables(pattern: PNode) -> dict[str, str]:
    """Each metavariable of a pattern and its kind, in first-seen order."""
    return {meta_name(n): meta_kind(n) for n in walk(pattern) if n.op == META_OP}


def match(pattern: PNode, subject: PNode, ctx: RewriteContext) -> dict[str, PNode] | None:
    """The bindings that make `pattern` equal `subject`, or None."""
    bindings: dict[str, PNode] = {}
    stack = [(pattern, subject)]
    while stack:
        p, s = stack.pop()
        if p.op == META_OP:
            key = meta_name(p)
            bound = bindings.get(key)
            if bound is not None:
                if bound is not s:
                    return None
                continue
            if not KINDS[meta_kind(p)](s, ctx):
                return None
            bindings[key] = s
            continue
        if p is s:
            continue
        if p.op != s.op or p.value != s.value or type(p.value) is not type(s.value):
            return None
        if len(p.args) != len(s.args) or [k for k, _ in p.kwargs] != [k for k, _ in s.kwargs]:
            return None
        stack.extend(zip(reversed(p.children), reversed(s.children), strict=True))
    return bindings


def substitute(template: PNode, bindings: Bindings) -> PNode:
    """The template with each metavariable replaced by its binding."""
    done: dict[str, PNode] = {}
    for n in walk(template):
        if n.op == META_OP:
            key = meta_name(n)
            if key not in bindings:
                raise CodexValueError(
                    f"The replacement uses metavariable `?{key}`, which its pattern does not bind; "
                    f"bound are {', '.join(f'`?{k}`' for k in bindings) or 'none'}."
                )
            done[n.id] = bindings[key]
        elif n.is_leaf:
            done[n.id] = n
        else:
            done[n.id] = n.with_children(tuple(done[c.id] for c in n.children))
    return done[template.id]
