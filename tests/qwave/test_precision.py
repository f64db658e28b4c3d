"""Precision formats, profiling, the κ·ε error model and format recommendations, against NumPy references."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import codexlab.qwave  # noqa: F401  (enables float64 in JAX)
from codexlab.contracts.qfc import QfcUpdate
from codexlab.errors import CodexValueError
from codexlab.qwave.grid import Grid
from codexlab.qwave.precision import (
    ALL_FORMATS,
    FORMATS,
    KAPPA_FLOOR,
    KappaTable,
    PrecisionProfiler,
    as_grid,
    builtin_ops,
    dequantize,
    derivative_order,
    formats_by_cost,
    get_format,
    grid_spacing,
    measure_kappa,
    quantize,
    recommend_precision_for_opcode,
    reference_inputs,
    register_reference_kernel,
    rel_l2,
    run_in_format,
)
from codexlab.qwave.precision import kappa as kappa_mod

# ------------------------------------------------------------------------------ reference kernels


def laplacian(h: float):
    """Periodic 5-point Laplacian (u₋ₓ + u₊ₓ + u₋ᵧ + u₊ᵧ − 4u)/h², computed in the inputs' dtype."""

    def kernel(u):
        neighbours = jnp.roll(u, 1, 0) + jnp.roll(u, -1, 0) + jnp.roll(u, 1, 1) + jnp.roll(u, -1, 1)
        return (neighbours - 4 * u) / h**2

    return kernel


def square(u):
    return u * u


def superpose(dA: float):
    """⊕: the normalized sum (a + b) / ‖a + b‖ with ‖s‖² = Σ|s|²·ΔA."""

    def kernel(a, b):
        s = a + b
        return s / jnp.sqrt(jnp.sum(jnp.abs(s) ** 2) * dA)

    return kernel


