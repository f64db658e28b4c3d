"""Backend registry and conformance: every registered backend of an op agrees with NumPy references."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import pytest

from codexlab.errors import BackendError
from codexlab.qwave import backends
from codexlab.qwave import kernels as K
from codexlab.qwave.grid import Grid

SHAPES = [(17,), (12, 9), (6, 7, 8)]
BCS = ["periodic", "dirichlet", "neumann"]


def ghosted(u: np.ndarray, axis: int, bc: str) -> np.ndarray:
    """u with one ghost layer per side along axis, by the documented conventions (NumPy reference)."""
    if bc == "periodic":
        return np.pad(u, [(1, 1) if a == axis else (0, 0) for a in range(u.ndim)], mode="wrap")
    lo = np.take(u, [1], axis)
    hi = np.take(u, [u.shape[axis] - 2], axis)
    if bc == "dirichlet":
        lo = 2 * np.take(u, [0], axis) - lo
        hi = 2 * np.take(u, [u.shape[axis] - 1], axis) - hi
    return np.concatenate([lo, u, hi], axis=axis)


def numpy_second_sum(u: np.ndarray, grid: Grid, scales: tuple[float, ...]) -> np.ndarray:
    out = np.zeros_like(u)
    for a, (ax, s) in enumerate(zip(grid.axes, scales, strict=True)):
        p = ghosted(u, a, ax.bc)
        n = u.shape[a]
        lo, mid, hi = (np.take(p, range(k, k + n), a) for k in (0, 1, 2))
        out = out + s * ((lo - 2 * mid) + hi) / ax.spacing**2
    return out


def conformance_cases() -> list[Any]:
    """Every backend of Δ and □ that runs on this machine's JAX device."""
    device = jax.default_backend()
    cases = []
    for op in ("lap", "dalembert"):
        for name, b in backends.backends_for(op).items():
            if device in b.devices:
                cases.append(pytest.param(op, name, id=f"{op}-{name}"))
    return cases


@pytest.mark.parametrize(("op", "backend"), conformance_cases())
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("bc", BCS)
def test_second_derivative_backends_conform(op: str, backend: str, shape: tuple[int, ...], bc: str) -> None:
    names = "xyz"[: len(shape)] if op == "lap" else ["t", "xt", "xyt"][len(shape) - 1]
    spec = [(n, 0.0, 1.0 + i, k) for i, (n, k) in enumerate(zip(names, shape, strict=True))]
    grid = Grid.from_spec(spec, bc)
    axes = K.axis_specs(grid)
    rng = np.random.default_rng(len(shape))
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 2e-5), (np.complex128, 1e-12)):
        u = rng.standard_normal(shape).astype(dtype)
        if dtype == np.complex128:
            u = u + 1j * rng.standard_normal(shape)
        if op == "lap":
            out = K.lap(u, axes, backend=backend)
            scales = K.second_sum_scales(axes, "lap")
        else:
            out = K.dalembert(u, axes, c=1.5, backend=backend)
            scales = K.second_sum_scales(axes, "dalembert", 1.5)
        wide = u.astype(np.complex128 if dtype == np.complex128 else np.float64)
        ref = numpy_second_sum(wide, grid, scales)
        out = np.asarray(out)
        assert out.dtype == dtype
        assert np.max(np.abs(out - ref)) <= rtol * np.max(np.abs(ref))


def numpy_d1(u: np.ndarray, grid: Grid, axis: int) -> np.ndarray:
    p = ghosted(u, axis, grid.axes[axis].bc)
    n = u.shape[axis]
    return (np.take(p, range(2, n + 2), axis) - np.take(p, range(0, n), axis)) / (2 * grid.spacing[axis])


def first_cases() -> list[Any]:
    device = jax.default_backend()
    return [
        pytest.param(op, name, id=f"{op}-{name}")
        for op in ("grad", "div", "curl", "partial")
        for name, b in backends.backends_for(op).items()
        if device in b.devices
    ]


