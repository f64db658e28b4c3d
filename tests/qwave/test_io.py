"""`load()`: the reference ring, data roots (escapes by `..`, absolute paths, symlinks), URLs, formats."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexNameError, CodexValueError
from codexlab.qwave.grid import Grid
from codexlab.qwave.io import default_data_roots, load

REPO = Path(__file__).resolve().parents[2]
RING = REPO / "data" / "fields" / "ring.nc"


def _field(values: np.ndarray | None = None, name: str = "f") -> xr.DataArray:
    axis = np.linspace(0.0, 1.0, 4)
    data = np.arange(16.0).reshape(4, 4) if values is None else values
    return xr.DataArray(data, dims=("x", "y"), coords={"x": axis, "y": axis}, name=name)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


def test_reference_ring_matches_its_formula() -> None:
    da = load(RING)
    assert da.dims == ("x", "y") and da.shape == (64, 64) and da.name == "ring"
    grid = Grid.from_coords(da.coords)
    assert grid == Grid.from_spec([("x", -1, 1, 64), ("y", -1, 1, 64)])
    xx, yy = grid.mesh()
    ref = np.exp(-((np.hypot(xx, yy) - 0.5) ** 2) / (2 * 0.1**2))
    np.testing.assert_allclose(da.values, ref, rtol=1e-15, atol=0)
    assert da.attrs["bc"] == "x:periodic,y:periodic" and da.attrs["units"] == "1"
    assert da.attrs["source"] == str(RING)


def test_relative_paths_from_cwd_and_from_roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(REPO)
    assert load("data/fields/ring.nc").shape == (64, 64)
    monkeypatch.chdir(tmp_path)
    assert load("fields/ring.nc").shape == (64, 64)
    assert load("fields/../fields/ring.nc").shape == (64, 64)


def test_default_roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CODEXLAB_HOME", raising=False)
    assert default_data_roots() == (REPO / "data",)
    monkeypatch.setenv("CODEXLAB_HOME", str(tmp_path))
    assert default_data_roots() == (REPO / "data", tmp_path / "data")
    (tmp_path / "data").mkdir()
    _field().to_netcdf(tmp_path / "data" / "home.nc")
    np.testing.assert_array_equal(load(tmp_path / "data" / "home.nc").values, _field().values)


def test_dotdot_escape_is_refused(root: Path, tmp_path: Path) -> None:
    _field().to_netcdf(tmp_path / "outside.nc")
    with pytest.raises(
        CodexValueError,
        match=r"`.*root/\.\./outside\.nc` is outside the allowed data roots \(`.*root`\); move "
        r"the file under one of them or add its folder to `data_roots`",
    ):
        load(root / ".." / "outside.nc", roots=[root])
    with pytest.raises(CodexValueError, match=r"is outside the allowed data roots"):
        load("../outside.nc", roots=[root])


def test_absolute_path_outside_is_refused(root: Path, tmp_path: Path) -> None:
    _field().to_netcdf(tmp_path / "elsewhere.nc")
    with pytest.raises(CodexValueError, match=r"is outside the allowed data roots"):
        load(tmp_path / "elsewhere.nc", roots=[root])
    with pytest.raises(CodexValueError, match=r"is outside the allowed data roots"):
        load(RING, roots=[root])


def test_symlink_escape_is_refused(root: Path, tmp_path: Path) -> None:
    _field().to_netcdf(tmp_path / "secret.nc")
    (root / "link.nc").symlink_to(tmp_path / "secret.nc")
    with pytest.raises(CodexValueError, match=r"`link\.nc` is outside the allowed data roots"):
        load("link.nc", roots=[root])
    (root / "linked_dir").symlink_to(tmp_path)
    with pytest.raises(CodexValueError, match=r"is outside the allowed data roots"):
        load(root / "linked_dir" / "secret.nc", roots=[root])


def test_symlink_inside_the_roots_is_fine(root: Path) -> None:
    (root / "sub").mkdir()
    _field().to_netcdf(root / "sub" / "real.nc")
    (root / "alias.nc").symlink_to(root / "sub" / "real.nc")
    assert load("alias.nc", roots=[root]).shape == (4, 4)


@pytest.mark.parametrize(
    "url", ["https://example.org/ring.nc", "s3://bucket/ring.zarr", "file:///etc/passwd", "HTTP://x/y.nc"]
)
def test_urls_are_refused(url: str, root: Path) -> None:
    with pytest.raises(
        CodexValueError,
        match=r"`load` reads local files only, and `.*` is a URL; download it into",
    ):
        load(url, roots=[root])


def test_missing_file_and_unknown_format(root: Path) -> None:
    with pytest.raises(CodexValueError, match=r"`nothing\.nc` does not exist"):
        load("nothing.nc", roots=[root])
    (root / "table.csv").write_text("a,b\n1,2\n")
    with pytest.raises(
        CodexValueError,
        match=r"`table\.csv` is not a NetCDF file \(`\.nc`\) or a Zarr store",
    ):
        load("table.csv", roots=[root])
    (root / "broken.nc").write_bytes(b"not netcdf")
    with pytest.raises(CodexValueError, match=r"`broken\.nc` could not be read as netcdf4"):
        load("broken.nc", roots=[root])


def test_several_variables_need_a_choice(root: Path) -> None:
    ds = xr.Dataset({"u": _field(), "v": _field(np.ones((4, 4)))})
    ds.to_netcdf(root / "uv.nc")
    with pytest.raises(
        CodexValueError,
        match=r"`uv\.nc` holds several variables \(`u`, `v`\); choose one with `variable=`",
    ):
        load("uv.nc", roots=[root])
    np.testing.assert_array_equal(load("uv.nc", roots=[root], variable="v").values, np.ones((4, 4)))
    with pytest.raises(
        CodexNameError,
        match=r"`uv\.nc` has no variable `uu` \(did you mean `u`\?\); its variables are `u`, `v`",
    ):
        load("uv.nc", roots=[root], variable="uu")


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("consolidated", [True, False])
def test_zarr_store_round_trip(root: Path, fmt: int, consolidated: bool) -> None:
    src = _field(np.random.default_rng(3).normal(size=(4, 4)), name="noise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr's own note that v3 consolidated metadata is an extension
        src.to_dataset().to_zarr(root / "noise.zarr", zarr_format=fmt, consolidated=consolidated)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load("noise.zarr", roots=[root])
    np.testing.assert_array_equal(got.values, src.values)
    assert got.name == "noise" and got.dims == ("x", "y")
