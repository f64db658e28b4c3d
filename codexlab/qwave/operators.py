"""Differential and pointwise operators on fields: DataArrays in, DataArrays out, kernels in between.

Each operator reads the grid from the field's coordinates and its boundary conditions from the `bc`
attr (or from `grid=` / `bc=` arguments), checks the kind of each operand (scalar, vector, tensor) and
raises a `CodexTypeError` that names the operand and what it would need. Results come from
`make_field`: named after the glyph (`∇ψ`, `Δψ`, `F•G`) with units derived from the operands' units
and the axes' `units` coordinate attrs (spatial axes are assumed to share one unit).
Derivatives: `method="fd2"` (default), `"fd4"`, `"spectral"`, or `order=2|4`; boundary conventions
are documented in `codexlab.qwave.stencils`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..errors import CodexTypeError, CodexValueError
from . import kernels as K
from .chunked import apply_chunked, is_dask_array
from .fields import COMPONENT, COMPONENT2, aligned, field_kind, grid_of, make_field
from .grid import Grid

__all__ = ["grad", "div", "curl", "lap", "dalembert", "ddt", "partial", "dot", "cross", "outer", "prepare"]

BC = str | Mapping[str, str] | None


def _who(da: xr.DataArray) -> str:
    return f"`{da.name}`" if da.name is not None else "the operand"


def _where(da: xr.DataArray) -> str:
    return "(" + ", ".join(str(d) for d in da.dims if d not in (COMPONENT, COMPONENT2)) + ")"


def _describe(da: xr.DataArray) -> str:
    """E.g. "`ψ` is a scalar field on (x, y)"."""
    return f"{_who(da)} is a {field_kind(da)} field on {_where(da)}"


def _with_bc(grid: Grid, bc: BC) -> Grid:
    """The same coordinates with boundary conditions replaced where `bc` names them."""
    if bc is None:
        return grid
    bcs = grid.bcs()
    bcs.update({n: bc for n in bcs} if isinstance(bc, str) else dict(bc))
    return Grid.from_coords(grid.coords(), bcs)


def _order_components(da: xr.DataArray, grid: Grid) -> xr.DataArray:
    """Reorder labelled components to the grid's spatial axis order."""
    space = [a.name for a in grid.space_axes]
    for dim in (COMPONENT, COMPONENT2):
        if dim in da.dims and dim in da.coords:
            labels = [str(v) for v in da.coords[dim].values]
            if sorted(labels) == sorted(space) and labels != space:
                da = da.sel({dim: space})
    return da


def prepare(f: Any, grid: Grid | None = None, bc: BC = None, glyph: str = "op") -> tuple[xr.DataArray, Grid]:
    """The operand as a DataArray (components first, in axis order) and its grid."""
    if not isinstance(f, xr.DataArray):
        if grid is None:
            raise CodexTypeError(
                f"`{glyph}` needs a field (an xarray DataArray), got `{type(f).__name__}`; "
                "build one with `make_field(values, grid)` or pass `grid=`."
            )
        f = make_field(f, grid)
    lead = [d for d in (COMPONENT, COMPONENT2) if d in f.dims]
    if list(f.dims[: len(lead)]) != lead:
        f = f.transpose(*lead, ...)
    if grid is None:
        g = grid_of(f, bc)
    else:
        names = tuple(str(d) for d in f.dims if d not in (COMPONENT, COMPONENT2))
        shape = tuple(f.sizes[d] for d in names)
        if names != grid.names or shape != grid.shape:
            raise CodexValueError(
                f"{_who(f)} has dims `{names}` of shape `{shape}`, which do not match the grid "
                f"`{grid.describe()}`; pass the field's own grid or regrid it."
            )
        g = _with_bc(grid, bc)
    return _order_components(f, g), g


def _axis_unit(da: xr.DataArray, axis: str) -> str:
    return str(da.coords[axis].attrs.get("units", "1")) if axis in da.coords else "1"


def _per(units: str, length: str, power: int) -> str:
    """Units of a derivative: `units / length^power`, leaving dimensionless parts out."""
    if length == "1":
        return units
    den = length if power == 1 else f"{length}^{power}"
    return f"1/{den}" if units == "1" else f"{units}/{den}"


def _times(a: str, b: str) -> str:
    if a == "1":
        return b
    if b == "1":
        return a
    return f"{a}·{b}"


def _name(glyph: str, *operands: xr.DataArray, infix: bool = False) -> str | None:
    names = [o.name for o in operands]
    if any(n is None for n in names):
        return None
    wrapped = [str(n) if str(n).isidentifier() else f"({n})" for n in names]
    return glyph.join(wrapped) if infix else f"{glyph}{wrapped[0]}"


def _kernel(name: str, da: xr.DataArray, grid: Grid, method: str, backend: str | None, **kw: Any) -> Any:
    """Run a differential kernel on a field's values: in memory, or chunk by chunk (`map_overlap`) when
    they are a Dask array, so a field larger than memory stays lazy."""
    if is_dask_array(da.data):
        return apply_chunked(name, da.data, grid, method, backend=backend, **kw)
    return getattr(K, name)(da.values, K.axis_specs(grid), method=method, backend=backend, **kw)


