"""Relaxation and time stepping of fields, each run inside one jitted `jax.lax.fori_loop`.

- `relax(f, steps=1)`: Jacobi sweeps for Δψ = 0, uₙ₊₁ = uₙ + Δuₙ / Σᵢ 2/hᵢ² (on a uniform grid: the
  average of the 2·ndim neighbours); periodic axes wrap, Neumann axes reflect, Dirichlet boundary
  points keep their values.
- `evolve(ψ, steps, dt, eq=...)`:
  * `"schrodinger"`, iψₜ = −½Δψ: on grids whose spatial axes are all periodic (default method
    `"spectral"`) each step multiplies the Fourier transform by e^{−i|k|²dt/2}, the exact free
    propagator, so ‖ψ‖ is kept to rounding for any dt; with `method="fd2"|"fd4"` (and on any grid with
    a non-periodic axis) classical RK4 on the finite-difference Laplacian, which needs
    dt·λ/2 ≤ 2√2 (λ the largest eigenvalue of −Δ) and keeps ‖ψ‖ to O(dt⁴) per unit time;
  * `"heat"`, ψₜ = Δψ: explicit Euler, stable for dt ≤ 2/λ (fd2: dt ≤ h²/(2·ndim) on a uniform grid);
  * `"wave"`, ψₜₜ = c²Δψ: leapfrog from zero initial velocity (first step ψ₁ = ψ₀ + ½(c·dt)²Δψ₀),
    stable for (c·dt)²·λ ≤ 4 (fd2: c·dt·√(Σ 1/hᵢ²) ≤ 1).
  Dirichlet boundary points keep their values in every scheme; a step size past the stability limit
  raises `CodexValueError` with the limit. Only the spatial axes are stepped: a `t` axis, if the
  grid has one, is treated as a batch of independent slices.
"""

from __future__ import annotations

from functools import partial as _partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..errors import CodexValueError, did_you_mean
from . import kernels as K
from .fields import make_field
from .grid import Grid
from .operators import BC, prepare
from .stencils import AxisSpec, Term, apply_terms, spectral_terms

__all__ = ["relax", "evolve", "EQUATIONS", "stability_limit"]

EQUATIONS: tuple[str, ...] = ("schrodinger", "heat", "wave")


def _lap_terms(axes: tuple[AxisSpec, ...]) -> tuple[Term, ...]:
    return tuple(Term(0, a, 2, 1.0) for a in K.space_indices(axes))


def _laplacian(u: jnp.ndarray, axes: tuple[AxisSpec, ...], method: str) -> jnp.ndarray:
    """Δu over the spatial axes inside a traced loop body."""
    terms = _lap_terms(axes)
    if method == "spectral":
        return spectral_terms([u], terms, axes)
    return apply_terms([u], terms, axes, int(method[2:]))


def _dirichlet_mask(axes: tuple[AxisSpec, ...]) -> np.ndarray:
    """True at points on a Dirichlet boundary of a spatial axis (their values are kept)."""
    mask = np.zeros(tuple(a.n for a in axes), dtype=bool)
    for i in K.space_indices(axes):
        if axes[i].bc == "dirichlet":
            edge = [slice(None)] * len(axes)
            for j in (0, axes[i].n - 1):
                edge[i] = slice(j, j + 1)
                mask[tuple(edge)] = True
    return mask


def _rate(axes: tuple[AxisSpec, ...], method: str, scale: complex | float) -> Any:
    """u ↦ scale·Δu, zero on Dirichlet boundary points."""
    mask = _dirichlet_mask(axes)
    keep = jnp.asarray(~mask) if mask.any() else None

    def f(u: jnp.ndarray) -> jnp.ndarray:
        r = _laplacian(u, axes, method) * scale
        return r if keep is None else jnp.where(keep, r, jnp.zeros((), r.dtype))

    return f