def gaussian(n: int, sigma: float = 0.2) -> np.ndarray:
    x = -1 + 2 / n * np.arange(n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    return np.exp(-(X**2 + Y**2) / (2 * sigma**2))


def states(n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Two normalized complex Gaussian wave packets on [−1, 1]² and the cell area."""
    x = -1 + 2 / n * np.arange(n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    dA = (2 / n) ** 2
    a = np.exp(-((X - 0.1) ** 2 + Y**2) / (2 * 0.2**2)) * np.exp(1j * 6 * X)
    b = np.exp(-((X + 0.2) ** 2 + (Y - 0.1) ** 2) / (2 * 0.25**2)) * np.exp(-1j * 4 * Y)
    norm = lambda s: s / np.sqrt(np.sum(np.abs(s) ** 2) * dA)  # noqa: E731
    return norm(a), norm(b), dA


@pytest.fixture(scope="module")
def lap_profiles() -> dict[int, PrecisionProfiler]:
    """Δ of a Gaussian profiled in every format at 64², 128², 256²."""
    out = {}
    for n in (64, 128, 256):
        p = PrecisionProfiler()
        p.profile("Δ", laplacian(2 / n), [gaussian(n)], grid=(n, n))
        out[n] = p
    return out


@pytest.fixture(scope="module")
def pointwise() -> PrecisionProfiler:
    """u² and ⊕ profiled in every format at 256²."""
    p = PrecisionProfiler()
    p.profile("u²", square, [gaussian(256)], grid=(256, 256))
    a, b, dA = states(256)
    p.profile("⊕", superpose(dA), [a, b], grid=(256, 256))
    return p


def err(p: PrecisionProfiler, op: str, fmt: str) -> float:
    stats = p.stats(op, fmt)
    assert stats is not None
    return float(stats["mean_rel_err"])


# ------------------------------------------------------------------------------------------ formats


def test_registry_matches_ml_dtypes() -> None:
    assert set(FORMATS) == {"fp64", "fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int8"}
    for f in FORMATS.values():
        assert f.eps == 2.0 ** (1 - f.mantissa_bits)
        if f.name == "int8":
            assert f.eps == 1 / 128 and f.max_finite == 127 and f.bits == 8
            continue
        info = ml_dtypes.finfo(f.dtype)
        assert f.eps == float(info.eps)
        assert f.bits == info.bits
        assert f.max_finite == float(info.max)
    assert [f.name for f in FORMATS.values() if f.scaled] == ["fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int8"]


def test_cost_order_is_bits_then_native_then_precision() -> None:
    order = [f.name for f in formats_by_cost()]
    assert order == ["fp4_e2m1", "int8", "fp8_e4m3", "fp8_e5m2", "fp16", "bf16", "fp32", "fp64"]


def test_format_lookup_aliases_and_did_you_mean() -> None:
    assert get_format("float32").name == "fp32"
    assert get_format("FP8").name == "fp8_e4m3"
    assert get_format("bfloat16").name == "bf16"
    assert get_format(FORMATS["int8"]) is FORMATS["int8"]
    with pytest.raises(CodexValueError, match=r"format `fp9_e4m3` is unknown \(did you mean `fp8_e4m3`\?\)"):
        get_format("fp9_e4m3")
    with pytest.raises(CodexValueError, match=r"Scaling `blok32` is unknown \(did you mean `block32`\?\)"):
        quantize(np.ones(3), "int8", scaling="blok32")


@pytest.mark.parametrize("name", ["fp32", "fp16", "bf16"])
def test_unscaled_quantize_is_a_cast(name: str) -> None:
    x = np.random.default_rng(0).normal(size=(7, 5)) * 10
    q, scale = quantize(x, name)
    dtype = {"fp32": np.float32, "fp16": np.float16, "bf16": ml_dtypes.bfloat16}[name]
    assert q.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(dequantize(q, scale), x.astype(dtype).astype(np.float64))


@pytest.mark.parametrize("name", ["fp8_e4m3", "fp8_e5m2", "fp4_e2m1"])
@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 80), elements=st.floats(-1e6, 1e6, allow_subnormal=False)))
def test_scaled_float_round_trip_matches_ml_dtypes(name: str, x: np.ndarray) -> None:
    dtype = {
        "fp8_e4m3": ml_dtypes.float8_e4m3fn,
        "fp8_e5m2": ml_dtypes.float8_e5m2,
        "fp4_e2m1": ml_dtypes.float4_e2m1fn,
    }[name]
    info = ml_dtypes.finfo(dtype)
    amax = np.abs(x).max()
    s = amax / float(info.max) if amax > 0 else 1.0
    y = x / amax * float(info.max) if amax > 0 else x
    expected = y.astype(dtype).astype(np.float64) * s
    q, scale = quantize(x, name)
    assert q.dtype == np.dtype(dtype)
    back = dequantize(q, scale)
    np.testing.assert_allclose(back, expected, rtol=1e-12, atol=0)
    # Round to nearest: relative error ≤ ε/2 wherever x/s is in the normal range.
    normal = np.abs(y) >= float(info.smallest_normal)
    assert np.all(np.abs(back - x)[normal] <= float(info.eps) / 2 * np.abs(x)[normal] * (1 + 1e-12))


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 200), elements=st.floats(-1e3, 1e3)))
def test_int8_amax_scaling_error_bound(x: np.ndarray) -> None:
    q, scale = quantize(x, "int8")
    assert q.dtype == np.int8 and np.all(np.abs(q.astype(int)) <= 127)
    amax = np.abs(x).max()
    if amax > 0:
        np.testing.assert_array_equal(q, np.round(x / amax * 127).astype(np.int8))
    assert np.all(np.abs(dequantize(q, scale) - x) <= amax / 254 * (1 + 1e-9) + 1e-300)


def test_block32_scales_each_block_by_its_own_amax() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 21)) * np.logspace(-3, 3, 105).reshape(5, 21)  # 105 values: 4 blocks, last short
    q, scale = quantize(x, "int8", scaling="block32")
    assert q.shape == x.shape and scale.values.shape == (4,)
    flat = x.reshape(-1)
    for k in range(4):
        block = flat[32 * k : 32 * (k + 1)]
        assert scale.values[k] == pytest.approx(np.abs(block).max() / 127, rel=1e-15)
        back = dequantize(q, scale).reshape(-1)[32 * k : 32 * (k + 1)]
        assert np.all(np.abs(back - block) <= np.abs(block).max() / 254 * (1 + 1e-9))
    tensor_err = rel_l2(dequantize(*quantize(x, "int8")), x)
    assert rel_l2(dequantize(q, scale), x) < tensor_err


def test_complex_values_are_stored_as_parts() -> None:
    z = np.array([[1 + 2j, -0.5j], [3.0, 0.25 - 1j]])
    q, scale = quantize(z, "fp8_e4m3")
    assert q.shape == (2, 2, 2) and scale.complex_parts
    back = dequantize(q, scale)
    assert back.dtype == np.complex128
    s = 3.0 / 448
    parts = np.stack([z.real, z.imag], -1)
    expected = (parts / 3.0 * 448).astype(ml_dtypes.float8_e4m3fn).astype(np.float64) * s
    np.testing.assert_allclose(back, expected[..., 0] + 1j * expected[..., 1], rtol=1e-12)


def test_zeros_stay_zero_and_non_finite_is_refused() -> None:
    q, scale = quantize(np.zeros(40), "fp4_e2m1", scaling="block32")
    assert np.all(dequantize(q, scale) == 0)
    with pytest.raises(CodexValueError, match=r"Format `int8` scales by amax.* 1 non-finite entries"):
        quantize(np.array([1.0, np.inf]), "int8")


# ------------------------------------------------------------------------------------ run_in_format


def test_fp16_and_bf16_compute_in_their_dtype() -> None:
    u = np.random.default_rng(2).uniform(-2, 2, size=300)
    kernel = lambda v: v * v + 0.1 * v  # noqa: E731
    for name, dtype in (("fp16", np.float16), ("bf16", ml_dtypes.bfloat16)):
        ud = u.astype(dtype)
        # NumPy (and ml_dtypes) round every operation's result to the dtype, as JAX does.
        expected = (ud * ud + dtype(0.1) * ud).astype(np.float64)
        out = run_in_format(kernel, [u], name)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, expected)


def test_emulated_formats_dequantize_compute_in_fp32_quantize() -> None:
    u = gaussian(32)
    out = run_in_format(square, u, "fp8_e5m2")
    e5m2 = ml_dtypes.float8_e5m2
    ud = ((u / u.max() * 57344).astype(e5m2).astype(np.float64) * (u.max() / 57344)).astype(np.float32)
    y = (ud * ud).astype(np.float64)
    expected = (y / y.max() * 57344).astype(e5m2).astype(np.float64) * (y.max() / 57344)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_complex_inputs_in_half_precision_round_parts() -> None:
    a, b, dA = states(32)
    out = run_in_format(superpose(dA), [a, b], "fp16")
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out.real, out.real.astype(np.float16).astype(np.float64))
    np.testing.assert_array_equal(out.imag, out.imag.astype(np.float16).astype(np.float64))
    ref = run_in_format(superpose(dA), [a, b], "fp64")
    assert 1e-5 < rel_l2(out, ref) < 1e-2


# ------------------------------------------------------------------------------- Laplacian and κ


def test_reference_laplacian_matches_the_analytic_one() -> None:
    n, sigma = 256, 0.2
    x = -1 + 2 / n * np.arange(n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    r2 = X**2 + Y**2
    exact = (r2 / sigma**4 - 2 / sigma**2) * np.exp(-r2 / (2 * sigma**2))
    assert rel_l2(run_in_format(laplacian(2 / n), gaussian(n), "fp64"), exact) < 1e-2


def test_fp32_laplacian_error_and_kappa_at_256(lap_profiles: dict[int, PrecisionProfiler]) -> None:
    p = lap_profiles[256]
    e32 = err(p, "Δ", "fp32")
    assert 3e-5 < e32 < 3e-4  # PERFORMANCE.md: 8.6e-5
    kappa = p.kappa.measured("Δ")[2 / 256]
    assert kappa == pytest.approx(e32 / 2.0**-23)
    assert 800 / 3 < kappa < 800 * 3


def test_float_formats_follow_kappa_eps(lap_profiles: dict[int, PrecisionProfiler]) -> None:
    p = lap_profiles[256]
    kappa = p.kappa.measured("Δ")[2 / 256]
    for name in ("fp16", "bf16", "fp8_e4m3", "fp8_e5m2"):
        assert 1 / 3 < err(p, "Δ", name) / (kappa * FORMATS[name].eps) < 3, name
    assert err(p, "Δ", "fp32") < err(p, "Δ", "fp16") < err(p, "Δ", "bf16") < err(p, "Δ", "fp8_e4m3")
    assert 5 < err(p, "Δ", "int8") < 50  # PERFORMANCE.md: 14 with amax scaling


def test_kappa_of_laplacian_grows_4x_when_h_halves(lap_profiles: dict[int, PrecisionProfiler]) -> None:
    k = {n: lap_profiles[n].kappa.measured("Δ")[2 / n] for n in (64, 128, 256)}
    assert 3 <= k[128] / k[64] <= 5
    assert 3 <= k[256] / k[128] <= 5


def test_kappa_extrapolates_to_a_finer_grid(lap_profiles: dict[int, PrecisionProfiler]) -> None:
    table = KappaTable()
    for n in (64, 128):
        table.add("lap", 2 / n, lap_profiles[n].kappa.measured("Δ")[2 / n])
    est = table.lookup("Δ", 2 / 256)
    assert est is not None and est.method == "extrapolated" and est.source_h == 2 / 128
    assert est.kappa == pytest.approx(lap_profiles[256].kappa.measured("Δ")[2 / 256], rel=0.2)


def test_kappa_table_power_laws() -> None:
    table = KappaTable()
    table.add("Δ", 0.01, 4.0)
    table.add("Δ", 0.04, 4.0 / 16)
    assert table.lookup("Δ", 0.02).kappa == pytest.approx(1.0)
    assert table.lookup("Δ", 0.02).method == "interpolated"
    assert table.lookup("Δ", 0.005).kappa == pytest.approx(16.0)
    table.add("∇", 0.01, 3.0)
    assert table.lookup("grad", 0.005).kappa == pytest.approx(6.0)
    table.add("⊕", 0.01, 0.7)
    assert table.lookup("superpose", 1e-4).kappa == pytest.approx(0.7)
    table.add("mystery", 0.01, 5.0)
    table.add("mystery", 0.04, 20.0)
    est = table.lookup("mystery", 1.0)
    assert (est.kappa, est.method, est.source_h) == (20.0, "nearest", 0.04)
    assert table.lookup("mystery", 0.02).kappa == pytest.approx(10.0)  # log-log between the two
    assert table.lookup("∂y", 0.01) is None
    assert derivative_order("Δ") == 2 and derivative_order("∂x") == 1 and derivative_order("⊕") == 0
    assert derivative_order("lap") == 2 and derivative_order("warp") is None  # aliases from the specs
    with pytest.raises(CodexValueError, match=r"κ for `Δ` must be a positive finite number"):
        table.add("Δ", 0.01, float("nan"))


def test_measure_kappa_stores_in_the_table() -> None:
    table = KappaTable()
    n = 128
    kappa = measure_kappa("Δ", laplacian(2 / n), [gaussian(n)], 2 / n, table=table)
    assert table.measured("Δ") == {2 / n: kappa}
    assert 50 < kappa < 500


# ------------------------------------------------------------------------------------------- profiler


def test_pointwise_errors(pointwise: PrecisionProfiler) -> None:
    for name in ("fp8_e4m3", "fp8_e5m2"):
        assert 0.01 <= err(pointwise, "u²", name) <= 0.2
    assert err(pointwise, "u²", "int8") < 0.02
    assert err(pointwise, "u²", "fp32") < 1e-6
    assert err(pointwise, "⊕", "fp16") < 1e-3


def test_record_accumulates_means() -> None:
    p = PrecisionProfiler()
    p.record("Δ", "fp16", ms=1.0, abs_err=0.1, rel_err=0.2, h=0.01)
    p.record("lap", "float16", ms=3.0, abs_err=0.3, rel_err=0.4, h=0.02)
    assert p.stats("Δ", "fp16") == pytest.approx(
        {"count": 2, "mean_ms": 2.0, "mean_abs_err": 0.2, "mean_rel_err": 0.3, "nonfinite": 0}
    )
    assert p.measured_rel_err("Δ", "fp16", 0.01) == (pytest.approx(0.2), 0.01)
    assert p.measured_rel_err("Δ", "fp16", 0.005) == (pytest.approx(0.8), 0.01)  # 0.2 · (0.01/0.005)²
    assert p.stats("Δ", "fp32") is None


def test_profile_records_table_and_payload() -> None:
    p = PrecisionProfiler()
    records = p.profile("u²", square, gaussian(32), formats=["fp64", "fp32", "int8"])
    assert [r.format for r in records] == ["fp64", "fp32", "int8"]
    assert records[0].rel_err == 0 and records[0].h is None
    assert "u²" not in p.kappa  # no grid, no spacing, no κ
    p.profile("big", lambda u: u * 1e5, gaussian(32), formats=["fp16"])
    df = p.table()
    assert df.columns == ["op", "format", "bits", "count", "mean_ms", "mean_abs_err", "mean_rel_err", "nonfinite"]
    assert df.height == 4 and p.table(as_dicts=True)[2]["format"] == "int8"
    payload = p.as_payload("lab1")
    json.dumps(payload, allow_nan=False)
    assert payload["kind"] == "qpu_precision_profile" and payload["container_id"] == "lab1"
    assert set(payload["ops"]["u²"]) == {"fp64", "fp32", "int8"}
    assert payload["ops"]["big"]["fp16"]["mean_rel_err"] is None
    assert payload["ops"]["big"]["fp16"]["nonfinite"] == 1
    assert QfcUpdate(source="container::lab1", payload=payload).kind == "qpu_precision_profile"


def test_block32_profiler_beats_tensor_scaling_on_int8() -> None:
    u = gaussian(128)
    tensor, block = PrecisionProfiler(), PrecisionProfiler(scaling="block32")
    for p in (tensor, block):
        p.profile("u²", square, [u], formats=["int8"], grid=(128, 128))
    assert err(block, "u²", "int8") < err(tensor, "u²", "int8")
    with pytest.raises(CodexValueError, match=r"Scaling `row` is unknown"):
        PrecisionProfiler(scaling="row")


# ------------------------------------------------------------------------------------ recommendation


def test_laplacian_at_256_with_tol_1e3_needs_fp32(lap_profiles: dict[int, PrecisionProfiler]) -> None:
    p = lap_profiles[256]
    passing = {f for f in ALL_FORMATS if err(p, "Δ", f) <= 1e-3}
    assert passing == {"fp32", "fp64"}
    for kwargs in ({"profiler": p}, {"kappa": p.kappa}):
        rec = recommend_precision_for_opcode("Δ", tol=1e-3, grid=(256, 256), **kwargs)
        assert rec.format == "fp32" and rec.source == "predicted"
        assert rec.predicted_rel_err == pytest.approx(rec.kappa * 2.0**-23)
        assert re.match(r"fp32: κ≈\d{3} for `Δ` at h=0\.0078 predicts \d\.\de-05 ≤ tol 0\.001; ", rec.reason)
        assert rec.reason.endswith(f"≤ tol 0.001; fp16 would give {rec.kappa * 2.0**-10:.2g}.")


@pytest.mark.parametrize("use_profile", [True, False])
def test_pointwise_gets_a_cheaper_format(pointwise: PrecisionProfiler, use_profile: bool) -> None:
    kwargs = {"profiler": pointwise} if use_profile else {"kappa": pointwise.kappa}
    rec = recommend_precision_for_opcode("u²", tol=0.05, grid=(256, 256), **kwargs)
    chosen = FORMATS[rec.format]
    assert chosen.bits <= 8
    assert err(pointwise, "u²", rec.format) <= 0.05
    cheaper = [f.name for f in FORMATS.values() if f.bits < chosen.bits]
    assert cheaper and all(err(pointwise, "u²", f) > 0.05 for f in cheaper)
    assert rec.source == ("measured" if use_profile else "predicted")


@pytest.mark.parametrize(
    ("op", "tol"), [("Δ", 1e-3), ("Δ", 1.0), ("Δ", 10.0), ("⊕", 0.005), ("⊕", 0.05), ("⊕", 0.2), ("u²", 0.15)]
)
def test_recommended_format_meets_tol_when_measured(
    lap_profiles: dict[int, PrecisionProfiler], pointwise: PrecisionProfiler, op: str, tol: float
) -> None:
    p = lap_profiles[256] if op == "Δ" else pointwise
    rec = recommend_precision_for_opcode(op, tol=tol, grid=(256, 256), profiler=p)
    assert err(p, op, rec.format) <= tol
    assert rec.format != "fp64"
    assert [c.format for c in rec.candidates] == [f.name for f in formats_by_cost()]


def test_grid_forms_and_spacing() -> None:
    assert grid_spacing(None) == 2 / 128
    assert grid_spacing((64, 32)) == 2 / 64
    dirichlet = Grid.from_spec([("x", 0.0, 1.0, 101)], bc="dirichlet")
    assert grid_spacing(dirichlet) == pytest.approx(0.01)
    table = KappaTable()
    table.add("Δ", 2 / 128, 175.0)
    rec = recommend_precision_for_opcode("Δ", tol=1e-3, kappa=table)
    assert rec.h == 2 / 128 and rec.kappa == 175.0
    rec = recommend_precision_for_opcode("Δ", tol=1e-3, grid=(512, 512), kappa=table)
    assert rec.kappa == pytest.approx(175.0 * 16)  # h/4: κ ∝ h^−2
    assert "(κ extrapolated from h=0.016)" in rec.reason
    with pytest.raises(CodexValueError, match=r"Grid shape `\(0.5,\)` is not 1 to 4 integer point counts"):
        grid_spacing((0.5,))


def test_no_format_meets_an_impossible_tol() -> None:
    table = KappaTable()
    table.add("Δ", 2 / 128, 175.0)
    rec = recommend_precision_for_opcode("Δ", tol=1e-15, kappa=table)
    assert rec.format == "fp64"
    assert rec.reason.startswith("fp64: no format meets tol 1e-15 for `Δ`")
    assert rec.reason.endswith("use a coarser grid or a looser tolerance.")
    with pytest.raises(CodexValueError, match=r"The tolerance `tol=-1` must be a positive finite number"):
        recommend_precision_for_opcode("Δ", tol=-1, kappa=table)


def test_unknown_op_without_kernel_says_how_to_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kappa_mod, "_REFERENCE_KERNELS", {})
    message = r"No κ is known for `warp` and no reference kernel is registered; profile it with `Precision"
    with pytest.raises(CodexValueError, match=message):
        recommend_precision_for_opcode("warp", grid=(64, 64), kappa=KappaTable())


# A fresh process: no κ in memory, no registered kernel; every op known to the error model is recommended
# with its built-in kernel. Prints op, κ and format per line; with MEASURE=0 measuring is forbidden.
_FRESH = """
import os, sys
from codexlab.qwave.grid import Grid
from codexlab.qwave.precision import builtin_ops, recommend_precision_for_opcode
from codexlab.qwave.precision import references
if os.environ["MEASURE"] == "0":
    def refuse(*args, **kwargs):
        raise AssertionError("κ was measured again instead of read from the cache")
    references.measure_kappa = refuse
timed = Grid.from_spec([("x", -1.0, 1.0, 64), ("t", 0.0, 1.0, 64)])
for op in builtin_ops():
    grid = timed if op in ("□", "d/dt", "∂t") else (16, 16, 16) if op == "∂z" else (64, 64)
    rec = recommend_precision_for_opcode(op, tol=1e-3, grid=grid)
    print(op, repr(rec.kappa), rec.format)
"""


def _fresh(cache: Path, measure: bool) -> dict[str, tuple[float, str]]:
    env = {**os.environ, "CODEXLAB_CACHE_DIR": str(cache), "MEASURE": "1" if measure else "0"}
    out = subprocess.run([sys.executable, "-c", _FRESH], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.rsplit(" ", 2) for line in out.stdout.splitlines()]
    return {op: (float(k), fmt) for op, k, fmt in rows}


@pytest.mark.slow
def test_every_op_is_recommended_in_a_fresh_process_and_kappa_is_cached(tmp_path: Path) -> None:
    first = _fresh(tmp_path, measure=True)
    assert set(first) == set(builtin_ops())
    assert all(k >= KAPPA_FLOOR and fmt in FORMATS for k, fmt in first.values())
    # Δ on 64²: κ from an independent NumPy/JAX 5-point Laplacian, measured the same way (fp32 vs fp64)
    h = 2 / 64
    expected = measure_kappa("Δ", laplacian(h), reference_inputs((64, 64)), h, table=KappaTable())
    assert 0.5 < first["Δ"][0] / expected < 2
    assert first["Δ"][1] == "fp32" and first["+"][0] < 2  # rounding a sum once: κ ≈ ½…1
    assert json.loads((tmp_path / "kappa" / "kappa.json").read_text())  # stored for the next process
    assert _fresh(tmp_path, measure=False) == first  # read back, not measured again


def test_builtin_laplacian_kappa_grows_as_h_to_the_minus_2() -> None:
    from codexlab.qwave.precision import builtin_kappa

    table = KappaTable()
    coarse = builtin_kappa("Δ", as_grid((64, 64)), 2 / 64, table)
    fine = builtin_kappa("Δ", as_grid((128, 128)), 2 / 128, table)
    assert coarse is not None and fine is not None
    assert 2.5 < fine / coarse < 6  # ≈ 4 when h halves
    assert table.measured("Δ") == {2 / 128: pytest.approx(fine), 2 / 64: pytest.approx(coarse)}
    assert builtin_kappa("warp", as_grid((8, 8)), 0.25, table) is None


def test_registered_reference_kernel_measures_kappa(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kappa_mod, "_REFERENCE_KERNELS", {})

    def lap(u, *, grid):
        return laplacian(grid_spacing(grid))(u)

    register_reference_kernel("lap", lap)
    with pytest.raises(CodexValueError, match=r"Op `Δ` already has a reference kernel; pass `override=True`"):
        register_reference_kernel("Δ", lap)
    table = KappaTable()
    rec = recommend_precision_for_opcode("Δ", tol=1e-3, grid=(128, 128), kappa=table)
    inputs = reference_inputs((128, 128))
    expected = measure_kappa("Δ", laplacian(2 / 128), inputs, 2 / 128, table=KappaTable())
    assert rec.format == "fp32"
    assert rec.kappa == pytest.approx(expected) and table.measured("Δ") == {2 / 128: pytest.approx(expected)}
    assert math.isclose(rec.h, 2 / 128)