def _scalar_like(values: Any, like: xr.DataArray, grid: Grid) -> xr.DataArray | None:
    """A scalar field to shape a scalar result after: `like` (or its first component, for a vector
    operand) when it holds exactly `grid`'s coordinates and nothing else; None otherwise."""
    if is_dask_array(values) or np.ndim(values) != grid.ndim:
        return None
    lead = [d for d in (COMPONENT, COMPONENT2) if d in like.dims]
    given = like.coords.variables
    if tuple(d for d in like.dims if d not in lead) != grid.names or set(given) - set(lead) != set(grid.names):
        return None
    if not all(np.array_equal(given[a.name].values, a.coords) for a in grid.axes):
        return None
    return like.isel({d: 0 for d in lead}, drop=True) if lead else like


def _result(values: Any, like: xr.DataArray, grid: Grid, name: str | None, units: str) -> xr.DataArray:
    """Wrap kernel output like the input field: same grid and bcs, axis coordinate attrs kept. No content
    `id`: hashing the output costs more than the kernel at 512² (`content_id(da.values)` gives one)."""
    base = _scalar_like(values, like, grid)
    if base is not None:
        # A scalar result on the operand's own coordinates: a shallow copy keeps them with their indexes
        # (rebuilding the pandas indexes costs more than a 512² kernel); values and attrs as make_field's.
        out = base.copy(deep=False, data=aligned(np.asarray(values)))
        out.name, out.attrs, out.encoding = name, {"units": units, **grid.to_attrs()}, {}
        return out
    out = make_field(
        values if is_dask_array(values) else np.asarray(values), grid, name=name, units=units, with_id=False
    )
    given, made = like.coords.variables, out.coords.variables  # Variables: no DataArray built per axis
    for axis in grid.names:
        if axis in given and given[axis].attrs:
            made[axis].attrs.update(given[axis].attrs)
    return out


def _space_unit(da: xr.DataArray, grid: Grid) -> str:
    space = grid.space_axes
    return _axis_unit(da, space[0].name) if space else "1"


def _units(da: xr.DataArray) -> str:
    return str(da.attrs.get("units", "1"))


def _need_kind(da: xr.DataArray, kinds: tuple[str, ...], glyph: str, fix: str) -> None:
    if field_kind(da) not in kinds:
        wanted = " or ".join(f"a {k}" for k in kinds)
        raise CodexTypeError(f"`{glyph}` needs {wanted} field; {_describe(da)}. {fix}")


def _vector_hint(grid: Grid) -> str:
    comps = ", ".join(f"F{a.name}" for a in grid.space_axes)
    return f"`[{comps}]`"


