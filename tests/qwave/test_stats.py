"""`field_stats` and `field_entropy` (beam statistics in compiled JAX) against NumPy's summary and entropy."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import xarray as xr

from codexlab.qwave.stats import ENTROPY_MIN_POINTS, STAT_KEYS, entropy_of, field_entropy, field_stats, stats_of
from codexlab.sqi.entropy import shannon_entropy

RNG = np.random.default_rng(7)
BASE = RNG.standard_normal((160, 128))  # above ENTROPY_MIN_POINTS, so the compiled pass runs


def _stats(arr: np.ndarray) -> dict[str, float]:
    return dict(zip(STAT_KEYS, map(float, jax.jit(lambda a: field_stats(a, 2))(arr)), strict=True))


@pytest.mark.parametrize(
    "arr",
    [BASE, BASE.astype(np.float32), BASE + 1j * RNG.standard_normal(BASE.shape), np.stack([BASE, 3 * BASE**2])],
    ids=["f64", "f32", "c128", "vector"],
)
def test_stats_and_entropy_agree_with_numpy(arr):
    got = _stats(arr)
    assert got == stats_of(arr, 2)
    real = np.abs(arr).astype(np.float64) if np.iscomplexobj(arr) else arr.astype(np.float64)
    assert got["min"] == real.min() and got["max"] == real.max()
    assert np.isclose(got["sumsq"], np.sum(real**2), rtol=1e-12)
    dims = (["component"] if arr.ndim == 3 else []) + ["x", "y"]
    h = entropy_of(arr, 2)
    assert h is not None and np.isclose(h, shannon_entropy(xr.DataArray(arr, dims=dims)), rtol=1e-12)
    # independently: −Σ p log p with p ∝ |ψ|² summed over components
    p = np.sum(real.reshape(-1, *arr.shape[-2:]) ** 2, axis=0).ravel()
    p = p / p.sum()
    assert np.isclose(h, -np.sum(p * np.log(p)), rtol=1e-10)


@pytest.mark.parametrize("scale", [0.0, 1e-200, 1e200, np.inf, np.nan])
def test_extreme_fields_leave_the_entropy_to_the_host(scale):
    arr = BASE * scale if np.isfinite(scale) and scale != 0 else np.full(BASE.shape, scale)
    assert float(jax.jit(lambda a: field_entropy(a, 2))(arr)[1]) == 0.0
    assert entropy_of(arr, 2) is None  # the caller computes it on the host (scaled)


def test_numbers_empty_arrays_and_small_fields_leave_it_to_the_host():
    assert stats_of(np.float64(3.0), 2) is None and entropy_of(np.zeros((0, 4)), 2) is None
    small = BASE[:64, :64]
    assert small.size < ENTROPY_MIN_POINTS and entropy_of(small, 2) is None
