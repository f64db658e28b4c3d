"""Reductions of fields (`integral`, `‖·‖`, `mean`) are trapezoid sums: exact for constants on every
boundary, second order on walls, spectral for periodic functions on periodic grids; a constant field stays
a field until it is reduced."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import i0

from codexlab.runtime import Lab

BCS = ("periodic", "dirichlet", "neumann")


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Lab:
    lab = Lab(home=tmp_path_factory.mktemp("home"))
    lab.progress = False
    return lab


def _value(lab: Lab, code: str, name: str) -> float:
    return float(lab.run(code, "r").values[name])


@pytest.mark.parametrize("bc", BCS)
def test_constant_fields_reduce_to_the_continuum_values(lab: Lab, bc: str) -> None:
    grid = f"@grid x:-1..1:16, y:-1..1:16, bc={bc}\n"
    assert _value(lab, grid + "n = ‖ones()‖", "n") == pytest.approx(2.0, abs=1e-12)  # √(area of [-1, 1]²)
    assert _value(lab, grid + "I = integral(ones())", "I") == pytest.approx(4.0, abs=1e-12)
    assert _value(lab, grid + "m = mean(3*ones())", "m") == pytest.approx(3.0, abs=1e-12)
    cube = f"@grid x:-1..1:8, y:-1..1:8, z:0..1:8, bc={bc}\nI = integral(ones())"
    assert _value(lab, cube, "I") == pytest.approx(4.0, abs=1e-12)


@pytest.mark.parametrize("bc", ["dirichlet", "neumann"])
def test_integral_and_norm_converge_at_second_order_between_walls(lab: Lab, bc: str) -> None:
    exact_integral = (math.e - 1 / math.e) ** 2  # ∫∫ e^(x+y) over [-1, 1]²
    exact_norm = (math.e**2 - math.e**-2) / 2  # (∫∫ e^(2x+2y))^½
    errors = []
    for n in (17, 33, 65):
        code = f"@grid x:-1..1:{n}, y:-1..1:{n}, bc={bc}\n@method fd2\nf = exp(x+y)\nI = integral(f)\nN = ‖f‖"
        run = lab.run(code, "c")
        errors.append((abs(float(run.values["I"]) - exact_integral), abs(float(run.values["N"]) - exact_norm)))
    for k in range(2):
        rates = [math.log2(errors[i][k] / errors[i + 1][k]) for i in range(2)]
        assert all(1.8 < r < 2.3 for r in rates), (k, errors)


def test_periodic_integrals_of_periodic_functions_are_spectral(lab: Lab) -> None:
    # ∫_{-1}^{1} e^{sin πx} dx = 2·I₀(1) and likewise for cos: the product is (2·I₀(1))².
    exact = (2 * i0(1.0)) ** 2
    value = _value(
        lab, "@grid x:-1..1:32, y:-1..1:32\nI = integral(exp(sin(3.141592653589793*x) + cos(3.141592653589793*y)))", "I"
    )
    assert value == pytest.approx(exact, rel=1e-13)


def test_a_wall_weighted_sum_differs_from_the_plain_cell_sum(lab: Lab) -> None:
    """The trapezoid weights are what make the wall case exact: the plain Σ·ΔA over-counts both walls."""
    n = 16
    h = 2 / (n - 1)
    plain = n * n * h * h
    value = _value(lab, f"@grid x:-1..1:{n}, y:-1..1:{n}, bc=dirichlet\nI = integral(ones())", "I")
    assert not np.isclose(plain, 4.0) and value == pytest.approx(4.0, abs=1e-12)
