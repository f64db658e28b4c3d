"""The exact and grid paths give the same kind and agree in the interior within the scheme's order, with
one wall rule; precision labels say the format an op ran in (checked against the measured error); every
keyword is used or refused."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.runtime import Lab
from codexlab.runtime.values import Vetoed

S = 0.3


@pytest.fixture
def lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def gauss_lap(L: xr.DataArray) -> np.ndarray:
    """Δ exp(−r²/(2s²)) = (r²/s⁴ − 2/s²)·exp(−r²/(2s²)), on L's coordinates."""
    X, Y = np.meshgrid(L.x.values, L.y.values, indexing="ij")
    r2 = X**2 + Y**2
    return (r2 / S**4 - 2 / S**2) * np.exp(-r2 / (2 * S**2))


def lap(lab: Lab, n: int, method: str, bc: str = "dirichlet") -> tuple[xr.DataArray, str]:
    code = f"@grid x:-1..1:{n}, y:-1..1:{n}, bc={bc}\n@method {method}\nf := gaussian(x, y, σ={S})\nL = Δf"
    run = lab.run(code, f"{method}{n}{bc}")
    (op,) = [b for b in run.beams if b.token == "Δ" and b.stage in ("symbolic", "wave")]
    return run.values["L"], op.result["path"]


def interior(a: np.ndarray, r: int) -> np.ndarray:
    return a[r:-r, r:-r]


def test_exact_and_grid_give_a_field_that_agrees_inside_and_equals_at_the_walls(lab: Lab) -> None:
    exact, path_e = lap(lab, 33, "exact")
    grid, path_g = lap(lab, 33, "fd2")
    assert (path_e, path_g) == ("exact", "grid")
    assert isinstance(exact, xr.DataArray) and exact.dims == grid.dims and exact.shape == grid.shape
    ref = gauss_lap(exact)
    np.testing.assert_allclose(interior(exact.values, 1), interior(ref, 1), rtol=0, atol=1e-11)
    walls = np.ones(exact.shape, bool)
    walls[1:-1, 1:-1] = False
    np.testing.assert_array_equal(exact.values[walls], grid.values[walls])  # the one wall rule


@pytest.mark.parametrize(("method", "order"), [("fd2", 2), ("fd4", 4)])
def test_the_grid_path_converges_to_the_exact_one_at_its_order(lab: Lab, method: str, order: int) -> None:
    errors = []
    for n in (33, 65):
        exact, _ = lap(lab, n, "exact")
        grid, _ = lap(lab, n, method)
        r = order // 2
        errors.append(np.max(np.abs(interior(grid.values - exact.values, 2 * r))))
    rate = np.log2(errors[0] / errors[1])  # h halves (32 → 64 intervals)
    assert order - 0.4 < rate < order + 0.6, errors


def test_spectral_matches_the_exact_laplacian_to_rounding_on_a_periodic_grid(lab: Lab) -> None:
    """σ = 0.3 on [−1, 1): the Gaussian is ~4e-3 at the edges, so compare a narrower one, periodic to ~1e-12."""
    code = "@grid x:-1..1:64, y:-1..1:64\n@method {}\nf := gaussian(x, y, σ=0.15)\nL = Δf"
    spectral = lab.run(code.format("spectral"), "s").values["L"]
    exact = lab.run(code.format("exact"), "e").values["L"]
    assert float(np.max(np.abs(spectral.values - exact.values))) < 1e-7 * float(np.max(np.abs(exact.values)))


#: Relative error bands a format's result must fall in against fp64: above a fraction of its machine
#: epsilon (it really ran narrow) and below a generous bound (it ran correctly).
BANDS = {"fp64": (0.0, 1e-12), "fp32": (1e-10, 1e-4), "fp16": (1e-5, 0.1), "bf16": (1e-4, 0.5)}
PRECISION_CELL = (
    "@grid x:-1..1:32, y:-1..1:32\n@method fd2\nf := gaussian(x, y, σ=0.3)\n"
    'ψ := gaussian(x, y, σ=0.3) * exp(i*2*x)\nL = Δf\ng = ∇f\nd = ∇·g\nh = evolve(ψ, 5, 0.0001, eq="heat")\n'
)