@_partial(jax.jit, static_argnames=("axes",))
def _relax(u: jnp.ndarray, steps: jnp.ndarray, axes: tuple[AxisSpec, ...]) -> jnp.ndarray:
    weight = 1.0 / sum(2.0 / axes[i].h ** 2 for i in K.space_indices(axes))
    rate = _rate(axes, "fd2", weight)
    return jax.lax.fori_loop(0, steps, lambda _, v: v + rate(v), u)


def relax(f: Any, steps: int = 1, *, grid: Grid | None = None, bc: BC = None) -> xr.DataArray:
    """`steps` Jacobi sweeps of Δψ = 0 with the field's boundary conditions (Dirichlet values kept)."""
    da, g = prepare(f, grid, bc, "relax")
    axes = K.axis_specs(g)
    if not K.space_indices(axes):
        raise CodexValueError("`relax` needs a spatial axis; the field only has `t`.")
    u = K.as_array(da.values)
    out = _relax(u, jnp.asarray(int(steps)), axes)
    return make_result(out, da, g, {"relax_steps": int(steps)})


def make_result(values: Any, da: xr.DataArray, g: Grid, attrs: dict[str, Any]) -> xr.DataArray:
    """The stepped field, with the input's name and units."""
    units = str(da.attrs.get("units", "1"))
    return make_field(np.asarray(values), g, name=None if da.name is None else str(da.name), units=units, attrs=attrs)


def _lambda_max(axes: tuple[AxisSpec, ...], method: str) -> float:
    """Largest eigenvalue of −Δ for the method on these axes (an upper bound for reflecting bcs)."""
    per = {"fd2": 4.0, "fd4": 16.0 / 3.0, "spectral": float(np.pi**2)}[method]
    return sum(per / axes[i].h ** 2 for i in K.space_indices(axes))


def stability_limit(grid: Grid, eq: str, method: str = "fd2", c: float = 1.0) -> float:
    """The largest stable dt of `evolve` for this grid, equation and method (inf for split-step)."""
    axes = K.axis_specs(grid)
    lam = _lambda_max(axes, method)
    if eq == "heat":
        return 2.0 / lam
    if eq == "wave":
        return 2.0 / (abs(float(c)) * np.sqrt(lam))
    if method == "spectral":
        return float("inf")
    return 2.0 * np.sqrt(2.0) / (lam / 2.0)


@_partial(jax.jit, static_argnames=("axes", "method"))
def _schrodinger_spectral(
    u: jnp.ndarray, steps: jnp.ndarray, dt: jnp.ndarray, axes: tuple[AxisSpec, ...], method: str
) -> jnp.ndarray:
    space = K.space_indices(axes)
    k2 = np.zeros(tuple(axes[i].n for i in space))
    for j, i in enumerate(space):
        k = 2 * np.pi * np.fft.fftfreq(axes[i].n, d=axes[i].h)
        shape = [1] * len(space)
        shape[j] = axes[i].n
        k2 = k2 + k.reshape(shape) ** 2
    full = [1] * len(axes)
    for i in space:
        full[i] = axes[i].n
    phase = jnp.exp(-0.5j * dt * jnp.asarray(k2.reshape(full))).astype(u.dtype)

    def step(_: Any, v: jnp.ndarray) -> jnp.ndarray:
        return jnp.fft.ifftn(jnp.fft.fftn(v, axes=space) * phase, axes=space).astype(u.dtype)

    return jax.lax.fori_loop(0, steps, step, u)


@_partial(jax.jit, static_argnames=("axes", "method"))
def _schrodinger_rk4(
    u: jnp.ndarray, steps: jnp.ndarray, dt: jnp.ndarray, axes: tuple[AxisSpec, ...], method: str
) -> jnp.ndarray:
    rate = _rate(axes, method, 0.5j)
    h = dt.astype(u.real.dtype)

    def step(_: Any, v: jnp.ndarray) -> jnp.ndarray:
        k1 = rate(v)
        k2 = rate(v + (h / 2) * k1)
        k3 = rate(v + (h / 2) * k2)
        k4 = rate(v + h * k3)
        return v + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)

    return jax.lax.fori_loop(0, steps, step, u)


