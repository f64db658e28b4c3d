"""The vault: field results stored content-addressed as Zarr under `$CODEXLAB_HOME/vault/`.

A snapshot id is the hash of the values, dims and coordinates, so identical results are stored once
and a beam's `vault_ref` loads back exactly the array it summarized. Writes go to a temporary folder
that is renamed into place, so a crash never leaves a half-written snapshot under its id.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import StoreError

__all__ = ["Vault", "snapshot_id", "array_checksum"]


def array_checksum(values: np.ndarray) -> str:
    """Content hash of an array's bytes, shape and dtype (blake2b, 24 hex)."""
    arr = np.ascontiguousarray(values)
    h = hashlib.blake2b(digest_size=12)
    h.update(str(arr.dtype).encode())
    h.update(str(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def snapshot_id(da: xr.DataArray, checksum: str | None = None) -> str:
    """Content hash of a DataArray: its values' checksum, dims and coordinate values (blake2b, 32 hex).

    `checksum` is the values' `array_checksum` when the caller already has it (a beam summary does),
    so a large field is hashed once, not twice.
    """
    h = hashlib.blake2b(digest_size=16)
    values = np.asarray(da.values)
    h.update(f"{values.dtype}|{values.shape}|{','.join(map(str, da.dims))}".encode())
    h.update((checksum or array_checksum(values)).encode())
    for name in da.dims:
        if name in da.coords:
            coord = np.asarray(da.coords[name].values)
            h.update(str(name).encode())
            h.update(
                coord.astype(str).tobytes() if coord.dtype.kind in "OUS" else np.ascontiguousarray(coord).tobytes()
            )
    return h.hexdigest()


class Vault:
    """Content-addressed Zarr snapshots of fields: `save(da) -> id`, `load(id) -> DataArray`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, snapshot: str) -> Path:
        """Where a snapshot lives (two-level fan-out by the id's first two hex digits)."""
        return self.root / snapshot[:2] / f"{snapshot}.zarr"

    def __contains__(self, snapshot: object) -> bool:
        return isinstance(snapshot, str) and self.path(snapshot).is_dir()

    def save(self, da: xr.DataArray, checksum: str | None = None) -> str:
        """Store a field (once per content) and return its snapshot id (`checksum`: see `snapshot_id`)."""
        sid = snapshot_id(da, checksum)
        target = self.path(sid)
        if target.is_dir():
            return sid
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{sid}.", dir=target.parent))
        try:
            clean = da.copy(deep=False)
            clean.attrs = {k: v for k, v in da.attrs.items() if isinstance(v, (str, int, float))}
            clean.name = clean.name if isinstance(clean.name, str) else "field"
            clean.to_dataset(name="field").to_zarr(tmp / "data.zarr", mode="w", zarr_format=2, consolidated=True)
            try:
                (tmp / "data.zarr").rename(target)
            except OSError:
                if not target.is_dir():
                    raise
        except Exception as err:
            raise StoreError(f"Could not write vault snapshot `{sid}`: {err}.") from err
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return sid

    def load(self, snapshot: str) -> xr.DataArray:
        """The field stored under `snapshot` (loaded into memory)."""
        target = self.path(snapshot)
        if not target.is_dir():
            raise StoreError(
                f"The vault has no snapshot `{snapshot}`; vault ids come from a beam's `result['vault_ref']`."
            )
        with xr.open_zarr(target) as ds:
            da = ds["field"].load()
        da.name = None if da.name == "field" else da.name
        return da

    def ids(self) -> list[str]:
        """Every stored snapshot id."""
        return sorted(p.name.removesuffix(".zarr") for p in self.root.glob("*/*.zarr"))
