"""Kinds and rewrites end to end: one statement or two give the same kind error; a name that a loop turns
from a number into a field is a field for every rule and every op; rewrites keep the values of complex
fields, tensors and zero vectors (references from NumPy, computed independently)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexTypeError
from codexlab.runtime import Lab

GRID = "@grid x:-1..1:32, y:-1..1:32\n"
FIELDS = GRID + "f := gaussian(x, y, σ=0.3)\nv := [f, x*f]\nw := [y*f, f]\n"


@pytest.fixture
def lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def lap(a: np.ndarray, h: float) -> np.ndarray:
    """The periodic 5-point Laplacian, written out with np.roll (the reference, independent of codexlab)."""
    return sum(np.roll(a, 1, k) + np.roll(a, -1, k) - 2 * a for k in (-2, -1)) / h**2


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ("q = f + ∇f", "g = ∇f\nq = f + g"),
        ("q = ∇×f", "g = f * 2\nq = ∇×g"),
        ("q = ∇(∇f)", "g = ∇f\nq = ∇g"),
    ],
)
def test_a_kind_error_is_the_same_in_one_statement_or_two(lab: Lab, one: str, two: str) -> None:
    with pytest.raises(CodexTypeError) as first:
        lab.run(FIELDS + one, "one")
    with pytest.raises(CodexTypeError) as second:
        lab.run(FIELDS + two, "two")
    problem = lambda e: e.value.message.split(" but ")[0].split(" in `")[0]  # noqa: E731 - the glyph's complaint
    assert problem(first) == problem(second)
    assert "q" not in lab.memory("one").bindings and "q" not in lab.memory("two").bindings


def test_a_curl_of_a_gradient_is_a_zero_vector_that_adds_to_vectors(lab: Lab) -> None:
    cube = "@grid x:-1..1:8, y:-1..1:8, z:-1..1:8\nf := gaussian(x, y, σ=0.3)\n"
    run = lab.run(cube + "C = ∇×∇f + ∇f\nG = ∇f")
    C, G = run.values["C"], run.values["G"]
    assert C.dims == G.dims and C.shape == (3, 8, 8, 8)
    np.testing.assert_array_equal(C.values, G.values)


def test_a_name_a_loop_makes_a_field_is_a_field_for_the_rules_and_the_ops(lab: Lab) -> None:
    """`a` starts as the number 2 and the loop multiplies it by a field: Δ(3a) must be 3Δa of that field,
    not the derivative of a constant (0) that the pre-loop kind would give."""
    code = GRID + "@method fd2\na := 2.0\ng := gaussian(x, y, σ=0.3)\n⟲ 2 { a = a * g }\nL = Δ(3*a)"
    run = lab.run(code)
    a, L = run.values["a"], run.values["L"]
    h = float(a.x[1] - a.x[0])
    np.testing.assert_allclose(L.values, lap(3 * a.values, h), rtol=1e-12, atol=1e-9)
    assert float(np.abs(L.values).max()) > 1.0


def test_inside_a_loop_a_name_holding_a_number_reads_as_a_constant_field(lab: Lab) -> None:
    code = "@grid x:-1..1:16, y:-1..1:16, bc=dirichlet\na := 2.0\nL = 0\n⟲ {n} {{ L = Δ(3*a)\n a = a + x^2 }}"
    once = lab.run(code.format(n=1), "once").values["L"]
    assert isinstance(once, xr.DataArray) and float(np.abs(once.values).max()) == 0.0  # Δ of the constant 6
    twice = lab.run(code.format(n=2), "twice").values["L"]
    np.testing.assert_allclose(twice.values[1:-1, 1:-1], 6.0, atol=1e-9)  # Δ(3(2 + x²)) = 6 inside


def test_the_dot_of_a_vector_and_a_tensor_keeps_its_order(lab: Lab) -> None:
    run = lab.run(FIELDS + "T = v ⊗ w\nleft = v • T\nright = T • v")
    v, w = run.values["v"].values, run.values["w"].values
    T = np.einsum("i...,j...->ij...", v, w)
    np.testing.assert_allclose(run.values["left"].values, np.einsum("i...,ij...->j...", v, T), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(run.values["right"].values, np.einsum("ij...,j...->i...", T, v), rtol=1e-12, atol=1e-15)
    assert not np.allclose(run.values["left"].values, run.values["right"].values)


def test_linearity_rewrites_keep_complex_values(lab: Lab) -> None:
    code = GRID + "@method fd2\nψ := gaussian(x, y, σ=0.3) * exp(i*3*x)\nE = Δ(2*ψ + ψ) - Δψ"
    run = lab.run(code)
    psi, E = run.values["ψ"], run.values["E"]
    assert np.iscomplexobj(E.values) and run.derivations["E"].steps
    h = float(psi.x[1] - psi.x[0])
    np.testing.assert_allclose(E.values, 2 * lap(psi.values, h), rtol=1e-11, atol=1e-9)
