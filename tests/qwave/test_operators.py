"""Operators against analytic results on 1-, 2- and 3-D grids and each boundary condition."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.qwave import operators as op
from codexlab.qwave.fields import make_field
from codexlab.qwave.grid import Grid

TAU = 2 * np.pi
P2 = Grid.from_spec([("x", 0, TAU, 48), ("y", 0, TAU, 40)])
P3 = Grid.from_spec([("x", 0, TAU, 24), ("y", 0, TAU, 24), ("z", 0, TAU, 24)])
D2 = Grid.from_spec([("x", 0, 1, 41), ("y", 0, 1, 41)], "dirichlet")
N2 = Grid.from_spec([("x", 0, 1, 41), ("y", 0, 1, 41)], "neumann")


def err(a: xr.DataArray | np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - b)))


# ------------------------------------------------------------------------------------------ scalars


def d1_error(k: float, h: float, method: str) -> float:
    """Leading truncation error of a first derivative of sin(kx): k³h²/6 (fd2), k⁵h⁴/30 (fd4)."""
    return {"fd2": k**3 * h**2 / 6, "fd4": k**5 * h**4 / 30, "spectral": 0.0}[method]


def d2_error(k: float, h: float, method: str) -> float:
    """Leading truncation error of a second derivative of sin(kx): k⁴h²/12 (fd2), k⁶h⁴/90 (fd4)."""
    return {"fd2": k**4 * h**2 / 12, "fd4": k**6 * h**4 / 90, "spectral": 0.0}[method]


@pytest.mark.parametrize("method", ["fd2", "fd4", "spectral"])
def test_plane_wave_gradient_and_laplacian_2d(method: str) -> None:
    X, Y = P2.mesh()
    hx, hy = P2.spacing
    f = make_field(np.sin(X + 2 * Y), P2, name="f")
    g = op.grad(f, method)
    assert g.dims == ("component", "x", "y") and g.name == "∇f"
    assert err(g.sel(component="x"), np.cos(X + 2 * Y)) < 1.05 * d1_error(1, hx, method) + 1e-11
    assert err(g.sel(component="y"), 2 * np.cos(X + 2 * Y)) < 1.05 * d1_error(2, hy, method) + 1e-11
    bound = d2_error(1, hx, method) + d2_error(2, hy, method)
    assert err(op.lap(f, method), -5 * np.sin(X + 2 * Y)) < 1.05 * bound + 1e-10


def test_laplacian_of_a_gaussian_2d() -> None:
    g = Grid.from_spec([("x", -6, 6, 96), ("y", -6, 6, 96)])
    X, Y = g.mesh()
    r2 = X**2 + Y**2
    f = make_field(np.exp(-r2), g)
    exact = (4 * r2 - 4) * np.exp(-r2)
    assert err(op.lap(f, "fd4"), exact) < 2e-3
    assert err(op.lap(f, "spectral"), exact) < 1e-10
    grad = op.grad(f, order=4)
    assert err(grad.sel(component="x"), -2 * X * np.exp(-r2)) < 1e-3


def test_dirichlet_fields_use_odd_reflection() -> None:
    X, Y = D2.mesh()
    u = np.sin(np.pi * X) * np.sin(2 * np.pi * Y)
    f = make_field(u, D2)
    assert err(op.lap(f, "fd4"), -5 * np.pi**2 * u) < 1e-3
    gx = op.grad(f, "fd4").sel(component="x")
    assert err(gx, np.pi * np.cos(np.pi * X) * np.sin(2 * np.pi * Y)) < 1e-4
    lap = np.asarray(op.lap(f))
    np.testing.assert_allclose(lap[0, :], 0.0, atol=1e-9)


def test_dirichlet_boundary_values_are_reflected_about_their_value() -> None:
    g = Grid.from_spec([("x", 0, 1, 21)], "dirichlet")
    (X,) = g.mesh()
    f = make_field(1.0 + 2.0 * X + np.sin(np.pi * X), g)
    d = np.asarray(op.partial(f, "x", order=4))
    np.testing.assert_allclose(d, 2.0 + np.pi * np.cos(np.pi * X), atol=1e-4)
    np.testing.assert_allclose(np.asarray(op.lap(f, "fd4")), -(np.pi**2) * np.sin(np.pi * X), atol=1e-3)


def test_neumann_fields_use_even_reflection() -> None:
    X, Y = N2.mesh()
    u = np.cos(np.pi * X) * np.cos(np.pi * Y)
    f = make_field(u, N2)
    assert err(op.lap(f, "fd4"), -2 * np.pi**2 * u) < 1e-3
    gy = np.asarray(op.grad(f).sel(component="y"))
    np.testing.assert_array_equal(gy[:, 0], 0.0)
    np.testing.assert_array_equal(gy[:, -1], 0.0)


def test_mixed_boundary_conditions() -> None:
    g = Grid.from_spec([("x", 0, TAU, 32), ("y", 0, 1, 33)], {"y": "dirichlet"})
    X, Y = g.mesh()
    u = np.sin(X) * np.sin(np.pi * Y)
    f = make_field(u, g)
    assert err(op.lap(f, "fd4"), -(1 + np.pi**2) * u) < 1e-3
    with pytest.raises(CodexValueError, match=r"axis `y` is `dirichlet`.*method=\"fd2\""):
        op.lap(f, "spectral")


@pytest.mark.parametrize("method", ["fd2", "fd4", "spectral"])
def test_complex_fields(method: str) -> None:
    g = Grid.from_spec([("x", 0, TAU, 64)])
    (X,) = g.mesh()
    f = make_field(np.exp(3j * X), g)
    tol = {"fd2": 0.3, "fd4": 1e-2, "spectral": 1e-11}[method]
    assert err(op.lap(f, method), -9 * np.exp(3j * X)) < tol
    d = op.partial(f, "x", method=method)
    assert d.dtype == np.complex128 and err(d, 3j * np.exp(3j * X)) < tol


def test_float32_stays_float32() -> None:
    X, Y = P2.mesh()
    f = make_field(np.sin(X).astype(np.float32), P2)
    for out in (op.lap(f), op.grad(f), op.lap(f, "spectral"), op.div(op.grad(f))):
        assert out.dtype == np.float32
    assert err(op.lap(f), -np.sin(X)) < 2e-2


def test_integer_fields_become_float64() -> None:
    g = Grid.from_spec([("x", 0, 4, 4)])
    f = make_field(np.array([0, 1, 0, -1]), g)
    np.testing.assert_allclose(op.lap(f).values, [0.0, -2.0, 0.0, 2.0])


def test_fd2_laplacian_matches_numpy_roll() -> None:
    rng = np.random.default_rng(7)
    g = Grid.from_spec([("x", 0, 1, 37), ("y", 0, 3, 29)])
    u = rng.standard_normal(g.shape)
    hx, hy = g.spacing
    ref = (np.roll(u, 1, 0) - 2 * u + np.roll(u, -1, 0)) / hx**2 + (
        np.roll(u, 1, 1) - 2 * u + np.roll(u, -1, 1)
    ) / hy**2
    lap = np.asarray(op.lap(make_field(u, g)))
    assert np.max(np.abs(lap - ref)) / np.max(np.abs(ref)) < 1e-12


def test_fd4_derivative_matches_numpy_roll_3d() -> None:
    rng = np.random.default_rng(3)
    u = rng.standard_normal(P3.shape)
    h = P3.spacing[2]
    ref = (-np.roll(u, -2, 2) + 8 * np.roll(u, -1, 2) - 8 * np.roll(u, 1, 2) + np.roll(u, 2, 2)) / (12 * h)
    d = np.asarray(op.partial(make_field(u, P3), "z", order=4))
    assert np.max(np.abs(d - ref)) < 1e-12 * np.max(np.abs(ref))


# ------------------------------------------------------------------------------------------ vectors


def _field_2d() -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    X, Y = P2.mesh()
    F = make_field(np.stack([np.cos(X) * np.sin(Y), np.sin(X) * np.cos(2 * Y)]), P2, name="F")
    div = -np.sin(X) * np.sin(Y) - 2 * np.sin(X) * np.sin(2 * Y)
    curl = np.cos(X) * np.cos(2 * Y) - np.cos(X) * np.cos(Y)
    return F, div, curl


@pytest.mark.parametrize("method", ["fd2", "fd4", "spectral"])
def test_divergence_and_curl_2d(method: str) -> None:
    F, div, curl = _field_2d()
    hx, hy = P2.spacing
    d = op.div(F, method)
    c = op.curl(F, method)
    assert d.dims == ("x", "y") and c.dims == ("x", "y") and c.name == "∇×F"
    assert err(d, div) < 1.05 * (d1_error(1, hx, method) + d1_error(2, hy, method)) + 1e-11
    assert err(c, curl) < 1.05 * (d1_error(1, hx, method) + d1_error(1, hy, method)) + 1e-11


@pytest.mark.parametrize(("method", "tol"), [("fd4", 1e-3), ("spectral", 1e-11)])
def test_curl_and_divergence_3d(method: str, tol: float) -> None:
    X, Y, Z = P3.mesh()
    F = make_field(np.stack([np.sin(Y), np.sin(Z), np.sin(X) + np.cos(Z)]), P3)
    c = op.curl(F, method)
    assert c.dims == ("component", "x", "y", "z")
    exact = np.stack([-np.cos(Z), -np.cos(X), -np.cos(Y)])
    assert err(c, exact) < tol
    assert err(op.div(F, method), -np.sin(Z)) < tol


def test_gradient_1d() -> None:
    g = Grid.from_spec([("x", 0, TAU, 64)])
    (X,) = g.mesh()
    gr = op.grad(make_field(np.sin(X), g), "spectral")
    assert gr.dims == ("component", "x") and err(gr[0], np.cos(X)) < 1e-12


@pytest.mark.parametrize("method", ["fd2", "fd4", "spectral"])
def test_curl_of_gradient_vanishes_2d_and_3d(method: str) -> None:
    rng = np.random.default_rng(11)
    f2 = make_field(rng.standard_normal(P2.shape), P2)
    assert float(np.abs(op.curl(op.grad(f2, method), method)).max()) < 1e-10
    f3 = make_field(rng.standard_normal(P3.shape), P3)
    assert float(np.abs(op.curl(op.grad(f3, method), method)).max()) < 1e-10


@pytest.mark.parametrize("method", ["fd2", "fd4", "spectral"])
def test_divergence_of_curl_vanishes_3d(method: str) -> None:
    F = make_field(np.random.default_rng(5).standard_normal((3, *P3.shape)), P3)
    assert float(np.abs(op.div(op.curl(F, method), method)).max()) < 1e-10


def test_div_of_grad_is_a_wider_laplacian() -> None:
    X, Y = P2.mesh()
    f = make_field(np.sin(X) * np.cos(Y), P2)
    assert err(op.div(op.grad(f, "spectral"), "spectral"), np.asarray(op.lap(f, "spectral"))) < 1e-11


def test_vector_laplacian_is_componentwise() -> None:
    X, Y = P2.mesh()
    F = make_field(np.stack([np.sin(X), np.cos(2 * Y)]), P2)
    L = op.lap(F, "spectral")
    assert L.dims == F.dims
    assert err(L, np.stack([-np.sin(X), -4 * np.cos(2 * Y)])) < 1e-11


# --------------------------------------------------------------------------------------- time axis

XT = Grid.from_spec([("x", 0, TAU, 64), ("t", 0, np.pi, 48)])


@pytest.mark.parametrize(("method", "tol"), [("fd2", 5e-3), ("fd4", 5e-5), ("spectral", 1e-10)])
def test_dalembert_of_a_travelling_wave_vanishes(method: str, tol: float) -> None:
    X, T = XT.mesh()
    f = make_field(np.sin(X - 2 * T), XT, name="u")
    box = op.dalembert(f, c=2.0, method=method)
    assert box.name == "□u" and err(box, 0.0) < 4 * tol
    # with the wrong speed, □ is (c_true² − c²)·∂²ₓ-like: −(4 − 1)·sin(x − 2t)
    assert err(op.dalembert(f, method=method), -3 * np.sin(X - 2 * T)) < 4 * tol


def test_ddt_and_partial_along_t() -> None:
    X, T = XT.mesh()
    f = make_field(np.sin(X - 2 * T), XT, name="u")
    assert err(op.ddt(f, "spectral"), -2 * np.cos(X - 2 * T)) < 1e-10
    assert err(op.partial(f, "t", method="spectral"), -2 * np.cos(X - 2 * T)) < 1e-10
    assert err(op.partial(f, "x", 2, method="spectral"), -np.sin(X - 2 * T)) < 1e-10
    g = op.grad(f, "spectral")
    assert list(g.component.values) == ["x"]
    assert err(op.lap(f, "spectral"), -np.sin(X - 2 * T)) < 1e-10


# ------------------------------------------------------------------------------------- pointwise


def test_dot_cross_outer_match_numpy() -> None:
    rng = np.random.default_rng(1)
    a3 = rng.standard_normal((3, *P3.shape)) + 1j * rng.standard_normal((3, *P3.shape))
    b3 = rng.standard_normal((3, *P3.shape))
    A, B = make_field(a3, P3, name="a", units="m"), make_field(b3, P3, name="b", units="s")
    d = op.dot(A, B)
    np.testing.assert_allclose(d.values, np.einsum("i...,i...->...", a3, b3))
    assert d.name == "a•b" and d.attrs["units"] == "m·s"
    np.testing.assert_allclose(op.dot(A, A).values, np.sum(a3 * a3, axis=0))
    np.testing.assert_allclose(op.cross(A, B).values, np.cross(a3, b3, axis=0))
    T = op.outer(A, B)
    assert T.dims == ("component", "component2", "x", "y", "z")
    np.testing.assert_allclose(T.values, np.einsum("i...,j...->ij...", a3, b3))
    np.testing.assert_allclose(op.dot(T, B).values, np.einsum("ij...,j...->i...", a3[:, None] * b3, b3))


def test_cross_2d_gives_the_z_component() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, *P2.shape)), rng.standard_normal((2, *P2.shape))
    c = op.cross(make_field(a, P2), make_field(b, P2))
    assert c.dims == ("x", "y")
    np.testing.assert_allclose(c.values, a[0] * b[1] - a[1] * b[0])


def test_dot_of_scalars_is_the_product() -> None:
    X, Y = P2.mesh()
    np.testing.assert_allclose(op.dot(make_field(X, P2), make_field(Y, P2)).values, X * Y)


# ---------------------------------------------------------------------------------------- errors


def test_curl_of_a_scalar_names_the_operand() -> None:
    psi = make_field(np.zeros(P2.shape), P2, name="ψ")
    with pytest.raises(
        CodexTypeError,
        match=r"`∇×` needs a vector field; `ψ` is a scalar field on \(x, y\)\. "
        r"Take `∇` first or build a vector `\[Fx, Fy\]`\.",
    ):
        op.curl(psi)


def test_curl_of_a_1d_vector() -> None:
    g = Grid.from_spec([("x", 0, 1, 8)])
    with pytest.raises(CodexTypeError, match=r"2-D or 3-D vector field; `F` is a vector field on \(x\)"):
        op.curl(make_field(np.zeros((1, 8)), g, name="F"))


def test_kind_errors_of_grad_and_div() -> None:
    F, _, _ = _field_2d()
    with pytest.raises(CodexTypeError, match=r"`∇` needs a scalar field; `F` is a vector field"):
        op.grad(F)
    with pytest.raises(CodexTypeError, match=r"`∇·` needs a vector field; `f` is a scalar field on \(x, y\)"):
        op.div(make_field(np.zeros(P2.shape), P2, name="f"))


def test_dalembert_and_ddt_need_a_time_axis() -> None:
    psi = make_field(np.zeros(P2.shape), P2, name="ψ")
    with pytest.raises(
        CodexTypeError,
        match=r"`□` needs a time axis; `ψ` on \(x, y\) has no time axis `t`; add `t:0\.\.T:N` to `@grid` "
        r"or define it with a symbolic `t`",
    ):
        op.dalembert(psi)
    with pytest.raises(CodexTypeError, match=r"`d/dt` needs a time axis; `ψ` on \(x, y\) has no time axis"):
        op.ddt(psi)


def test_pointwise_kind_errors() -> None:
    F, _, _ = _field_2d()
    s = make_field(np.zeros(P2.shape), P2, name="s")
    with pytest.raises(CodexTypeError, match=r"`•` needs two vectors.*`s` is a scalar.*`F` is a vector"):
        op.dot(s, F)
    with pytest.raises(CodexTypeError, match=r"`×` needs two vector fields with 2 or 3 components; `s` is a"):
        op.cross(s, F)
    g4 = Grid.from_spec([("x", 0, 1, 8)])
    v1 = make_field(np.zeros((1, 8)), g4, name="v")
    with pytest.raises(CodexTypeError, match=r"`v` is a vector field on \(x\) with 1 components"):
        op.cross(v1, v1)
    with pytest.raises(CodexTypeError, match=r"`⊗` needs two vector fields; `s` is a scalar field"):
        op.outer(F, s)


def test_operands_on_different_grids() -> None:
    F, _, _ = _field_2d()
    elsewhere = Grid.from_spec([("x", 0, 1, 48), ("y", 0, TAU, 40)])
    other = make_field(np.zeros((2, *P2.shape)), elsewhere, name="G")
    with pytest.raises(CodexValueError, match=r"`•` needs both operands on one grid"):
        op.dot(F, other)


def test_method_errors() -> None:
    f = make_field(np.zeros(D2.shape), D2)
    with pytest.raises(CodexValueError, match=r"need periodic axes, but axis `x` is `dirichlet`"):
        op.grad(f, "spectral")
    with pytest.raises(CodexValueError, match=r"method `spectre` is unknown \(did you mean `spectral`\?\)"):
        op.lap(f, "spectre")
    with pytest.raises(CodexValueError, match=r"`method='fd2'` and `order=4` disagree"):
        op.lap(f, "fd2", 4)
    with pytest.raises(CodexValueError, match=r"order `6` is not available"):
        op.lap(f, order=6)


def test_plain_arrays_need_a_grid() -> None:
    with pytest.raises(CodexTypeError, match=r"`Δ` needs a field \(an xarray DataArray\), got `ndarray`"):
        op.lap(np.zeros(P2.shape))
    X, Y = P2.mesh()
    out = op.lap(np.sin(X), grid=P2, method="spectral")
    assert err(out, -np.sin(X)) < 1e-11
    with pytest.raises(CodexValueError, match=r"do not match the grid"):
        op.lap(make_field(np.zeros(D2.shape), D2), grid=P2)


def test_grid_and_bc_arguments_override_attrs() -> None:
    X, Y = N2.mesh()
    f = make_field(np.cos(np.pi * X) * np.cos(np.pi * Y), D2)
    as_neumann = op.lap(f, "fd4", bc="neumann")
    assert as_neumann.attrs["bc"] == "x:neumann,y:neumann"
    assert err(as_neumann, -2 * np.pi**2 * np.asarray(f)) < 1e-3


def test_units_and_coordinate_attrs() -> None:
    f = make_field(np.zeros(P2.shape), P2, name="φ", units="V")
    f = f.assign_coords(x=f.x.assign_attrs(units="m"), y=f.y.assign_attrs(units="m"))
    assert op.grad(f).attrs["units"] == "V/m"
    assert op.lap(f).attrs["units"] == "V/m^2"
    assert op.lap(f).x.attrs["units"] == "m"
    t = make_field(np.zeros(XT.shape), XT, units="1")
    t = t.assign_coords(t=t.t.assign_attrs(units="s"))
    assert op.dalembert(t).attrs["units"] == "1/s^2"
