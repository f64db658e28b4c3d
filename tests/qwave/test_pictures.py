"""Fields as pictures and Plotly figures: pixels, orientation (x right, y up), extents, planes of complex,
vector and 3-D fields, against NumPy fields with known shapes and plotly's colorscale stops."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import plotly.colors
import pytest
import xarray as xr

import codexlab.qwave  # noqa: F401  (enables float64 in JAX)
from codexlab.errors import CodexNameError, CodexTypeError, CodexValueError
from codexlab.qwave.figures import field_figure
from codexlab.qwave.pictures import (
    field_planes,
    line_points,
    picture,
    picture_html,
    plane_rgb,
    png_bytes,
    value_pictures,
)


def decode_png(data: bytes) -> np.ndarray:
    """8-bit truecolour PNG → (rows, cols, 3) uint8, per the PNG spec (CRC checked, filters 0–4 undone)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + length
    cols, rows, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride, out = cols * 3, np.zeros((rows, cols * 3), dtype=np.int64)
    for r in range(rows):
        kind, line = raw[r * (stride + 1)], np.frombuffer(raw, np.uint8, stride, r * (stride + 1) + 1).astype(np.int64)
        up = out[r - 1] if r else np.zeros(stride, np.int64)
        for i in range(stride):
            left = out[r, i - 3] if i >= 3 else 0
            upleft = up[i - 3] if i >= 3 and r else 0
            predictor = [0, left, up[i], (left + up[i]) // 2, _paeth(left, up[i], upleft)][kind]
            out[r, i] = (line[i] + predictor) % 256
    return out.reshape(rows, cols, 3).astype(np.uint8)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _rgb(color: str) -> tuple[int, int, int]:
    if color.startswith("#"):
        return tuple(int(color[k : k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]
    return tuple(int(float(v)) for v in color[color.index("(") + 1 : -1].split(","))  # type: ignore[return-value]


VIRIDIS = plotly.colors.sequential.Viridis
RDBU = plotly.colors.diverging.RdBu  # red (low) … blue (high); pictures use it reversed


def _field(values: np.ndarray, coords: dict[str, np.ndarray], name: str = "f") -> xr.DataArray:
    return xr.DataArray(values, dims=tuple(coords), coords=coords, name=name)


def _picture_pixels(da: xr.DataArray, k: int = 0) -> np.ndarray:
    pic = picture(field_planes(da)[k])
    return decode_png(base64.b64decode(pic["src"].split(",", 1)[1]))


X = np.linspace(-1.0, 1.0, 16, endpoint=False)
Y = np.linspace(0.0, 2.0, 8, endpoint=False)


def test_x_runs_left_to_right_and_y_bottom_to_top() -> None:
    xs, ys = np.meshgrid(X, Y, indexing="ij")
    right = _picture_pixels(_field(xs + 2.0, {"x": X, "y": Y}))  # grows with x
    assert right.shape == (8, 16, 3)
    assert (right == right[:1]).all()  # every row the same
    assert tuple(right[0, 0]) == _rgb(VIRIDIS[0]) and tuple(right[0, -1]) == _rgb(VIRIDIS[-1])
    up = _picture_pixels(_field(ys + 2.0, {"x": X, "y": Y}))  # grows with y
    assert (up == up[:, :1]).all()  # every column the same
    assert tuple(up[0, 0]) == _rgb(VIRIDIS[-1]) and tuple(up[-1, 0]) == _rgb(VIRIDIS[0])  # top row = highest y


def test_a_gaussian_peaks_at_its_centre_pixel() -> None:
    g = np.linspace(-1.0, 1.0, 64, endpoint=False)
    xs, ys = np.meshgrid(g, g, indexing="ij")
    blob = np.exp(-((xs - 0.5) ** 2 + (ys + 0.5) ** 2) / 0.02)
    pixels = _picture_pixels(_field(blob, {"x": g, "y": g}))
    yellow = np.array(_rgb(VIRIDIS[-1]))
    row, col = np.unravel_index(np.argmin(np.abs(pixels.astype(int) - yellow).sum(axis=2)), pixels.shape[:2])
    assert col == np.argmin(np.abs(g - 0.5))  # column 48: x = 0.5
    assert row == 63 - np.argmin(np.abs(g + 0.5))  # y = −0.5 is 16 cells above the bottom row


def test_signed_fields_are_diverging_around_zero_and_big_fields_block_averaged() -> None:
    g = np.linspace(-1.0, 1.0, 256, endpoint=False)
    xs, _ = np.meshgrid(g, g, indexing="ij")
    (plane,) = field_planes(_field(xs, {"x": g, "y": g}))
    assert plane.scale == "diverging"
    pixels = plane_rgb(plane)
    assert pixels.shape == (64, 64, 3)
    means = xs.reshape(64, 4, 64, 4).mean(axis=(1, 3))  # the block means, in NumPy
    t = 0.5 + means[:, 0] / 2  # the scale is symmetric: ±max|x| = ±1
    positions = np.linspace(0, 1, len(RDBU))
    for channel in range(3):
        expected = np.interp(t, positions, [_rgb(c)[channel] for c in RDBU[::-1]])  # RdBu reversed: blue low
        assert np.abs(pixels[0, :, channel].astype(float) - expected).max() <= 0.5 + 1e-9
    assert pixels[0, 0, 2] > pixels[0, 0, 0] and pixels[0, -1, 0] > pixels[0, -1, 2]  # blue left, red right


def test_complex_vector_and_3d_fields_give_one_plane_each() -> None:
    g = np.linspace(-1.0, 1.0, 32, endpoint=False)
    xs, ys = np.meshgrid(g, g, indexing="ij")
    psi = np.exp(-(xs**2 + ys**2) / 0.1) * np.exp(3j * xs)
    mag, phase = field_planes(_field(psi, {"x": g, "y": g}, "ψ"))
    assert (mag.title, phase.title, phase.scale) == ("|ψ|", "arg ψ", "cyclic")
    np.testing.assert_allclose(mag.values, np.abs(psi))
    np.testing.assert_allclose(phase.values, np.angle(psi))
    vec = xr.DataArray(np.stack([xs, 2 * ys]), dims=("component", "x", "y"), coords={"component": ["x", "y"]})
    fx, fy = field_planes(vec, "F")
    assert (fx.title, fy.title) == ("F[x]", "F[y]") and np.array_equal(fy.values, 2 * ys)
    z = np.linspace(0.0, 1.0, 8, endpoint=False)
    cube = np.broadcast_to(z, (6, 5, 8)).copy()
    (mid,) = field_planes(_field(cube, {"x": np.arange(6.0), "y": np.arange(5.0), "z": z}, "u"))
    assert mid.cut == (("z", z[4]),) and mid.title == "u (z=0.5)" and np.all(mid.values == z[4])
    assert field_planes(xr.DataArray(3.0)) == [] and field_planes(xr.DataArray(np.array([]), dims=("x",))) == []


def test_a_1d_field_is_a_line_with_y_up() -> None:
    x = np.linspace(0.0, 1.0, 11)
    (plane,) = field_planes(_field(x.copy(), {"x": x}))
    (line,) = line_points(plane, 104, 54)
    assert line[0] == [2.0, 52.0] and line[-1] == [102.0, 2.0]  # lowest value bottom left, highest top right
    broken = field_planes(_field(np.array([0.0, np.nan, 1.0, 2.0]), {"x": np.arange(4.0)}))[0]
    assert len(line_points(broken, 50, 20)) == 2
    pic = picture(plane)
    assert pic["kind"] == "line" and "<polyline" in picture_html(pic)


def test_png_encoder_round_trips_and_value_pictures_cap_the_count() -> None:
    rgb = np.random.default_rng(3).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(png_bytes(rgb)), rgb)
    with pytest.raises(ValueError, match="non-empty"):
        png_bytes(np.zeros((0, 3, 3), np.uint8))
    g = np.arange(4.0)
    values = {f"f{k}": _field(np.outer(g, g) + k, {"x": g, "y": g}) for k in range(5)} | {"n": 3.0}
    groups, left = value_pictures(values, limit=3)
    assert [gr["name"] for gr in groups] == ["f0", "f1", "f2"] and left == 2
    html = picture_html(groups[0]["pictures"][0])
    assert 'alt="f0"' in html and "x → [0, 3] · y ↑ [0, 3]" in html
    assert "<" not in picture(field_planes(_field(np.ones((2, 2)), {"x": g[:2], "y": g[:2]}, "<b>"))[0])["title"][1:]


def test_field_figure_puts_values_at_their_coordinates() -> None:
    x, y = np.linspace(-1.0, 1.0, 20), np.linspace(0.0, 3.0, 10)
    xs, ys = np.meshgrid(x, y, indexing="ij")
    fig = field_figure(_field(xs + 10 * ys, {"x": x, "y": y}))
    (trace,) = fig.data
    assert trace.type == "heatmap"
    np.testing.assert_allclose(trace.x, x)
    np.testing.assert_allclose(trace.y, y)
    z = np.asarray(trace.z)
    assert z.shape == (10, 20)  # rows along y
    np.testing.assert_allclose(z, x[None, :] + 10 * y[:, None])
    assert fig.layout.xaxis.title.text == "x" and fig.layout.yaxis.title.text == "y"
    psi = np.exp(1j * xs)
    mag, phase = field_figure(_field(psi, {"x": x, "y": y}, "ψ")).data
    assert phase.zmin == pytest.approx(-np.pi) and phase.zmax == pytest.approx(np.pi)
    (line,) = field_figure(_field(x**2, {"x": x})).data
    assert line.type == "scatter" and np.allclose(line.y, x**2)
    with pytest.raises(CodexValueError, match="has nothing to plot"):
        field_figure(xr.DataArray(1.0, name="c"))


def test_run_plot_and_the_accessor_return_figures(tmp_path) -> None:
    from codexlab import Lab

    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    run = lab.run("@grid x:-1..1:16, y:-1..1:16\nψ := gaussian(x, y, σ=0.3)\nF = ∇ψ\nn = ‖ψ‖\n")
    fig = run.plot("ψ")
    np.testing.assert_allclose(np.asarray(fig.data[0].z), run.values["ψ"].values.T)
    assert [t.name for t in run.plot("F").data] == ["F[x]", "F[y]"]
    assert [t.name for t in run.values["F"].cx.plot("F").data] == ["F[x]", "F[y]"]
    with pytest.raises(CodexNameError, match=r"This run bound no `G`; its fields are `ψ`, `F`\."):
        run.plot("G")
    with pytest.raises(CodexTypeError, match=r"`n` is a float, not a field"):
        run.plot("n")
    page = run._repr_html_()
    assert page.count("<figure") == 3 and "F[y]" in page


def test_import_codexlab_registers_cx_without_importing_jax() -> None:
    code = (
        "import sys, numpy as np, xarray as xr, codexlab\n"
        "assert 'jax' not in sys.modules, 'import codexlab imported jax'\n"
        "x = np.linspace(0, 2 * np.pi, 64, endpoint=False)\n"
        "da = xr.DataArray(np.sin(x), dims=('x',), coords={'x': x})\n"
        "print(float(np.max(np.abs(da.cx.lap().values + np.sin(x)))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout) < 2e-3  # fd2 error of sin'' at h = 2π/64: h²/12 ≈ 8e-4
