"""Wave states: ‖ψ‖, ⟨a|b⟩, normalization, ⊕ ⊖ ⋈ and the entropy of a state (SEMANTICS, QWave).

A state is a complex scalar field with ‖ψ‖² = Σ|ψ|²·ΔA = 1 (ΔA = `grid.cell_volume`). Inputs are
DataArrays (their grid comes from `grid_of`) or raw NumPy/JAX arrays with `grid=`; outputs have the
flavour of the inputs (a DataArray if any input was one). On raw JAX arrays the ops also trace under
`jax.jit`; there the zero-state check cannot run and a zero state gives non-finite values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..errors import CodexTypeError, CodexValueError
from .grid import Grid

__all__ = ["norm", "normalize", "inner", "superpose", "cancel", "interfere", "state_entropy"]

_NUMBER = (int, float, complex, np.number, np.bool_)


@dataclass(frozen=True)
class _Operand:
    """A state operand reduced to a complex array on a grid, remembering whether it was a DataArray."""

    values: jax.Array
    grid: Grid
    xarray: bool


def _is_traced(x: Any) -> bool:
    """Whether `x` is an abstract value inside a JAX transformation (no concrete number to check)."""
    return isinstance(x, jax.core.Tracer)


_SINGLE = tuple(np.dtype(t) for t in (np.float32, np.complex64, np.float16, jnp.bfloat16))


def _complex_dtype(dtype: Any) -> Any:
    """complex64 for single (or lower) precision inputs, complex128 otherwise."""
    return jnp.complex64 if np.dtype(dtype) in _SINGLE else jnp.complex128


def zero_tol(dtype: Any) -> float:
    """Relative size below which a norm counts as zero (rounding level of the dtype, at least 1e-12)."""
    eps = float(jnp.finfo(jnp.real(jnp.zeros((), dtype)).dtype).eps)
    return max(1e-12, 100.0 * eps)


def same_grid(a: Grid, b: Grid) -> bool:
    """Grids equal up to rounding of their bounds (a DataArray's coords round-trip through floats)."""
    if a.names != b.names or a.shape != b.shape or a.bcs() != b.bcs():
        return False
    return all(
        np.isclose(x.lo, y.lo, rtol=1e-9, atol=1e-12 * (x.hi - x.lo))
        and np.isclose(x.hi, y.hi, rtol=1e-9, atol=1e-12 * (x.hi - x.lo))
        for x, y in zip(a.axes, b.axes, strict=True)
    )


def _kind_error(value: Any, op: str, role: str) -> CodexTypeError:
    """The sentence for a value that is not a scalar field, naming its kind and the fix."""
    from .pairs import EntangledPair

    if isinstance(value, EntangledPair):
        what = "an entangled pair"
        fix = 'measure a member with `measure_pair(pair, "A", key)` or use `pair.reduced_density_diag("A")`'
    elif isinstance(value, _NUMBER) or (hasattr(value, "ndim") and value.ndim == 0):
        what, fix = "a number", "build a state from a field, e.g. `gaussian(x, y)`"
    elif isinstance(value, list | tuple):
        what, fix = "a vector", "pass one scalar field"
    elif type(value).__name__ == "Measurement":
        what, fix = "a measurement record", "use its post-state `m.post`"
    else:
        what, fix = f"a `{type(value).__name__}`", "pass a scalar field (DataArray, or an array with `grid=`)"
    return CodexTypeError(f"`{op}` acts on states (complex scalar fields), but `{role}` is {what}; {fix}.")


def _vector_error(op: str, role: str) -> CodexTypeError:
    """The sentence for a vector field handed to a state operation."""
    return CodexTypeError(
        f"`{op}` acts on states (complex scalar fields), but `{role}` is a vector field (dim `component`); "
        "take one component or its magnitude first."
    )


def coerce(value: Any, grid: Grid | None, *, op: str, role: str) -> _Operand:
    """Reduce a DataArray or array to a complex array on its grid, rejecting other kinds of value."""
    if isinstance(value, xr.DataArray):
        from .fields import COMPONENT, grid_of

        if COMPONENT in value.dims:
            raise _vector_error(op, role)
        g = grid_of(value)
        if grid is not None and not same_grid(g, grid):
            raise CodexValueError(
                f"`{role}` of `{op}` lives on `{g.describe()}`, not on the given `{grid.describe()}`; "
                "regrid it or drop `grid=`."
            )
        arr: Any = value.transpose(*g.names).data
        return _Operand(jnp.asarray(arr, dtype=_complex_dtype(arr.dtype)), g, True)
    if not isinstance(value, np.ndarray | jax.Array) or value.ndim == 0:
        raise _kind_error(value, op, role)
    if grid is None:
        raise CodexValueError(
            f"`{role}` of `{op}` is a bare array without a grid; pass `grid=` or a DataArray from `make_field`."
        )
    shape = tuple(value.shape)
    if shape != grid.shape:
        if len(shape) == grid.ndim + 1 and shape[1:] == grid.shape:
            raise _vector_error(op, role)
        raise CodexValueError(
            f"`{role}` of `{op}` has shape `{shape}`, but the grid `{grid.describe()}` has shape "
            f"`{grid.shape}`; sample it on that grid."
        )
    if value.dtype == object or not (np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.bool_)):
        raise CodexTypeError(f"`{role}` of `{op}` holds `{value.dtype}` values; a state needs numbers.")
    return _Operand(jnp.asarray(value, dtype=_complex_dtype(value.dtype)), grid, False)


