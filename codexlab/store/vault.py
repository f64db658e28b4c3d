"""The vault: field results stored content-addressed as Zarr under `$CODEXLAB_HOME/vault/`, or at a shared
location (`$CODEXLAB_VAULT_URL`: a path or an fsspec URL such as `s3://bucket/vault`) that workers reach.

A snapshot id is the hash of the values, dims and coordinates, so identical results are stored once
and a beam's `vault_ref` loads back exactly the array it summarized. A crash never leaves a
half-written snapshot under its id: on a path, writes go to a temporary folder renamed into place; at
a URL, to a temporary prefix whose files are moved under the id with the consolidated metadata
(`.zmetadata`) last, and a snapshot counts as stored only once that file is there.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import StoreError

__all__ = ["Vault", "open_vault", "snapshot_id", "array_checksum", "VAULT_URL_ENV"]

#: The environment variable naming a shared vault location (a path or an fsspec URL).
VAULT_URL_ENV = "CODEXLAB_VAULT_URL"
#: The file that marks a snapshot at a URL as complete (written last).
_MARKER = ".zmetadata"

#: Attribute of a snapshot whose values were widened for Zarr: the dtype they had (`bfloat16`, fp8 …).
_NARROW = "codexlab_narrow_dtype"
_SNAPSHOT_ID = re.compile(r"[0-9a-f]{32}")


def array_checksum(values: np.ndarray) -> str:
    """Content hash of an array's bytes, shape and dtype (blake2b, 24 hex)."""
    arr = np.ascontiguousarray(values)
    h = hashlib.blake2b(digest_size=12)
    h.update(str(arr.dtype).encode())
    h.update(str(arr.shape).encode())
    h.update(arr.reshape(-1).view(np.uint8).data)  # the bytes, without a copy
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


def open_vault(home: str | os.PathLike[str]) -> Vault:
    """The vault of a home: `$CODEXLAB_VAULT_URL` when set (a location shared with workers), else
    `<home>/vault`."""
    shared = os.environ.get(VAULT_URL_ENV)
    return Vault(shared) if shared else Vault(Path(home) / "vault")


