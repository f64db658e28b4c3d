"""Differential and pointwise kernels on raw arrays (JAX, jit); xarray stays at the edges.

Every kernel takes the field's values and `axes`, a tuple of `AxisSpec` (name, n, h, bc) built by
`axis_specs(grid)`. Vector inputs carry a leading component axis ordered as the spatial axes (every
axis but `t`), tensors two. Derivatives: `method="fd2"` (default), `"fd4"` or `"spectral"` (periodic
axes only). Each differential op is a sum of stencil terms (see `stencils`), jitted once per
(terms, axes, method); a faster registered backend (see `backends`) may run it instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from functools import partial as _partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import CodexTypeError, CodexValueError, did_you_mean
from . import backends
from .grid import Grid
from .stencils import (
    AxisSpec,
    Outputs,
    Term,
    apply_stacked,
    apply_terms,
    curl_outputs,
    div_outputs,
    grad_outputs,
    space_indices,
    spectral_terms,
)

__all__ = [
    "METHODS",
    "AxisSpec",
    "axis_specs",
    "resolve_method",
    "as_array",
    "check_method",
    "space_indices",
    "time_index",
    "derivative",
    "grad",
    "div",
    "curl",
    "lap",
    "dalembert",
    "second_sum_scales",
    "dot",
    "cross",
    "outer",
]

METHODS: tuple[str, ...] = ("fd2", "fd4", "spectral")


def axis_specs(grid: Grid) -> tuple[AxisSpec, ...]:
    """Static kernel description of a grid's axes."""
    return tuple(AxisSpec(a.name, a.n, float(a.spacing), a.bc) for a in grid.axes)


def resolve_method(method: str | None = None, order: int | None = None) -> str:
    """The derivative method from `method` and/or an accuracy `order` (2 or 4); default `fd2`."""
    if method is None:
        method = "fd2" if order is None else f"fd{order}"
        if order is not None and method not in ("fd2", "fd4"):
            raise CodexValueError(f"Finite-difference order `{order}` is not available; use `2` or `4`.")
        return method
    if method not in METHODS:
        raise CodexValueError(
            f"Derivative method `{method}` is unknown{did_you_mean(method, METHODS)}; use one of "
            f"{', '.join(f'`{m}`' for m in METHODS)}."
        )
    if order is not None and method != f"fd{order}":
        raise CodexValueError(
            f'`method={method!r}` and `order={order}` disagree; give one of them (e.g. `method="fd{order}"`).'
        )
    return method


def check_method(axes: Sequence[AxisSpec], used: Sequence[int], method: str) -> None:
    """Raise when spectral derivatives are asked for along a non-periodic axis."""
    if method != "spectral":
        return
    for a in used:
        if axes[a].bc != "periodic":
            raise CodexValueError(
                f"Spectral derivatives need periodic axes, but axis `{axes[a].name}` is "
                f'`{axes[a].bc}`; use `method="fd2"` or `"fd4"`, or make `{axes[a].name}` periodic.'
            )


def time_index(axes: Sequence[AxisSpec]) -> int | None:
    """Index of the time axis `t`, or None."""
    return next((i for i, a in enumerate(axes) if a.name == "t"), None)


@_partial(jax.jit, static_argnames=("outputs", "axes", "method", "out_lead"))
def _linear(
    u: jnp.ndarray, outputs: Outputs, axes: tuple[AxisSpec, ...], method: str, out_lead: tuple[int, ...]
) -> jnp.ndarray:
    """Stencil sums over the components of `u` (leading dims), shaped `out_lead + grid shape`."""
    shape = u.shape[u.ndim - len(axes) :]
    flat = u.reshape((-1, *shape))
    arrays = [flat[i] for i in range(flat.shape[0])]
    if method == "spectral":
        results = [spectral_terms(arrays, terms, axes) for terms in outputs]
        return results[0] if not out_lead else jnp.stack(results).reshape(out_lead + shape)
    order = int(method[2:])
    if not out_lead:
        return apply_terms(arrays, outputs[0], axes, order)
    return apply_stacked(arrays, outputs, axes, order).reshape(out_lead + shape)


def as_array(u: Any) -> jax.Array:
    """The input as a JAX array; integers and booleans become float64, floats and complex keep precision.

    A C-contiguous, 64-byte-aligned NumPy array (as `make_field` keeps them) is aliased, not copied: on
    the CPU that saves a full pass over memory per kernel call.
    """
    if isinstance(u, jax.Array):
        return u if jnp.issubdtype(u.dtype, jnp.inexact) else u.astype(jnp.float64)
    arr = np.asarray(u)
    if not np.issubdtype(arr.dtype, np.inexact):
        arr = arr.astype(np.float64)
    return jax.device_put(arr, may_alias=True)


