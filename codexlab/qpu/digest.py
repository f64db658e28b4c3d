"""Content hashes of runtime values and of the things a cell's result depends on, for the sheet cache.

The hash of a value depends on what it is, never on how far it was computed: an exact value hashes by
its SymPy form (whether or not it was already put on a grid), a data value by its bytes, dims and
coordinates. Structured values (pairs, measurements, grids, configs) hash field by field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sympy
import xarray as xr

from ..runtime.values import Value, Vetoed

__all__ = ["value_digest", "digest", "file_digest"]

_SIZE = 16


def _feed(h: Any, obj: Any) -> None:
    """Feed a type-tagged, order-stable encoding of `obj` into the hash `h`."""
    if obj is None or isinstance(obj, (bool, int, float, complex, str)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, bytes):
        h.update(b"bytes:" + obj + b";")
    elif isinstance(obj, xr.DataArray):
        h.update(f"da:{obj.dims};".encode())
        _feed(h, np.asarray(obj.values))
        for name in obj.dims:
            if name in obj.coords:
                _feed(h, (str(name), np.asarray(obj.coords[name].values)))
        _feed(h, {str(k): v for k, v in obj.attrs.items() if isinstance(v, (str, int, float, bool))})
    elif isinstance(obj, np.ndarray) or type(obj).__module__.startswith(("jax", "jaxlib")):
        arr = np.ascontiguousarray(np.asarray(obj))
        h.update(f"arr:{arr.dtype.str}:{arr.shape};".encode())
        h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
    elif isinstance(obj, np.generic):
        _feed(h, obj.item())
    elif isinstance(obj, sympy.Basic) or isinstance(obj, sympy.MatrixBase):
        h.update(f"sym:{sympy.srepr(obj)};".encode())
    elif isinstance(obj, Mapping):
        h.update(f"map:{len(obj)}{{".encode())
        for key in sorted(obj, key=repr):
            _feed(h, key)
            _feed(h, obj[key])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(f"seq:{len(obj)}[".encode())
        for item in obj:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(obj, (set, frozenset)):
        _feed(h, sorted(obj, key=repr))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dc:{type(obj).__qualname__}(".encode())
        for f in dataclasses.fields(obj):
            _feed(h, (f.name, getattr(obj, f.name)))
        h.update(b")")
    elif hasattr(obj, "id") and type(obj).__name__ == "PNode":
        h.update(f"pnode:{obj.id};".encode())
    else:
        h.update(f"repr:{type(obj).__qualname__}:{obj!r};".encode())


def digest(*parts: Any) -> str:
    """A blake2b hex digest (32 hex digits) of any mix of plain values, arrays, SymPy and dataclasses."""
    h = hashlib.blake2b(digest_size=_SIZE)
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


def value_digest(value: Value | Vetoed | None) -> str:
    """The content hash of a bound value: its kind and its exact form if it has one, else its data."""
    if value is None:
        return digest("missing")
    if isinstance(value, Vetoed):
        return digest("vetoed", value)
    if value.expr is not None:
        return digest("exact", value.kind, value.expr)
    return digest("data", value.kind, value.data)


def file_digest(path: str | os.PathLike[str]) -> str:
    """blake2b of a file's bytes, or of a folder's files (relative names and bytes, in sorted order)."""
    root = Path(path)
    h = hashlib.blake2b(digest_size=_SIZE)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for file in files:
        h.update(str(file.relative_to(root) if file != root else file.name).encode() + b"\0")
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()
