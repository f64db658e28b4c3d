"""Entangled pairs: ⊗ and ↔ in Schmidt form against explicit NumPy joint states on small grids."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexTypeError, CodexValueError, ResourceError
from codexlab.qwave.fields import make_field
from codexlab.qwave.grid import Grid
from codexlab.qwave.pairs import EntangledPair, entangle, schmidt_decompose, tensor

SMALL = Grid.from_spec([("x", -1.0, 1.0, 6), ("y", 0.0, 1.0, 5)], bc={"x": "periodic", "y": "dirichlet"})
LINE = Grid.from_spec([("x", -4.0, 4.0, 128)])


def _random(seed: int, grid: Grid = SMALL) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=grid.shape) + 1j * rng.normal(size=grid.shape)


def _unit(v: np.ndarray, grid: Grid) -> np.ndarray:
    return v / np.sqrt(np.sum(np.abs(v) ** 2) * grid.cell_volume)


def _np_joint(a: np.ndarray, b: np.ndarray, grid: Grid) -> np.ndarray:
    """normalize((a⊗b + b⊗a)/√2) as an explicit N×N matrix, normalized with weight ΔA²."""
    a, b = _unit(a, grid).ravel(), _unit(b, grid).ravel()
    j = (np.outer(a, b) + np.outer(b, a)) / np.sqrt(2.0)
    return j / np.sqrt(np.sum(np.abs(j) ** 2) * grid.cell_volume**2)


def _np_entropy_bits(joint: np.ndarray, grid: Grid) -> float:
    s = np.linalg.svd(joint * grid.cell_volume, compute_uv=False)
    p = s**2 / np.sum(s**2)
    p = p[p > 1e-30]
    return float(-(p * np.log2(p)).sum())


def _hermite(n: int) -> np.ndarray:
    x = LINE.axes[0].coords
    return np.polynomial.hermite.hermval(x, [0] * n + [1]) * np.exp(-(x**2) / 2)


@pytest.mark.parametrize("seed", range(4))
def test_schmidt_form_reconstructs_the_joint_state(seed: int) -> None:
    a, b = _random(seed), _random(100 + seed)
    pair = entangle(a, b, grid=SMALL)
    expected = _np_joint(a, b, SMALL)
    np.testing.assert_allclose(
        np.asarray(pair.joint()).reshape(SMALL.size, SMALL.size), expected, rtol=1e-10, atol=1e-12
    )
    assert pair.entropy_bits == pytest.approx(_np_entropy_bits(expected, SMALL), abs=1e-10)


def test_schmidt_vectors_are_orthonormal_and_lambda_sorted() -> None:
    pair = entangle(_random(1), _random(2), grid=SMALL)
    for phi in (np.asarray(pair.phi_a), np.asarray(pair.phi_b)):
        gram = np.conj(phi.reshape(pair.rank, -1)) @ phi.reshape(pair.rank, -1).T * SMALL.cell_volume
        np.testing.assert_allclose(gram, np.eye(pair.rank), atol=1e-12)
    lam = np.asarray(pair.lam)
    assert np.all(np.diff(lam) <= 0)
    assert np.sum(lam**2) == pytest.approx(1.0, abs=1e-12)


def test_orthogonal_states_give_exactly_one_bit() -> None:
    pair = entangle(_hermite(0), _hermite(1), grid=LINE)
    assert pair.entropy_bits == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(np.asarray(pair.lam), [2**-0.5, 2**-0.5], atol=1e-12)
    assert pair.schmidt_rank == 2
    assert pair.phi_a.shape == (2, 128)
    assert pair.nbytes < 2 * 2 * 128 * 16 + 64


def test_a_state_entangled_with_itself_is_a_product() -> None:
    a = _random(3)
    pair = entangle(a, 2.5 * a, grid=SMALL)
    assert pair.schmidt_rank == 1
    assert pair.entropy_bits == pytest.approx(0.0, abs=1e-12)
    u = _unit(a, SMALL).ravel()
    np.testing.assert_allclose(
        np.asarray(pair.joint()).reshape(SMALL.size, SMALL.size), np.outer(u, u), rtol=1e-10, atol=1e-12
    )


def test_tensor_is_rank_one_on_separate_grids() -> None:
    a, b = _random(4), _random(5, LINE)
    pair = tensor(a, b, grid=SMALL, grid_b=LINE)
    np.testing.assert_allclose(np.asarray(pair.lam), [1.0])
    assert pair.entropy_bits == 0.0
    assert pair.grid("B") == LINE
    expected = np.einsum("ij,k->ijk", _unit(a, SMALL), _unit(b, LINE))
    np.testing.assert_allclose(np.asarray(pair.joint()), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.asarray(pair.pure_state("b")), _unit(b, LINE), rtol=1e-12)


def test_reduced_density_is_the_partial_trace_diagonal() -> None:
    a, b = _random(6), _random(7)
    pair = entangle(a, b, grid=SMALL)
    joint = _np_joint(a, b, SMALL)
    rho_a = (np.abs(joint) ** 2).sum(axis=1) * SMALL.cell_volume
    rho_b = (np.abs(joint) ** 2).sum(axis=0) * SMALL.cell_volume
    np.testing.assert_allclose(np.asarray(pair.reduced_density_diag("A")).ravel(), rho_a, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(pair.reduced_density_diag("B")).ravel(), rho_b, rtol=1e-10)


def test_orthogonal_reduced_density_is_the_mixture() -> None:
    a, b = _unit(_hermite(0), LINE), _unit(_hermite(1), LINE)
    pair = entangle(a, b, grid=LINE)
    expected = (np.abs(a) ** 2 + np.abs(b) ** 2) / 2
    np.testing.assert_allclose(np.asarray(pair.reduced_density_diag("A")), expected, atol=1e-12)


def test_joint_refuses_large_pairs() -> None:
    pair = entangle(_hermite(0), _hermite(1), grid=LINE)
    with pytest.raises(ResourceError, match=r"16384 points \(128 × 128\), above `max_points=1000`"):
        pair.joint(max_points=1000)


def test_entangled_members_have_no_pure_state() -> None:
    pair = entangle(_hermite(0), _hermite(2), grid=LINE)
    with pytest.raises(CodexValueError, match=r"Member `A` is entangled \(Schmidt rank 2"):
        pair.pure_state("A")
    with pytest.raises(CodexValueError, match=r"Pair member `C` is unknown; use `\"A\"` or `\"B\"`"):
        pair.reduced_density_diag("C")


def test_pair_errors() -> None:
    with pytest.raises(CodexValueError, match=r"`a` of `↔` is the zero field"):
        entangle(np.zeros(SMALL.shape), _random(1), grid=SMALL)
    with pytest.raises(CodexTypeError, match=r"`↔` acts on states .* `b` is a vector field"):
        entangle(_random(1), np.ones((2, *SMALL.shape)), grid=SMALL)
    with pytest.raises(CodexValueError, match=r"zero state \(all Schmidt coefficients vanish\)"):
        schmidt_decompose(np.zeros((1, *SMALL.shape)), np.ones((1, *SMALL.shape)), [1.0], SMALL, SMALL)
    with pytest.raises(CodexValueError, match=r"A Schmidt form needs λ of shape \(r,\)"):
        EntangledPair(np.ones(2), np.ones((1, *SMALL.shape)), np.ones((1, *SMALL.shape)), SMALL, SMALL)


def test_dataarray_members_and_eid_slot() -> None:
    a = make_field(_random(8), SMALL)
    b = make_field(_random(9), SMALL)
    pair = entangle(a, b)
    assert pair.eid is None
    pair.eid = "eid::run::abc"
    dens = pair.reduced_density_diag("B")
    assert isinstance(dens, xr.DataArray)
    assert dens.dims == ("x", "y")
    assert float(dens.sum()) * SMALL.cell_volume == pytest.approx(1.0, abs=1e-12)
    assert "eid::run::abc" in repr(pair)