@_partial(jax.jit, static_argnames=("axes", "method"))
def _heat(u: jnp.ndarray, steps: jnp.ndarray, dt: jnp.ndarray, axes: tuple[AxisSpec, ...], method: str) -> jnp.ndarray:
    rate = _rate(axes, method, 1.0)
    h = dt.astype(u.real.dtype)
    return jax.lax.fori_loop(0, steps, lambda _, v: v + h * rate(v), u)


@_partial(jax.jit, static_argnames=("axes", "method"))
def _wave(
    u: jnp.ndarray, steps: jnp.ndarray, cdt2: jnp.ndarray, axes: tuple[AxisSpec, ...], method: str
) -> jnp.ndarray:
    rate = _rate(axes, method, 1.0)
    s = cdt2.astype(u.real.dtype)
    first = u + (s / 2) * rate(u)

    def step(_: Any, pair: tuple[jnp.ndarray, jnp.ndarray]) -> tuple[jnp.ndarray, jnp.ndarray]:
        prev, cur = pair
        return cur, 2 * cur - prev + s * rate(cur)

    _, last = jax.lax.fori_loop(1, steps, step, (u, first))
    return jnp.where(steps > 0, last, u)


def evolve(
    psi: Any,
    steps: int,
    dt: float,
    eq: str = "schrodinger",
    *,
    c: float = 1.0,
    method: str | None = None,
    grid: Grid | None = None,
    bc: BC = None,
) -> xr.DataArray:
    """The field after `steps` steps of size `dt` of `eq` (see the module docstring for the schemes).

    Raises `CodexValueError` for an unknown equation, a negative step count, or a dt past the limit.
    """
    if eq not in EQUATIONS:
        raise CodexValueError(
            f"Equation `{eq}` is unknown{did_you_mean(eq, EQUATIONS)}; use one of "
            f"{', '.join(f'`{e}`' for e in EQUATIONS)}."
        )
    if int(steps) != steps or steps < 0:
        raise CodexValueError(f"`steps` must be a whole number ≥ 0, got `{steps}`.")
    da, g = prepare(psi, grid, bc, "evolve")
    axes = K.axis_specs(g)
    space = K.space_indices(axes)
    if not space:
        raise CodexValueError("`evolve` needs a spatial axis; the field only has `t`.")
    periodic = all(axes[i].bc == "periodic" for i in space)
    if method is None:
        method = "spectral" if eq == "schrodinger" and periodic else "fd2"
    method = K.resolve_method(method)
    K.check_method(axes, space, method)
    limit = stability_limit(g, eq, method, c)
    if float(dt) <= 0 or float(dt) > limit:
        rule = {"heat": "h²/(2·ndim)", "wave": "h/(c·√ndim)", "schrodinger": "2√2/(λ/2)"}[eq]
        raise CodexValueError(
            f"`dt` = {float(dt):g} is outside the stable range of the explicit `{eq}` scheme with "
            f"`{method}` on this grid (0 < dt ≤ {limit:.6g}, i.e. {rule} for fd2); take `dt ≤ {limit:.6g}`."
        )
    u = K.as_array(da.values)
    n, step = jnp.asarray(int(steps)), jnp.asarray(float(dt))
    if eq == "schrodinger":
        u = u.astype(jnp.complex64 if u.dtype in (jnp.float32, jnp.complex64) else jnp.complex128)
        run = _schrodinger_spectral if method == "spectral" else _schrodinger_rk4
        out = run(u, n, step, axes, method)
    elif eq == "heat":
        out = _heat(u, n, step, axes, method)
    else:
        out = _wave(u, n, jnp.asarray((float(c) * float(dt)) ** 2), axes, method)
    attrs = {"eq": eq, "steps": int(steps), "dt": float(dt), "method": method}
    return make_result(out, da, g, attrs)
