"""The builtin functions of CodexLang as symbolic builders: the exact rule of each call's `OpSpec`.

A builtin's signature (positional parameters, keywords with their defaults, checks and aliases) lives
in its spec (`codexlab.ops`); this module registers the SymPy builder as the spec's exact rule and
validates calls against the spec (number of positional arguments, unknown, repeated or bad keywords,
kinds of arguments) before the builder runs. Builtins that only make sense on data (`load`, `random`,
`evolve`, `relax`) have no builder, so a call to them raises `NoSymbolicForm` instead of "unknown name".

`gaussian(x, y[, z], x0=0, y0=0, z0=0, σ=0.1, k=0)` is exp(−((x−x0)² + (y−y0)² [+ (z−z0)²])/(2σ²)) ·
exp(i·k·x): peak value 1 (not normalized to unit mass or norm), the phase factor along the first
argument; the keyword may be spelled `σ` or `sigma`. `plane_wave(kx, ky[, kz])` is
exp(i(kx·x + ky·y [+ kz·z])) in the coordinates x, y, z. `zeros()` and `ones()` are 0 and 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import sympy

from ..errors import CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from ..ops import SPECS, OpSpec, find_spec, implements, iter_specs, register_op
from ..ops.spec import KindEnv
from ._calculus import COORDS, NoSymbolicForm, as_number

__all__ = [
    "Builtin",
    "BUILTINS",
    "SymValue",
    "register_builtin",
    "get_builtin",
    "call_builtin",
    "value_kind",
]

SymValue: TypeAlias = sympy.Basic | sympy.ImmutableMatrix
Builder = Callable[..., SymValue]
_ELEMENTWISE = frozenset({"conj", "re", "im", "norm", "mean"})


@dataclass(frozen=True)
class Builtin:
    """One builtin as calls see it: positional parameters (the first `required` mandatory), keywords with
    their defaults and aliases, and the exact builder (None for data builtins). A view of its spec."""

    name: str
    params: tuple[str, ...] = ()
    required: int = 0
    keywords: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    build: Builder | None = None
    elementwise: bool = False
    help: str = ""
    spec: OpSpec | None = None

    @property
    def symbolic(self) -> bool:
        """Whether the builtin has a symbolic rule."""
        return self.build is not None

    def signature(self) -> str:
        """`gaussian(x, y[, z], x0=0, …)` as shown in messages."""
        req = ", ".join(self.params[: self.required])
        optional = self.params[self.required :]
        opt = "".join(f"[, {p}]" if req or i else f"[{p}]" for i, p in enumerate(optional))
        kws = ", ".join(f"{k}={_show(v)}" for k, v in self.keywords.items())
        inner = req + opt + (", " if (req or opt) and kws else "") + kws
        return f"{self.name}({inner})"


def _show(value: Any) -> str:
    """A keyword default as the user would write it."""
    return str(value) if isinstance(value, sympy.Basic) else repr(value)


def _view(spec: OpSpec) -> Builtin:
    lo, hi = spec.arity
    params = spec.params or tuple(f"e{k + 1}" for k in range(hi))
    return Builtin(
        name=spec.key,
        params=params[:hi],
        required=lo,
        keywords={k: kw.default for k, kw in spec.keywords.items()},
        aliases={a: k for k, kw in spec.keywords.items() for a in kw.aliases},
        build=spec.symbolic,
        elementwise=spec.key in _ELEMENTWISE,
        help=spec.doc,
        spec=spec,
    )


class _Builtins(Mapping[str, Builtin]):
    """The builtins (every call-only spec), read live from the specs."""

    def __getitem__(self, name: str) -> Builtin:
        spec = find_spec(name)
        if spec is None or not spec.call_only:
            raise KeyError(name)
        return _view(spec)

    def __iter__(self) -> Iterator[str]:
        return (s.key for s in iter_specs() if s.call_only)

    def __len__(self) -> int:
        return sum(1 for _ in self)


BUILTINS: Mapping[str, Builtin] = _Builtins()


def _same_kind(kinds: tuple[str, ...], env: KindEnv) -> str:
    return "field" if "field" in kinds else (kinds[0] if kinds else "field")


def register_builtin(
    name: str,
    params: Sequence[str] = (),
    *,
    required: int | None = None,
    override: bool = False,
    help: str = "",
) -> Callable[[Builder], Builder]:
    """Decorator registering `build` as the exact rule of builtin `name`; a builtin without a spec gets a
    pointwise one (scalars in, the widest kind out). A duplicate raises unless `override=True`."""

    def deco(build: Builder) -> Builder:
        spec = find_spec(name)
        if spec is not None and spec.symbolic is not None and not override:
            raise CodexValueError(f"Builtin `{name}` is already registered; pass `override=True` to replace it.")
        if spec is None or (override and spec.key not in _BUILTIN_KEYS):
            n = len(params)
            register_op(
                OpSpec(
                    name,
                    name,
                    (n if required is None else required, n),
                    _same_kind,
                    params=tuple(params),
                    call_only=True,
                    fusable=False,
                    doc=help or (build.__doc__ or "").strip(),
                ),
                override=True,
            )
        implements(name, "symbolic", override=True)(build)
        return build

    return deco


def unregister_builtin(name: str) -> None:
    """Remove a builtin added with `register_builtin` (the built-in ones cannot be removed)."""
    if name in _BUILTIN_KEYS:
        raise CodexValueError(f"`{name}` is a built-in function and cannot be removed.")
    SPECS.pop(name, None)


def get_builtin(name: str) -> Builtin:
    """The builtin called `name`; unknown names raise `CodexNameError` with a did-you-mean."""
    try:
        return BUILTINS[name]
    except KeyError:
        raise CodexNameError(
            f"`{name}` is not a builtin function{did_you_mean(name, BUILTINS)}; the builtins are "
            f"{', '.join(f'`{b}`' for b in sorted(BUILTINS))}."
        ) from None


def value_kind(value: Any) -> str:
    """The kind of a symbolic value in words: number, scalar field, vector field, tensor field, …"""
    if isinstance(value, str):
        return "string"
    if isinstance(value, sympy.MatrixBase):
        if value.shape[1] == 1:
            return "vector field" if _has_coord(value) else "vector"
        return "tensor field" if _has_coord(value) else "matrix"
    if isinstance(value, (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational)):
        return "condition"
    return "scalar field" if _has_coord(value) else "number"


def _has_coord(value: sympy.Basic) -> bool:
    """Whether a value depends on a coordinate symbol."""
    return bool(value.free_symbols & set(COORDS.values()))


def is_scalar(value: Any) -> bool:
    """Whether a value is a scalar expression (a number or scalar field, not a vector or condition)."""
    return isinstance(value, sympy.Expr) and not isinstance(value, sympy.MatrixBase)


def call_builtin(
    name: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    texts: Sequence[str] = (),
) -> SymValue:
    """Validate a call and run the builder; `texts` are the arguments' source text, for messages.

    Raises `CodexNameError` (unknown builtin), `CodexTypeError` (wrong count, keyword or kind),
    `NoSymbolicForm` (a builtin that works on data only).
    """
    b = get_builtin(name)
    if b.build is None:
        raise NoSymbolicForm(f"`{name}` works on grid data and has no symbolic form; it runs on the wave path.")
    if not b.required <= len(args) <= len(b.params):
        count = str(b.required) if b.required == len(b.params) else f"{b.required} to {len(b.params)}"
        raise CodexTypeError(
            f"`{name}` takes {count} positional argument{'s' if len(b.params) != 1 else ''}, got "
            f"{len(args)}; call it as `{b.signature()}`."
        )
    labels = list(texts) + [f"argument {k + 1}" for k in range(len(texts), len(args))]
    for value, label in zip([*args, *kwargs.values()], labels + [b.aliases.get(k, k) for k in kwargs], strict=True):
        _check_kind(b, value, label)
    return b.build(*args, **_keywords(b, kwargs))


def _python(value: Any) -> Any:
    """A numeric SymPy value as a Python number (for the spec's keyword checks), anything else as is."""
    if isinstance(value, sympy.Basic) and value.is_number:
        z = complex(value)
        if z.imag == 0:
            return int(z.real) if isinstance(value, sympy.Integer) else z.real
        return z
    return value


def _keywords(b: Builtin, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords with aliases resolved, checked by the spec, and defaults filled in (exact numbers)."""
    assert b.spec is not None
    b.spec.resolve_keywords({k: _python(v) for k, v in kwargs.items()})
    out = {b.aliases.get(k, k): v for k, v in kwargs.items()}
    return {k: out[k] if k in out else _exact(default) for k, default in b.keywords.items()}


def _exact(value: Any) -> Any:
    return as_number(value) if isinstance(value, int | float | complex) and not isinstance(value, bool) else value


def _check_kind(b: Builtin, value: Any, label: str) -> None:
    """Arguments must be scalar expressions (vectors too for elementwise builtins)."""
    if is_scalar(value):
        return
    if b.elementwise and isinstance(value, sympy.MatrixBase):
        return
    need = "a scalar or a vector" if b.elementwise else "a scalar"
    raise CodexTypeError(
        f"`{b.name}` needs {need} for `{label}`, got a {value_kind(value)}; call it as `{b.signature()}`."
    )


# ----------------------------------------------------------------------------------- the first builtins


def _elementwise(fn: Callable[[sympy.Expr], sympy.Expr]) -> Builder:
    """Apply a scalar function to a scalar or to each component of a vector."""

    def build(value: SymValue) -> SymValue:
        if isinstance(value, sympy.MatrixBase):
            return sympy.ImmutableMatrix(value.applyfunc(fn))
        return fn(value)

    return build


for _name, _fn in {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
}.items():
    register_builtin(_name)(_fn)

for _name, _fn in {"conj": sympy.conjugate, "re": sympy.re, "im": sympy.im}.items():
    register_builtin(_name)(_elementwise(_fn))


@register_builtin("gaussian")
def gaussian(
    x: sympy.Expr,
    y: sympy.Expr,
    z: sympy.Expr | None = None,
    *,
    x0: sympy.Expr,
    y0: sympy.Expr,
    z0: sympy.Expr,
    σ: sympy.Expr,
    k: sympy.Expr,
) -> sympy.Expr:
    """exp(−((x−x0)² + (y−y0)² [+ (z−z0)²])/(2σ²)) · exp(i·k·x): peak 1, phase along the first argument."""
    r2 = (x - x0) ** 2 + (y - y0) ** 2 + ((z - z0) ** 2 if z is not None else 0)
    return sympy.exp(-r2 / (2 * σ**2)) * sympy.exp(sympy.I * k * x)


@register_builtin("plane_wave")
def plane_wave(kx: sympy.Expr, ky: sympy.Expr, kz: sympy.Expr | None = None) -> sympy.Expr:
    """exp(i(kx·x + ky·y [+ kz·z])) in the coordinates x, y, z."""
    phase = kx * COORDS["x"] + ky * COORDS["y"] + (kz * COORDS["z"] if kz is not None else 0)
    return sympy.exp(sympy.I * phase)


@register_builtin("zeros")
def zeros() -> sympy.Expr:
    """The zero field."""
    return sympy.Integer(0)


@register_builtin("ones")
def ones() -> sympy.Expr:
    """The field equal to one everywhere."""
    return sympy.Integer(1)


def _reduction(name: str, of_number: Callable[[SymValue], SymValue] | None) -> Builder:
    """A grid reduction: exact for numbers (constant values), `NoSymbolicForm` for fields."""

    def build(value: SymValue) -> SymValue:
        if of_number is None or _has_coord(value):
            raise NoSymbolicForm(
                f"`{name}` of a field is a sum over the grid and has no symbolic form without a domain; "
                "it runs on the wave path (or pass `domain=` to `to_sympy` for the exact integral)."
            )
        return of_number(value)

    return build


def _abs_norm(value: SymValue) -> SymValue:
    """|e| of a number, (Σ|eᵢ|²)^½ of a constant vector."""
    if isinstance(value, sympy.MatrixBase):
        return sympy.sqrt(sum((sympy.Abs(c) ** 2 for c in value), sympy.Integer(0)))
    return sympy.Abs(value)


for _name, _of_number in (
    ("norm", _abs_norm),
    ("mean", lambda v: v),
    ("max", lambda v: v),
    ("min", lambda v: v),
    ("integral", None),
    ("∫", None),
):
    register_builtin(_name)(_reduction(_name, _of_number))

#: The builtins this module defines (user-registered ones may be removed, these may not).
_BUILTIN_KEYS = frozenset(s.key for s in iter_specs() if s.call_only)
