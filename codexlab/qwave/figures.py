"""`field_figure`: a field as an interactive Plotly figure (what `run.plot(name)` and `da.cx.plot()` return).

The planes are those of `codexlab.qwave.pictures` (magnitude and phase of complex fields, one per vector
or tensor component, the mid-plane of a 3-D field), drawn side by side at their real coordinates: the
first dim on the x axis, the second on the y axis. Planes larger than `MAX_FIGURE_SIDE` per side are
block-averaged (coordinates too) so a figure stays a few MB at most.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import xarray as xr

from ..errors import CodexValueError
from .pictures import COLORSCALES, Plane, downsample, field_planes

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["MAX_FIGURE_SIDE", "field_figure"]

#: Largest number of points per side that a figure's heatmap or line keeps.
MAX_FIGURE_SIDE = 256


def _trace(plane: Plane, max_side: int, colorbar_x: float) -> go.Heatmap | go.Scatter:
    import plotly.graph_objects as go

    coords = [downsample(c, max_side) for c in plane.coords]
    values = downsample(plane.values, max_side)
    if plane.values.ndim == 1:
        return go.Scatter(x=coords[0], y=values, mode="lines", name=plane.title, showlegend=False)
    limits: dict[str, float] = {}
    if plane.scale == "cyclic":
        limits = {"zmin": -math.pi, "zmax": math.pi}
    elif plane.scale == "diverging":
        limits = {"zmid": 0.0}
    return go.Heatmap(
        x=coords[0],
        y=coords[1],
        z=values.T,  # rows of z run along the y axis
        colorscale=COLORSCALES[plane.scale],
        colorbar={"x": colorbar_x, "thickness": 10, "len": 0.9},
        name=plane.title,
        **limits,
    )


def field_figure(da: xr.DataArray, name: str | None = None, *, max_side: int = MAX_FIGURE_SIDE) -> go.Figure:
    """A Plotly figure of a field: one heatmap (2-D, or the mid-plane of 3-D) or line (1-D) per plane.

    Raises `CodexValueError` for a field with nothing to draw (0-d, empty or non-numeric).
    """
    from plotly.subplots import make_subplots

    label = str(name if name is not None else da.name if da.name is not None else "field")
    planes = field_planes(da, label)
    if not planes:
        raise CodexValueError(
            f"`{label}` has nothing to plot (shape `{tuple(da.shape)}`, dtype `{da.dtype}`); plot a field with "
            "at least one dim of numbers."
        )
    cols = len(planes)
    fig = make_subplots(rows=1, cols=cols, subplot_titles=[p.title for p in planes], horizontal_spacing=0.12 / cols)
    for k, plane in enumerate(planes, start=1):
        domain = fig.layout[f"xaxis{'' if k == 1 else k}"].domain
        fig.add_trace(_trace(plane, max_side, float(domain[1]) + 0.005), row=1, col=k)
        fig.update_xaxes(title_text=plane.dims[0], row=1, col=k)
        if plane.values.ndim == 2:
            # equal units on both axes, unless one of them is time
            square = {"scaleanchor": "x" if k == 1 else f"x{k}", "constrain": "domain"} if "t" not in plane.dims else {}
            fig.update_yaxes(title_text=plane.dims[1], row=1, col=k, **square)
    fig.update_layout(
        height=360, width=max(420, 360 * cols), margin={"l": 50, "r": 40, "t": 40, "b": 40}, title_text=None
    )
    return fig
