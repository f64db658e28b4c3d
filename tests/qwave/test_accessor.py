"""The `.cx` accessor on DataArrays built by hand, without make_field or attrs."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import codexlab.qwave  # noqa: F401  (registers `.cx`)
from codexlab.errors import CodexTypeError
from codexlab.qwave import kernels as K
from codexlab.qwave import operators as op

N = 32
X1 = np.linspace(0.0, 2 * np.pi, N, endpoint=False)


def plain(values: np.ndarray, dims: tuple[str, ...] = ("x", "y"), **coords: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=dims, coords={d: coords.get(d, X1) for d in dims if d != "component"})


def test_accessor_on_a_plain_dataarray() -> None:
    X, Y = np.meshgrid(X1, X1, indexing="ij")
    da = plain(np.sin(X) * np.cos(2 * Y))
    assert da.cx.kind == "scalar"
    assert da.cx.grid().bcs() == {"x": "periodic", "y": "periodic"}
    np.testing.assert_allclose(da.cx.lap(method="spectral").values, -5 * da.values, atol=1e-11)
    g = da.cx.grad("spectral")
    np.testing.assert_allclose(g.sel(component="x").values, np.cos(X) * np.cos(2 * Y), atol=1e-11)
    np.testing.assert_allclose(g.cx.div("spectral").values, -5 * da.values, atol=1e-11)
    np.testing.assert_allclose(g.cx.curl("spectral").values, 0.0, atol=1e-11)
    dy = da.cx.partial("y", method="spectral")
    np.testing.assert_allclose(dy.values, -2 * np.sin(X) * np.sin(2 * Y), atol=1e-11)
    np.testing.assert_array_equal(da.cx.lap(order=4).values, op.lap(da, order=4).values)


def test_accessor_with_transposed_dims_and_reordered_components() -> None:
    X, Y = np.meshgrid(X1, X1, indexing="ij")
    F = np.stack([np.sin(Y), np.cos(X)])  # (Fx, Fy) on (x, y)
    da = xr.DataArray(
        np.transpose(F[::-1], (1, 2, 0)),  # stored as (x, y, component) with labels (y, x)
        dims=("x", "y", "component"),
        coords={"x": X1, "y": X1, "component": ["y", "x"]},
    )
    curl = da.cx.curl("spectral")  # ∂x Fy − ∂y Fx = −sin x − cos y
    np.testing.assert_allclose(curl.values, -np.sin(X) - np.cos(Y), atol=1e-11)


def test_accessor_bc_argument_and_attr() -> None:
    x = np.linspace(0.0, 1.0, 33)
    X, Y = np.meshgrid(x, x, indexing="ij")
    u = np.sin(np.pi * X) * np.sin(np.pi * Y)
    da = plain(u, x=x, y=x)
    by_kw = da.cx.lap(order=4, bc="dirichlet")
    by_attr = da.assign_attrs(bc="x:dirichlet,y:dirichlet").cx.lap(order=4)
    np.testing.assert_array_equal(by_kw.values, by_attr.values)
    np.testing.assert_allclose(by_kw.values, -2 * np.pi**2 * u, atol=1e-3)
    assert by_kw.attrs["bc"] == "x:dirichlet,y:dirichlet"


def test_accessor_time_operators() -> None:
    T1 = np.linspace(0.0, np.pi, 24, endpoint=False)
    X, T = np.meshgrid(X1, T1, indexing="ij")
    da = plain(np.sin(X - 2 * T), dims=("x", "t"), t=T1)
    np.testing.assert_allclose(da.cx.dalembert(c=2.0, method="spectral").values, 0.0, atol=1e-10)
    np.testing.assert_allclose(da.cx.ddt("spectral").values, -2 * np.cos(X - 2 * T), atol=1e-10)
    with pytest.raises(CodexTypeError, match=r"`□` needs a time axis; `u` on \(x, y\) has no time axis `t`"):
        plain(np.zeros((N, N))).rename("u").cx.dalembert()


def test_accessor_errors_name_the_operand() -> None:
    psi = plain(np.zeros((N, N))).rename("ψ")
    with pytest.raises(CodexTypeError, match=r"`∇×` needs a vector field; `ψ` is a scalar field on \(x, y\)"):
        psi.cx.curl()


def test_a_result_keeps_the_operands_coordinates_and_attrs_without_copying_them() -> None:
    grid_exact = np.linspace(-1.0, 1.0, N, endpoint=False)  # coordinates the grid reproduces bit for bit
    X, Y = np.meshgrid(grid_exact, grid_exact, indexing="ij")
    da = plain(np.sin(np.pi * X) * np.cos(2 * np.pi * Y), x=grid_exact, y=grid_exact)
    da.coords["x"].attrs["units"] = "m"
    out = da.cx.lap(method="spectral")
    assert out.dims == da.dims and out.indexes["x"].equals(da.indexes["x"])
    assert out.coords["x"].attrs == {"units": "m"} and out.attrs == {"units": "1/m^2", "bc": "x:periodic,y:periodic"}
    assert "id" not in out.attrs and out.encoding == {} and out.values.ctypes.data % 64 == 0
    np.testing.assert_allclose(out.values, -5 * np.pi**2 * da.values, atol=1e-9)
    assert da.attrs == {} and da.coords["x"].attrs == {"units": "m"}  # the operand is left as it was
    div = da.cx.grad("spectral").cx.div("spectral")  # a vector operand, a scalar result: the same coordinates
    assert div.dims == da.dims and set(div.coords) == {"x", "y"} and div.indexes["y"].equals(da.indexes["y"])
    assert div.coords["x"].attrs == {"units": "m"} and div.attrs["bc"] == out.attrs["bc"]
    np.testing.assert_allclose(div.values, out.values, atol=1e-9)


def test_the_cached_grid_follows_new_coordinates_and_bcs() -> None:
    da = plain(np.zeros((N, N)))
    first = da.cx.grid()
    assert da.cx.grid() is first
    assert da.cx.grid("dirichlet").bcs() == {"x": "dirichlet", "y": "dirichlet"}
    da["x"] = X1 * 2
    assert da.cx.grid().axes[0].hi == pytest.approx(4 * np.pi) and da.cx.grid() is not first
    da.attrs["bc"] = "x:neumann,y:periodic"
    assert da.cx.grid().bcs() == {"x": "neumann", "y": "periodic"}


def test_an_unaligned_numpy_operand_gives_the_same_values() -> None:
    X, Y = np.meshgrid(X1, X1, indexing="ij")
    base = np.sin(X) * np.cos(2 * Y)
    buf = np.empty(base.size + 1)
    shifted = buf[1:].reshape(base.shape)  # 8 bytes off any 64-byte boundary
    shifted[...] = base
    axes = K.axis_specs(plain(base).cx.grid())
    np.testing.assert_array_equal(np.asarray(K.lap(shifted, axes)), np.asarray(K.lap(base, axes)))
    np.testing.assert_array_equal(
        np.asarray(K.lap(np.arange(N * N).reshape(N, N), axes)),
        np.asarray(K.lap(np.arange(N * N, dtype=float).reshape(N, N), axes)),
    )
