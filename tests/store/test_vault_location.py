"""The vault at a shared location: `$CODEXLAB_VAULT_URL` (a path or an fsspec URL), never half-written."""

from __future__ import annotations

import secrets

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import StoreError
from codexlab.store.vault import Vault, open_vault, snapshot_id


def field(seed: int = 0) -> xr.DataArray:
    values = np.random.default_rng(seed).standard_normal((5, 4))
    return xr.DataArray(values, dims=("x", "y"), coords={"x": np.arange(5.0), "y": np.linspace(0, 1, 4)})


def test_open_vault_takes_the_shared_location_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CODEXLAB_VAULT_URL", raising=False)
    assert open_vault(tmp_path / "home").url == str((tmp_path / "home" / "vault").resolve())
    monkeypatch.setenv("CODEXLAB_VAULT_URL", f"file://{tmp_path / 'shared'}")
    vault = open_vault(tmp_path / "home")
    assert vault.url == str(tmp_path / "shared")
    sid = vault.save(field())
    assert (tmp_path / "shared" / sid[:2] / f"{sid}.zarr").is_dir()
    assert Vault(tmp_path / "shared").load(sid).equals(field())


def test_an_fsspec_url_round_trips_and_lists_only_complete_snapshots() -> None:
    url = f"memory://vault-{secrets.token_hex(4)}"
    vault = Vault(url)
    da = field(1)
    sid = vault.save(da)
    assert sid == snapshot_id(da) and sid in vault
    loaded = vault.load(sid)
    np.testing.assert_array_equal(loaded.values, da.values)
    np.testing.assert_array_equal(loaded.coords["y"].values, da.coords["y"].values)
    assert vault.save(da) == sid and vault.ids() == [sid]
    assert Vault(url).ids() == [sid], "another handle on the URL sees the same snapshots"


def test_a_snapshot_without_its_marker_is_absent_and_written_again() -> None:
    """What a worker that died mid-write leaves: data files without `.zmetadata` (written last)."""
    vault = Vault(f"memory://vault-{secrets.token_hex(4)}")
    da = field(2)
    sid = snapshot_id(da)
    da.to_dataset(name="field").to_zarr(str(vault.path(sid)), mode="w", zarr_format=2, consolidated=True)
    vault._fs.rm(f"{vault._key(sid)}/.zmetadata")
    assert sid not in vault and vault.ids() == []
    with pytest.raises(StoreError, match=rf"has no snapshot `{sid}`"):
        vault.load(sid)
    assert vault.save(da) == sid
    np.testing.assert_array_equal(vault.load(sid).values, da.values)