def coerce_pair(a: Any, b: Any, grid: Grid | None, *, op: str) -> tuple[_Operand, _Operand, Grid]:
    """Coerce two operands that must share one grid (the grid of a DataArray operand wins)."""
    first = coerce(a, grid, op=op, role="a") if isinstance(a, xr.DataArray) or grid is not None else None
    second = coerce(b, grid, op=op, role="b") if isinstance(b, xr.DataArray) or grid is not None else None
    common = grid or (first.grid if first else second.grid if second else None)
    first = first or coerce(a, common, op=op, role="a")
    second = second or coerce(b, common, op=op, role="b")
    if not same_grid(first.grid, second.grid):
        raise CodexValueError(
            f"`a` and `b` of `{op}` live on different grids (`{first.grid.describe()}` and "
            f"`{second.grid.describe()}`); regrid one onto the other first."
        )
    return first, second, first.grid


def wrap(values: jax.Array, grid: Grid, as_xarray: bool, *, name: str | None = None) -> Any:
    """Return `values` as a DataArray (via `make_field`) when the inputs were DataArrays, else as is."""
    if not as_xarray:
        return values
    from .fields import make_field

    return make_field(np.asarray(values), grid, name=name)


@jax.jit
def _norm_sq(values: jax.Array, cell: jax.Array) -> jax.Array:
    """Σ|ψ|²·ΔA."""
    return jnp.real(jnp.vdot(values, values)) * cell


def _scalar(x: jax.Array) -> Any:
    """A Python number when concrete, the traced scalar inside a transformation."""
    if _is_traced(x):
        return x
    return complex(x) if jnp.iscomplexobj(x) else float(x)


def normalized(
    values: jax.Array, grid: Grid, *, zero_message: str, scale: Any = None, what: str = "The state"
) -> jax.Array:
    """values/‖values‖; `CodexValueError(zero_message)` when the norm is 0 or at rounding level of `scale`."""
    nrm = jnp.sqrt(_norm_sq(values, grid.cell_volume))
    if not _is_traced(nrm):
        ref = 0.0 if scale is None else float(scale)
        n = float(nrm)
        if not np.isfinite(n):
            raise CodexValueError(f"{what} has NaN or infinite values, so it cannot be normalized; check its inputs.")
        if n == 0.0 or (scale is not None and n <= zero_tol(values.dtype) * ref):
            raise CodexValueError(zero_message)
    return values / nrm


def norm(psi: Any, *, grid: Grid | None = None) -> Any:
    """‖ψ‖ = (Σ|ψ|²·ΔA)^½ as a float.

    Parameters: `psi` a scalar field (DataArray, or array with `grid=`). Raises `CodexTypeError` for a
    vector field or another kind of value, `CodexValueError` for a shape that does not fit the grid.
    """
    op = coerce(psi, grid, op="‖·‖", role="ψ")
    return _scalar(jnp.sqrt(_norm_sq(op.values, op.grid.cell_volume)))


def normalize(psi: Any, *, grid: Grid | None = None) -> Any:
    """ψ/‖ψ‖: the state of a scalar field (complex; a DataArray if `psi` was one).

    Raises `CodexValueError` for the zero field (it has no direction) and `CodexTypeError` for a value
    that is not a scalar field.
    """
    op = coerce(psi, grid, op="normalize", role="ψ")
    out = normalized(
        op.values,
        op.grid,
        zero_message="`ψ` is the zero field (‖ψ‖ = 0), which cannot be normalized; give it nonzero values.",
    )
    return wrap(out, op.grid, op.xarray)