def grad(
    f: Any,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """∇f: the gradient of a scalar field, a vector field with one component per spatial axis.

    Raises `CodexTypeError` for a vector field and `CodexValueError` for spectral on a non-periodic axis.
    """
    da, g = prepare(f, grid, bc, "∇")
    _need_kind(da, ("scalar",), "∇", "Take `∇·` of a vector field, or `∇` of one component.")
    if not g.space_axes:
        raise CodexTypeError(f"`∇` needs a spatial axis; {_describe(da)}. Add `x` to the grid.")
    values = _kernel("grad", da, g, K.resolve_method(method, order), backend)
    return _result(values, da, g, _name("∇", da), _per(_units(da), _space_unit(da, g), 1))


def div(
    F: Any,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """∇·F: the divergence of a vector field, a scalar field."""
    da, g = prepare(F, grid, bc, "∇·")
    _need_kind(da, ("vector",), "∇·", f"Take `∇` first or build a vector {_vector_hint(g)}.")
    values = _kernel("div", da, g, K.resolve_method(method, order), backend)
    return _result(values, da, g, _name("∇·", da), _per(_units(da), _space_unit(da, g), 1))


def curl(
    F: Any,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """∇×F: in 2-D the scalar ∂ₓF_y − ∂_yFₓ, in 3-D a vector field."""
    da, g = prepare(F, grid, bc, "∇×")
    _need_kind(da, ("vector",), "∇×", f"Take `∇` first or build a vector {_vector_hint(g)}.")
    if len(g.space_axes) not in (2, 3):
        raise CodexTypeError(
            f"`∇×` needs a 2-D or 3-D vector field; {_describe(da)}. Add a second spatial axis to the grid."
        )
    values = _kernel("curl", da, g, K.resolve_method(method, order), backend)
    return _result(values, da, g, _name("∇×", da), _per(_units(da), _space_unit(da, g), 1))


def lap(
    f: Any,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """Δf = Σ ∂²f/∂xᵢ² over the spatial axes (componentwise for vector and tensor fields)."""
    da, g = prepare(f, grid, bc, "Δ")
    values = _kernel("lap", da, g, K.resolve_method(method, order), backend)
    return _result(values, da, g, _name("Δ", da), _per(_units(da), _space_unit(da, g), 2))


def _need_time(da: xr.DataArray, g: Grid, glyph: str) -> None:
    if not g.has_time:
        raise CodexTypeError(
            f"`{glyph}` needs a time axis; {_who(da)} on {_where(da)} has no time axis `t`; "
            "add `t:0..T:N` to `@grid` or define it with a symbolic `t`."
        )


def dalembert(
    f: Any,
    c: float = 1.0,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """□f = ∂²f/∂t² − c²Δf along the grid's time axis `t` (c from `@wave c=`, default 1)."""
    da, g = prepare(f, grid, bc, "□")
    _need_time(da, g, "□")
    m = K.resolve_method(method, order)
    values = _kernel("dalembert", da, g, m, backend, c=float(c))
    return _result(values, da, g, _name("□", da), _per(_units(da), _axis_unit(da, "t"), 2))


def partial(
    f: Any,
    axis: str,
    deriv: int = 1,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """∂f/∂axis (or ∂²f/∂axis² with `deriv=2`) along any grid axis, componentwise for vectors."""
    da, g = prepare(f, grid, bc, f"∂{axis}")
    index = g.names.index(g.axis(axis).name)
    values = _kernel("derivative", da, g, K.resolve_method(method, order), backend, axis=index, deriv=deriv)
    glyph = f"∂{axis}" if deriv == 1 else f"∂{axis}{axis}"
    return _result(values, da, g, _name(glyph, da), _per(_units(da), _axis_unit(da, axis), deriv))


def ddt(
    f: Any,
    method: str | None = None,
    order: int | None = None,
    *,
    grid: Grid | None = None,
    bc: BC = None,
    backend: str | None = None,
) -> xr.DataArray:
    """d/dt f: the derivative along the grid's time axis `t`."""
    da, g = prepare(f, grid, bc, "d/dt")
    _need_time(da, g, "d/dt")
    return partial(da, "t", 1, method, order, grid=g, backend=backend)


def _pair(a: Any, b: Any, glyph: str, grid: Grid | None) -> tuple[xr.DataArray, xr.DataArray, Grid]:
    """Two operands on one grid (same dims, shape and coordinates)."""
    da, g = prepare(a, grid, None, glyph)
    db, gb = prepare(b, grid, None, glyph)
    same = g.names == gb.names and g.shape == gb.shape
    if same:
        same = all(np.allclose(g.coords()[n], gb.coords()[n]) for n in g.names)
    if not same:
        raise CodexValueError(
            f"`{glyph}` needs both operands on one grid; {_who(da)} is on `{g.describe()}` and "
            f"{_who(db)} on `{gb.describe()}`; interpolate one onto the other's grid."
        )
    return da, db, g


def dot(a: Any, b: Any, *, grid: Grid | None = None) -> xr.DataArray:
    """a • b pointwise, bilinear (no conjugation): vector•vector → scalar; tensor•vector → vector."""
    da, db, g = _pair(a, b, "•", grid)
    kinds = (field_kind(da), field_kind(db))
    if kinds[0] != kinds[1] and "scalar" in kinds:
        raise CodexTypeError(
            f"`•` needs two vectors (or a tensor and a vector); {_describe(da)} and {_describe(db)}. "
            "Use `*` to scale a field by a scalar."
        )
    values = K.dot(da.values, db.values, kinds)
    return _result(values, da, g, _name("•", da, db, infix=True), _times(_units(da), _units(db)))


def _need_vectors(da: xr.DataArray, db: xr.DataArray, glyph: str, sizes: tuple[int, ...] | None = None) -> None:
    for x in (da, db):
        if field_kind(x) != "vector" or (sizes is not None and x.sizes[COMPONENT] not in sizes):
            allowed = "" if sizes is None else " with " + " or ".join(str(s) for s in sizes) + " components"
            raise CodexTypeError(
                f"`{glyph}` needs two vector fields{allowed}; {_describe(x)}"
                + (f" with {x.sizes[COMPONENT]} components" if field_kind(x) == "vector" else "")
                + ". Build vectors such as `[Fx, Fy, Fz]`."
            )
    if da.sizes[COMPONENT] != db.sizes[COMPONENT]:
        raise CodexTypeError(
            f"`{glyph}` needs vectors with the same number of components; {_who(da)} has "
            f"{da.sizes[COMPONENT]} and {_who(db)} has {db.sizes[COMPONENT]}."
        )


def cross(a: Any, b: Any, *, grid: Grid | None = None) -> xr.DataArray:
    """a × b of 3-vectors (a vector field); of 2-vectors the z component aₓb_y − a_ybₓ (a scalar)."""
    da, db, g = _pair(a, b, "×", grid)
    _need_vectors(da, db, "×", (2, 3))
    values = K.cross(da.values, db.values)
    return _result(values, da, g, _name("×", da, db, infix=True), _times(_units(da), _units(db)))


def outer(a: Any, b: Any, *, grid: Grid | None = None) -> xr.DataArray:
    """a ⊗ b of vector fields: the dyadic tensor T[i, j] = a[i]·b[j] pointwise (no conjugation)."""
    da, db, g = _pair(a, b, "⊗", grid)
    _need_vectors(da, db, "⊗")
    values = K.outer(da.values, db.values)
    return _result(values, da, g, _name("⊗", da, db, infix=True), _times(_units(da), _units(db)))