@pytest.mark.parametrize(("op", "backend"), first_cases())
@pytest.mark.parametrize("bc", BCS)
def test_first_derivative_backends_conform(op: str, backend: str, bc: str) -> None:
    grid = Grid.from_spec([("x", 0.0, 1.0, 11), ("y", 0.0, 2.0, 9)], bc)
    axes = K.axis_specs(grid)
    rng = np.random.default_rng(4)
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 2e-5), (np.complex128, 1e-12)):
        F = rng.standard_normal((2, 11, 9)).astype(dtype)
        if dtype == np.complex128:
            F = F + 1j * rng.standard_normal(F.shape)
        wide = F.astype(np.complex128 if dtype == np.complex128 else np.float64)
        d = [[numpy_d1(wide[i], grid, a) for a in range(2)] for i in range(2)]
        if op == "grad":
            out, ref = K.grad(F[0], axes, backend=backend), np.stack(d[0])
        elif op == "div":
            out, ref = K.div(F, axes, backend=backend), d[0][0] + d[1][1]
        elif op == "curl":
            out, ref = K.curl(F, axes, backend=backend), d[1][0] - d[0][1]
        else:
            out, ref = K.derivative(F[1], axes, 1, backend=backend), d[1][1]
        out = np.asarray(out)
        assert out.dtype == dtype and out.shape == ref.shape
        assert np.max(np.abs(out - ref)) <= rtol * np.max(np.abs(ref))


def test_registry_rejects_duplicates_and_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_REGISTRY", {k: dict(v) for k, v in backends._REGISTRY.items()})
    with pytest.raises(BackendError, match=r"`jax` of `lap` is already registered; pass `override=True`"):
        backends.register_backend("lap", "jax", lambda *a, **k: None)
    axes = K.axis_specs(Grid.from_spec([("x", 0, 1, 8)]))
    with pytest.raises(BackendError, match=r"`jaxx` is not registered for `lap` \(did you mean `jax`\?\)"):
        K.lap(np.zeros(8), axes, backend="jaxx")
    backends.register_backend("lap", "never", lambda *a, **k: None, supports=lambda *a, **k: False)
    with pytest.raises(BackendError, match=r"Backend `never` of `lap` does not support this input"):
        K.lap(np.zeros(8), axes, backend="never")


def test_selection_is_a_fixed_rule_never_a_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large inputs go to the first optional backend that takes them, small ones to JAX — the same choice
    however fast each backend is (two backends can round differently, and values must not follow timings)."""
    monkeypatch.setattr(backends, "_REGISTRY", {k: dict(v) for k, v in backends._REGISTRY.items()})
    backends._REGISTRY["lap"] = {"jax": backends._REGISTRY["lap"]["jax"]}  # numba or not, the same test
    calls: list[str] = []
    reference = backends.backends_for("lap")["jax"].fn

    def fake(u: Any, axes: Any, method: str, **kw: Any) -> Any:
        calls.append("fake")
        return reference(u, axes, method, **kw)

    def no_timing(*_a: Any) -> float:
        raise AssertionError("selection measured a timing")

    backends.register_backend("lap", "fake", fake, devices=("cpu", "gpu", "tpu"))
    monkeypatch.setattr(backends, "_time", no_timing)
    axes = K.axis_specs(Grid.from_spec([("x", 0, 1, 512), ("y", 0, 1, 256)]))
    u = np.random.default_rng(0).standard_normal((512, 256))
    out = K.lap(u, axes)
    assert calls == ["fake"]
    np.testing.assert_allclose(np.asarray(out), np.asarray(K.lap(u, axes, backend="jax")), rtol=1e-12)
    small = K.axis_specs(Grid.from_spec([("x", 0, 1, 16)]))
    assert backends.select("lap", np.zeros(16), small, "fd2", scales=(1.0,)).name == "jax"
    assert calls == ["fake"]
