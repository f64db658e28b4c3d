"""Convergence: halving h divides the error by ≈4 (fd2) and ≈16 (fd4); spectral is exact to rounding.

Fields are chosen consistent with each boundary condition: sin(kx) on periodic axes, sin(πx) on
Dirichlet axes (zero at both ends), cos(πx) on Neumann axes (zero slope at both ends).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from codexlab.qwave import operators as op
from codexlab.qwave.fields import make_field
from codexlab.qwave.grid import Grid

ORDERS = [2, 4]
BCS = ["periodic", "dirichlet", "neumann"]

# (field, first derivative, second derivative) along one axis, per bc; vertex grids on [0, 1].
PROFILES: dict[str, tuple[Callable, Callable, Callable]] = {
    "periodic": (np.sin, np.cos, lambda x: -np.sin(x)),
    "dirichlet": (
        lambda x: np.sin(np.pi * x),
        lambda x: np.pi * np.cos(np.pi * x),
        lambda x: -(np.pi**2) * np.sin(np.pi * x),
    ),
    "neumann": (
        lambda x: np.cos(np.pi * x),
        lambda x: -np.pi * np.sin(np.pi * x),
        lambda x: -(np.pi**2) * np.cos(np.pi * x),
    ),
}


def grid(bc: str, n: int, names: str = "xy") -> Grid:
    """n intervals per axis: periodic on [0, 2π), bounded on [0, 1] (n + 1 points)."""
    if bc == "periodic":
        return Grid.from_spec([(a, 0.0, 2 * np.pi, n) for a in names])
    return Grid.from_spec([(a, 0.0, 1.0, n + 1) for a in names], bc)


def observed_order(errors: list[float]) -> float:
    return float(np.log2(errors[0] / errors[1]))


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("order", ORDERS)
def test_laplacian_converges_at_its_order(bc: str, order: int) -> None:
    f, _, d2 = PROFILES[bc]
    errors = []
    for n in (16, 32):
        g = grid(bc, n)
        X, Y = g.mesh()
        lap = op.lap(make_field(f(X) * f(Y), g), order=order)
        errors.append(float(np.max(np.abs(np.asarray(lap) - (d2(X) * f(Y) + f(X) * d2(Y))))))
    assert abs(observed_order(errors) - order) < 0.3


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("order", ORDERS)
def test_gradient_converges_at_its_order(bc: str, order: int) -> None:
    f, d1, _ = PROFILES[bc]
    errors = []
    for n in (16, 32):
        g = grid(bc, n, "x")
        (X,) = g.mesh()
        gr = op.grad(make_field(f(X), g), order=order)
        errors.append(float(np.max(np.abs(np.asarray(gr[0]) - d1(X)))))
    assert abs(observed_order(errors) - order) < 0.3


@pytest.mark.parametrize("order", ORDERS)
def test_divergence_and_curl_converge_at_their_order(order: int) -> None:
    div_errors, curl_errors = [], []
    for n in (16, 32):
        g = grid("periodic", n)
        X, Y = g.mesh()
        F = make_field(np.stack([np.sin(X) * np.cos(Y), np.cos(X) * np.cos(Y)]), g)
        div = np.cos(X) * np.cos(Y) - np.cos(X) * np.sin(Y)
        curl = -np.sin(X) * np.cos(Y) + np.sin(X) * np.sin(Y)
        div_errors.append(float(np.max(np.abs(np.asarray(op.div(F, order=order)) - div))))
        curl_errors.append(float(np.max(np.abs(np.asarray(op.curl(F, order=order)) - curl))))
    assert abs(observed_order(div_errors) - order) < 0.3
    assert abs(observed_order(curl_errors) - order) < 0.3


@pytest.mark.parametrize("order", ORDERS)
def test_dalembert_converges_at_its_order(order: int) -> None:
    errors = []
    for n in (16, 32):
        g = Grid.from_spec([("x", 0, 2 * np.pi, n), ("t", 0, 4 * np.pi, 2 * n)])
        X, T = g.mesh()
        f = make_field(np.sin(X - 0.5 * T) + np.cos(2 * X + T), g)
        exact = (1.0 - 0.25) * np.sin(X - 0.5 * T) + (4.0 - 1.0) * np.cos(2 * X + T)
        errors.append(float(np.max(np.abs(np.asarray(op.dalembert(f, order=order)) - exact))))
    assert abs(observed_order(errors) - order) < 0.3


def test_spectral_is_exact_for_band_limited_fields_3d() -> None:
    g = grid("periodic", 16, "xyz")
    X, Y, Z = g.mesh()
    f = make_field(np.sin(X) * np.cos(2 * Y) + np.cos(3 * Z), g)
    exact = -5 * np.sin(X) * np.cos(2 * Y) - 9 * np.cos(3 * Z)
    assert float(np.max(np.abs(np.asarray(op.lap(f, "spectral")) - exact))) < 1e-10
    gz = op.grad(f, "spectral").sel(component="z")
    assert float(np.max(np.abs(np.asarray(gz) + 3 * np.sin(3 * Z)))) < 1e-10
