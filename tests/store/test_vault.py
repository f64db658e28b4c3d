"""The vault opens snapshots by id only: no path, no `..`, no symlink out of the vault."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import StoreError
from codexlab.store.vault import Vault


def test_ids_that_are_not_snapshot_ids_are_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault")
    outside = tmp_path / "x.zarr"
    xr.DataArray(np.ones(3), dims=("x",)).to_dataset(name="field").to_zarr(outside, zarr_format=2)
    for bad in ("../x", str(outside), "../../x.zarr", "0" * 31, "g" * 32, "0" * 32 + "/.."):
        with pytest.raises(StoreError, match="is not a vault snapshot id"):
            vault.load(bad)
        assert bad not in vault


def test_a_snapshot_folder_linked_out_of_the_vault_is_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "vault")
    sid = vault.save(xr.DataArray(np.arange(4.0), dims=("x",)))
    target = vault.path(sid)
    elsewhere = tmp_path / "elsewhere.zarr"
    target.rename(elsewhere)
    os.symlink(elsewhere, target)
    with pytest.raises(StoreError, match=rf"Vault snapshot `{sid}` resolves outside the vault"):
        vault.load(sid)
