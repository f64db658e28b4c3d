"""Fields: xarray DataArrays on a `Grid`, with units, boundary conditions and a content hash in attrs.

A scalar field has the grid's dims; a vector field has a leading `component` dim labelled by the
spatial axis names; a dyadic tensor has `component` and `component2`. Kernels never see DataArrays:
`make_field` and `grid_of` are the two edges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import CodexTypeError, CodexValueError
from .chunked import is_dask_array
from .grid import AXIS_NAMES, BOUNDARY_CONDITIONS, Grid

__all__ = [
    "make_field",
    "grid_of",
    "field_kind",
    "content_id",
    "aligned",
    "empty_aligned",
    "COMPONENT",
    "COMPONENT2",
]

COMPONENT = "component"
COMPONENT2 = "component2"
FieldKind = Literal["scalar", "vector", "tensor"]


def content_id(values: np.ndarray) -> str:
    """Content hash of an array: blake2b over its bytes, shape and dtype, 24 hex digits."""
    arr = np.ascontiguousarray(values)
    h = hashlib.blake2b(digest_size=12)
    h.update(arr.tobytes())
    h.update(repr(arr.shape).encode())
    h.update(str(arr.dtype).encode())
    return h.hexdigest()


ALIGNMENT = 64


def aligned(values: Any) -> np.ndarray:
    """`values` as a C-contiguous NumPy array on a 64-byte boundary (copied only when it is not).

    JAX on the CPU aliases such buffers instead of copying them, so kernels on fields skip a pass.
    """
    arr = np.asarray(values)
    if arr.flags.c_contiguous and arr.ctypes.data % ALIGNMENT == 0:
        return arr
    buf = np.empty(arr.nbytes + ALIGNMENT, dtype=np.uint8)
    offset = (-buf.ctypes.data) % ALIGNMENT
    out = buf[offset : offset + arr.nbytes].view(arr.dtype).reshape(arr.shape)
    np.copyto(out, arr)
    return out


def empty_aligned(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialized C-contiguous array on a 64-byte boundary (what `aligned` keeps without a copy)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    offset = (-buf.ctypes.data) % ALIGNMENT
    return buf[offset : offset + nbytes].view(dtype).reshape(shape)


def make_field(
    values: Any,
    grid: Grid,
    *,
    name: str | None = None,
    units: str = "1",
    attrs: Mapping[str, Any] | None = None,
    with_id: bool = True,
) -> xr.DataArray:
    """Wrap values on `grid` as a DataArray: scalar, vector (`component`) or tensor (`component2`).

    Parameters: `values` of shape `grid.shape`, `(d, *grid.shape)` or `(d, d, *grid.shape)` with `d`
    the number of spatial axes (a 2-D cross product may also give `(3, …)` components x, y, z);
    `name` and `units` of the field; extra `attrs`. Returns a DataArray whose attrs carry `units`,
    `bc` (per axis) and `id` (content hash); its values are 64-byte aligned (copied if they were not)
    and may be a read-only view of a kernel's output. `with_id=False` skips the content hash (it costs
    more than a fused kernel on large grids; beams hash their results anyway). A Dask array is wrapped
    lazily, without an `id`. Raises `CodexValueError` when the shape does not fit.
    """
    lazy = is_dask_array(values)  # wrapped as is (no copy, no content hash), so it stays out of core
    if not lazy and np.asarray(values).dtype == object:
        raise CodexTypeError("`make_field` needs numeric values, got Python objects; pass a NumPy array.")
    arr = values if lazy else aligned(values)
    lead = arr.shape[: arr.ndim - grid.ndim] if arr.ndim >= grid.ndim else None
    if lead is None or arr.shape[arr.ndim - grid.ndim :] != grid.shape or len(lead) > 2:
        raise CodexValueError(
            f"Values of shape `{arr.shape}` do not fit the grid `{grid.describe()}` of shape "
            f"`{grid.shape}`; pass `{grid.shape}` for a scalar or `(d, *{grid.shape})` for a vector."
        )
    labels = _component_labels(grid, lead, arr.shape)
    dims = [COMPONENT, COMPONENT2][: len(lead)] + list(grid.names)
    coords: dict[str, Any] = dict(grid.coords())
    for dim, lab in zip(dims, labels, strict=False):
        coords[dim] = list(lab)
    out_attrs: dict[str, Any] = dict(attrs or {})
    out_attrs["units"] = units
    out_attrs.update(grid.to_attrs())
    if with_id and not lazy:
        out_attrs["id"] = content_id(arr)
    return xr.DataArray(arr, dims=dims, coords=coords, name=name, attrs=out_attrs)


def _component_labels(grid: Grid, lead: tuple[int, ...], shape: tuple[int, ...]) -> list[tuple[str, ...]]:
    """Component labels for each leading dim: the spatial axis names (x, y, z for 3-vectors)."""
    space = tuple(a.name for a in grid.space_axes)
    labels = []
    for d in lead:
        if d == len(space):
            labels.append(space)
        elif d == 3 and len(space) == 2:
            labels.append(("x", "y", "z"))
        else:
            raise CodexValueError(
                f"A vector field on `{grid.describe()}` needs {len(space)} components "
                f"({', '.join(f'`{s}`' for s in space)}), got shape `{shape}`; stack one array per axis."
            )
    return labels


def _parse_bc_attr(text: str) -> dict[str, str]:
    """Read `"x:periodic,y:dirichlet"` into `{"x": "periodic", "y": "dirichlet"}`."""
    out: dict[str, str] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        if ":" not in part:
            raise CodexValueError(f"The `bc` attribute `{text}` is malformed; write `x:periodic,y:dirichlet`.")
        axis, bc = (s.strip() for s in part.split(":", 1))
        out[axis] = bc
    return out


def grid_of(da: xr.DataArray, bc: str | Mapping[str, str] | None = None) -> Grid:
    """The grid a DataArray lives on: its coordinate dims, with bcs from `bc` or its `bc` attr.

    `bc` may be one condition for every axis or one per axis name; axes it does not name fall back to
    the attr, then to periodic. Raises `CodexValueError` for a dim without coordinates or a bad bc.
    """
    names = [d for d in da.dims if d not in (COMPONENT, COMPONENT2)]
    if not names:
        raise CodexValueError("The field has no grid dims; give it dims such as `x` and `y` with coordinates.")
    attr_bcs = _parse_bc_attr(da.attrs["bc"]) if "bc" in da.attrs else {}
    if isinstance(bc, str):
        given: dict[str, str] = {str(n): bc for n in names}
    else:
        given = {str(k): str(v) for k, v in (bc or {}).items()}
    for key in given:
        if key not in names:
            raise CodexValueError(
                f"`bc` names axis `{key}`, but the field's axes are {', '.join(f'`{n}`' for n in names)}."
            )
    coords: dict[str, Any] = {}
    bcs: dict[str, str] = {}
    for n in names:
        n = str(n)
        if n not in AXIS_NAMES:
            raise CodexValueError(
                f"Dim `{n}` is not a grid axis; rename it to one of "
                f"{', '.join(f'`{a}`' for a in AXIS_NAMES)} (e.g. `da.rename({n}='x')`)."
            )
        if n not in da.coords:
            raise CodexValueError(f"Dim `{n}` has no coordinates; assign them with `da.assign_coords({n}=...)`.")
        coords[n] = da.coords[n].values
        b = given.get(n, attr_bcs.get(n, "periodic"))
        if b not in BOUNDARY_CONDITIONS:
            raise CodexValueError(
                f"Boundary condition `{b}` of axis `{n}` is unknown; use one of "
                f"{', '.join(f'`{c}`' for c in BOUNDARY_CONDITIONS)}."
            )
        bcs[n] = b
    return Grid.from_coords(coords, bcs)


def field_kind(da: xr.DataArray) -> FieldKind:
    """`"scalar"`, `"vector"` (a `component` dim) or `"tensor"` (`component` and `component2`)."""
    if COMPONENT2 in da.dims:
        return "tensor"
    if COMPONENT in da.dims:
        return "vector"
    return "scalar"