def _componentwise(u: Any, axes: tuple[AxisSpec, ...], terms: tuple[Term, ...], method: str) -> jnp.ndarray:
    """Apply one scalar stencil sum to every component of a scalar, vector or tensor field."""
    lead = tuple(u.shape[: u.ndim - len(axes)])
    return _linear(u, _per_component(terms, lead), axes, method, lead)


@functools.lru_cache(maxsize=256)
def _per_component(terms: tuple[Term, ...], lead: tuple[int, ...]) -> Outputs:
    """The same terms once per component of a field with leading dims `lead`."""
    k = int(np.prod(lead, dtype=np.int64)) if lead else 1
    return tuple(tuple(t._replace(array=i) for t in terms) for i in range(k))


def _check_shape(u: Any, axes: Sequence[AxisSpec], lead: int, what: str) -> None:
    shape = tuple(a.n for a in axes)
    if np.ndim(u) != len(axes) + lead or tuple(np.shape(u)[lead:]) != shape:
        raise CodexTypeError(
            f"`{what}` needs an array of shape `{'(d, ' * bool(lead)}{shape}{')' * bool(lead)}`, got "
            f"`{np.shape(u)}`; pass values on the grid."
        )


def _jax_partial(u: Any, axes: tuple[AxisSpec, ...], method: str, axis: int, deriv: int) -> jnp.ndarray:
    return _componentwise(u, axes, (Term(0, axis, deriv, 1.0),), method)


def _jax_grad(u: Any, axes: tuple[AxisSpec, ...], method: str) -> jnp.ndarray:
    outputs = grad_outputs(axes)
    return _linear(u, outputs, axes, method, (len(outputs),))


def _jax_div(F: Any, axes: tuple[AxisSpec, ...], method: str) -> jnp.ndarray:
    return _linear(F, div_outputs(axes), axes, method, ())


def _jax_curl(F: Any, axes: tuple[AxisSpec, ...], method: str) -> jnp.ndarray:
    outputs = curl_outputs(axes)
    return _linear(F, outputs, axes, method, () if len(outputs) == 1 else (len(outputs),))


def second_sum_scales(axes: Sequence[AxisSpec], op: str, c: float = 1.0) -> tuple[float, ...]:
    """Per-axis factor of ∂² in Δ (1 on space axes) or □ (1 on `t`, −c² on space axes)."""
    if op == "lap":
        return tuple(0.0 if a.name == "t" else 1.0 for a in axes)
    return tuple(1.0 if a.name == "t" else -(float(c) ** 2) for a in axes)


def _jax_second_sum(u: Any, axes: tuple[AxisSpec, ...], method: str, scales: tuple[float, ...]) -> jnp.ndarray:
    terms = tuple(Term(0, a, 2, s) for a, s in enumerate(scales) if s != 0.0)
    return _componentwise(u, axes, terms, method)


