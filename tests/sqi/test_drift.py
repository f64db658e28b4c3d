"""Drift against hand-computed NumPy references: relative L2, discretization drift of an fd2 Laplacian of
a Gaussian, sampling, localisation, precision and run drift, gaps and container status."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import sympy
import xarray as xr

from codexlab.errors import CodexValueError
from codexlab.qwave.grid import Grid
from codexlab.sqi import (
    DriftComponent,
    DriftReport,
    Gap,
    combine_reports,
    container_status,
    discretization_drift,
    precision_drift,
    qscore,
    relative_l2,
    run_drift,
)
from codexlab.sqi.drift import sample_indices
from codexlab.sqi.scoring import accuracy

X, Y, T = sympy.symbols("x y t", real=True)
SIGMA = 0.2
GAUSS = sympy.exp(-(X**2 + Y**2) / (2 * SIGMA**2))
LAP_EXACT = sympy.diff(GAUSS, X, 2) + sympy.diff(GAUSS, Y, 2)


def _square(n: int, bc: str = "periodic") -> Grid:
    return Grid.from_spec([("x", -1.0, 1.0, n), ("y", -1.0, 1.0, n)], bc)


def _fd2_laplacian(n: int) -> tuple[Grid, np.ndarray, np.ndarray]:
    """(grid, fd2 Laplacian by np.roll, exact Laplacian by the formula f·((x²+y²)/σ⁴ − 2/σ²))."""
    grid = _square(n)
    xs, ys = grid.mesh()
    h = grid.spacing[0]
    f = np.exp(-(xs**2 + ys**2) / (2 * SIGMA**2))
    lap = sum((np.roll(f, 1, axis) - 2 * f + np.roll(f, -1, axis)) / h**2 for axis in (0, 1))
    exact = f * ((xs**2 + ys**2) / SIGMA**4 - 2 / SIGMA**2)
    return grid, lap, exact


def _full_drift(numeric: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(numeric - exact) / np.linalg.norm(exact))


# ------------------------------------------------------------------------------------- relative L2


def test_relative_l2_matches_the_formula() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert relative_l2(a, b, scale=1.0) == pytest.approx(np.linalg.norm(a - b) / np.linalg.norm(b), rel=1e-13)


def test_a_zero_reference_is_measured_against_the_scale_of_the_terms() -> None:
    """SEMANTICS: ‖a − b‖ / max(‖b‖, scale), so an O(h²) error against an exact 0 reads as O(h²)."""
    a = np.full(10, 1e-3)
    assert relative_l2(a, np.zeros(10), scale=3.0) == pytest.approx(np.linalg.norm(a) / 3.0, rel=1e-13)
    b = np.full(10, 5.0)  # a reference larger than the scale is its own denominator
    assert relative_l2(b + a, b, scale=3.0) == pytest.approx(np.linalg.norm(a) / np.linalg.norm(b), rel=1e-12)


def test_zero_reference_and_zero_scale_give_the_absolute_distance() -> None:
    a = np.array([3.0, 4.0])
    assert relative_l2(a, np.zeros(2), scale=0.0) == pytest.approx(5.0)
    assert relative_l2(np.zeros(2), np.zeros(2), scale=0.0) == 0.0


def test_relative_l2_is_inf_for_nan_and_does_not_overflow() -> None:
    assert relative_l2(np.array([np.nan, 1.0]), np.ones(2), scale=1.0) == math.inf
    big = np.full(4, 1e200)
    assert relative_l2(2 * big, big, scale=1.0) == pytest.approx(1.0)


def test_relative_l2_refuses_different_shapes() -> None:
    with pytest.raises(CodexValueError, match="one shape"):
        relative_l2(np.ones(3), np.ones(4), scale=1.0)


# ---------------------------------------------------------------------------- discretization drift


def test_coarse_and_fine_laplacian_drift_and_qscore() -> None:
    coarse_grid, coarse, coarse_exact = _fd2_laplacian(32)
    fine_grid, fine, fine_exact = _fd2_laplacian(128)
    c = discretization_drift(coarse, LAP_EXACT, coarse_grid)
    f = discretization_drift(fine, LAP_EXACT, fine_grid)
    # 32² has fewer than 4096 points: every point is compared, so the drift is the full-grid one.
    assert c.points == c.total_points == 32 * 32
    assert c.value == pytest.approx(_full_drift(coarse, coarse_exact), rel=1e-10)
    # 128² is sampled at 4096 points.
    assert (f.points, f.total_points) == (4096, 128 * 128)
    assert f.value == pytest.approx(_full_drift(fine, fine_exact), rel=0.05)
    # fd2 is second order: 4× finer grid, about 16× smaller error.
    assert 10 < c.value / f.value < 20
    q_coarse = qscore(1, accuracy(c.value), goal=1.0, rewrite=1.0)
    q_fine = qscore(1, accuracy(f.value), goal=1.0, rewrite=1.0)
    assert q_coarse == pytest.approx(math.exp(-c.value / 0.1) ** 0.5, rel=1e-12)
    assert q_fine == pytest.approx(math.exp(-f.value / 0.1) ** 0.5, rel=1e-12)
    assert q_coarse < q_fine


def test_sampled_drift_on_256_grid_is_within_ten_percent() -> None:
    grid, lap, exact = _fd2_laplacian(256)
    sampled = discretization_drift(lap, LAP_EXACT, grid, max_points=4096, seed=3)
    assert sampled.points == 4096
    assert sampled.value == pytest.approx(_full_drift(lap, exact), rel=0.10)
    again = discretization_drift(lap, LAP_EXACT, grid, max_points=4096, seed=3)
    assert again == sampled


def test_exact_form_is_evaluated_only_at_the_sampled_points() -> None:
    grid = _square(1024)
    values = np.zeros(grid.shape)
    tracemalloc.start()
    try:
        discretization_drift(values, sympy.sin(X) * sympy.cos(Y), grid, max_points=512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One 1024² float64 array would be 8 MiB; a sample of 512 points needs a few kilobytes.
    assert peak < 2 * 1024 * 1024


def test_sample_indices_are_distinct_sorted_and_seeded() -> None:
    idx = sample_indices((300, 200), 1000, seed=5)
    flat = np.ravel_multi_index(idx, (300, 200))
    assert len(np.unique(flat)) == 1000 and np.all(np.diff(flat) > 0)
    assert all(np.array_equal(a, b) for a, b in zip(idx, sample_indices((300, 200), 1000, seed=5), strict=True))
    with pytest.raises(CodexValueError, match="max_points"):
        sample_indices((3, 3), 0)


def test_free_t_is_evaluated_at_zero_on_a_grid_without_t() -> None:
    grid = _square(16)
    xs, ys = grid.mesh()
    comp = discretization_drift(np.sin(xs) + ys, sympy.sin(X + T) + Y * sympy.cos(T), grid)
    assert comp.value < 1e-14


def test_vector_field_drift_with_component_dim() -> None:
    grid = _square(64)
    xs, ys = grid.mesh()
    h = grid.spacing[0]
    f = np.sin(np.pi * xs) * np.cos(np.pi * ys)
    grad = np.stack([(np.roll(f, -1, a) - np.roll(f, 1, a)) / (2 * h) for a in (0, 1)])
    field = xr.DataArray(grad.transpose(1, 2, 0), dims=("x", "y", "component"))
    exact = sympy.Matrix([sympy.diff(sympy.sin(sympy.pi * X) * sympy.cos(sympy.pi * Y), v) for v in (X, Y)])
    exact_np = np.stack(
        [np.pi * np.cos(np.pi * xs) * np.cos(np.pi * ys), -np.pi * np.sin(np.pi * xs) * np.sin(np.pi * ys)]
    )
    comp = discretization_drift(field, exact, grid)
    assert comp.value == pytest.approx(_full_drift(grad, exact_np), rel=0.05)


def test_discretization_drift_refuses_mismatches() -> None:
    grid = _square(16)
    with pytest.raises(CodexValueError, match="not an axis"):
        discretization_drift(np.zeros(grid.shape), X + sympy.Symbol("k"), grid)
    with pytest.raises(CodexValueError, match="grid's shape"):
        discretization_drift(np.zeros((8, 8)), X, grid)
    with pytest.raises(CodexValueError, match="component shape"):
        discretization_drift(np.zeros(grid.shape), sympy.Matrix([X, Y]), grid)


def test_error_only_at_the_edge_is_located_at_the_boundary() -> None:
    grid = _square(64, "dirichlet")
    xs, ys = grid.mesh()
    exact = np.cos(xs) * np.cos(ys)
    edge = exact.copy()
    edge[0, :] += 0.1
    edge[:, -1] -= 0.1
    inner = exact.copy()
    inner[30:34, 30:34] += 0.1
    at_edge = discretization_drift(edge, sympy.cos(X) * sympy.cos(Y), grid)
    inside = discretization_drift(inner, sympy.cos(X) * sympy.cos(Y), grid)
    assert at_edge.location == "boundary" and at_edge.boundary_share == pytest.approx(1.0)
    assert inside.location == "interior" and inside.boundary_share == 0.0


# ---------------------------------------------------------------------------- precision, run drift


def test_precision_drift_of_fp32_against_fp64() -> None:
    grid, lap, _ = _fd2_laplacian(64)
    lap32 = lap.astype(np.float32)
    comp = precision_drift(lap32, lap, scale=1.0)
    expected = np.linalg.norm(lap32.astype(np.float64) - lap) / np.linalg.norm(lap)
    assert comp.kind == "precision" and comp.value == pytest.approx(expected, rel=1e-12)
    assert 0 < comp.value < 1e-6
    located = precision_drift(lap32, lap, scale=1.0, grid=grid)
    assert located.location in ("boundary", "interior") and located.value == pytest.approx(expected, rel=1e-12)


def test_run_drift_is_zero_for_identical_runs_and_refuses_other_shapes() -> None:
    a = np.linspace(0, 1, 20)
    assert run_drift(a, a.copy(), scale=1.0).value == 0.0
    assert run_drift(a + 1e-3, a, scale=1.0).value == pytest.approx(
        np.linalg.norm(np.full(20, 1e-3)) / np.linalg.norm(a)
    )
    with pytest.raises(CodexValueError, match="shapes differ"):
        run_drift(a, a[:10], scale=1.0)


# ---------------------------------------------------------------------------------- report, status


def test_report_drift_is_the_largest_component_and_its_location() -> None:
    report = DriftReport(
        [DriftComponent("discretization", 0.02, "boundary"), DriftComponent("precision", 1e-7, "interior")]
    )
    assert report.drift == 0.02 and report.location == "boundary"
    assert DriftReport().drift is None and DriftReport().location is None


def test_gap_weights_and_container_status() -> None:
    one = DriftReport(gaps=[Gap.missing_dependency(["ψ"])])
    assert one.gap_weight == pytest.approx(1.25)
    assert container_status(one, tol=0.05) == "OPEN"
    three = Gap.missing_dependency(["a", "b", "c"])
    assert three.weight == pytest.approx(1.75)
    assert container_status(DriftReport(gaps=[three]), tol=0.05) == "OPEN"
    both = DriftReport(gaps=[three, Gap.unmet_goal("smooth")])
    assert both.gap_weight == pytest.approx(3.25)
    assert container_status(both, tol=0.05) == "DRIFTING"


def test_closed_needs_no_gaps_and_drift_within_tolerance() -> None:
    small = DriftReport([DriftComponent("discretization", 0.01)])
    large = DriftReport([DriftComponent("discretization", 0.2)])
    assert container_status(small, tol=0.05) == "CLOSED"
    assert container_status(DriftReport(), tol=0.05) == "CLOSED"
    assert container_status(large, tol=0.05) == "OPEN"
    assert container_status(DriftReport(gaps=[Gap.empty_cell()]), tol=0.05) == "OPEN"
    failed = DriftReport(gaps=[Gap.failed_op("Δ", "boom")] * 3)
    assert failed.gap_weight == pytest.approx(3.0) and container_status(failed, tol=0.05) == "DRIFTING"


def test_combine_reports_and_gap_validation() -> None:
    merged = combine_reports(
        [
            DriftReport([DriftComponent("run", 0.3)], [Gap.empty_cell()]),
            DriftReport(gaps=[Gap.unmet_goal("g")]),
        ]
    )
    assert merged.drift == 0.3 and merged.gap_weight == pytest.approx(2.5)
    assert merged.as_dict()["gaps"][1]["kind"] == "unmet_goal"
    with pytest.raises(CodexValueError, match="did you mean `failed_op`"):
        Gap("failed_ops", "x", 1.0)  # type: ignore[arg-type]
    with pytest.raises(CodexValueError, match="at least one name"):
        Gap.missing_dependency([])


def test_precision_drift_locates_an_edge_error_on_the_whole_grid() -> None:
    grid = _square(32, "neumann")
    reference = np.ones(grid.shape)
    edge = reference.copy()
    edge[:, 1] += 1e-3
    comp = precision_drift(edge, reference, scale=1.0, grid=grid)
    assert comp.location == "boundary" and comp.boundary_share == pytest.approx(1.0)
    assert comp.value == pytest.approx(np.linalg.norm(edge - reference) / np.linalg.norm(reference))
