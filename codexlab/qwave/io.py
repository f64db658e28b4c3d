"""`load()`: fields from NetCDF (`.nc`) or Zarr (`.zarr` directory) files inside the allowed data roots.

Paths are resolved (symlinks and `..` included) before the check, so a link or a `../` cannot reach a
file outside the roots; every symlink inside a Zarr store (a chunk, an array folder) is resolved and
checked the same way; URLs are refused outright. The default roots are `<repo>/data` and
`$CODEXLAB_HOME/data` when `CODEXLAB_HOME` is set. Zarr v2 and v3 stores both load; the field comes
back without its storage encoding (codecs, chunks), which belongs to the file, not to the values.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from ..errors import CodexNameError, CodexValueError, did_you_mean

__all__ = ["load", "default_data_roots", "FORMATS"]

#: File suffix → xarray engine.
FORMATS: dict[str, str] = {".nc": "netcdf4", ".zarr": "zarr"}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def default_data_roots() -> tuple[Path, ...]:
    """`<repo>/data`, and `$CODEXLAB_HOME/data` when the variable is set."""
    roots = [_REPO_DATA]
    home = os.environ.get("CODEXLAB_HOME")
    if home:
        roots.append(Path(home).expanduser() / "data")
    return tuple(roots)


def _roots_text(roots: Sequence[Path]) -> str:
    return ", ".join(f"`{r}`" for r in roots)


def _locate(path: str | os.PathLike[str], roots: Sequence[Path]) -> Path:
    """The real path of `path` if it lies inside one of `roots`; a relative path is tried from the
    working directory, then from each root."""
    text = os.fspath(path)
    if _URL.match(text):
        raise CodexValueError(
            f"`load` reads local files only, and `{text}` is a URL; download it into one of the data roots "
            f"({_roots_text(roots)}) and load it from there."
        )
    raw = Path(text).expanduser()
    candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, *(root / raw for root in roots)]
    real_roots = [root.resolve() for root in roots]
    inside = [real for real in (c.resolve() for c in candidates) if _inside(real, real_roots)]
    if not inside:
        raise CodexValueError(
            f"`{text}` is outside the allowed data roots ({_roots_text(real_roots)}); move the file under "
            "one of them or add its folder to `data_roots`."
        )
    real = next((r for r in inside if r.exists()), None)
    if real is None:
        raise CodexValueError(
            f"`{text}` does not exist (looked for {_roots_text(inside)}); check the path or put the file "
            f"under {_roots_text(real_roots)}."
        )
    return real


def _inside(real: Path, roots: Sequence[Path]) -> bool:
    return any(real == root or real.is_relative_to(root) for root in roots)


def _check_store_links(store: Path, roots: Sequence[Path], text: str) -> None:
    """Refuse a Zarr store with a symlink (at any depth) that resolves outside the data roots."""
    real_roots = [root.resolve() for root in roots]
    pending, seen = [store], set()
    while pending:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.add(folder)
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not _inside(target, real_roots):
                        raise CodexValueError(
                            f"`{text}` holds a symlink `{Path(entry.path).relative_to(store)}` that leads outside "
                            f"the allowed data roots (to `{target}`); replace it with the data itself."
                        )
                    if target.is_dir():
                        pending.append(target)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))


def _engine(real: Path, text: str) -> str:
    """The xarray engine for a file, from its suffix."""
    engine = FORMATS.get(real.suffix.lower())
    if engine is None or (engine == "zarr") != real.is_dir():
        raise CodexValueError(
            f"`{text}` is not a NetCDF file (`.nc`) or a Zarr store (a `.zarr` directory); convert it to "
            "one of those formats."
        )
    return engine


def _open(real: Path, engine: str) -> xr.Dataset:
    """Open lazily; a Zarr store is read through its consolidated metadata when it has them."""
    if engine != "zarr":
        return xr.open_dataset(real, engine=engine)
    try:
        return xr.open_dataset(real, engine="zarr", consolidated=True)
    except (ValueError, KeyError, FileNotFoundError):
        return xr.open_dataset(real, engine="zarr", consolidated=False)


def _pick(ds: xr.Dataset, variable: str | None, text: str) -> str:
    """The data variable to return: the only one, or the one named by `variable`."""
    names = [str(v) for v in ds.data_vars]
    listed = ", ".join(f"`{n}`" for n in names)
    if variable is not None:
        if variable not in names:
            raise CodexNameError(
                f"`{text}` has no variable `{variable}`{did_you_mean(variable, names)}; its variables are "
                f"{listed or 'none'}."
            )
        return variable
    if not names:
        raise CodexValueError(f"`{text}` holds no data variables; write the field into it first.")
    if len(names) > 1:
        raise CodexValueError(
            f'`{text}` holds several variables ({listed}); choose one with `variable=`, e.g. `variable="{names[0]}"`.'
        )
    return names[0]


def load(
    path: str | os.PathLike[str],
    *,
    roots: Sequence[Path | str] | None = None,
    variable: str | None = None,
) -> xr.DataArray:
    """Read one field from a NetCDF file or a Zarr store inside the allowed data roots.

    Parameters: `path` — a local path (relative paths are tried from the working directory, then from
    each root); `roots` — the allowed folders (default `default_data_roots()`); `variable` — which data
    variable to return when the file holds several.
    Returns: the variable as an in-memory DataArray (the file is closed), its attrs plus `source`.
    Raises: `CodexValueError` for a URL, a path outside the roots, a missing file, an unknown format or
    an ambiguous Dataset; `CodexNameError` for an unknown `variable`.
    """
    root_paths = [Path(r).expanduser() for r in (default_data_roots() if roots is None else roots)]
    if not root_paths:
        raise CodexValueError("`load` has no allowed data roots; pass `roots=[...]` or set `data_roots`.")
    text = os.fspath(path)
    real = _locate(path, root_paths)
    engine = _engine(real, text)
    if engine == "zarr":
        _check_store_links(real, root_paths, text)
    try:
        with _open(real, engine) as ds:
            da = ds[_pick(ds, variable, text)].load()
    except (OSError, ValueError) as err:
        if isinstance(err, CodexValueError):
            raise
        raise CodexValueError(f"`{text}` could not be read as {engine} ({err}); check the file.") from err
    da.attrs = {**da.attrs, "source": str(real)}
    da.encoding = {}
    for name in da.coords:
        da.coords[name].encoding = {}
    return da
