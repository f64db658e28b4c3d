"""Fields: make_field layout and attrs, content ids, grid_of round trips and bc attrs, field_kind."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.qwave.fields import field_kind, grid_of, make_field
from codexlab.qwave.grid import Grid

GRID = Grid.from_spec([("x", 0.0, 1.0, 8), ("y", -1.0, 1.0, 5)], {"x": "periodic", "y": "dirichlet"})


def test_scalar_field_layout_and_attrs() -> None:
    values = np.arange(40.0).reshape(8, 5)
    f = make_field(values, GRID, name="ψ", units="m", attrs={"note": "n"})
    assert f.dims == ("x", "y") and f.name == "ψ"
    np.testing.assert_array_equal(f.x.values, GRID.axes[0].coords)
    np.testing.assert_array_equal(f.y.values, np.linspace(-1.0, 1.0, 5))
    assert f.attrs["units"] == "m" and f.attrs["note"] == "n"
    assert f.attrs["bc"] == "x:periodic,y:dirichlet"
    expected = hashlib.blake2b(values.tobytes() + b"(8, 5)" + b"float64", digest_size=12).hexdigest()
    assert f.attrs["id"] == expected and len(expected) == 24
    np.testing.assert_array_equal(f.values, values)
    assert f.values.ctypes.data % 64 == 0
    assert field_kind(f) == "scalar"


def test_content_id_tracks_values_shape_and_dtype() -> None:
    g = Grid.from_spec([("x", 0, 1, 4), ("y", 0, 1, 4)])
    a = np.zeros((4, 4))
    ids = {
        make_field(a, g).attrs["id"],
        make_field(a.astype(np.float32), g).attrs["id"],
        make_field(a + 1e-300, g).attrs["id"],
    }
    assert len(ids) == 3
    assert make_field(a.copy(), g).attrs["id"] == make_field(a, g).attrs["id"]


def test_vector_and_tensor_fields() -> None:
    v = make_field(np.ones((2, 8, 5)), GRID, name="F")
    assert v.dims == ("component", "x", "y") and list(v.component.values) == ["x", "y"]
    assert field_kind(v) == "vector"
    t = make_field(np.ones((2, 2, 8, 5)), GRID)
    assert t.dims == ("component", "component2", "x", "y") and field_kind(t) == "tensor"
    three = make_field(np.ones((3, 8, 5)), GRID)
    assert list(three.component.values) == ["x", "y", "z"]


def test_vector_components_exclude_time() -> None:
    g = Grid.from_spec([("x", 0, 1, 6), ("t", 0, 1, 4)])
    v = make_field(np.zeros((1, 6, 4)), g)
    assert list(v.component.values) == ["x"]


@pytest.mark.parametrize("shape", [(5, 8), (4, 8, 5), (2, 2, 2, 8, 5), (8,)])
def test_make_field_rejects_shapes_that_do_not_fit(shape: tuple[int, ...]) -> None:
    with pytest.raises(CodexValueError, match=r"do not fit the grid|needs 2 components"):
        make_field(np.zeros(shape), GRID)


def test_make_field_rejects_objects() -> None:
    with pytest.raises(CodexTypeError, match="numeric values"):
        make_field(np.full((8, 5), None), GRID)


def test_grid_of_round_trips_and_reads_bc() -> None:
    f = make_field(np.zeros((8, 5)), GRID)
    assert grid_of(f) == GRID
    assert grid_of(f, bc="neumann").bcs() == {"x": "neumann", "y": "neumann"}
    assert grid_of(f, bc={"x": "dirichlet"}).bcs() == {"x": "dirichlet", "y": "dirichlet"}
    v = make_field(np.zeros((2, 8, 5)), GRID)
    assert grid_of(v) == GRID


def test_grid_of_plain_dataarray_defaults_to_periodic() -> None:
    x = np.linspace(0, 1, 10, endpoint=False)
    da = xr.DataArray(np.zeros((10, 10)), dims=("y", "x"), coords={"x": x, "y": x})
    g = grid_of(da)
    assert g.names == ("y", "x") and g.bcs() == {"y": "periodic", "x": "periodic"}
    assert g.axis("x").hi == pytest.approx(1.0)


def test_grid_of_errors() -> None:
    da = xr.DataArray(np.zeros((4, 4)), dims=("x", "q"), coords={"x": np.arange(4.0), "q": np.arange(4.0)})
    with pytest.raises(CodexValueError, match=r"Dim `q` is not a grid axis"):
        grid_of(da)
    no_coords = xr.DataArray(np.zeros((4,)), dims=("x",))
    with pytest.raises(CodexValueError, match=r"Dim `x` has no coordinates"):
        grid_of(no_coords)
    f = make_field(np.zeros((8, 5)), GRID)
    with pytest.raises(CodexValueError, match=r"Boundary condition `wrap` of axis `x` is unknown"):
        grid_of(f, bc="wrap")
    with pytest.raises(CodexValueError, match=r"`bc` names axis `z`"):
        grid_of(f, bc={"z": "periodic"})
    with pytest.raises(CodexValueError, match=r"malformed"):
        grid_of(f.assign_attrs(bc="x=periodic"))


def test_empty_aligned_gives_an_aligned_contiguous_array_of_the_shape_and_dtype() -> None:
    from codexlab.qwave.fields import aligned, empty_aligned

    for shape, dtype in (((3, 5), np.float64), ((2, 7, 9), np.complex64), ((1,), np.float32)):
        arr = empty_aligned(shape, dtype)
        assert arr.shape == shape and arr.dtype == dtype and arr.flags.c_contiguous
        assert arr.ctypes.data % 64 == 0 and aligned(arr) is arr
