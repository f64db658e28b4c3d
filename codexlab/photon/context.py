"""What a rewrite may assume about names: constants, t-free and finite fields, the wave speed.

Rules that need knowledge beyond the expression's shape (linearity over a constant factor, `d/dt f → 0`,
`x·0 → 0`) ask these predicates, so a rule never guesses: a `name` is a field that may depend on
anything and may hold a NaN unless the context says otherwise.
"""

from __future__ import annotations

import cmath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from codexlab.errors import CodexConfigError, CodexError, CodexTypeError, did_you_mean
from codexlab.ops import GLOBAL, KindEnv, OpTable, iter_specs
from codexlab.photon.ir import PNode, node, num, walk

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
ELEMENTARY_FUNCS = frozenset(s.key for s in iter_specs() if s.elementary)
#: Builtins with no hidden time dependence or randomness: t-free when their arguments are.
PURE_FUNCS = frozenset(s.key for s in iter_specs() if s.call_only and s.pure)
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
    kinds: the kind of each name (`field`, `vector`, `number`, …); a name not listed is of unknown kind
        (`data`), so no rule that depends on its kind fires.
    dims: the number of spatial axes (the size of vectors; 2-D `∇×` is a scalar).
    table: the op specs the expression's calls resolve in (a Lab's own fusion glyphs included).
    """

    constants: frozenset[str] = frozenset()
    t_free: frozenset[str] = frozenset()
    finite: frozenset[str] = frozenset()
    c: int | float | PNode = 1
    expand_dalembert: bool | None = None
    kinds: Mapping[str, str] = field(default_factory=dict)
    dims: int = 2
    has_time: bool = False
    table: OpTable = GLOBAL
    _memo: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "constants", _names(self.constants, "constants"))
        object.__setattr__(self, "t_free", _names(self.t_free, "t_free"))
        object.__setattr__(self, "finite", _names(self.finite, "finite"))
        object.__setattr__(self, "kinds", MappingProxyType(dict(self.kinds)))
        if isinstance(self.c, bool) or not isinstance(self.c, (int, float, PNode)):
            raise CodexTypeError(
                f"The wave speed `c` must be a number or a Photon node, not `{self.c!r}`; pass e.g. `c=2`."
            )

    @property
    def c_node(self) -> PNode:
        """The wave speed as a Photon node."""
        return self.c if isinstance(self.c, PNode) else num(self.c)

    @property
    def kind_env(self) -> KindEnv:
        """The grid facts kind rules read."""
        return KindEnv(self.dims, self.has_time)

    def kind(self, n: PNode) -> str | None:
        """The kind of `n` under this context (`data` when a name's kind is unknown), or None when `n` is
        ill-kinded or not a value (metavariables)."""
        if n.id in self._memo:
            return self._memo[n.id]
        from codexlab.photon.kinds import infer_kinds

        memo: dict[str, str] = {}
        try:
            infer_kinds(n, lambda ident: self.kinds.get(ident, "data"), self.kind_env, table=self.table, memo=memo)
        except CodexError:
            self._memo[n.id] = None
            return None
        self._memo.update(memo)
        return memo[n.id]

    def zero(self, kind: str | None) -> PNode | None:
        """The zero of a kind as a node: `0`, `zeros()`, a vector of `zeros()`; None for other kinds."""
        if kind == "number":
            return num(0)
        if kind == "field":
            return node("call", value="zeros")
        if kind == "vector":
            z = node("call", value="zeros")
            return node("vec", *([z] * self.dims))
        return None


def as_context(context: RewriteContext | Mapping[str, Any] | None) -> RewriteContext:
    """A `RewriteContext` from one, from a mapping of its fields, or the empty default."""
    if context is None:
        return RewriteContext()
    if isinstance(context, RewriteContext):
        return context
    if isinstance(context, Mapping):
        known = [f.name for f in fields(RewriteContext) if not f.name.startswith("_")]
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
