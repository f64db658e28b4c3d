"""Numba CPU backend for the hot order-2 stencils: Δ and □ (1-, 2-, 3-D) and ∇, ∇·, ∇×, ∂ (2-D).

XLA on the CPU materialises halos, so a plain loop that reads each neighbour in place runs near the
memory floor. Same conventions as `stencils`: periodic wrap, Neumann even reflection, Dirichlet odd
reflection about the boundary value (whose second difference across the boundary is exactly 0).
The first-derivative kernel takes the same term lists as the JAX path (`stencils.grad_outputs`, …),
so each operator is still written once. Imported by the backend registry only when numba is
installed; it registers itself on the CPU. Single-threaded: the caller's thread count is not changed.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..fields import empty_aligned
from ..stencils import Outputs, Term, curl_outputs, div_outputs, grad_outputs
from . import register_backend

__all__ = ["second_sum", "first_sum", "supports", "supports_first"]

_BC_CODE = {"periodic": 0, "dirichlet": 1, "neumann": 2}
_DTYPES = (np.float32, np.float64, np.complex64, np.complex128)


@numba.njit(inline="always")
def _nbr(i: int, n: int, bc: int) -> tuple[int, int, bool]:
    """Lower and upper neighbour of index i, and whether the term vanishes (Dirichlet boundary)."""
    lo, hi, zero = i - 1, i + 1, False
    if i == 0:
        lo = n - 1 if bc == 0 else 1
        zero = bc == 1
    if i == n - 1:
        hi = 0 if bc == 0 else n - 2
        zero = zero or bc == 1
    return lo, hi, zero


@numba.njit(cache=True)
def _sum1(u, out, s, bc):
    n = u.shape[0]
    two = u.dtype.type(2)
    for i in range(n):
        lo, hi, zero = _nbr(i, n, bc[0])
        out[i] = 0 if zero else ((u[lo] - two * u[i]) + u[hi]) * s[0]
    return out


@numba.njit(cache=True)
def _row_fast(u, out, i, lo, hi, zx, s, bc):
    """One output row of the 2-D sum; interior columns in a branch-free loop that vectorises."""
    ny = u.shape[1]
    two = u.dtype.type(2)
    sx, sy = s[0], s[1]
    if zx:
        for j in range(1, ny - 1):
            out[i, j] = ((u[i, j - 1] - two * u[i, j]) + u[i, j + 1]) * sy
    else:
        for j in range(1, ny - 1):
            c = u[i, j]
            out[i, j] = ((u[lo, j] - two * c) + u[hi, j]) * sx + ((u[i, j - 1] - two * c) + u[i, j + 1]) * sy
    for j in (0, ny - 1):
        lj, hj, zy = _nbr(j, ny, bc[1])
        c = u[i, j]
        vx = u.dtype.type(0) if zx else ((u[lo, j] - two * c) + u[hi, j]) * sx
        vy = u.dtype.type(0) if zy else ((u[i, lj] - two * c) + u[i, hj]) * sy
        out[i, j] = vx + vy


@numba.njit(cache=True)
def _sum2(u, out, s, bc):
    nx = u.shape[0]
    for i in range(nx):
        lo, hi, zx = _nbr(i, nx, bc[0])
        _row_fast(u, out, i, lo, hi, zx, s, bc)
    return out


@numba.njit(cache=True)
def _sum3(u, out, s, bc):
    nx, ny, nz = u.shape
    two = u.dtype.type(2)
    zero_v = u.dtype.type(0)
    for i in range(nx):
        il, ih, zx = _nbr(i, nx, bc[0])
        for j in range(ny):
            jl, jh, zy = _nbr(j, ny, bc[1])
            for k in range(nz):
                kl, kh, zz = _nbr(k, nz, bc[2])
                c = u[i, j, k]
                vx = zero_v if zx else ((u[il, j, k] - two * c) + u[ih, j, k]) * s[0]
                vy = zero_v if zy else ((u[i, jl, k] - two * c) + u[i, jh, k]) * s[1]
                vz = zero_v if zz else ((u[i, j, kl] - two * c) + u[i, j, kh]) * s[2]
                out[i, j, k] = (vx + vy) + vz
    return out


def supports(u: Any, axes: Any, method: str, scales: tuple[float, ...] = ()) -> bool:
    """Order-2 differences of a scalar field on a 1-, 2- or 3-D grid, real or complex, f32 or f64."""
    return method == "fd2" and np.ndim(u) == len(axes) and 1 <= len(axes) <= 3 and np.asarray(u).dtype in _DTYPES


def second_sum(u: Any, axes: Any, method: str, scales: tuple[float, ...]) -> np.ndarray:
    """Σ_a scales[a] · (u₋ − 2u + u₊)/h_a² with the axes' boundary conditions, as a new NumPy array."""
    arr = np.ascontiguousarray(np.asarray(u))
    real = arr.real.dtype.type
    s = np.array([sc / a.h**2 for sc, a in zip(scales, axes, strict=True)], dtype=real)
    bc = np.array([_BC_CODE[a.bc] for a in axes], dtype=np.int64)
    out = empty_aligned(arr.shape, arr.dtype)  # make_field keeps it without a copy
    return [_sum1, _sum2, _sum3][arr.ndim - 1](arr, out, s, bc)


