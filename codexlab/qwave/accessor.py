"""The `.cx` accessor: codexlab's operators on any DataArray a user already has.

`da.cx.lap()` is `operators.lap(da)`: the grid comes from the coordinates, boundary conditions from
the `bc` attr or the `bc=` argument (periodic otherwise); `da.cx.plot()` draws the field with Plotly.
Registered by `import codexlab` (the class is imported only when `.cx` is first used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import xarray as xr

from . import operators as ops
from .fields import field_kind, grid_of
from .grid import Grid

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["CodexAccessor"]


class _GridArgs(TypedDict):
    grid: Grid
    bc: ops.BC


class CodexAccessor:
    """Differential operators on a field: `.grad() .div() .curl() .lap() .dalembert() .ddt() .partial()`,
    and `.plot()`."""

    def __init__(self, da: xr.DataArray) -> None:
        self._da = da
        #: Grids by `bc`, the `bc` attr and the coordinate variables: xarray keeps one accessor per
        #: DataArray, so repeated calls on a field read its coordinates once.
        self._grids: dict[Any, tuple[Any, Grid]] = {}

    @property
    def kind(self) -> str:
        """`"scalar"`, `"vector"` or `"tensor"`."""
        return field_kind(self._da)

    def grid(self, bc: ops.BC = None) -> Grid:
        """The grid the field lives on (coordinates, bcs from `bc` or the `bc` attr)."""
        coords = tuple(self._da.coords.variables.values())  # held below, so their ids stay theirs
        key = (
            bc if bc is None or isinstance(bc, str) else tuple(sorted(bc.items())),
            self._da.attrs.get("bc"),
            tuple(map(id, coords)),
        )
        if key not in self._grids:
            self._grids[key] = (coords, grid_of(self._da, bc))
        return self._grids[key][1]

    def _grid_for(self, grid: Grid | None, bc: ops.BC) -> _GridArgs:
        """The operator's `grid` and `bc`: this field's (cached) grid unless one was given."""
        if grid is not None:
            return {"grid": grid, "bc": bc}
        return {"grid": self.grid(bc), "bc": None}

    def grad(
        self,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """∇f (see `operators.grad`)."""
        return ops.grad(self._da, method, order, backend=backend, **self._grid_for(grid, bc))

    def div(
        self,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """∇·F (see `operators.div`)."""
        return ops.div(self._da, method, order, backend=backend, **self._grid_for(grid, bc))

    def curl(
        self,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """∇×F (see `operators.curl`)."""
        return ops.curl(self._da, method, order, backend=backend, **self._grid_for(grid, bc))

    def lap(
        self,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """Δf (see `operators.lap`)."""
        return ops.lap(self._da, method, order, backend=backend, **self._grid_for(grid, bc))

    def dalembert(
        self,
        c: float = 1.0,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """□f = ∂²f/∂t² − c²Δf (see `operators.dalembert`)."""
        return ops.dalembert(self._da, c, method, order, backend=backend, **self._grid_for(grid, bc))

    def ddt(
        self,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """d/dt f along the time axis `t` (see `operators.ddt`)."""
        return ops.ddt(self._da, method, order, backend=backend, **self._grid_for(grid, bc))

    def partial(
        self,
        axis: str,
        deriv: int = 1,
        method: str | None = None,
        order: int | None = None,
        *,
        grid: Grid | None = None,
        bc: ops.BC = None,
        backend: str | None = None,
    ) -> xr.DataArray:
        """∂f/∂axis (see `operators.partial`)."""
        return ops.partial(self._da, axis, deriv, method, order, backend=backend, **self._grid_for(grid, bc))

    def plot(self, name: str | None = None) -> go.Figure:
        """The field as a Plotly figure: heatmap (2-D; mid-plane of 3-D) or line (1-D) per plane (see
        `codexlab.qwave.figures.field_figure`)."""
        from .figures import field_figure

        return field_figure(self._da, name)
