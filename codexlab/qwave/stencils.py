"""Stencil primitives on raw JAX arrays: ghost values per boundary condition and linear stencil sums.

A linear operator is a sum of *terms* `(array, axis, deriv, scale)`: `scale · D_deriv` along `axis` of
input array `array`. Finite differences of order 2 and 4 (central, radius 1 and 2) or spectral (FFT).

Ghost values outside the grid, per axis (vertex grids: Dirichlet and Neumann axes hold both endpoints):

- periodic: wrap around, u₋ₖ = u_{n−k};
- Dirichlet: the boundary points hold the boundary values g, and the field continues as its odd
  reflection about g: u₋ₖ = 2·u₀ − uₖ (u₋ₖ = −uₖ for the homogeneous condition). Second derivatives
  across the boundary are therefore 0 at boundary points, so solvers keep boundary values, and
  derivatives converge at the stated order for fields whose odd extension is smooth
  (e.g. g + Σ bₖ sin(kπx/L)); for other fields only the points within the stencil radius of the
  boundary lose order;
- Neumann (zero normal derivative): even reflection about the boundary point, u₋ₖ = uₖ; exact order
  for fields whose even extension is smooth (e.g. Σ aₖ cos(kπx/L)).

On the CPU, XLA is slow at building halos (a padded copy or `roll` materialises the whole field), so
`apply_terms` evaluates the interior with slices only and the thin rim of width r per side from small
ghost-padded slabs, then writes both into one output: 4–8× faster than padding at 2048².
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = [
    "AxisSpec",
    "Term",
    "FD_WEIGHTS",
    "RIM_MIN_POINTS",
    "Outputs",
    "space_indices",
    "grad_outputs",
    "div_outputs",
    "curl_outputs",
    "radius",
    "extend",
    "apply_terms",
    "apply_stacked",
    "spectral_terms",
]

# Below this many points, pad once and slice (less code for XLA to compile, same values).
RIM_MIN_POINTS = 1 << 15


class AxisSpec(NamedTuple):
    """Static description of one axis for a kernel: name, points, spacing, boundary condition."""

    name: str
    n: int
    h: float
    bc: str


class Term(NamedTuple):
    """One term of a linear stencil sum: `scale · ∂^deriv/∂axis^deriv` of input `array`."""

    array: int
    axis: int
    deriv: int
    scale: float


# Central difference weights (offset, weight), to be divided by h**deriv; order 2 and 4.
FD_WEIGHTS: dict[tuple[int, int], tuple[tuple[int, float], ...]] = {
    (1, 2): ((-1, -0.5), (1, 0.5)),
    (2, 2): ((-1, 1.0), (0, -2.0), (1, 1.0)),
    (1, 4): ((-2, 1.0 / 12.0), (-1, -8.0 / 12.0), (1, 8.0 / 12.0), (2, -1.0 / 12.0)),
    (2, 4): ((-2, -1.0 / 12.0), (-1, 16.0 / 12.0), (0, -30.0 / 12.0), (1, 16.0 / 12.0), (2, -1.0 / 12.0)),
}


Outputs = tuple[tuple[Term, ...], ...]


def space_indices(axes: Sequence[AxisSpec]) -> tuple[int, ...]:
    """Indices of the spatial axes (all but `t`)."""
    return tuple(i for i, a in enumerate(axes) if a.name != "t")


def grad_outputs(axes: Sequence[AxisSpec]) -> Outputs:
    """∇u: one output per spatial axis, ∂u/∂xᵢ."""
    return tuple((Term(0, a, 1, 1.0),) for a in space_indices(axes))


def div_outputs(axes: Sequence[AxisSpec]) -> Outputs:
    """∇·F: one output, Σᵢ ∂Fᵢ/∂xᵢ."""
    return (tuple(Term(i, a, 1, 1.0) for i, a in enumerate(space_indices(axes))),)


def curl_outputs(axes: Sequence[AxisSpec]) -> Outputs:
    """∇×F: in 2-D one output ∂ₓF_y − ∂_yFₓ, in 3-D the three components."""
    space = space_indices(axes)
    if len(space) == 2:
        x, y = space
        return ((Term(1, x, 1, 1.0), Term(0, y, 1, -1.0)),)
    x, y, z = space
    return (
        (Term(2, y, 1, 1.0), Term(1, z, 1, -1.0)),
        (Term(0, z, 1, 1.0), Term(2, x, 1, -1.0)),
        (Term(1, x, 1, 1.0), Term(0, y, 1, -1.0)),
    )


def radius(order: int) -> int:
    """Stencil radius of a central difference of this order of accuracy."""
    return order // 2


def _take(x: jnp.ndarray, axis: int, start: int, stop: int) -> jnp.ndarray:
    """`x[start:stop]` along `axis`."""
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(start, stop)
    return x[tuple(idx)]


def ghost_lo(u: jnp.ndarray, axis: int, r: int, bc: str) -> jnp.ndarray:
    """The r ghost layers below index 0 along `axis` (ordered −r … −1)."""
    n = u.shape[axis]
    if bc == "periodic":
        return _take(u, axis, n - r, n)
    mirror = jnp.flip(_take(u, axis, 1, r + 1), axis=axis)
    if bc == "neumann":
        return mirror
    return 2 * _take(u, axis, 0, 1) - mirror


def ghost_hi(u: jnp.ndarray, axis: int, r: int, bc: str) -> jnp.ndarray:
    """The r ghost layers above index n − 1 along `axis` (ordered n … n + r − 1)."""
    n = u.shape[axis]
    if bc == "periodic":
        return _take(u, axis, 0, r)
    mirror = jnp.flip(_take(u, axis, n - 1 - r, n - 1), axis=axis)
    if bc == "neumann":
        return mirror
    return 2 * _take(u, axis, n - 1, n) - mirror


def extend(u: jnp.ndarray, axis: int, r: int, bc: str) -> jnp.ndarray:
    """`u` with r ghost layers on both sides of `axis`."""
    if r == 0:
        return u
    return jnp.concatenate([ghost_lo(u, axis, r, bc), u, ghost_hi(u, axis, r, bc)], axis=axis)


def _evaluate(
    ext: Sequence[jnp.ndarray],
    terms: Sequence[Term],
    axes: Sequence[AxisSpec],
    rad: Sequence[int],
    order: int,
) -> jnp.ndarray:
    """Sum the terms on arrays that carry `rad[a]` ghost layers per axis; output drops the ghosts."""

    def window(x: jnp.ndarray, axis: int, shift: int) -> jnp.ndarray:
        idx = []
        for a, ra in enumerate(rad):
            length = x.shape[a]
            k = shift if a == axis else 0
            idx.append(slice(ra + k, length - ra + k))
        return x[tuple(idx)]

    total = None
    for t in terms:
        x = ext[t.array]
        acc = None
        for off, w in FD_WEIGHTS[(t.deriv, order)]:
            s = window(x, t.axis, off)
            part = s if w == 1.0 else (-s if w == -1.0 else w * s)
            acc = part if acc is None else acc + part
        assert acc is not None
        value = acc * (t.scale / axes[t.axis].h ** t.deriv)
        total = value if total is None else total + value
    assert total is not None
    return total


def _pieces(
    arrays: Sequence[jnp.ndarray], terms: Sequence[Term], axes: Sequence[AxisSpec], order: int
) -> tuple[jnp.ndarray, list[int], list[tuple[jnp.ndarray, list[int]]]]:
    """The interior (slices only) with its ghost widths, and each rim slab with its start index."""
    r = radius(order)
    used = {t.axis for t in terms}
    rad = [r if a in used else 0 for a in range(len(axes))]
    shape = arrays[0].shape
    core = _evaluate(arrays, terms, axes, rad, order)
    rims = []
    for b in sorted(used):
        n = shape[b]
        for side in ("lo", "hi"):
            slabs = []
            for x in arrays:
                if side == "lo":
                    slab = jnp.concatenate([ghost_lo(x, b, r, axes[b].bc), _take(x, b, 0, 2 * r)], axis=b)
                else:
                    slab = jnp.concatenate([_take(x, b, n - 2 * r, n), ghost_hi(x, b, r, axes[b].bc)], axis=b)
                for a in sorted(used - {b}):
                    slab = extend(slab, a, r, axes[a].bc)
                slabs.append(slab)
            starts = [0] * len(shape)
            starts[b] = 0 if side == "lo" else n - r
            rims.append((_evaluate(slabs, terms, axes, rad, order), starts))
    return core, rad, rims


def _padded_path(arrays: Sequence[jnp.ndarray], terms: Sequence[Term], axes: Sequence[AxisSpec], order: int) -> bool:
    """Whether to pad whole arrays (small grids) instead of interior + rims."""
    r = radius(order)
    shape = arrays[0].shape
    return any(shape[t.axis] < 4 * r for t in terms) or int(np.prod(shape)) < RIM_MIN_POINTS


def _padded(arrays: Sequence[jnp.ndarray], terms: Sequence[Term], axes: Sequence[AxisSpec], order: int) -> jnp.ndarray:
    r = radius(order)
    used = {t.axis for t in terms}
    rad = [r if a in used else 0 for a in range(len(axes))]
    ext = list(arrays)
    for a in sorted(used):
        ext = [extend(x, a, r, axes[a].bc) for x in ext]
    return _evaluate(ext, terms, axes, rad, order)


def apply_terms(
    arrays: Sequence[jnp.ndarray], terms: Sequence[Term], axes: Sequence[AxisSpec], order: int
) -> jnp.ndarray:
    """Finite-difference sum of `terms` over same-shaped `arrays` with the axes' boundary conditions."""
    if _padded_path(arrays, terms, axes, order):
        return _padded(arrays, terms, axes, order)
    core, rad, rims = _pieces(arrays, terms, axes, order)
    out = lax.pad(core, jnp.zeros((), core.dtype), [(ra, ra, 0) for ra in rad])
    for rim, starts in rims:
        out = lax.dynamic_update_slice(out, rim, starts)
    return out


