"""States: ‖·‖, ⟨·|·⟩, ⊕ ⊖ ⋈ and the entropy of a state, against NumPy computing the same formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.qwave.fields import grid_of, make_field
from codexlab.qwave.grid import Grid
from codexlab.qwave.pairs import tensor
from codexlab.qwave.states import cancel, inner, interfere, norm, normalize, state_entropy, superpose

GRID = Grid.from_spec([("x", -1.0, 1.0, 24), ("y", -1.5, 1.5, 20)])
DIRICHLET = Grid.from_spec([("x", 0.0, 2.0, 33)], bc="dirichlet")


def _random_state(seed: int, grid: Grid = GRID) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=grid.shape) + 1j * rng.normal(size=grid.shape)


def _np_norm(v: np.ndarray, grid: Grid) -> float:
    return float(np.sqrt(np.sum(np.abs(v) ** 2) * np.prod(grid.spacing)))


@pytest.mark.parametrize("grid", [GRID, DIRICHLET], ids=["periodic-2d", "dirichlet-1d"])
def test_normalize_gives_unit_norm(grid: Grid) -> None:
    psi = _random_state(1, grid) * 3.7
    out = np.asarray(normalize(psi, grid=grid))
    np.testing.assert_allclose(out, psi / _np_norm(psi, grid), rtol=1e-12)
    assert _np_norm(out, grid) == pytest.approx(1.0, abs=1e-12)
    assert norm(psi, grid=grid) == pytest.approx(_np_norm(psi, grid), rel=1e-12)


def test_inner_is_conjugate_linear_in_the_first_argument() -> None:
    a, b = _random_state(2), _random_state(3)
    expected = np.sum(np.conj(a) * b) * GRID.cell_volume
    assert inner(a, b, grid=GRID) == pytest.approx(expected, rel=1e-12)
    assert inner(2j * a, b, grid=GRID) == pytest.approx(-2j * expected, rel=1e-12)
    assert inner(a, a, grid=GRID) == pytest.approx(norm(a, grid=GRID) ** 2, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_superpose_and_cancel_match_numpy(seed: int) -> None:
    a, b = _random_state(10 + seed), _random_state(20 + seed)
    plus = np.asarray(superpose(a, b, grid=GRID))
    minus = np.asarray(cancel(a, b, grid=GRID))
    np.testing.assert_allclose(plus, (a + b) / _np_norm(a + b, GRID), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(minus, (a - b) / _np_norm(a - b, GRID), rtol=1e-11, atol=1e-14)
    assert _np_norm(plus, GRID) == pytest.approx(1.0, abs=1e-12)
    assert _np_norm(minus, GRID) == pytest.approx(1.0, abs=1e-12)


def test_cancelling_a_state_with_itself_is_an_error() -> None:
    a = normalize(_random_state(4), grid=GRID)
    with pytest.raises(CodexValueError, match=r"`a ⊖ b` is the zero state \(‖a − b‖ = 0\); states that cancel"):
        cancel(a, a, grid=GRID)
    with pytest.raises(CodexValueError, match=r"`a ⊕ b` is the zero state"):
        superpose(a, -a, grid=GRID)
    with pytest.raises(CodexValueError, match=r"zero field"):
        normalize(np.zeros(GRID.shape), grid=GRID)


@settings(max_examples=60, deadline=None)
@given(phi=st.floats(min_value=-10.0, max_value=10.0, allow_nan=False))
def test_interfere_pattern(phi: float) -> None:
    a = normalize(_random_state(5), grid=GRID)
    b = normalize(_random_state(6), grid=GRID)
    out = np.asarray(interfere(a, b, phi, grid=GRID))
    a_np, b_np = np.asarray(a), np.asarray(b)
    pattern = np.abs(a_np) ** 2 + np.abs(b_np) ** 2 + 2 * np.real(np.conj(a_np) * np.exp(1j * phi) * b_np)
    np.testing.assert_allclose(np.abs(out) ** 2, pattern, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, a_np + np.exp(1j * phi) * b_np, rtol=1e-12, atol=1e-14)


def test_interfere_is_not_normalized() -> None:
    a = normalize(_random_state(7), grid=GRID)
    assert norm(interfere(a, a, 0.0, grid=GRID), grid=GRID) == pytest.approx(2.0, rel=1e-12)
    assert norm(interfere(a, a, np.pi, grid=GRID), grid=GRID) == pytest.approx(0.0, abs=1e-12)


def test_interfere_rejects_a_complex_phase() -> None:
    a = _random_state(8)
    with pytest.raises(CodexTypeError, match=r"phase of `⋈\[φ\]` must be a real number"):
        interfere(a, a, 1j, grid=GRID)


def test_wrong_kinds_raise_type_errors() -> None:
    a = make_field(_random_state(9), GRID)
    vector = make_field(np.stack([np.ones(GRID.shape), np.zeros(GRID.shape)]), GRID)
    with pytest.raises(CodexTypeError, match=r"`⊕` acts on states .* `b` is a vector field \(dim `component`\)"):
        superpose(a, vector)
    with pytest.raises(CodexTypeError, match=r"`a` is a vector field"):
        superpose(np.ones((2, *GRID.shape)), np.ones(GRID.shape), grid=GRID)
    with pytest.raises(CodexTypeError, match=r"`b` is a number"):
        superpose(a, 2.0)
    pair = tensor(a, a)
    with pytest.raises(CodexTypeError, match=r"`a` is an entangled pair; measure a member with `measure_pair"):
        cancel(pair, a)
    with pytest.raises(CodexTypeError, match=r"`ψ` is a vector"):
        normalize([1.0, 2.0], grid=GRID)


def test_grid_problems_raise_value_errors() -> None:
    a = _random_state(11)
    with pytest.raises(CodexValueError, match=r"bare array without a grid; pass `grid=`"):
        superpose(a, a)
    with pytest.raises(CodexValueError, match=r"has shape `\(24, 19\)`"):
        superpose(a, a[:, :-1], grid=GRID)
    other = Grid.from_spec([("x", -1.0, 1.0, 24), ("y", -1.0, 1.0, 20)])
    with pytest.raises(CodexValueError, match=r"live on different grids"):
        superpose(make_field(a, GRID), make_field(a, other))


def test_dataarrays_in_dataarrays_out() -> None:
    a_np, b_np = _random_state(12), _random_state(13)
    a = make_field(a_np, GRID, name="a")
    out = superpose(a, b_np)
    assert isinstance(out, xr.DataArray)
    assert out.dims == ("x", "y")
    np.testing.assert_allclose(out.coords["y"].values, GRID.axes[1].coords)
    assert grid_of(out) == grid_of(a)
    np.testing.assert_allclose(out.values, (a_np + b_np) / _np_norm(a_np + b_np, GRID), rtol=1e-11)
    assert isinstance(norm(a), float)
    assert isinstance(inner(a, a), complex)


def test_dirichlet_dataarray_keeps_its_grid() -> None:
    psi = make_field(np.sin(np.pi * DIRICHLET.axes[0].coords / 2.0), DIRICHLET)
    out = normalize(psi)
    assert grid_of(out).bcs() == {"x": "dirichlet"}
    assert norm(out) == pytest.approx(1.0, abs=1e-12)


def test_states_trace_under_jit() -> None:
    a, b = jnp.asarray(_random_state(14)), jnp.asarray(_random_state(15))
    jitted = jax.jit(lambda u, v: superpose(u, v, grid=GRID))
    np.testing.assert_allclose(jitted(a, b), superpose(a, b, grid=GRID), rtol=1e-12)


def test_single_precision_stays_single() -> None:
    a = np.ones(GRID.shape, dtype=np.float32)
    assert normalize(a, grid=GRID).dtype == jnp.complex64


def test_state_entropy_against_scipy() -> None:
    psi = _random_state(16)
    p = np.abs(psi) ** 2
    assert state_entropy(psi, grid=GRID) == pytest.approx(stats.entropy(p.ravel()), rel=1e-12)
    uniform = np.ones(GRID.shape)
    assert state_entropy(uniform, grid=GRID) == pytest.approx(np.log(GRID.size), rel=1e-12)
    spike = np.zeros(GRID.shape)
    spike[3, 4] = 2.0
    assert state_entropy(spike, grid=GRID) == pytest.approx(0.0, abs=1e-15)
    real = np.cos(np.linspace(0, 3, GRID.size)).reshape(GRID.shape)
    assert state_entropy(real, grid=GRID) == pytest.approx(stats.entropy((real**2).ravel()), rel=1e-12)
    with pytest.raises(CodexValueError, match=r"entropy of the zero field is undefined"):
        state_entropy(np.zeros(GRID.shape), grid=GRID)
