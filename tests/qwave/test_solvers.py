"""relax and evolve against NumPy and analytic references; stability checks; norm conservation."""

from __future__ import annotations

import numpy as np
import pytest

from codexlab.errors import CodexValueError
from codexlab.qwave import solvers
from codexlab.qwave.fields import make_field
from codexlab.qwave.grid import Grid

TAU = 2 * np.pi
P2 = Grid.from_spec([("x", 0, TAU, 32), ("y", 0, TAU, 32)])
D2 = Grid.from_spec([("x", 0, 1, 33), ("y", 0, 1, 33)], "dirichlet")


def test_relax_periodic_is_the_neighbour_average() -> None:
    u = np.random.default_rng(0).standard_normal(P2.shape)
    ref = (np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1)) / 4
    out = solvers.relax(make_field(u, P2, name="u"))
    np.testing.assert_allclose(out.values, ref, atol=1e-13)
    assert out.name == "u" and out.attrs["relax_steps"] == 1


def test_relax_keeps_dirichlet_values_and_solves_laplace() -> None:
    g = Grid.from_spec([("x", 0, 1, 9), ("y", 0, 1, 5)], {"x": "dirichlet", "y": "neumann"})
    X, _ = g.mesh()
    u = np.where(X == 1.0, 1.0, 0.0)  # boundary values 0 at x=0, 1 at x=1
    one = solvers.relax(make_field(u, g))
    np.testing.assert_array_equal(one.values[[0, -1]], u[[0, -1]])
    many = solvers.relax(make_field(u, g), steps=2000)
    np.testing.assert_allclose(many.values, X, atol=1e-9)  # Δψ = 0 with ψ(0)=0, ψ(1)=1, ∂yψ=0 is ψ = x


def test_schrodinger_spectral_is_the_exact_free_propagator() -> None:
    X, Y = P2.mesh()
    psi0 = np.exp(1j * (2 * X - Y)) + 0.5 * np.exp(3j * Y)
    out = solvers.evolve(make_field(psi0, P2, name="ψ"), steps=50, dt=0.02)
    t = 50 * 0.02
    exact = np.exp(1j * (2 * X - Y) - 0.5j * 5 * t) + 0.5 * np.exp(3j * Y - 0.5j * 9 * t)
    np.testing.assert_allclose(out.values, exact, atol=1e-11)
    assert out.attrs["method"] == "spectral" and out.name == "ψ"


def test_schrodinger_conserves_the_norm() -> None:
    X, Y = P2.mesh()
    psi0 = np.exp(-((X - 3) ** 2 + (Y - 3) ** 2) + 2j * X)
    out = solvers.evolve(make_field(psi0, P2), steps=200, dt=0.05)
    assert np.sum(np.abs(out.values) ** 2) == pytest.approx(np.sum(np.abs(psi0) ** 2), rel=1e-12)
    Xd, Yd = D2.mesh()
    gauss = np.exp(-40 * ((Xd - 0.5) ** 2 + (Yd - 0.5) ** 2) + 5j * Xd)
    gauss[[0, -1], :] = 0
    gauss[:, [0, -1]] = 0
    rk = solvers.evolve(make_field(gauss, D2), steps=100, dt=2e-4)
    assert rk.attrs["method"] == "fd2"
    assert np.sum(np.abs(rk.values) ** 2) == pytest.approx(np.sum(np.abs(gauss) ** 2), rel=1e-6)


def test_schrodinger_rk4_follows_a_discrete_eigenmode() -> None:
    X, Y = D2.mesh()
    mode = np.sin(np.pi * X) * np.sin(2 * np.pi * Y)
    h = D2.spacing[0]
    lam = (4 / h**2) * (np.sin(np.pi * h / 2) ** 2 + np.sin(np.pi * h) ** 2)  # eigenvalue of −Δ_h
    steps, dt = 100, 2e-4
    out = solvers.evolve(make_field(mode, D2), steps=steps, dt=dt)
    np.testing.assert_allclose(out.values, mode * np.exp(-0.5j * lam * steps * dt), atol=1e-8)


def test_heat_matches_the_discrete_decay_and_keeps_boundaries() -> None:
    X, Y = D2.mesh()
    mode = 2.0 + np.sin(np.pi * X) * np.sin(np.pi * Y)  # boundary value 2 everywhere
    h = D2.spacing[0]
    lam = 2 * (4 / h**2) * np.sin(np.pi * h / 2) ** 2
    dt, steps = 1e-4, 80
    out = solvers.evolve(make_field(mode, D2), steps=steps, dt=dt, eq="heat")
    exact = 2.0 + (mode - 2.0) * (1 - dt * lam) ** steps
    np.testing.assert_allclose(out.values, exact, atol=1e-12)


def test_wave_standing_wave_from_rest() -> None:
    g = Grid.from_spec([("x", 0, TAU, 64)])
    (X,) = g.mesh()
    c, dt, steps = 2.0, 0.01, 150
    out = solvers.evolve(make_field(np.sin(3 * X), g), steps=steps, dt=dt, eq="wave", c=c, method="spectral")
    np.testing.assert_allclose(out.values, np.sin(3 * X) * np.cos(3 * c * steps * dt), atol=1e-3)
    fd = solvers.evolve(make_field(np.sin(3 * X), g), steps=steps, dt=dt, eq="wave", c=c)
    np.testing.assert_allclose(fd.values, np.sin(3 * X) * np.cos(3 * c * steps * dt), atol=5e-2)


def test_wave_keeps_dirichlet_boundaries() -> None:
    X, Y = D2.mesh()
    u = 1.0 + np.sin(np.pi * X) * np.sin(np.pi * Y)
    out = solvers.evolve(make_field(u, D2), steps=40, dt=0.01, eq="wave")
    np.testing.assert_array_equal(out.values[0], u[0])
    np.testing.assert_array_equal(out.values[:, -1], u[:, -1])


def test_zero_steps_returns_the_input() -> None:
    u = np.random.default_rng(1).standard_normal(P2.shape)
    for eq in ("heat", "wave"):
        np.testing.assert_array_equal(solvers.evolve(make_field(u, P2), 0, 0.001, eq).values, u)


def test_stability_checks() -> None:
    f = make_field(np.zeros(D2.shape), D2)
    h = D2.spacing[0]
    limit = h**2 / 4
    assert solvers.stability_limit(D2, "heat") == pytest.approx(limit)
    with pytest.raises(
        CodexValueError, match=r"`dt` = 0\.01 is outside the stable range of the explicit `heat`.*h²/\(2"
    ):
        solvers.evolve(f, 10, 0.01, "heat")
    solvers.evolve(f, 1, limit, "heat")
    assert solvers.stability_limit(D2, "wave", c=2.0) == pytest.approx(h / (2.0 * np.sqrt(2)))
    with pytest.raises(CodexValueError, match=r"explicit `wave`"):
        solvers.evolve(f, 10, 0.05, "wave")
    with pytest.raises(CodexValueError, match=r"explicit `schrodinger` scheme with `fd2`"):
        solvers.evolve(f, 10, 0.01)
    with pytest.raises(CodexValueError, match=r"Equation `hear` is unknown \(did you mean `heat`\?\)"):
        solvers.evolve(f, 1, 1e-5, "hear")
    with pytest.raises(CodexValueError, match=r"Spectral derivatives need periodic axes"):
        solvers.evolve(f, 1, 1e-5, method="spectral")
    with pytest.raises(CodexValueError, match=r"`steps` must be a whole number"):
        solvers.evolve(f, -1, 1e-5)