def _on_device(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A JAX backend that takes its operand as `as_array` makes it (aliased when it is aligned)."""

    def run(u: Any, *args: Any, **kw: Any) -> Any:
        return fn(as_array(u), *args, **kw)

    return run


def _operand(u: Any) -> Any:
    """The operand as a backend takes it: a JAX array stays one, anything else becomes a NumPy array of
    an inexact dtype (integers and booleans as float64). The JAX backends put it on the device
    (`_on_device`), the numba ones read it in place — no copy of a NumPy field that is not aligned."""
    if isinstance(u, jax.Array):
        return as_array(u)
    arr = np.asarray(u)
    return arr if np.issubdtype(arr.dtype, np.inexact) else arr.astype(np.float64)


for _op, _fn in (
    ("partial", _jax_partial),
    ("grad", _jax_grad),
    ("div", _jax_div),
    ("curl", _jax_curl),
    ("lap", _jax_second_sum),
    ("dalembert", _jax_second_sum),
):
    backends.register_backend(_op, "jax", _on_device(_fn), devices=("cpu", "gpu", "tpu"))


def derivative(
    u: Any,
    axes: tuple[AxisSpec, ...],
    axis: int,
    deriv: int = 1,
    method: str = "fd2",
    backend: str | None = None,
) -> Any:
    """∂^deriv u / ∂axis^deriv along axis index `axis` (componentwise for vector and tensor fields)."""
    u = _operand(u)
    if deriv not in (1, 2):
        raise CodexValueError(f"Derivative order `{deriv}` is not available; use `1` or `2`.")
    check_method(axes, [axis], method)
    return backends.dispatch("partial", u, axes, method, backend=backend, axis=axis, deriv=deriv)


def grad(u: Any, axes: tuple[AxisSpec, ...], method: str = "fd2", backend: str | None = None) -> Any:
    """∇u of a scalar field: components along the spatial axes, stacked first."""
    u = _operand(u)
    _check_shape(u, axes, 0, "∇")
    check_method(axes, space_indices(axes), method)
    return backends.dispatch("grad", u, axes, method, backend=backend)


def div(F: Any, axes: tuple[AxisSpec, ...], method: str = "fd2", backend: str | None = None) -> Any:
    """∇·F = Σᵢ ∂Fᵢ/∂xᵢ of a vector field with one component per spatial axis."""
    F = _operand(F)
    _check_shape(F, axes, 1, "∇·")
    space = space_indices(axes)
    if np.shape(F)[0] != len(space):
        raise CodexTypeError(f"`∇·` needs {len(space)} components (one per spatial axis), got {np.shape(F)[0]}.")
    check_method(axes, space, method)
    return backends.dispatch("div", F, axes, method, backend=backend)


def curl(F: Any, axes: tuple[AxisSpec, ...], method: str = "fd2", backend: str | None = None) -> Any:
    """∇×F: in 2-D the scalar ∂ₓF_y − ∂_yFₓ, in 3-D the vector field."""
    F = _operand(F)
    _check_shape(F, axes, 1, "∇×")
    space = space_indices(axes)
    if len(space) not in (2, 3) or np.shape(F)[0] != len(space):
        raise CodexTypeError(
            f"`∇×` needs a 2-D or 3-D vector field with one component per spatial axis, got "
            f"{np.shape(F)[0]} components on {len(space)} spatial axes."
        )
    check_method(axes, space, method)
    return backends.dispatch("curl", F, axes, method, backend=backend)


def lap(u: Any, axes: tuple[AxisSpec, ...], method: str = "fd2", backend: str | None = None) -> Any:
    """Δu = Σ ∂²u/∂xᵢ² over the spatial axes (componentwise for vector fields)."""
    u = _operand(u)
    check_method(axes, space_indices(axes), method)
    return backends.dispatch("lap", u, axes, method, backend=backend, scales=second_sum_scales(axes, "lap"))


def dalembert(
    u: Any, axes: tuple[AxisSpec, ...], c: float = 1.0, method: str = "fd2", backend: str | None = None
) -> Any:
    """□u = ∂²u/∂t² − c²Δu on a grid with a time axis `t` (componentwise for vector fields)."""
    u = _operand(u)
    if time_index(axes) is None:
        raise CodexTypeError("`□` needs a time axis `t`; add `t:0..T:N` to the grid.")
    check_method(axes, range(len(axes)), method)
    scales = second_sum_scales(axes, "dalembert", c)
    return backends.dispatch("dalembert", u, axes, method, backend=backend, scales=scales)


@jax.jit
def _dot(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    return jnp.sum(a * b, axis=0)


def dot(a: Any, b: Any, kinds: tuple[str, str] = ("vector", "vector")) -> jnp.ndarray:
    """Pointwise bilinear product (no conjugation): v•v → scalar, T•v and v•T → vector, T•T → tensor."""
    match kinds:
        case ("scalar", "scalar"):
            return jnp.asarray(a) * jnp.asarray(b)
        case ("vector", "vector"):
            return _dot(a, b)
        case ("tensor", "vector"):
            return jnp.einsum("ij...,j...->i...", a, b)
        case ("vector", "tensor"):
            return jnp.einsum("i...,ij...->j...", a, b)
        case ("tensor", "tensor"):
            return jnp.einsum("ij...,jk...->ik...", a, b)
    raise CodexTypeError(f"`•` of a {kinds[0]} and a {kinds[1]} field is not defined.")


@jax.jit
def _cross3(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    return jnp.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


@jax.jit
def _cross2(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    return a[0] * b[1] - a[1] * b[0]


def cross(a: Any, b: Any) -> jnp.ndarray:
    """a × b of 3-component vector fields; of 2-component fields the z component aₓb_y − a_ybₓ."""
    d = np.shape(a)[0]
    if d != np.shape(b)[0] or d not in (2, 3):
        raise CodexTypeError(f"`×` needs two vector fields with 2 or 3 components each, got {d} and {np.shape(b)[0]}.")
    return _cross2(a, b) if d == 2 else _cross3(a, b)


@jax.jit
def outer(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
    """Dyadic product a ⊗ b of vector fields: T[i, j] = a[i]·b[j] pointwise (no conjugation)."""
    return a[:, None] * b[None, :]