def inner(a: Any, b: Any, *, grid: Grid | None = None) -> Any:
    """⟨a|b⟩ = Σ conj(a)·b·ΔA as a complex number (conjugate-linear in `a`)."""
    x, y, g = coerce_pair(a, b, grid, op="⟨a|b⟩")
    return _scalar(jnp.vdot(x.values, y.values) * g.cell_volume)


def _combine(a: Any, b: Any, grid: Grid | None, sign: int, glyph: str) -> Any:
    """(a ± b)/‖a ± b‖ with the zero-state check relative to ‖a‖ + ‖b‖."""
    x, y, g = coerce_pair(a, b, grid, op=glyph)
    total = x.values + y.values if sign > 0 else x.values - y.values
    sym, ascii_sym, noun = ("+", "+", "sum") if sign > 0 else ("−", "-", "difference")
    scale = None
    if not _is_traced(total):
        scale = float(jnp.sqrt(_norm_sq(x.values, g.cell_volume))) + float(jnp.sqrt(_norm_sq(y.values, g.cell_volume)))
    out = normalized(
        total,
        g,
        scale=scale,
        what=f"`a {glyph} b`",
        zero_message=(
            f"`a {glyph} b` is the zero state (‖a {sym} b‖ = 0); states that cancel exactly cannot be "
            f"normalized; use `a {ascii_sym} b` for the unnormalized {noun}."
        ),
    )
    return wrap(out, g, x.xarray or y.xarray)


def superpose(a: Any, b: Any, *, grid: Grid | None = None) -> Any:
    """a ⊕ b = (a + b)/‖a + b‖.

    Parameters: two states on one grid (DataArrays, or arrays with `grid=`). Returns the normalized sum.
    Raises `CodexValueError` when a + b is the zero state or the grids differ, `CodexTypeError` for a
    vector field, a pair or a number.
    """
    return _combine(a, b, grid, +1, "⊕")


def cancel(a: Any, b: Any, *, grid: Grid | None = None) -> Any:
    """a ⊖ b = (a − b)/‖a − b‖; `a ⊖ a` raises `CodexValueError` (the zero state)."""
    return _combine(a, b, grid, -1, "⊖")


def _phase(phi: Any) -> Any:
    """The phase of ⋈ as a real scalar (radians)."""
    if isinstance(phi, bool) or not (
        isinstance(phi, int | float | np.integer | np.floating)
        or (isinstance(phi, np.ndarray | jax.Array) and phi.ndim == 0 and not jnp.iscomplexobj(phi))
    ):
        raise CodexTypeError(
            f"The phase of `⋈[φ]` must be a real number in radians, got `{type(phi).__name__}`; "
            "write e.g. `a ⋈[0.5] b`."
        )
    return phi


def interfere(a: Any, b: Any, phi: Any, *, grid: Grid | None = None) -> Any:
    """a ⋈[φ] b = a + e^{iφ}·b, not normalized: its |·|² is the interference pattern.

    Parameters: two states on one grid and a real phase `phi` (radians). Raises `CodexTypeError` for a
    complex or array phase, or operands that are not scalar fields.
    """
    x, y, g = coerce_pair(a, b, grid, op="⋈")
    rotation = jnp.exp(1j * jnp.asarray(_phase(phi), dtype=jnp.float64)).astype(y.values.dtype)
    out = x.values + rotation * y.values
    return wrap(out, g, x.xarray or y.xarray)


def state_entropy(psi: Any, *, grid: Grid | None = None) -> Any:
    """H = −Σ p log p (nats) over p = |ψ|²ΔA/‖ψ‖², zeros ignored; for a real field p ∝ f².

    Raises `CodexValueError` for the zero field, whose distribution is undefined.
    """
    op = coerce(psi, grid, op="entropy", role="ψ")
    dens = jnp.abs(op.values) ** 2
    total = jnp.sum(dens)
    if not _is_traced(total) and not float(total) > 0.0:
        raise CodexValueError("The entropy of the zero field is undefined; give `ψ` nonzero values.")
    return _scalar(_entropy_nats(dens / total))


@jax.jit
def _entropy_nats(p: jax.Array) -> jax.Array:
    """−Σ p log p over the positive entries of a probability array."""
    safe = jnp.where(p > 0, p, 1.0)
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(safe), 0.0))