class Vault:
    """Content-addressed Zarr snapshots of fields: `save(da) -> id`, `load(id) -> DataArray`.

    `root` is a folder (a path or a `file://` URL) or any other fsspec URL (`s3://…`, `gs://…`,
    `memory://…`); `url` is the location as other processes should be given it.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        text = os.fspath(root)
        self._fs: Any = None
        if "://" in text and not text.startswith("file://"):
            import fsspec

            self._fs, self._base = fsspec.core.url_to_fs(text)
            self.root: Path | str = text.rstrip("/")
            self.url = str(self.root)
            self._fs.makedirs(self._base, exist_ok=True)
        else:
            self.root = Path(text.removeprefix("file://")).expanduser().resolve()
            self.url = str(self.root)
            self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"<Vault {self.url!r}>"

    def path(self, snapshot: str) -> Path | str:
        """Where a snapshot lives (two-level fan-out by the id's first two hex digits): a path, or a URL.

        Raises:
            StoreError: `snapshot` is not a snapshot id (32 hex digits), or its folder resolves outside the
                vault (a symlink), so no other path is ever opened through a vault id.
        """
        if not isinstance(snapshot, str) or not _SNAPSHOT_ID.fullmatch(snapshot):
            raise StoreError(
                f"`{snapshot}` is not a vault snapshot id (32 hex digits); vault ids come from a beam's "
                "`result['vault_ref']`."
            )
        if not isinstance(self.root, Path):
            return f"{self.root}/{snapshot[:2]}/{snapshot}.zarr"
        target = self.root / snapshot[:2] / f"{snapshot}.zarr"
        real = target.resolve()
        if not real.is_relative_to(self.root.resolve()):
            raise StoreError(
                f"Vault snapshot `{snapshot}` resolves outside the vault (`{real}`); it was tampered with."
            )
        return target

    def _key(self, snapshot: str) -> str:
        """The snapshot's folder in the fsspec filesystem's own path terms."""
        return f"{self._base.rstrip('/')}/{snapshot[:2]}/{snapshot}.zarr"

    def __contains__(self, snapshot: object) -> bool:
        if not isinstance(snapshot, str) or not _SNAPSHOT_ID.fullmatch(snapshot):
            return False
        if self._fs is None:
            return Path(self.path(snapshot)).is_dir()
        return bool(self._fs.exists(f"{self._key(snapshot)}/{_MARKER}"))

    def save(self, da: xr.DataArray, checksum: str | None = None) -> str:
        """Store a field (once per content) and return its snapshot id (`checksum`: see `snapshot_id`)."""
        sid = snapshot_id(da, checksum)
        if sid in self:
            return sid
        try:
            if self._fs is None:
                self._save_local(sid, _clean(da))
            else:
                self._save_remote(sid, _clean(da))
        except Exception as err:
            raise StoreError(f"Could not write vault snapshot `{sid}` to `{self.url}`: {err}.") from err
        return sid

    def _save_local(self, sid: str, ds: xr.Dataset) -> None:
        target = Path(self.path(sid))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{sid}.", dir=target.parent))
        try:
            ds.to_zarr(tmp / "data.zarr", mode="w", zarr_format=2, consolidated=True)
            try:
                (tmp / "data.zarr").rename(target)
            except OSError:
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _save_remote(self, sid: str, ds: xr.Dataset) -> None:
        """Write under a temporary prefix, then move each file under the id, the marker last: a reader
        never sees the marker before the data, and concurrent writers of one id write the same bytes."""
        fs, target = self._fs, self._key(sid)
        tmp = f"{self._base.rstrip('/')}/{sid[:2]}/.{sid}.{secrets.token_hex(4)}.zarr"
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        try:
            ds.to_zarr(f"{protocol}://{tmp}", mode="w", zarr_format=2, consolidated=True)
            files = sorted(fs.find(tmp), key=lambda name: name.endswith(_MARKER))
            for name in files:
                fs.mv(name, target + name[len(tmp) :])
        finally:
            if fs.exists(tmp):
                fs.rm(tmp, recursive=True)

    def load(self, snapshot: str) -> xr.DataArray:
        """The field stored under `snapshot` (loaded into memory)."""
        self.path(snapshot)  # refuses what is not a snapshot id, or resolves outside the vault
        if snapshot not in self:
            raise StoreError(
                f"The vault at `{self.url}` has no snapshot `{snapshot}`; vault ids come from a beam's "
                "`result['vault_ref']`."
            )
        where = self.path(snapshot)
        with xr.open_zarr(where if isinstance(where, Path) else str(where), consolidated=True) as ds:
            da = ds["field"].load()
        da.name = None if da.name == "field" else da.name
        narrow = da.attrs.pop(_NARROW, None)
        if narrow is not None:
            import ml_dtypes  # noqa: F401  (registers the narrow dtypes with NumPy)

            da = da.astype(np.dtype(str(narrow)))
        return da

    def ids(self) -> list[str]:
        """Every stored snapshot id."""
        if self._fs is None:
            assert isinstance(self.root, Path)
            return sorted(p.name.removesuffix(".zarr") for p in self.root.glob("*/*.zarr"))
        markers = self._fs.glob(f"{self._base.rstrip('/')}/*/*.zarr/{_MARKER}")
        names = (m.rsplit("/", 2)[-2] for m in markers)
        return sorted(n.removesuffix(".zarr") for n in names if not n.startswith("."))  # not a write in flight


def _clean(da: xr.DataArray) -> xr.Dataset:
    """The field as the one-variable Dataset a snapshot holds (simple attrs only, named `field`)."""
    clean = da.copy(deep=False)
    clean.attrs = {k: v for k, v in da.attrs.items() if isinstance(v, (str, int, float))}
    # How the source was stored (Zarr v3 codecs, NetCDF chunking) is not the vault's format.
    clean.encoding = {}
    for name in clean.coords:
        clean.coords[name].encoding = {}
    clean.name = clean.name if isinstance(clean.name, str) else "field"
    if clean.dtype.type.__module__.startswith("ml_dtypes"):
        # Zarr has no bfloat16 or fp8: store the values widened to float32 (exact) and say what they were.
        clean = clean.astype(np.float32)
        clean.attrs[_NARROW] = str(da.dtype)
    return clean.to_dataset(name="field")