def apply_stacked(
    arrays: Sequence[jnp.ndarray], outputs: Sequence[Sequence[Term]], axes: Sequence[AxisSpec], order: int
) -> jnp.ndarray:
    """Several stencil sums written into one stacked output `(len(outputs), *shape)` without a stack copy."""
    if any(_padded_path(arrays, terms, axes, order) for terms in outputs):
        return jnp.stack([_padded(arrays, terms, axes, order) for terms in outputs])
    pieces = [_pieces(arrays, terms, axes, order) for terms in outputs]
    dtype = jnp.result_type(*[p[0] for p in pieces])
    out = jnp.zeros((len(outputs), *arrays[0].shape), dtype)
    for i, (core, rad, rims) in enumerate(pieces):
        out = lax.dynamic_update_slice(out, core[None].astype(dtype), [i, *rad])
        for rim, starts in rims:
            out = lax.dynamic_update_slice(out, rim[None].astype(dtype), [i, *starts])
    return out


def _wavenumbers(n: int, h: float, real: bool) -> np.ndarray:
    """Angular wavenumbers of an FFT along an axis of n points spaced h."""
    return 2 * np.pi * (np.fft.rfftfreq(n, d=h) if real else np.fft.fftfreq(n, d=h))


def spectral_derivative(u: jnp.ndarray, axis: int, spec: AxisSpec, deriv: int) -> jnp.ndarray:
    """∂^deriv u along a periodic axis by FFT; the Nyquist mode of odd derivatives is dropped."""
    real = not jnp.iscomplexobj(u)
    k = _wavenumbers(spec.n, spec.h, real)
    factor = (1j * k) ** deriv
    if deriv % 2 == 1 and spec.n % 2 == 0:
        factor[spec.n // 2] = 0.0
    shape = [1] * u.ndim
    shape[axis] = factor.size
    ctype = jnp.complex64 if u.dtype in (jnp.float32, jnp.complex64) else jnp.complex128
    f = jnp.asarray(factor.reshape(shape), dtype=ctype)
    if real:
        return jnp.fft.irfft(jnp.fft.rfft(u, axis=axis) * f, n=spec.n, axis=axis).astype(u.dtype)
    return jnp.fft.ifft(jnp.fft.fft(u, axis=axis) * f, axis=axis).astype(u.dtype)


def spectral_terms(arrays: Sequence[jnp.ndarray], terms: Sequence[Term], axes: Sequence[AxisSpec]) -> jnp.ndarray:
    """Spectral sum of `terms` (every axis involved must be periodic; checked by the caller)."""
    total = None
    for t in terms:
        value = spectral_derivative(arrays[t.array], t.axis, axes[t.axis], t.deriv) * t.scale
        total = value if total is None else total + value
    assert total is not None
    return total
