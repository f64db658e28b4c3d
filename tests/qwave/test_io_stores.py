"""`load()` of Zarr stores: v2 and v3 both load (and go into the vault), and symlinks inside a store are
resolved and checked against the data roots."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexValueError
from codexlab.qwave.io import load
from codexlab.store.vault import Vault, snapshot_id


def _field() -> xr.DataArray:
    x = np.linspace(-1.0, 1.0, 6)
    y = np.linspace(0.0, 2.0, 5)
    values = np.sin(np.add.outer(x, y)) * np.arange(1, 7)[:, None]
    return xr.DataArray(values, dims=("x", "y"), coords={"x": x, "y": y}, name="u", attrs={"units": "m"})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_v2_and_v3_round_trip_through_load_and_the_vault(root: Path, tmp_path: Path, zarr_format: int) -> None:
    field = _field()
    field.to_dataset().to_zarr(root / "f.zarr", zarr_format=zarr_format, consolidated=zarr_format == 2)
    loaded = load(root / "f.zarr", roots=[root])
    np.testing.assert_array_equal(loaded.values, field.values)
    np.testing.assert_array_equal(loaded["x"].values, field["x"].values)
    assert loaded.attrs["units"] == "m" and loaded.encoding == {}
    vault = Vault(tmp_path / "vault")
    sid = vault.save(loaded)
    assert sid == snapshot_id(field)  # the same values, dims and coordinates: the same content id
    again = vault.load(sid)
    np.testing.assert_array_equal(again.values, field.values)
    assert again.dims == field.dims


def test_a_symlinked_chunk_leading_outside_is_refused(root: Path, tmp_path: Path) -> None:
    _field().to_dataset().to_zarr(root / "f.zarr", zarr_format=2, consolidated=True)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x00" * 240)
    chunk = next(p for p in (root / "f.zarr" / "u").iterdir() if not p.name.startswith("."))
    chunk.unlink()
    os.symlink(secret, chunk)
    with pytest.raises(CodexValueError, match=r"holds a symlink `u/.*` that leads outside the allowed data roots"):
        load(root / "f.zarr", roots=[root])


def test_a_symlinked_folder_inside_a_store_is_checked_too(root: Path, tmp_path: Path) -> None:
    _field().to_dataset().to_zarr(root / "f.zarr", zarr_format=2, consolidated=True)
    outside = tmp_path / "elsewhere"
    (root / "f.zarr" / "u").rename(outside)
    os.symlink(outside, root / "f.zarr" / "u")
    with pytest.raises(CodexValueError, match=r"holds a symlink `u` that leads outside"):
        load(root / "f.zarr", roots=[root])


def test_links_that_stay_inside_the_roots_are_followed(root: Path) -> None:
    _field().to_dataset().to_zarr(root / "f.zarr", zarr_format=2, consolidated=True)
    shared = root / "shared_u"
    (root / "f.zarr" / "u").rename(shared)
    os.symlink(shared, root / "f.zarr" / "u")
    np.testing.assert_array_equal(load(root / "f.zarr", roots=[root]).values, _field().values)
