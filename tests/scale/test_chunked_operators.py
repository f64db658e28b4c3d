"""The `.cx` operators on Dask-backed fields (chunk by chunk, `map_overlap`) against the in-memory results."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("dask.array")

from codexlab.errors import CodexTypeError, CodexValueError  # noqa: E402
from codexlab.qwave import operators as op  # noqa: E402
from codexlab.qwave.chunked import ghost_widths  # noqa: E402
from codexlab.qwave.fields import make_field  # noqa: E402
from codexlab.qwave.grid import Grid  # noqa: E402
from codexlab.qwave.kernels import axis_specs  # noqa: E402

# 2-D fields big enough (> 2^15 points) that the in-memory kernels take their interior + rim path, so
# the chunked halo exchange is checked against the code path real fields use; chunks are uneven.
SHAPE_2D = (230, 190)
CHUNKS_2D = {"x": 64, "y": 50}
GRIDS = {
    "periodic": Grid.from_spec([("x", 0.0, 2 * np.pi, SHAPE_2D[0]), ("y", 0.0, 2 * np.pi, SHAPE_2D[1])]),
    "dirichlet": Grid.from_spec([("x", 0.0, 1.0, SHAPE_2D[0]), ("y", 0.0, 1.0, SHAPE_2D[1])], "dirichlet"),
    "neumann": Grid.from_spec([("x", 0.0, 1.0, SHAPE_2D[0]), ("y", 0.0, 1.0, SHAPE_2D[1])], "neumann"),
}


def random_field(grid: Grid, lead: tuple[int, ...] = (), seed: int = 7, name: str = "u") -> xr.DataArray:
    return make_field(np.random.default_rng(seed).standard_normal(lead + grid.shape), grid, name=name)


Op = Callable[[xr.DataArray, int], xr.DataArray]

SCALAR_OPS: dict[str, Op] = {
    "grad": lambda f, order: f.cx.grad(order=order),
    "lap": lambda f, order: f.cx.lap(order=order),
    "partial_x": lambda f, order: f.cx.partial("x", order=order),
    "partial_yy": lambda f, order: f.cx.partial("y", 2, order=order),
}
VECTOR_OPS: dict[str, Op] = {
    "div": lambda F, order: F.cx.div(order=order),
    "curl": lambda F, order: F.cx.curl(order=order),
    "lap": lambda F, order: F.cx.lap(order=order),
}


def assert_same(lazy: xr.DataArray, eager: xr.DataArray) -> None:
    """Same labels, and the same numbers to rounding: each chunk runs the in-memory stencil on the same
    values, but XLA may round a small padded block and the large field's interior-and-rim program
    differently in the last bit, so allow a few ulp of the result's scale (a wrong ghost value is off
    by the size of the terms themselves, about 10^15 times more)."""
    assert lazy.chunks is not None, "the chunked result should stay a Dask array until computed"
    assert lazy.dims == eager.dims and lazy.name == eager.name
    assert lazy.attrs["units"] == eager.attrs["units"] and lazy.attrs["bc"] == eager.attrs["bc"]
    got, want = lazy.values, eager.values
    scale = float(np.max(np.abs(want)))
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * np.finfo(want.dtype).eps * scale)


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("bc", sorted(GRIDS))
def test_scalar_operators_chunked_equal_in_memory(bc: str, order: int) -> None:
    f = random_field(GRIDS[bc])
    lazy = f.chunk(CHUNKS_2D)
    for apply in SCALAR_OPS.values():
        assert_same(apply(lazy, order), apply(f, order))


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("bc", ["periodic", "dirichlet"])
def test_vector_operators_chunked_equal_in_memory(bc: str, order: int) -> None:
    F = random_field(GRIDS[bc], (2,), name="F")
    lazy = F.chunk(CHUNKS_2D)
    for apply in VECTOR_OPS.values():
        assert_same(apply(lazy, order), apply(F, order))


def test_three_d_curl_and_mixed_walls() -> None:
    grid = Grid.from_spec(
        [("x", 0.0, 1.0, 32), ("y", 0.0, 2.0, 30), ("z", 0.0, 1.0, 28)],
        {"x": "dirichlet", "y": "periodic", "z": "neumann"},
    )
    F = random_field(grid, (3,), name="F")
    lazy = F.chunk({"x": 16, "y": 15, "z": 14})  # even chunks: one block shape to compile per kernel
    for order in (2, 4):
        assert_same(lazy.cx.curl(order=order), F.cx.curl(order=order))
        assert_same(lazy.cx.div(order=order), F.cx.div(order=order))
    u = random_field(grid)
    assert_same(u.chunk({"x": 16, "y": 15, "z": 14}).cx.grad(order=4), u.cx.grad(order=4))


def test_time_operators_chunked_equal_in_memory() -> None:
    grid = Grid.from_spec([("x", 0.0, 1.0, 61), ("t", 0.0, 1.0, 40)], {"x": "dirichlet", "t": "neumann"})
    u = random_field(grid)
    lazy = u.chunk({"x": 16, "t": 9})
    assert_same(lazy.cx.dalembert(c=1.5), u.cx.dalembert(c=1.5))
    assert_same(lazy.cx.ddt(order=4), u.cx.ddt(order=4))


def test_spectral_runs_on_an_unchunked_axis_and_refuses_a_chunked_one() -> None:
    f = random_field(GRIDS["periodic"])
    along_y = f.chunk({"x": -1, "y": 50})
    assert_same(along_y.cx.partial("x", method="spectral"), f.cx.partial("x", method="spectral"))
    with pytest.raises(CodexValueError, match=r"whole axis `y` in one chunk, but the field has 4 chunks"):
        along_y.cx.lap(method="spectral")


def test_a_vector_with_the_wrong_number_of_components_is_refused_before_computing() -> None:
    grid = Grid.from_spec([("x", 0.0, 1.0, 32), ("y", 0.0, 1.0, 30)])
    F = xr.DataArray(
        np.zeros((3, 32, 30)), dims=("component", "x", "y"), coords={"x": grid.coords()["x"], "y": grid.coords()["y"]}
    ).chunk({"x": 16})
    with pytest.raises(CodexTypeError, match=r"`∇·` needs 2 components \(one per spatial axis\), got 3"):
        F.cx.div()


def test_thin_wall_chunks_are_refused_with_the_fix() -> None:
    f = random_field(GRIDS["dirichlet"]).chunk({"x": (1, 229), "y": -1})
    with pytest.raises(CodexValueError, match=r"Axis `x` has a chunk of 1 point\(s\), but its `dirichlet` walls"):
        f.cx.lap()


def test_ghost_width_is_the_stencil_radius_of_the_method() -> None:
    axes = axis_specs(GRIDS["periodic"])
    assert ghost_widths("lap", axes, "fd2", {}) == {0: 1, 1: 1}
    assert ghost_widths("lap", axes, "fd4", {}) == {0: 2, 1: 2}
    assert ghost_widths("derivative", axes, "fd4", {"axis": 1}) == {0: 0, 1: 2}
    assert ghost_widths("lap", axes, "spectral", {}) == {0: 0, 1: 0}


def test_a_chunked_result_is_lazy_and_keeps_its_chunks() -> None:
    f = random_field(GRIDS["periodic"]).chunk(CHUNKS_2D)
    lap = op.lap(f)
    assert lap.chunks == f.chunks
    assert "id" not in lap.attrs  # a content hash would have to compute the field
