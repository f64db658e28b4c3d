"""⧖: key derivation, reproducibility, outcome statistics (chi-square vs SciPy smoothing) and pairs."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage, stats

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.qwave.fields import grid_of, make_field
from codexlab.qwave.grid import Grid
from codexlab.qwave.measure import collapse, measure_pair, pointer_density, pointer_sigma
from codexlab.qwave.pairs import entangle, tensor
from codexlab.qwave.prng import as_key, derive_key, key_hex, key_words
from codexlab.qwave.states import inner, normalize

HASH = "3fa9c0d2e41b7788a1b2c3d4"
RING = Grid.from_spec([("x", -1.0, 1.0, 64)])
ROD = Grid.from_spec([("x", 0.0, 2.0, 65)], bc="dirichlet")
PLANE = Grid.from_spec([("x", -1.0, 1.0, 48), ("y", -1.0, 1.0, 40)], bc={"x": "periodic", "y": "dirichlet"})


def _gauss(grid: Grid, center: tuple[float, ...], width: float) -> np.ndarray:
    r2 = sum((m - c) ** 2 for m, c in zip(grid.mesh(), center, strict=True))
    return np.exp(-r2 / (2 * width**2)).astype(complex)


def _unit(v: np.ndarray, grid: Grid) -> np.ndarray:
    return v / np.sqrt(np.sum(np.abs(v) ** 2) * grid.cell_volume)


def _smoothed_mass(psi: np.ndarray, grid: Grid, sigma: float) -> np.ndarray:
    """|ψ|² ∗ G_σ² per cell, normalized, with SciPy: wrap on periodic axes, zero padding on the others."""
    out = np.abs(psi) ** 2
    for ax, axis in enumerate(grid.axes):
        half = axis.n // 2 if axis.periodic else axis.n - 1
        m = np.arange(-half, half + 1)
        kernel = np.exp(-((m * axis.spacing) ** 2) / (2 * sigma**2))
        if axis.periodic and axis.n % 2 == 0:
            kernel[[0, -1]] /= 2  # offsets ±n/2 are the same point on a ring
        mode = "wrap" if axis.periodic else "constant"
        out = ndimage.convolve1d(out, kernel, axis=ax, mode=mode, cval=0.0)
    return out / out.sum()


def _merge_bins(observed: np.ndarray, expected: np.ndarray, minimum: float = 5.0) -> tuple[list, list]:
    """Merge consecutive cells until each bin expects at least `minimum` counts."""
    obs, exp, o, e = [], [], 0.0, 0.0
    for oi, ei in zip(observed, expected, strict=True):
        o, e = o + oi, e + ei
        if e >= minimum:
            obs.append(o)
            exp.append(e)
            o, e = 0.0, 0.0
    obs[-1] += o
    exp[-1] += e
    return obs, exp


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3, 2**63 - 1])
def test_derive_key_follows_the_fold_in_formula(seed: int) -> None:
    base = jax.random.key(seed, impl="threefry2x32")
    manual = jax.random.fold_in(jax.random.fold_in(base, int(HASH[:8], 16) & 0x7FFFFFFF), 3)
    assert key_words(derive_key(seed, HASH, 3)) == key_words(manual)


def test_derive_key_depends_on_seed_hash_and_step() -> None:
    key = derive_key(7, HASH, 3)
    assert key_words(derive_key(7, HASH, 3)) == key_words(key)
    assert key_words(derive_key(7, HASH, 4)) != key_words(key)
    assert key_words(derive_key(8, HASH, 3)) != key_words(key)
    assert key_words(derive_key(7, "00" + HASH, 3)) != key_words(key)
    assert key_hex(key) == "".join(f"{w:08x}" for w in key_words(key))
    assert key_words(as_key(np.asarray(key_words(key), dtype=np.uint32))) == key_words(key)


def test_derive_key_rejects_bad_inputs() -> None:
    with pytest.raises(CodexValueError, match=r"statement hash `xyz` is not a hex content hash"):
        derive_key(1, "xyz", 0)
    with pytest.raises(CodexValueError, match=r"`@seed` must be an integer"):
        derive_key(-1, HASH, 0)
    with pytest.raises(CodexValueError, match=r"draw step must be an integer"):
        derive_key(1, HASH, -2)
    with pytest.raises(CodexTypeError, match=r"Expected a PRNG key, got `str`"):
        collapse(np.ones(RING.shape), "seed", grid=RING)


def test_pointer_width_rules() -> None:
    h = 2.0 / 64
    assert pointer_sigma(RING) == pytest.approx(2 * h)
    assert pointer_sigma(RING, resolution=0.01) == pytest.approx(2 * h)
    assert pointer_sigma(RING, resolution=0.2) == pytest.approx(0.2)
    assert pointer_sigma(PLANE) == pytest.approx(2 * max(PLANE.spacing))
    with pytest.raises(CodexValueError, match=r"`sigma=0.01` is below two grid spacings"):
        collapse(np.ones(RING.shape), derive_key(0, HASH, 0), sigma=0.01, grid=RING)
    with pytest.raises(CodexValueError, match=r"mode `projectiv` is unknown \(did you mean `projective`\?\)"):
        collapse(np.ones(RING.shape), derive_key(0, HASH, 0), mode="projectiv", grid=RING)


def test_collapse_is_reproducible_and_changes_with_the_step() -> None:
    psi = _gauss(PLANE, (0.1, -0.2), 0.4)
    first = collapse(psi, derive_key(11, HASH, 0), grid=PLANE)
    again = collapse(psi, derive_key(11, HASH, 0), grid=PLANE)
    assert first.outcome == again.outcome
    assert first.probability == again.probability
    np.testing.assert_array_equal(np.asarray(first.post), np.asarray(again.post))
    outcomes = {collapse(psi, derive_key(11, HASH, step), grid=PLANE).outcome for step in range(1, 9)}
    assert len(outcomes | {first.outcome}) > 1
    assert first.key == key_words(derive_key(11, HASH, 0))
    assert first.axes == ("x", "y")


@pytest.mark.parametrize("grid", [RING, ROD], ids=["periodic", "dirichlet"])
def test_outcomes_follow_the_smoothed_density(grid: Grid) -> None:
    x = grid.axes[0].coords
    mid = 0.5 * (x[0] + x[-1])
    psi = np.exp(-((x - mid + 0.35) ** 2) / (2 * 0.25**2)) + 0.8 * np.exp(-((x - mid - 0.55) ** 2) / 0.02)
    psi = psi * np.exp(3j * x)
    sigma = pointer_sigma(grid)
    n = 2000
    counts = np.bincount(
        [collapse(psi, derive_key(2024, HASH, step), grid=grid).index[0] for step in range(n)],
        minlength=grid.size,
    )
    expected = n * _smoothed_mass(psi, grid, sigma)
    obs, exp = _merge_bins(counts, expected)
    assert len(obs) > 10
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_pointer_density_matches_scipy_in_2d() -> None:
    psi = _gauss(PLANE, (0.8, 0.7), 0.3) + 0.5j * _gauss(PLANE, (-0.5, -0.6), 0.2)
    sigma = pointer_sigma(PLANE, resolution=0.12)
    dens = np.asarray(pointer_density(psi, resolution=0.12, grid=PLANE))
    np.testing.assert_allclose(dens * PLANE.cell_volume, _smoothed_mass(psi, PLANE, sigma), rtol=1e-9, atol=1e-15)


def test_probability_is_the_density_at_the_outcome_times_the_cell() -> None:
    psi = _gauss(PLANE, (0.0, 0.3), 0.3)
    m = collapse(psi, derive_key(5, HASH, 1), grid=PLANE)
    mass = _smoothed_mass(psi, PLANE, m.sigma)
    assert m.probability == pytest.approx(mass[m.index], rel=1e-9)
    assert m.outcome == tuple(float(a.coords[i]) for a, i in zip(PLANE.axes, m.index, strict=True))


def test_pointer_post_state_is_normalized_and_wide() -> None:
    psi = _gauss(RING, (0.0,), 0.3)
    m = collapse(psi, derive_key(3, HASH, 0), grid=RING)
    post = np.asarray(m.post)
    x = RING.axes[0].coords
    d = (x - m.outcome[0] + 1.0) % 2.0 - 1.0
    kraus = np.exp(-(d**2) / (4 * m.sigma**2))
    np.testing.assert_allclose(post, _unit(kraus * _unit(psi, RING), RING), rtol=1e-10, atol=1e-13)
    p = np.abs(post) ** 2 * RING.cell_volume
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    width = np.sqrt(np.sum(p * d**2))
    assert width > 0.5 * m.sigma
    assert p.max() < 0.5


def test_projective_mode_resets_to_a_gaussian() -> None:
    psi = _gauss(PLANE, (0.2, 0.0), 0.5) * np.exp(5j * PLANE.mesh()[0])
    m = collapse(psi, derive_key(9, HASH, 2), mode="projective", grid=PLANE)
    x, y = PLANE.mesh()
    dx = (x - m.outcome[0] + 1.0) % 2.0 - 1.0
    dy = y - m.outcome[1]
    gauss = _unit(np.exp(-(dx**2 + dy**2) / (4 * m.sigma**2)).astype(complex), PLANE)
    np.testing.assert_allclose(np.asarray(m.post), gauss, rtol=1e-10, atol=1e-13)
    assert m.mode == "projective"


def test_dataarray_collapse_returns_a_dataarray() -> None:
    psi = make_field(_gauss(ROD, (1.0,), 0.3), ROD)
    m = collapse(psi, derive_key(1, HASH, 0))
    assert isinstance(m.post, xr.DataArray)
    assert grid_of(m.post).bcs() == {"x": "dirichlet"}
    assert float((np.abs(m.post) ** 2).sum()) * ROD.cell_volume == pytest.approx(1.0, abs=1e-12)


def test_collapse_rejects_vector_fields() -> None:
    vector = make_field(np.ones((2, *PLANE.shape)), PLANE)
    with pytest.raises(CodexTypeError, match=r"`⧖` acts on states .* vector field"):
        collapse(vector, derive_key(1, HASH, 0))


def _separated_pair() -> tuple[np.ndarray, np.ndarray]:
    a = normalize(_gauss(PLANE, (-0.5, 0.0), 0.1), grid=PLANE)
    b = _gauss(PLANE, (0.5, 0.0), 0.1)
    b = np.asarray(b) - inner(a, b, grid=PLANE) * np.asarray(a)
    return np.asarray(a), np.asarray(normalize(b, grid=PLANE))


@pytest.mark.parametrize("member", ["A", "B"])
def test_measuring_a_separated_pair_leaves_a_product(member: str) -> None:
    a, b = _separated_pair()
    pair = entangle(a, b, grid=PLANE)
    pair.eid = "eid::test::1"
    assert pair.entropy_bits == pytest.approx(1.0, abs=1e-12)
    m, after = measure_pair(pair, member, derive_key(42, HASH, 0))
    assert after.entropy_bits < 1e-6
    assert after.eid == "eid::test::1"
    assert m.member == member
    x = PLANE.mesh()[0]
    side = -1.0 if m.outcome[0] < 0 else 1.0
    other = "B" if member == "A" else "A"
    dens = np.asarray(after.reduced_density_diag(other))
    assert np.sum(dens * x) * PLANE.cell_volume == pytest.approx(-0.5 * side, abs=0.05)
    assert after.schmidt_rank == 1
    partner = np.asarray(m.partner)
    np.testing.assert_allclose(np.abs(partner) ** 2, dens, atol=1e-9)
    assert np.sum(np.abs(partner) ** 2) * PLANE.cell_volume == pytest.approx(1.0, abs=1e-10)


def test_pair_pointer_measurement_matches_the_explicit_joint_state() -> None:
    small = Grid.from_spec([("x", -1.0, 1.0, 16)])
    x = small.axes[0].coords
    a = np.exp(-(x**2) / 0.3).astype(complex)
    b = x * np.exp(-(x**2) / 0.3) + 0.3 * a
    pair = entangle(a, b, grid=small)
    m, after = measure_pair(pair, "A", derive_key(6, HASH, 0))
    joint = np.asarray(pair.joint())
    marginal = (np.abs(joint) ** 2).sum(axis=1) * small.cell_volume
    assert m.probability == pytest.approx(_smoothed_mass(np.sqrt(marginal), small, m.sigma)[m.index], rel=1e-9)
    d = (x - m.outcome[0] + 1.0) % 2.0 - 1.0
    post = np.exp(-(d**2) / (4 * m.sigma**2))[:, None] * joint
    post /= np.sqrt(np.sum(np.abs(post) ** 2) * small.cell_volume**2)
    np.testing.assert_allclose(np.asarray(after.joint()), post, rtol=1e-9, atol=1e-12)
    s = np.linalg.svd(post * small.cell_volume, compute_uv=False)
    p = s**2 / np.sum(s**2)
    p = p[p > 1e-30]
    assert after.entropy_bits == pytest.approx(float(-(p * np.log2(p)).sum()), abs=1e-9)
    assert 0.0 < after.entropy_bits < pair.entropy_bits
    rho_b = (np.abs(post) ** 2).sum(axis=0) * small.cell_volume
    np.testing.assert_allclose(np.asarray(m.partner), rho_b, rtol=1e-9, atol=1e-12)
    rho_a = (np.abs(post) ** 2).sum(axis=1) * small.cell_volume
    np.testing.assert_allclose(np.asarray(m.post), rho_a, rtol=1e-9, atol=1e-12)


def test_pair_projective_measurement_conditions_the_partner() -> None:
    small = Grid.from_spec([("x", -1.0, 1.0, 16)])
    x = small.axes[0].coords
    a = np.exp(-((x + 0.3) ** 2) / 0.1).astype(complex)
    b = np.exp(-((x - 0.3) ** 2) / 0.1) * np.exp(2j * x)
    pair = entangle(a, b, grid=small)
    m, after = measure_pair(pair, "B", derive_key(8, HASH, 5), mode="projective")
    assert after.schmidt_rank == 1
    d = (x - m.outcome[0] + 1.0) % 2.0 - 1.0
    gauss = _unit(np.exp(-(d**2) / (4 * m.sigma**2)).astype(complex), small)
    np.testing.assert_allclose(np.asarray(m.post), gauss, rtol=1e-10, atol=1e-13)
    partner = np.asarray(pair.joint()) @ np.conj(gauss) * small.cell_volume
    np.testing.assert_allclose(np.asarray(m.partner), _unit(partner, small), rtol=1e-9, atol=1e-12)


def test_measuring_a_product_keeps_the_partner() -> None:
    a, b = _separated_pair()
    pair = tensor(a, b, grid=PLANE)
    m, after = measure_pair(pair, "A", derive_key(1, HASH, 0))
    assert after.schmidt_rank == 1
    overlap = np.abs(np.sum(np.conj(np.asarray(m.partner)) * b) * PLANE.cell_volume)
    assert overlap == pytest.approx(1.0, abs=1e-12)
