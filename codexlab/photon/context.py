"""What a rewrite may assume about names: constants, t-free and finite fields, the wave speed.

Rules that need knowledge beyond the expression's shape (linearity over a constant factor, `d/dt f → 0`,
`x·0 → 0`) ask these predicates, so a rule never guesses: a `name` is a field that may depend on
anything and may hold a NaN unless the context says otherwise.
"""

from __future__ import annotations

import cmath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from codexlab.errors import CodexConfigError, CodexTypeError, did_you_mean
from codexlab.photon.ir import PNode, num, walk

__all__ = [
    "RewriteContext",
    "as_context",
    "ELEMENTARY_FUNCS",
    "PURE_FUNCS",
    "is_constant",
    "is_t_free",
    "is_known_finite",
    "is_number",
]

#: Builtins that map numbers to numbers pointwise: a call of one over constants is a constant.
ELEMENTARY_FUNCS = frozenset({"sin", "cos", "tan", "exp", "log", "sqrt", "abs", "conj", "re", "im"})
#: Builtins with no hidden time dependence or randomness: t-free when their arguments are.
PURE_FUNCS = ELEMENTARY_FUNCS | {"gaussian", "plane_wave", "zeros", "ones"}
_ARITHMETIC = frozenset({"neg", "+", "-", "*", "/", "^"})


def _names(value: Iterable[str] | None, label: str) -> frozenset[str]:
    """A frozen set of names, refusing a bare string (which would become a set of its letters)."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        raise CodexTypeError(
            f"`{label}` must be a collection of names, not the string `{value}`; write `{{'{value}'}}`."
        )
    return frozenset(value)


@dataclass(frozen=True)
class RewriteContext:
    """Facts the guards may use; everything not stated is assumed unknown (so rules stay sound).

    constants: names bound to numbers (no space or time dependence).
    t_free: names of fields known not to depend on `t`.
    finite: names known to hold finite values everywhere (so `f·0 → 0` hides no NaN).
    c: the wave speed of `□` (a number or a Photon node), default 1.
    expand_dalembert: expand `□f` always (True), never beyond the t-free case (False), or follow the
        rule set's option of the same name (None).
    """

    constants: frozenset[str] = frozenset()
    t_free: frozenset[str] = frozenset()
    finite: frozenset[str] = frozenset()
    c: int | float | PNode = 1
    expand_dalembert: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "constants", _names(self.constants, "constants"))
        object.__setattr__(self, "t_free", _names(self.t_free, "t_free"))
        object.__setattr__(self, "finite", _names(self.finite, "finite"))
        if isinstance(self.c, bool) or not isinstance(self.c, (int, float, PNode)):
            raise CodexTypeError(
                f"The wave speed `c` must be a number or a Photon node, not `{self.c!r}`; pass e.g. `c=2`."
            )

    @property
    def c_node(self) -> PNode:
        """The wave speed as a Photon node."""
        return self.c if isinstance(self.c, PNode) else num(self.c)


def as_context(context: RewriteContext | Mapping[str, Any] | None) -> RewriteContext:
    """A `RewriteContext` from one, from a mapping of its fields, or the empty default."""
    if context is None:
        return RewriteContext()
    if isinstance(context, RewriteContext):
        return context
    if isinstance(context, Mapping):
        known = [f.name for f in fields(RewriteContext)]
        for key in context:
            if key not in known:
                raise CodexConfigError(
                    f"Unknown rewrite context key `{key}`{did_you_mean(str(key), known)}; "
                    f"valid keys are {', '.join(f'`{k}`' for k in known)}."
                )
        return RewriteContext(**dict(context))
    raise CodexTypeError(
        f"A rewrite context must be a `RewriteContext` or a mapping, not `{type(context).__name__}`; "
        "pass e.g. `{'constants': {'k'}}`."
    )


def is_number(n: PNode) -> bool:
    """A finite numeric literal."""
    return n.op == "num" and cmath.isfinite(n.value)


def is_constant(n: PNode, ctx: RewriteContext) -> bool:
    """Numbers, `i`, names the context calls constants, and arithmetic or elementary calls of those."""
    for sub in walk(n):
        if sub.op in ("num", "imag") or sub.op in _ARITHMETIC:
            continue
        if sub.op == "name" and sub.value in ctx.constants:
            continue
        if sub.op == "call" and sub.value in ELEMENTARY_FUNCS and not sub.kwargs:
            continue
        return False
    return True


def is_t_free(n: PNode, ctx: RewriteContext) -> bool:
    """No coordinate `t`, only names known t-free (or constant), no random or opaque calls, no `⧖`."""
    for sub in walk(n):
        if sub.op == "coord" and sub.value == "t":
            return False
        if sub.op == "name" and sub.value not in ctx.t_free and sub.value not in ctx.constants:
            return False
        if sub.op == "call" and sub.value not in PURE_FUNCS:
            return False
        if sub.op == "⧖":
            return False
    return True


def is_known_finite(n: PNode, ctx: RewriteContext) -> bool:
    """A finite literal, a coordinate, `i`, or a name the context calls finite — nothing that may be NaN."""
    if n.op == "num":
        return cmath.isfinite(n.value)
    if n.op in ("coord", "imag"):
        return True
    return n.op == "name" and n.value in ctx.finite
