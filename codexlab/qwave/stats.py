"""A field's beam statistics as JAX reductions: traced into the program that computes the field, or
compiled once per shape for a field that exists already.

`field_stats` gives what every beam records — min and max (of the real part, or of |z| for complex) and
Σ|z|² (the L2 norm before the cell volume) — with the definitions of `runtime.summary.summarize_array`,
in float64. `field_entropy` gives the Shannon entropy of p ∝ |ψ|² (|F|² summed over the leading
component axes) as `sqi.entropy.shannon_entropy` defines it; it takes a logarithm per point, the
costliest part, so it runs only for the fields SQI asks about.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ENTROPY_MIN_POINTS", "STAT_KEYS", "entropy_of", "field_entropy", "field_stats", "has_stats", "stats_of"]

#: The statistics `field_stats` returns, in order.
STAT_KEYS = ("min", "max", "sumsq")

#: Fields below this many points get their entropy from NumPy (`entropy_of`).
ENTROPY_MIN_POINTS = 1 << 14

#: Within these amplitudes |z|² log |z|² neither overflows nor underflows.
_SAFE = (1e-100, 1e100)


def _real(x: Any) -> Any:
    return (jnp.abs(x) if jnp.iscomplexobj(x) else x).astype(jnp.float64)


def field_stats(x: Any, grid_ndim: int) -> Any:
    """A float64 vector (min, max, Σ|z|²) of an array whose last `grid_ndim` axes are the grid."""
    real = _real(x)
    return jnp.stack([jnp.min(real), jnp.max(real), jnp.sum(real * real)])


def field_entropy(x: Any, grid_ndim: int) -> Any:
    """(H, moderate) in float64, in one pass: H = log Σq − Σ q log q / Σq with q = |z|² (summed over the
    leading component axes) is the entropy of p = q/Σq. It is valid when the largest amplitude is
    moderate (`_SAFE`); otherwise (a zero, huge, tiny or non-finite field) `moderate` is 0 and the caller
    computes it on the host, scaled (`sqi.entropy.shannon_entropy`) — rare, not worth a second pass."""
    real = _real(x)
    # Summing the components one by one stays elementwise, which XLA vectorizes; a `sum(axis=0)` feeding
    # further reductions ran 30× slower on the CPU.
    parts = real.reshape((-1, *real.shape[real.ndim - grid_ndim :]))
    q = parts[0] * parts[0]
    for k in range(1, parts.shape[0]):
        q = q + parts[k] * parts[k]
    top = jnp.max(jnp.abs(real))
    moderate = (top >= _SAFE[0]) & (top <= _SAFE[1])
    total = jnp.where(moderate, jnp.sum(q), 1.0)
    # 0·log 0 = 0 by clamping, which (unlike `where`) keeps the log vectorized on the CPU (7× here).
    qlogq = jnp.sum(q * jnp.log(jnp.maximum(q, jnp.finfo(jnp.float64).tiny)))
    return jnp.stack([jnp.log(total) - qlogq / total, moderate.astype(jnp.float64)])


def has_stats(x: Any, grid_ndim: int) -> bool:
    """Whether an array is a non-empty field on the grid (numbers and booleans get no statistics)."""
    return x.ndim >= max(grid_ndim, 1) and x.size > 0 and x.dtype != jnp.bool_


_field_stats = jax.jit(field_stats, static_argnums=1)
_field_entropy = jax.jit(field_entropy, static_argnums=1)


def stats_of(x: Any, grid_ndim: int) -> dict[str, float] | None:
    """`field_stats` of an array that is already computed (a loop's final value), by name, in one
    compiled pass; None for an empty array, a number or booleans."""
    if not has_stats(x, grid_ndim):
        return None
    return dict(zip(STAT_KEYS, map(float, jax.device_get(_field_stats(x, grid_ndim))), strict=True))


def entropy_of(x: Any, grid_ndim: int) -> float | None:
    """`field_entropy` of a computed array in one compiled pass; None where the host computes it: small
    fields (NumPy is faster than a dispatch there), extreme amplitudes (see there), what is not a field."""
    from .kernels import as_array

    if np.size(x) < ENTROPY_MIN_POINTS:
        return None
    x = as_array(x)  # an aligned NumPy field is aliased, not copied
    if not has_stats(x, grid_ndim):
        return None
    h, moderate = map(float, jax.device_get(_field_entropy(x, grid_ndim)))
    return h if moderate else None
