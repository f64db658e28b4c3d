"""Raw-array rules of the ops (JAX), registered into their specs: what a glyph computes on the grid.

A rule takes its operands as raw arrays (numbers are 0-d, a vector field carries a leading component
axis ordered as the spatial axes, a tensor two), an `ArraySpec` (the grid and numerics, static) and
the call's keywords; it returns an array. The same rule runs alone (one op on the grid path) and
inside a fused program (`bridge.compile_program`, `compile_loop`), so fused and op-by-op results are
the same computation. A rule raises `NotFusable` for operands it cannot take on this path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..errors import CodexValueError
from ..ops import implements
from . import kernels as K
from .grid import Grid
from .qglyph import NotFusable

__all__ = ["ArraySpec", "ArrayRule", "array_spec", "rank", "abs2", "l2_norm", "quadrature_weights"]

ArrayRule = Callable[[list[Any], "ArraySpec", Mapping[str, Any]], Any]

_DTYPES = {"fp64": "float64", "fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class ArraySpec:
    """What traced code needs to know about the grid and the numerics (static, hashable)."""

    axes: tuple[K.AxisSpec, ...]
    lows: tuple[float, ...]
    method: str
    c: float
    dtype: np.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.n for a in self.axes)

    @property
    def cell_volume(self) -> float:
        return float(np.prod([a.h for a in self.axes]))

    @property
    def complex_dtype(self) -> np.dtype:
        return np.dtype(np.complex128 if self.dtype == np.float64 else np.complex64)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)


def real_dtype(dtype: Any) -> np.dtype:
    """A float dtype from a precision name (`fp32`), a dtype name or a dtype."""
    name = _DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    try:
        dt = np.dtype(jnp.dtype(name))
    except TypeError as err:
        raise CodexValueError(
            f"`dtype={dtype!r}` is not a float type; use `float64`, `float32`, `float16` or `bfloat16`."
        ) from err
    if not jnp.issubdtype(dt, jnp.floating):
        raise CodexValueError(f"`dtype={dtype!r}` is not a float type; use `float64` or `float32`.")
    return dt


def array_spec(grid: Grid, method: str = "fd2", c: float = 1.0, dtype: Any = "float64") -> ArraySpec:
    """The static spec of a grid and its numerics."""
    return ArraySpec(
        K.axis_specs(grid),
        tuple(float(a.lo) for a in grid.axes),
        K.resolve_method(method),
        float(c),
        real_dtype(dtype),
    )


def rank(v: Any, spec: ArraySpec, glyph: str) -> int:
    """-1 for a number, 0/1/2 for a scalar/vector/tensor field on the grid."""
    shape = tuple(np.shape(v))
    if not shape:
        return -1
    g = len(spec.shape)
    if len(shape) < g or shape[len(shape) - g :] != spec.shape or len(shape) - g > 2:
        raise NotFusable(f"`{glyph}` got an operand of shape `{shape}`, not a value on the grid {spec.shape}.")
    return len(shape) - g


def _space_count(spec: ArraySpec) -> int:
    return len(K.space_indices(spec.axes))


def abs2(a: Any) -> Any:
    """|a|², real even for complex input."""
    if jnp.iscomplexobj(a):
        return jnp.real(a) ** 2 + jnp.imag(a) ** 2
    return a * a


def l2_norm(a: Any, cell_volume: float) -> Any:
    """‖a‖ = (Σ|a|²·ΔA)^½ over every point and component (SEMANTICS: the norm of states and fields)."""
    return jnp.sqrt(jnp.sum(abs2(a)) * cell_volume)


def quadrature_weights(spec: ArraySpec) -> Any:
    """Trapezoid weights of the grid's points (∫f ≈ Σ w·f): h per point, h/2 at Dirichlet and Neumann
    walls, whose vertex axes hold both endpoints (periodic axes are uniform)."""
    w = jnp.ones(spec.shape, spec.dtype) * spec.cell_volume
    for i, axis in enumerate(spec.axes):
        if axis.bc != "periodic" and axis.n > 1:
            edge = jnp.ones(axis.n, spec.dtype).at[0].set(0.5).at[-1].set(0.5)
            w = w * edge.reshape([-1 if j == i else 1 for j in range(len(spec.axes))])
    return w


# ------------------------------------------------------------------------------------------ the rules


def _register(key: str) -> Callable[[ArrayRule], ArrayRule]:
    return implements(key, "array")


def _arith(glyph: str, fn: Callable[[Any, Any], Any]) -> ArrayRule:
    def rule(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
        a, b = args
        ra, rb = rank(a, spec, glyph), rank(b, spec, glyph)
        if ra > 0 and rb > 0 and ra != rb:
            raise NotFusable(f"`{glyph}` of a rank-{ra} and a rank-{rb} field is undefined.")
        return fn(a, b)

    return rule


for _glyph, _fn in {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
}.items():
    _register(_glyph)(_arith(_glyph, _fn))


@_register("neg")
def _neg(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    return -args[0]


def _differential(glyph: str) -> ArrayRule:
    def rule(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
        (u,) = args
        r = rank(u, spec, glyph)
        if r < 0:
            raise NotFusable(f"`{glyph}` needs a field, got a number.")
        m = spec.method
        if glyph == "∇" and r == 0:
            return K.grad(u, spec.axes, m, backend="jax")
        if glyph == "∇·" and r == 1 and np.shape(u)[0] == _space_count(spec):
            return K.div(u, spec.axes, m, backend="jax")
        if glyph == "∇×" and r == 1 and np.shape(u)[0] == _space_count(spec):
            return K.curl(u, spec.axes, m, backend="jax")
        if glyph == "Δ":
            return K.lap(u, spec.axes, m, backend="jax")
        if glyph == "□":
            return K.dalembert(u, spec.axes, spec.c, m, backend="jax")
        if glyph == "d/dt" or glyph.startswith("∂"):
            axis = spec.names.index("t" if glyph == "d/dt" else glyph[1:])
            return K.derivative(u, spec.axes, axis, 1, m, backend="jax")
        raise NotFusable(f"`{glyph}` of a rank-{r} field is not defined on the grid.")

    return rule


for _glyph in ("∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "∂y", "∂z", "∂t"):
    _register(_glyph)(_differential(_glyph))


def _contract(a: Any, b: Any) -> Any:
    """Σᵢ a[i]·b[i] over the (small) leading component axis, unrolled: XLA on the CPU is slow at
    reducing over a leading axis (`jnp.sum(axis=0)` takes ~40× longer than this at 1024²)."""
    total = a[0] * b[0]
    for i in range(1, np.shape(a)[0]):
        total = total + a[i] * b[i]
    return total


@_register("•")
def _dot(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    a, b = args
    ra, rb = rank(a, spec, "•"), rank(b, spec, "•")
    if ra < 0 or rb < 0 or ra == rb == 0:
        return a * b
    if ra == 0 or rb == 0:
        raise NotFusable("`•` of a scalar field and a vector or tensor field is undefined; use `*`.")
    if np.shape(a)[ra - 1] != np.shape(b)[0]:
        raise NotFusable(f"`•` of `{np.shape(a)}` and `{np.shape(b)}` has mismatched components.")
    if ra == 1 and rb == 1:
        return _contract(a, b)
    if ra == 2 and rb == 1:
        return jnp.stack([_contract(a[i], b) for i in range(np.shape(a)[0])])
    if ra == 1:
        return jnp.stack([_contract(a, b[:, j]) for j in range(np.shape(b)[1])])
    return jnp.stack(
        [jnp.stack([_contract(a[i], b[:, k]) for k in range(np.shape(b)[1])]) for i in range(np.shape(a)[0])]
    )


def _vector_pair(glyph: str, args: list[Any], spec: ArraySpec, sizes: tuple[int, ...]) -> tuple[Any, Any]:
    a, b = args
    ok = all(rank(x, spec, glyph) == 1 and np.shape(x)[0] in sizes for x in (a, b))
    if not ok or np.shape(a)[0] != np.shape(b)[0]:
        why = "an entangled pair of states" if glyph == "⊗" else "not a product of vector fields"
        raise NotFusable(f"`{glyph}` of these operands is {why}.")
    return a, b


@_register("×")
def _cross(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    return K.cross(*_vector_pair("×", args, spec, (2, 3)))


@_register("⊗")
def _outer(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    return K.outer(*_vector_pair("⊗", args, spec, (1, 2, 3)))


@_register("density")
def _density(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    (a,) = args
    r = rank(a, spec, "density")
    out = abs2(a)
    if r > 0:  # |F|² sums over the components
        out = _contract(out, jnp.ones(np.shape(out)[:1], out.dtype))
    return out


@_register("norm")
def _norm(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    """‖f‖ = (∫|f|²)^½ with the trapezoid weights (every point and component): second order on every
    boundary, and (Σ|f|²ΔA)^½ on a periodic grid."""
    (a,) = args
    if rank(a, spec, "norm") < 0:
        return jnp.abs(a)
    return jnp.sqrt(jnp.sum(abs2(a) * quadrature_weights(spec)))


def _integral_of(a: Any, spec: ArraySpec, glyph: str) -> Any:
    r = rank(a, spec, glyph)
    if r < 0:
        volume = float(np.prod([ax.h * (ax.n if ax.bc == "periodic" else ax.n - 1) for ax in spec.axes]))
        return a * volume
    if r > 0:
        raise NotFusable(f"`{glyph}` of a vector or tensor field: integrate each component.")
    return jnp.sum(a * quadrature_weights(spec))


@_register("integral")
def _integral(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    return _integral_of(args[0], spec, "integral")


_register("∫")(_integral)


@_register("mean")
def _mean(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    (a,) = args
    if rank(a, spec, "mean") < 0:
        return a
    return _integral_of(a, spec, "mean") / jnp.sum(quadrature_weights(spec))


def _extreme(glyph: str, fn: Callable[[Any], Any]) -> ArrayRule:
    def rule(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
        (a,) = args
        if jnp.iscomplexobj(a):
            raise NotFusable(f"`{glyph}` of a complex field is undefined; take `abs(…)` or `re(…)` first.")
        if rank(a, spec, glyph) > 0:
            raise NotFusable(f"`{glyph}` of a vector field: reduce a scalar such as `F•F`.")
        return fn(a)

    return rule


_register("max")(_extreme("max", jnp.max))
_register("min")(_extreme("min", jnp.min))


def _normalized(sign: int) -> ArrayRule:
    """`a ⊕ b` (sign +1) or `a ⊖ b` (−1): (a ± b)/‖a ± b‖. Runs alone (profiling, formats); the cell's
    path is the host kernel, which refuses a zero state with a sentence."""

    def rule(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
        a, b = args
        total = a + sign * b
        return total / l2_norm(total, spec.cell_volume)

    return rule


_register("⊕")(_normalized(1))
_register("⊖")(_normalized(-1))


@_register("⋈")
def _interfere(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    a, b, phase = args
    if rank(phase, spec, "⋈") >= 0:
        raise NotFusable("The phase of `⋈` must be a number.")
    return a + jnp.exp(1j * phase) * b


@_register("vec")
def _vec(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
    if len(args) != _space_count(spec) or any(rank(x, spec, "vec") > 0 for x in args):
        raise NotFusable(f"A vector on this grid needs {_space_count(spec)} scalar components, got {len(args)}.")
    dt = jnp.result_type(spec.dtype, *(jnp.asarray(x).dtype for x in args))
    return jnp.stack([jnp.broadcast_to(jnp.asarray(x, dt), spec.shape) for x in args])


def _compare(glyph: str, fn: Callable[[Any, Any], Any]) -> ArrayRule:
    def rule(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
        a, b = args
        if rank(a, spec, glyph) >= 0 or rank(b, spec, glyph) >= 0 or jnp.iscomplexobj(a) or jnp.iscomplexobj(b):
            raise NotFusable(f"`{glyph}` compares real numbers.")
        return fn(a, b)

    return rule


for _glyph, _fn in {
    "<": jnp.less,
    ">": jnp.greater,
    "≤": jnp.less_equal,
    "≥": jnp.greater_equal,
    "==": jnp.equal,
    "≠": jnp.not_equal,
}.items():
    _register(_glyph)(_compare(_glyph, _fn))


def _elementary(fn: Callable[[Any], Any]) -> ArrayRule:
    def rule(args: list[Any], spec: ArraySpec, kw: Mapping[str, Any]) -> Any:
        return fn(args[0])

    return rule


_ELEMENTARY_FNS: dict[str, Callable[[Any], Any]] = {
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tan": jnp.tan,
    "exp": jnp.exp,
    "log": jnp.log,
    "sqrt": jnp.sqrt,
    "abs": jnp.abs,
    "conj": jnp.conj,
    "re": jnp.real,
    "im": jnp.imag,
}
for _glyph, _unary in _ELEMENTARY_FNS.items():
    _register(_glyph)(_elementary(_unary))

del _glyph, _fn, _unary
