"""Fields as pictures: the real 1-D and 2-D views ("planes") of a field, drawn as small PNG heatmaps and
SVG lines for HTML (the `Run` view, the HUD, saved notebooks) with plotly's own colorscales.

Orientation, everywhere: a plane's first dim runs left → right and its second bottom → top, both in
increasing coordinate. A field with more than two spatial dims is cut at the middle index of the others
(the plane's `cut` says where). Complex fields give a magnitude and a phase plane; vector and tensor
fields one plane per component. Real planes with both signs use a diverging scale centred on 0.
"""

from __future__ import annotations

import base64
import functools
import html
import itertools
import math
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from .fields import COMPONENT, COMPONENT2

__all__ = [
    "COLORSCALES",
    "MAX_PICTURES",
    "MAX_SIDE",
    "Plane",
    "colorbar_url",
    "colorscale_rgb",
    "data_url",
    "downsample",
    "field_planes",
    "line_points",
    "picture",
    "picture_html",
    "pictures_html",
    "plane_rgb",
    "png_bytes",
    "value_pictures",
]

Scale = Literal["sequential", "diverging", "cyclic"]
#: plotly colorscale per kind of plane: values, signed values (0 at the centre), phases (wraps at ±π).
COLORSCALES: dict[str, str] = {"sequential": "Viridis", "diverging": "RdBu_r", "cyclic": "Twilight"}
#: Largest side (cells) of a picture; bigger planes are block-averaged down to it.
MAX_SIDE = 64
#: Colour of a cell with no finite value.
NAN_RGB = (190, 190, 190)


@dataclass(frozen=True)
class Plane:
    """One real 1-D or 2-D view of a field: `values[i, j]` at (`coords[0][i]`, `coords[1][j]`)."""

    name: str
    part: str
    values: np.ndarray
    dims: tuple[str, ...]
    coords: tuple[np.ndarray, ...]
    scale: Scale
    cut: tuple[tuple[str, float], ...] = ()

    @property
    def title(self) -> str:
        """`ψ`, `|ψ|`, `arg ψ`, `F[x]`, with the cut: `ψ (z=0)`."""
        if self.part == "|·|":
            head = f"|{self.name}|"
        elif self.part == "arg":
            head = f"arg {self.name}"
        else:
            head = f"{self.name}[{self.part}]" if self.part else self.name
        where = ", ".join(f"{d}={v:.4g}" for d, v in self.cut)
        return f"{head} ({where})" if where else head

    @property
    def range(self) -> tuple[float, float] | None:
        """(min, max) of the finite values, or None when none is finite."""
        finite = self.values[np.isfinite(self.values)]
        return (float(finite.min()), float(finite.max())) if finite.size else None

    @property
    def extent(self) -> tuple[tuple[float, float], ...]:
        """(lowest, highest) coordinate per dim."""
        return tuple((float(np.min(c)), float(np.max(c))) for c in self.coords)


def _coord(da: xr.DataArray, dim: str) -> np.ndarray:
    """A dim's numeric coordinate, or its index when it has none (or a non-numeric one)."""
    if dim in da.coords:
        values = np.asarray(da.coords[dim].values)
        if np.issubdtype(values.dtype, np.number):
            return values.astype(np.float64)
    return np.arange(da.sizes[dim], dtype=np.float64)


def _real_planes(
    name: str,
    part: str,
    data: np.ndarray,
    dims: tuple[str, ...],
    coords: tuple[np.ndarray, ...],
    cut: tuple[tuple[str, float], ...],
) -> list[Plane]:
    """A complex array's magnitude and phase planes, or a real array's one plane."""
    if np.iscomplexobj(data):
        return [
            Plane(name, "|·|", np.abs(data), dims, coords, "sequential", cut),
            Plane(name, "arg", np.angle(data), dims, coords, "cyclic", cut),
        ]
    values = data.astype(np.float64, copy=False)
    finite = values[np.isfinite(values)]
    signed = finite.size > 0 and finite.min() < 0 < finite.max()
    return [Plane(name, part, values, dims, coords, "diverging" if signed else "sequential", cut)]


