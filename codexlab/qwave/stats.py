"""A field's beam statistics as JAX reductions, traced into the program that computes the field.

One pass over the result gives what a beam records:
min and max (of the real part, or of |z| for complex), Σ|z|² (the L2 norm before the cell volume) and
the Shannon entropy of p ∝ |ψ|² (|F|² summed over the leading component axes), with the same
definitions as `runtime.summary.summarize_array` and `sqi.entropy.shannon_entropy`, in float64.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["STAT_KEYS", "field_stats", "stats_of"]

#: The statistics `field_stats` returns, in order (`moderate`: 1.0 when `entropy` is valid, see there).
STAT_KEYS = ("min", "max", "sumsq", "entropy", "moderate")

#: Within these amplitudes |z|² log |z|² neither overflows nor underflows.
_SAFE = (1e-100, 1e100)


def field_stats(x: Any, grid_ndim: int) -> Any:
    """A float64 vector (min, max, Σ|z|², entropy, moderate) of an array whose last `grid_ndim` axes are
    the grid, in one pass: H = log Σq − Σ q log q / Σq with q = |z|² (summed over the leading component
    axes) is the entropy of p = q/Σq. It is valid when the largest amplitude is moderate (`_SAFE`);
    otherwise (a zero, huge, tiny or non-finite field) `moderate` is 0 and the caller computes the
    entropy on the host, scaled (`sqi.entropy.shannon_entropy`) — rare, and not worth a second pass here.
    """
    real = jnp.abs(x) if jnp.iscomplexobj(x) else x
    real = real.astype(jnp.float64)
    # Summing the components one by one stays elementwise, which XLA vectorizes; a `sum(axis=0)` feeding
    # further reductions ran 30× slower on the CPU.
    q = None
    for part in real.reshape((-1, *real.shape[real.ndim - grid_ndim :])):
        q = part * part if q is None else q + part * part
    lo, hi, sumsq = jnp.min(real), jnp.max(real), jnp.sum(q)
    top = jnp.maximum(hi, -lo)
    moderate = (top >= _SAFE[0]) & (top <= _SAFE[1])
    total = jnp.where(moderate, sumsq, 1.0)
    # 0·log 0 = 0 by clamping, which (unlike `where`) keeps the log vectorized on the CPU (7× here).
    qlogq = jnp.sum(q * jnp.log(jnp.maximum(q, jnp.finfo(jnp.float64).tiny)))
    entropy = jnp.log(total) - qlogq / total
    return jnp.stack([lo, hi, sumsq, entropy, moderate.astype(jnp.float64)])


_field_stats = jax.jit(field_stats, static_argnums=1)


def stats_of(x: Any, grid_ndim: int) -> dict[str, float] | None:
    """`field_stats` of an array that is already computed (a loop's final value), by name, in one
    compiled pass; None for an empty array, a number or booleans."""
    if x.ndim < max(grid_ndim, 1) or x.size == 0 or x.dtype == jnp.bool_:
        return None
    return dict(zip(STAT_KEYS, map(float, jax.device_get(_field_stats(x, grid_ndim))), strict=True))