@pytest.mark.parametrize("fmt", ["fp32", "fp16", "bf16"])
def test_each_precision_label_matches_the_measured_error(lab: Lab, fmt: str) -> None:
    ref = lab.run("@precision fp64\n" + PRECISION_CELL, "ref")
    run = lab.run(f"@precision {fmt}\n" + PRECISION_CELL, fmt)
    labels = {b.result.get("name", b.token): b.result["precision"] for b in run.beams if b.stage in ("wave", "host")}
    by_name = {"L": "Δ", "g": "∇", "d": "∇·", "h": "evolve"}
    seen = set()
    for name, token in by_name.items():
        label = labels[token]
        seen.add(label)
        value, expect = run.values[name], ref.values[name]
        assert not isinstance(value, Vetoed), name
        err = float(np.max(np.abs(value.values - expect.values)) / np.max(np.abs(expect.values)))
        low, high = BANDS[label]
        assert low <= err <= high, (name, label, err)
    assert fmt in seen  # the grid ops really ran narrow
    host = next(b for b in run.beams if b.token == "evolve" and b.stage != "schedule")
    assert host.result["precision"] == "fp64" and "runs on the host in fp64" in host.result["precision_reason"]


GRID = "@grid x:-1..1:16, y:-1..1:16\n"


def test_measurement_keywords_are_used(lab: Lab) -> None:
    h = 2 / 16  # periodic: 16 points on [−1, 1)
    wide = lab.run(GRID + "ψ := gaussian(x, y, σ=0.3)\nk = ⧖(ψ, resolution=0.5)", "m").values["k"]
    narrow = lab.run(GRID + "ψ := gaussian(x, y, σ=0.3)\nk = ⧖(ψ, resolution=0.01)", "m").values["k"]
    assert wide.sigma == pytest.approx(0.5) and narrow.sigma == pytest.approx(2 * h)  # σ = max(2h, resolution)
    pair = GRID + "a := gaussian(x, y, σ=0.3)\nb := gaussian(x, y, σ=0.2)\np = a ↔ b\n"
    member = lab.run(pair + 'k = ⧖(a, mode="projective", resolution=0.5)', "p").values["k"]
    assert member.mode == "projective" and member.sigma == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        ("gaussian(x, y, σ=0)", CodexValueError, "must be a positive number"),
        ("gaussian(x, y, σ=-1)", CodexValueError, "must be a positive number"),
        ("gaussian(x, y, sigma2=1)", CodexTypeError, "has no keyword `sigma2`"),
        ("relax(gaussian(x, y), foo=1)", CodexTypeError, "has no keyword `foo`"),
        ('evolve(gaussian(x, y), 3, 0.01, eq="boil")', CodexValueError, "eq"),
    ],
)
def test_a_keyword_is_used_or_refused(lab: Lab, call: str, error: type, words: str) -> None:
    with pytest.raises(error, match=words) as info:
        lab.run(GRID + f"f = {call}")
    assert info.value.line == 2


def test_an_exact_zero_is_measured_against_the_terms_that_cancel(lab: Lab) -> None:
    """∇·v of a solenoidal v is exactly 0; on the grid it is O(h²). SEMANTICS scales the drift by
    ‖∂ₓvₓ‖ + ‖∂ᵧvᵧ‖, so the result is scored as an O(h²) error and passes (an ε floor made it ~1e8)."""
    a = 0.18
    code = (
        "@grid x:-1..1:32, y:-1..1:32, bc=dirichlet\n@method fd2\n"
        f"ψ := exp(-(x^2+y^2)/{a})\nv := [-(2*y/{a})*ψ, (2*x/{a})*ψ]\nd = ∇·v"
    )
    run = lab.run(code)
    d = run.values["d"]
    assert isinstance(d, xr.DataArray)
    (beam,) = [b for b in run.beams if b.token == "∇·" and b.stage == "wave"]
    X, Y = np.meshgrid(d.x.values, d.y.values, indexing="ij")
    term = 4 * X * Y / a**2 * np.exp(-(X**2 + Y**2) / a)  # ∂ₓvₓ = −∂ᵧvᵧ, analytically
    expected = np.linalg.norm(d.values) / (2 * np.linalg.norm(term))  # 32² points: all sampled
    assert beam.drift == pytest.approx(expected, rel=1e-9)
    assert 1e-4 < beam.drift < 0.05 and beam.verdict == "pass"
