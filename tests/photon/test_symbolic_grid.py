"""Exact values on a grid: `lambdify_on_grid` against NumPy formulas, JAX against NumPy, `exact_field`."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import sympy as sp

from codexlab.errors import CodexValueError
from codexlab.photon.ir import name, node
from codexlab.photon.symbolic import T, X, Y, Z, to_sympy
from codexlab.qwave import ongrid
from codexlab.qwave.fields import content_id
from codexlab.qwave.grid import Grid
from codexlab.qwave.ongrid import exact_field, lambdify_on_grid

GRID = Grid.from_spec([("x", -1, 1, 32), ("y", -1, 1, 24)])
SIGMA = sp.Rational(3, 20)
PSI = sp.exp(-(X**2 + Y**2) / (2 * SIGMA**2)) * sp.exp(8 * sp.I * X)


def _psi_numpy(xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    return np.exp(-(xx**2 + yy**2) / (2 * 0.15**2)) * np.exp(8j * xx)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_complex_scalar_matches_numpy_formula(backend: str) -> None:
    got = lambdify_on_grid(PSI, GRID, backend=backend)
    xx, yy = GRID.mesh()
    assert got.shape == GRID.shape and got.dtype == np.complex128
    np.testing.assert_allclose(np.asarray(got), _psi_numpy(xx, yy), rtol=1e-13, atol=1e-15)
    assert isinstance(got, jax.Array) == (backend == "jax")


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_gradient_is_stacked_on_a_leading_component_axis(backend: str) -> None:
    grad = to_sympy(node("∇", name("ψ")), {"ψ": PSI})
    got = np.asarray(lambdify_on_grid(grad, GRID, backend=backend))
    xx, yy = GRID.mesh()
    psi = _psi_numpy(xx, yy)
    ref = np.stack([(-xx / 0.15**2 + 8j) * psi, -yy / 0.15**2 * psi])
    assert got.shape == (2, *GRID.shape)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_jax_and_numpy_backends_agree_on_a_laplacian() -> None:
    lap = to_sympy(node("Δ", name("ψ")), {"ψ": PSI * sp.cos(3 * Y) + X**3})
    a = lambdify_on_grid(lap, GRID, backend="numpy")
    b = lambdify_on_grid(lap, GRID, backend="jax")
    np.testing.assert_allclose(np.asarray(b), a, rtol=1e-12, atol=1e-9)


def test_float32_precision_and_complex64() -> None:
    real = lambdify_on_grid(sp.sin(X) * Y, GRID, backend="numpy", dtype=np.float32)
    assert real.dtype == np.float32
    cplx = lambdify_on_grid(PSI, GRID, backend="jax", dtype=np.float32)
    assert cplx.dtype == np.complex64
    xx, yy = GRID.mesh()
    np.testing.assert_allclose(np.asarray(cplx), _psi_numpy(xx, yy), rtol=1e-5, atol=1e-6)
    with pytest.raises(CodexValueError, match=r"`dtype` must be a real floating type"):
        lambdify_on_grid(X, GRID, dtype=np.int32)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_constants_and_partial_dependence_broadcast_to_the_grid(backend: str) -> None:
    const = np.asarray(lambdify_on_grid(sp.Integer(3), GRID, backend=backend))
    assert const.shape == GRID.shape and np.all(const == 3.0) and const.dtype == np.float64
    only_x = np.asarray(lambdify_on_grid(X**2, GRID, backend=backend))
    xx, _ = GRID.mesh()
    np.testing.assert_allclose(only_x, xx**2, rtol=1e-15)
    mixed = np.asarray(lambdify_on_grid(sp.Matrix([1, Y, sp.I]), GRID, backend=backend))
    assert mixed.shape == (3, *GRID.shape) and mixed.dtype == np.complex128
    np.testing.assert_array_equal(mixed[2], 1j)


def test_three_dimensional_grid_and_time_axis() -> None:
    g3 = Grid.from_spec([("x", 0, 1, 5), ("y", 0, 1, 6), ("z", 0, 1, 7)])
    F3 = sp.Matrix([Y * Z, X * Z**2, sp.sin(X * Y)])
    curl = to_sympy(node("∇×", name("F")), {"F": F3}, ("x", "y", "z"))
    got = lambdify_on_grid(curl, g3, backend="numpy")
    xx, yy, zz = g3.mesh()
    ref = np.stack([xx * np.cos(xx * yy) - 2 * xx * zz, yy - yy * np.cos(xx * yy), zz**2 - zz])
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)
    gt = Grid.from_spec([("x", 0, 2, 16), ("t", 0, 1, 8)], {"x": "periodic", "t": "dirichlet"})
    xx, tt = gt.mesh()
    wave = lambdify_on_grid(sp.sin(X - T), gt, backend="numpy")
    np.testing.assert_allclose(wave, np.sin(xx - tt), rtol=1e-15)


def test_outer_product_has_two_leading_axes() -> None:
    outer = to_sympy(node("⊗", node("vec", name("x"), name("y")), node("vec", name("y"), name("x"))))
    got = lambdify_on_grid(outer, GRID, backend="numpy")
    xx, yy = GRID.mesh()
    assert got.shape == (2, 2, *GRID.shape)
    np.testing.assert_allclose(got[0, 1], xx**2)
    np.testing.assert_allclose(got[1, 0], yy**2)


def test_conditions_give_boolean_arrays() -> None:
    got = lambdify_on_grid(to_sympy(node("<", name("x"), name("y"))), GRID, backend="numpy")
    xx, yy = GRID.mesh()
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, xx < yy)


def test_plain_coordinate_symbols_are_accepted() -> None:
    got = lambdify_on_grid(sp.Symbol("x") + sp.Symbol("y"), GRID, backend="numpy")
    xx, yy = GRID.mesh()
    np.testing.assert_allclose(got, xx + yy)


def test_symbols_off_the_grid_are_refused() -> None:
    with pytest.raises(
        CodexValueError,
        match=r"depends on `z`, which is not an axis of the grid `x:-1..1:32, y:-1..1:24`",
    ):
        lambdify_on_grid(X * Z, GRID)
    with pytest.raises(CodexValueError, match=r"depends on `a`"):
        lambdify_on_grid(sp.Symbol("a") * X, GRID)
    with pytest.raises(CodexValueError, match=r"Backend `jaxx` is unknown \(did you mean `jax`\?\)"):
        lambdify_on_grid(X, GRID, backend="jaxx")  # type: ignore[arg-type]
    with pytest.raises(CodexValueError, match=r"needs a SymPy expression or matrix, got `str`"):
        lambdify_on_grid("x", GRID)  # type: ignore[arg-type]


def test_compiled_functions_are_cached_by_content(monkeypatch) -> None:
    # An empty cache of its own: earlier tests in this process may have filled the shared one (LRU, 256).
    monkeypatch.setattr(ongrid, "_CACHE", type(ongrid._CACHE)())
    expr = sp.cos(5 * X) * sp.sin(7 * Y) + sp.Rational(1, 7)
    lambdify_on_grid(expr, GRID, backend="numpy")
    size = len(ongrid._CACHE)
    lambdify_on_grid(sp.cos(5 * X) * sp.sin(7 * Y) + sp.Rational(1, 7), GRID, backend="numpy")
    assert len(ongrid._CACHE) == size
    lambdify_on_grid(expr, GRID, backend="jax")
    assert len(ongrid._CACHE) == size + 1


def test_exact_field_is_a_dataarray_with_grid_attrs() -> None:
    grad = to_sympy(node("∇", name("ψ")), {"ψ": sp.sin(X) * sp.cos(Y)})
    da = exact_field(grad, GRID, name="g", units="m", attrs={"note": "exact"})
    assert da.dims == ("component", "x", "y")
    assert list(da.coords["component"].values) == ["x", "y"]
    np.testing.assert_array_equal(da.coords["x"].values, GRID.coords()["x"])
    assert da.name == "g"
    assert da.attrs["units"] == "m" and da.attrs["note"] == "exact"
    assert da.attrs["bc"] == "x:periodic,y:periodic"
    assert da.attrs["id"] == content_id(da.values)
    xx, yy = GRID.mesh()
    np.testing.assert_allclose(da.sel(component="x").values, np.cos(xx) * np.cos(yy), rtol=1e-15)
    scalar = exact_field(sp.sin(X), GRID)
    assert scalar.dims == ("x", "y") and scalar.attrs["units"] == "1"
    assert scalar.attrs["id"] != exact_field(sp.sin(X) + 1, GRID).attrs["id"]