@numba.njit(inline="always")
def _nbr1(i: int, n: int, bc: int) -> tuple[int, int, int]:
    """(lo, hi, factor): the central difference at i is factor·(u[hi] − u[lo]) under the bc."""
    if 0 < i < n - 1:
        return i - 1, i + 1, 1
    if bc == 0:
        return (n - 1, 1, 1) if i == 0 else (n - 2, 0, 1)
    if bc == 2:
        return 0, 0, 0
    return (0, 1, 2) if i == 0 else (n - 2, n - 1, 2)


@numba.njit(cache=True)
def _first2(F, out, t_arr, t_axis, t_scale, bc):
    """out[o] = Σₜ scaleₜ·(F[aₜ] shifted +1 − shifted −1 along axisₜ), row by row (the row stays in cache)."""
    nx, ny = F.shape[1], F.shape[2]
    for o in range(out.shape[0]):
        for i in range(nx):
            for t in range(t_arr.shape[1]):
                axis = t_axis[o, t]
                if axis < 0:
                    continue
                a = t_arr[o, t]
                first = t == 0
                if axis == 0:
                    lo, hi, f = _nbr1(i, nx, bc[0])
                    s = t_scale[o, t] * t_scale.dtype.type(f)
                    if first:
                        for j in range(ny):
                            out[o, i, j] = (F[a, hi, j] - F[a, lo, j]) * s
                    else:
                        for j in range(ny):
                            out[o, i, j] += (F[a, hi, j] - F[a, lo, j]) * s
                else:
                    s = t_scale[o, t]
                    if first:
                        for j in range(1, ny - 1):
                            out[o, i, j] = (F[a, i, j + 1] - F[a, i, j - 1]) * s
                    else:
                        for j in range(1, ny - 1):
                            out[o, i, j] += (F[a, i, j + 1] - F[a, i, j - 1]) * s
                    for j in (0, ny - 1):
                        lo, hi, f = _nbr1(j, ny, bc[1])
                        v = (F[a, i, hi] - F[a, i, lo]) * (s * t_scale.dtype.type(f))
                        out[o, i, j] = v if first else out[o, i, j] + v
    return out


def supports_first(u: Any, axes: Any, method: str, **_kw: Any) -> bool:
    """Order-2 first derivatives on a 2-D grid, real or complex, f32 or f64."""
    return method == "fd2" and len(axes) == 2 and np.asarray(u).dtype in _DTYPES


def first_sum(stacked: Any, outputs: Outputs, axes: Any) -> np.ndarray:
    """Stacked first-derivative sums `(len(outputs), nx, ny)` of the components `stacked[i]`."""
    arr = np.ascontiguousarray(np.asarray(stacked))
    real = arr.real.dtype.type
    width = max(len(terms) for terms in outputs)
    t_arr = np.zeros((len(outputs), width), dtype=np.int64)
    t_axis = np.full((len(outputs), width), -1, dtype=np.int64)
    t_scale = np.zeros((len(outputs), width), dtype=real)
    for o, terms in enumerate(outputs):
        for k, t in enumerate(terms):
            t_arr[o, k], t_axis[o, k], t_scale[o, k] = t.array, t.axis, 0.5 * t.scale / axes[t.axis].h
    bc = np.array([_BC_CODE[a.bc] for a in axes], dtype=np.int64)
    out = empty_aligned((len(outputs), *arr.shape[1:]), arr.dtype)
    return _first2(arr, out, t_arr, t_axis, t_scale, bc)


def _grad(u: Any, axes: Any, method: str) -> np.ndarray:
    return first_sum(np.asarray(u)[None], grad_outputs(axes), axes)


def _div(F: Any, axes: Any, method: str) -> np.ndarray:
    return first_sum(F, div_outputs(axes), axes)[0]


def _curl(F: Any, axes: Any, method: str) -> np.ndarray:
    return first_sum(F, curl_outputs(axes), axes)[0]


def _partial(u: Any, axes: Any, method: str, axis: int, deriv: int) -> np.ndarray:
    if deriv == 2:
        scales = tuple(1.0 if a == axis else 0.0 for a in range(len(axes)))
        return second_sum(u, axes, method, scales)
    return first_sum(np.asarray(u)[None], ((Term(0, axis, 1, 1.0),),), axes)[0]


def _supports_grad(u: Any, axes: Any, method: str) -> bool:
    return supports_first(u, axes, method) and np.ndim(u) == 2 and len(grad_outputs(axes)) > 0


def _supports_vector(u: Any, axes: Any, method: str) -> bool:
    return supports_first(u, axes, method) and np.ndim(u) == 3


def _supports_partial(u: Any, axes: Any, method: str, axis: int, deriv: int) -> bool:
    return supports_first(u, axes, method) and np.ndim(u) == 2


for _op in ("lap", "dalembert"):
    register_backend(_op, "numba", second_sum, devices=("cpu",), supports=supports)
register_backend("grad", "numba", _grad, devices=("cpu",), supports=_supports_grad)
register_backend("div", "numba", _div, devices=("cpu",), supports=_supports_vector)
register_backend("curl", "numba", _curl, devices=("cpu",), supports=_supports_vector)
register_backend("partial", "numba", _partial, devices=("cpu",), supports=_supports_partial)