def field_planes(da: xr.DataArray, name: str | None = None) -> list[Plane]:
    """The planes of a field (empty for a 0-d, empty or non-numeric array), components in order."""
    label = str(name if name is not None else da.name if da.name is not None else "field")
    data = np.asarray(da.values)
    if data.size == 0 or not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
        return []
    components = [d for d in da.dims if d in (COMPONENT, COMPONENT2)]
    space = [str(d) for d in da.dims if d not in components]
    if not space:
        return []
    middle = {d: da.sizes[d] // 2 for d in space[2:]}
    cut = tuple((d, float(_coord(da, d)[i])) for d, i in middle.items())
    view = da.isel(middle) if middle else da
    dims = tuple(space[:2])
    coords = tuple(_coord(da, d) for d in dims)
    labels = [[str(v) for v in np.asarray(da.coords[c].values)] if c in da.coords else [] for c in components]
    planes: list[Plane] = []
    for index in itertools.product(*(range(da.sizes[c]) for c in components)):
        part = "".join(labels[k][i] if labels[k] else str(i) for k, i in enumerate(index))
        sub = view.isel(dict(zip(components, index, strict=True))) if components else view
        values = np.asarray(sub.transpose(*dims).values)
        planes.extend(_real_planes(label, part, values, dims, coords, cut))
    return planes


# ------------------------------------------------------------------------------------------ colour


def _rgb(color: str) -> tuple[float, float, float]:
    """'#rrggbb' or 'rgb(r, g, b)' → (r, g, b) in 0…255."""
    color = color.strip()
    if color.startswith("#"):
        return tuple(float(int(color[k : k + 2], 16)) for k in (1, 3, 5))  # type: ignore[return-value]
    r, g, b = (float(x) for x in color[color.index("(") + 1 : color.index(")")].split(",")[:3])
    return r, g, b


@functools.cache
def colorscale_rgb(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions in [0, 1], RGB rows in 0…255) of a plotly colorscale, e.g. `Viridis`, `RdBu_r`."""
    from plotly.colors import get_colorscale

    stops = get_colorscale(name)
    return np.array([float(p) for p, _ in stops]), np.array([_rgb(c) for _, c in stops])


def _unit(values: np.ndarray, scale: Scale, lo: float, hi: float) -> np.ndarray:
    """Values → [0, 1] along the colorscale (NaN stays NaN)."""
    if scale == "cyclic":
        return (values + math.pi) / (2 * math.pi)
    if scale == "diverging":
        m = max(abs(lo), abs(hi))
        return 0.5 + values / (2 * m) if m > 0 else np.full_like(values, 0.5)
    return (values - lo) / (hi - lo) if hi > lo else np.full_like(values, 0.5)


def _colorize(t: np.ndarray, scale: Scale) -> np.ndarray:
    """[0, 1] values → uint8 RGB through the plane's colorscale (non-finite → `NAN_RGB`)."""
    pos, rgb = colorscale_rgb(COLORSCALES[scale])
    finite = np.isfinite(t)
    u = np.clip(np.where(finite, t, 0.0), 0.0, 1.0)
    out = np.stack([np.interp(u, pos, rgb[:, k]) for k in range(3)], axis=-1)
    out[~finite] = NAN_RGB
    return np.rint(out).astype(np.uint8)


def downsample(values: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Block-average a real array to at most `max_side` cells per axis.

    Along an axis of length n the block is f = ceil(n / max_side) cells (the last block may be shorter);
    non-finite cells are left out of their block's mean, and a block with no finite cell is NaN.
    """
    a = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(a)
    total = np.where(finite, a, 0.0)
    count = finite.astype(np.float64)
    for axis, n in enumerate(a.shape):
        f = max(1, math.ceil(n / max_side))
        if f == 1:
            continue
        starts = np.arange(0, n, f)
        total = np.add.reduceat(total, starts, axis=axis)
        count = np.add.reduceat(count, starts, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _increasing(coord: np.ndarray) -> bool:
    return coord.size < 2 or bool(coord[-1] >= coord[0])


def plane_rgb(plane: Plane, max_side: int = MAX_SIDE) -> np.ndarray:
    """The picture of a 2-D plane as uint8 RGB rows, top row first: shape (rows, cols, 3), rows along
    the second dim (highest coordinate on top), cols along the first (lowest coordinate on the left)."""
    if plane.values.ndim != 2:
        raise ValueError(f"`plane_rgb` draws 2-D planes; `{plane.title}` is {plane.values.ndim}-D.")
    bounds = plane.range or (0.0, 0.0)
    small = downsample(plane.values, max_side)
    image = _colorize(_unit(small, plane.scale, *bounds), plane.scale).transpose(1, 0, 2)
    if _increasing(plane.coords[1]):
        image = image[::-1]
    if not _increasing(plane.coords[0]):
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def line_points(plane: Plane, width: int, height: int, max_points: int = 256) -> list[list[list[float]]]:
    """A 1-D plane as polylines in a `width`×`height` box (y up, 2 px margins), broken at non-finite
    values; coordinates rounded to 0.1 px."""
    if plane.values.ndim != 1:
        raise ValueError(f"`line_points` draws 1-D planes; `{plane.title}` is {plane.values.ndim}-D.")
    ys = downsample(plane.values, max_points)
    factor = math.ceil(plane.values.size / max_points) if plane.values.size > max_points else 1
    xs = downsample(plane.coords[0], max_points) if factor > 1 else plane.coords[0]
    (x0, x1), bounds = plane.extent[0], plane.range or (0.0, 0.0)
    lo, hi = (-math.pi, math.pi) if plane.scale == "cyclic" else bounds
    sx = (width - 4) / (x1 - x0) if x1 > x0 else 0.0
    sy = (height - 4) / (hi - lo) if hi > lo else 0.0
    lines: list[list[list[float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if not math.isfinite(y):
            if lines[-1]:
                lines.append([])
            continue
        px = 2 + (x - x0) * sx if sx else width / 2
        py = height - 2 - (y - lo) * sy if sy else height / 2
        lines[-1].append([round(float(px), 1), round(float(py), 1)])
    return [line for line in lines if line]


# ------------------------------------------------------------------------------------------ PNG


def png_bytes(rgb: np.ndarray) -> bytes:
    """A truecolour 8-bit PNG of uint8 RGB rows (top row first); each row Sub-filtered, one zlib stream."""
    img = np.ascontiguousarray(rgb, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3 or 0 in img.shape:
        raise ValueError(f"`png_bytes` needs a non-empty (rows, cols, 3) array, got shape {img.shape}.")
    rows, cols, _ = img.shape
    flat = img.reshape(rows, cols * 3).astype(np.int16)
    sub = np.empty_like(flat)
    sub[:, :3] = flat[:, :3]
    sub[:, 3:] = flat[:, 3:] - flat[:, :-3]
    filtered = np.hstack([np.ones((rows, 1), np.int16), sub % 256]).astype(np.uint8)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", cols, rows, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(filtered.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def data_url(png: bytes) -> str:
    """`data:image/png;base64,…` for an `<img src>`."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@functools.cache
def colorbar_url(scale: Scale, steps: int = 48) -> str:
    """A `steps`×1 PNG of the scale's colours, low to high (drawn stretched under a picture)."""
    t = np.linspace(0.0, 1.0, steps)
    return data_url(png_bytes(_colorize(t, scale)[None, :, :]))


# ------------------------------------------------------------------------------------------ HTML

#: Size (px) at which a picture is shown: the longer side of a heatmap; the box of a line.
SHOWN_PX = 132
LINE_BOX = (200, 80)
_FIGURE = "display:inline-block;margin:2px 10px 4px 0;vertical-align:top"


def picture(plane: Plane, max_side: int = MAX_SIDE) -> dict[str, Any]:
    """A JSON-safe picture of a plane: a PNG heatmap (`src`) or polylines (`lines`), with its title,
    value range, colour scale (`colorbar`), dims and their coordinate extents."""
    bounds = plane.range
    out: dict[str, Any] = {
        "title": plane.title,
        "dims": list(plane.dims),
        "extent": [[float(f"{lo:.6g}"), float(f"{hi:.6g}")] for lo, hi in plane.extent],
        "min": None if bounds is None else float(f"{bounds[0]:.6g}"),
        "max": None if bounds is None else float(f"{bounds[1]:.6g}"),
        "scale": plane.scale,
    }
    if plane.values.ndim == 1:
        w, h = LINE_BOX
        out.update(kind="line", width=w, height=h, lines=line_points(plane, w, h))
        return out
    rgb = plane_rgb(plane, max_side)
    rows, cols = rgb.shape[:2]
    zoom = SHOWN_PX / max(rows, cols)
    out.update(
        kind="heatmap",
        src=data_url(png_bytes(rgb)),
        colorbar=colorbar_url(plane.scale),
        width=max(1, round(cols * zoom)),
        height=max(1, round(rows * zoom)),
    )
    return out


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else "–"


def _axes(pic: Mapping[str, Any]) -> str:
    """`x → [-1, 0.969] · y ↑ [-1, 0.969]`: each dim, its direction on screen and its extent."""
    arrows = ("→", "↑")
    return " · ".join(
        f"{html.escape(str(d))} {arrows[k]} [{_num(lo)}, {_num(hi)}]"
        for k, (d, (lo, hi)) in enumerate(zip(pic["dims"], pic["extent"], strict=True))
    )


def picture_html(pic: Mapping[str, Any]) -> str:
    """One picture (from `picture`) as an HTML `<figure>`: the heatmap, pixelated, or an SVG line, then a
    caption with the title, the range (and colour bar) and each dim's extent."""
    title = html.escape(str(pic["title"]))
    if pic["kind"] == "line":
        w, h = pic["width"], pic["height"]
        paths = "".join(
            '<polyline fill="none" stroke="#4c78a8" stroke-width="1.2" points="'
            + " ".join(f"{x},{y}" for x, y in line)
            + '"/>'
            for line in pic["lines"]
        )
        body = f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}">{paths}</svg>'
        scale = " … "
    else:
        body = (
            f'<img src="{pic["src"]}" width="{pic["width"]}" height="{pic["height"]}" alt="{title}" '
            'style="image-rendering:pixelated;display:block">'
        )
        scale = f'<img src="{pic["colorbar"]}" width="48" height="7" alt="" style="margin:0 3px">'
    caption = f"<b>{title}</b><br>{_num(pic['min'])}{scale}{_num(pic['max'])}<br>{_axes(pic)}"
    caption = f'<figcaption style="font-size:10px">{caption}</figcaption>'
    return f'<figure class="cx-pic" style="{_FIGURE}">{body}{caption}</figure>'


#: At most this many pictures are drawn for one set of values (the rest are counted).
MAX_PICTURES = 16


def value_pictures(values: Mapping[str, Any], limit: int = MAX_PICTURES) -> tuple[list[dict[str, Any]], int]:
    """Pictures (`picture`) of the fields among `values`, in order, as `{name, pictures}` groups, at
    most `limit` pictures in all; also how many planes were left out."""
    groups: list[dict[str, Any]] = []
    drawn = left = 0
    for name, value in values.items():
        if not isinstance(value, xr.DataArray):
            continue
        planes = field_planes(value, str(name))
        room = max(0, limit - drawn)
        left += max(0, len(planes) - room)
        if planes[:room]:
            groups.append({"name": str(name), "pictures": [picture(p) for p in planes[:room]]})
            drawn += len(planes[:room])
    return groups, left


def pictures_html(groups: list[dict[str, Any]], left: int = 0) -> str:
    """The groups of `value_pictures` as one HTML block (an empty string when there is none)."""
    if not groups:
        return ""
    body = "".join(picture_html(p) for g in groups for p in g["pictures"])
    more = f"<div style='opacity:.7'>… {left} more pictures (`run.plot(name)` draws any field)</div>" if left else ""
    return f"<div class='cx-pictures'>{body}{more}</div>"
