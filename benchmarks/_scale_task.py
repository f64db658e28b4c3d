"""The bare JAX function the scale benchmark runs as a plain Dask task beside a sweep point.

The same update as the benchmark's heat scroll (`u ← u + dt·Δu`, second-order stencil, Dirichlet walls,
`steps` times in one `lax.fori_loop`), then ‖u‖ — no parsing, beams, scores or store. A module of its
own so that workers import it (`client.upload_file`) and JAX's compile cache holds across tasks.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from codexlab.qwave.grid import Grid
from codexlab.qwave.kernels import axis_specs
from codexlab.qwave.stencils import Term, apply_terms


@functools.partial(jax.jit, static_argnames=("steps", "axes"))
def _evolve(u: jax.Array, dt: float, steps: int, axes: tuple) -> jax.Array:
    terms = tuple(Term(0, a, 2, 1.0) for a in range(len(axes)))
    return lax.fori_loop(0, steps, lambda _, v: v + dt * apply_terms([v], terms, axes, 2), u)


def heat_point(s: float, dt: float, n: int, steps: int) -> float:
    """‖u‖ after `steps` explicit Euler steps of the heat equation from a Gaussian of width `s`."""
    grid = Grid.from_spec([("x", -1, 1, n), ("y", -1, 1, n)], "dirichlet")
    X, Y = grid.mesh()
    u0 = jnp.asarray(np.exp(-(X**2 + Y**2) / (2 * s**2)))
    u = _evolve(u0, dt, steps, axis_specs(grid))
    return float(jnp.sqrt(jnp.sum(u * u) * grid.cell_volume))
