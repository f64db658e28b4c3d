"""The builtin functions of CodexLang as symbolic builders: name → signature, keywords and SymPy rule.

Each builtin is declared once with `register_builtin`; calls are validated here (number of positional
arguments, unknown or duplicated keywords, kinds of arguments) before the builder runs. Builtins that
only make sense on data (`load`, `random`, `evolve`, `relax`, grid reductions of fields) are registered
without a builder, so a call to them raises `NoSymbolicForm` instead of "unknown name".

`gaussian(x, y[, z], x0=0, y0=0, z0=0, σ=1/10, k=0)` is exp(−((x−x0)² + (y−y0)² [+ (z−z0)²])/(2σ²)) ·
exp(i·k·x): peak value 1 (not normalized to unit mass or norm), the phase factor along the first
argument; the keyword may be spelled `σ` or `sigma`. `plane_wave(kx, ky[, kz])` is
exp(i(kx·x + ky·y [+ kz·z])) in the coordinates x, y, z. `zeros()` and `ones()` are 0 and 1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import sympy

from ..errors import CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from ._calculus import COORDS, NoSymbolicForm

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


@dataclass(frozen=True)
class Builtin:
    """One builtin: positional parameters (the first `required` mandatory), keywords with defaults."""

    name: str
    params: tuple[str, ...] = ()
    required: int = 0
    keywords: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    build: Builder | None = None
    elementwise: bool = False
    help: str = ""

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


BUILTINS: dict[str, Builtin] = {}


def register_builtin(
    name: str,
    params: Sequence[str] = (),
    *,
    required: int | None = None,
    keywords: Mapping[str, Any] | None = None,
    aliases: Mapping[str, str] | None = None,
    elementwise: bool = False,
    symbolic: bool = True,
    override: bool = False,
    help: str = "",
) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under `name`; a duplicate raises unless `override=True`."""

    def deco(build: Builder) -> Builder:
        _add(
            Builtin(
                name=name,
                params=tuple(params),
                required=len(params) if required is None else required,
                keywords=dict(keywords or {}),
                aliases=dict(aliases or {}),
                build=build if symbolic else None,
                elementwise=elementwise,
                help=help or (build.__doc__ or "").strip(),
            ),
            override,
        )
        return build

    return deco


def _add(builtin: Builtin, override: bool) -> None:
    """Put a builtin in the registry, refusing silent duplicates."""
    if builtin.name in BUILTINS and not override:
        raise CodexValueError(f"Builtin `{builtin.name}` is already registered; pass `override=True` to replace it.")
    BUILTINS[builtin.name] = builtin


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
    resolved = _keywords(b, kwargs)
    for value, label in zip([*args, *resolved.values()], labels + list(resolved), strict=True):
        _check_kind(b, value, label)
    return b.build(*args, **resolved)


def _keywords(b: Builtin, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Keywords with aliases resolved and defaults filled in; unknown or repeated ones raise."""
    out: dict[str, Any] = {}
    valid = list(b.keywords) + list(b.aliases)
    for key, value in kwargs.items():
        canon = b.aliases.get(key, key)
        if canon not in b.keywords:
            hint = did_you_mean(key, valid)
            options = ", ".join(f"`{k}`" for k in b.keywords) or "none"
            raise CodexTypeError(f"`{b.name}` has no keyword `{key}`{hint}; its keywords are {options}.")
        if canon in out:
            raise CodexTypeError(f"`{b.name}` got keyword `{canon}` twice (as `{canon}` and an alias); write it once.")
        out[canon] = value
    return {k: out.get(k, default) for k, default in b.keywords.items()}


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
    register_builtin(_name, ("e",), help=f"{_name}(e) of a scalar")(_fn)

for _name, _fn in {"conj": sympy.conjugate, "re": sympy.re, "im": sympy.im}.items():
    register_builtin(_name, ("e",), elementwise=True, help=f"{_name}(e), per component on vectors")(_elementwise(_fn))


def _positive(value: sympy.Expr, label: str, where: str) -> None:
    """Refuse a numeric value that is known not to be positive."""
    if value.is_positive is False:
        raise CodexValueError(f"`{label}` of `{where}` must be positive, got `{value}`; pass e.g. `{label}=0.1`.")


@register_builtin(
    "gaussian",
    ("x", "y", "z"),
    required=2,
    keywords={
        "x0": sympy.Integer(0),
        "y0": sympy.Integer(0),
        "z0": sympy.Integer(0),
        "σ": sympy.Rational(1, 10),
        "k": sympy.Integer(0),
    },
    aliases={"sigma": "σ"},
)
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
    _positive(σ, "σ", "gaussian")
    r2 = (x - x0) ** 2 + (y - y0) ** 2 + ((z - z0) ** 2 if z is not None else 0)
    return sympy.exp(-r2 / (2 * σ**2)) * sympy.exp(sympy.I * k * x)


@register_builtin("plane_wave", ("kx", "ky", "kz"), required=2)
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


def _numeric_only(*_: Any, **__: Any) -> SymValue:
    """Never called: data builtins are registered with `symbolic=False`."""
    raise NoSymbolicForm("This builtin works on grid data and has no symbolic form.")


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
    register_builtin(_name, ("e",), elementwise=_name in ("norm", "mean"), help=f"{_name} over the grid")(
        _reduction(_name, _of_number)
    )


for _name, _params, _req, _kws in (
    ("load", ("path",), 1, {"variable": None}),
    ("random", (), 0, {"seed": None}),
    ("evolve", ("ψ", "steps", "dt"), 3, {"eq": "schrodinger"}),
    ("relax", ("ψ",), 1, {}),
):
    register_builtin(_name, _params, required=_req, keywords=_kws, symbolic=False)(_numeric_only)
