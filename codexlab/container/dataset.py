"""Containers ⇄ xarray: a container's fields as a Dataset with units, grid, boundary and provenance
attributes, and a Dataset's fields brought into a container as `ingest` beams linked to the source.

Each exported variable carries `codexlab_beam_id` and `codexlab_run_id` (the beam and run its value came
from); importing keeps those beams as the ingest beams' parents when the store has them, and records
the source's SHA-256 (the file's bytes, a Zarr folder's files, or an in-memory Dataset's content).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy
import xarray as xr

from .._version import __version__
from ..contracts import BeamEvent, new_beam_id, utc_now_iso
from ..errors import CodexNameError, CodexValueError, did_you_mean
from ..qwave.fields import COMPONENT, COMPONENT2, grid_of
from ..qwave.grid import Grid
from ..runtime.memory import Binding, CarrierMemory
from ..runtime.summary import summarize_array, summarize_number
from ..runtime.values import Kind, Value, Vetoed, kind_of_data

if TYPE_CHECKING:
    from ..runtime.lab import Lab

__all__ = ["container_dataset", "import_dataset", "source_sha256", "PROVENANCE_ATTRS", "INGEST_SOURCE"]

#: Variable attrs that say where a value came from (replaced on import by the new ingest beam's).
PROVENANCE_ATTRS = ("codexlab_beam_id", "codexlab_run_id", "codexlab_cell_id", "codexlab_kind", "codexlab_path")
#: The `source` tag of the ingest beams of an import.
INGEST_SOURCE = "xarray"
_DIRECTIVE_ATTRS = {"precision": "codexlab_precision", "seed": "codexlab_seed", "method": "codexlab_method"}


def _plain_attrs(attrs: dict[Any, Any]) -> dict[str, str | int | float]:
    """Attrs NetCDF can hold: text and numbers (a bool becomes 0/1)."""
    out: dict[str, str | int | float] = {}
    for key, value in attrs.items():
        if isinstance(value, (bool, np.bool_)):
            out[str(key)] = int(value)
        elif isinstance(value, (str, int, float, np.integer, np.floating)):
            out[str(key)] = value.item() if isinstance(value, np.generic) else value
    return out


def _variable(lab: Lab, name: str, value: Value) -> xr.DataArray | None:
    """One value as a DataArray with its provenance attrs, or None for kinds a Dataset cannot hold."""
    data = value.data
    if isinstance(data, xr.DataArray):
        da = data.copy(deep=False)
    elif isinstance(data, (int, float, complex, np.number)) and not isinstance(data, (bool, np.bool_)):
        da = xr.DataArray(data, attrs={"units": "1"})
    else:
        return None
    beam = lab.store.get_beam(value.beam_id) if value.beam_id else None
    attrs = _plain_attrs(da.attrs)
    attrs.setdefault("units", "1")
    attrs.update(
        codexlab_kind=value.kind,
        codexlab_beam_id=value.beam_id or "",
        codexlab_run_id=beam.sheet_run_id if beam is not None else "",
        codexlab_cell_id=beam.cell_id if beam is not None else "",
        codexlab_path=value.path or "",
    )
    if value.expr is not None:
        attrs["codexlab_expr"] = sympy.sstr(value.expr)
    da.attrs = attrs
    da.name = name
    return da


def _same_grid(fields: dict[str, xr.DataArray]) -> None:
    """Refuse fields on different grids: one Dataset would align them by padding with NaN."""
    first = None
    for name, da in fields.items():
        dims = [d for d in da.dims if d not in (COMPONENT, COMPONENT2)]
        coords = {d: np.asarray(da.coords[d].values) for d in dims if d in da.coords}
        if first is None:
            first = (name, coords)
        elif coords.keys() != first[1].keys() or any(
            coords[d].shape != first[1][d].shape or not np.array_equal(coords[d], first[1][d]) for d in coords
        ):
            raise CodexValueError(
                f"`{name}` and `{first[0]}` live on different grids, so one Dataset cannot hold both; export "
                f'them separately with `to_dataset(names=["{name}"])`.'
            )


def container_dataset(lab: Lab, memory: CarrierMemory, names: list[str] | None = None) -> xr.Dataset:
    """The container's fields and numbers (all, or `names`) as one Dataset, with container attrs."""
    chosen = sorted(n for n in memory.bindings if n != "_") if names is None else list(names)
    variables: dict[str, xr.DataArray] = {}
    skipped: list[str] = []
    for name in chosen:
        binding = memory.bindings.get(name)
        if binding is None:
            known = sorted(memory.bindings)
            raise CodexNameError(
                f"`{name}` is not bound in container `{memory.container_id}`{did_you_mean(name, known)}; "
                f"its names are {', '.join(f'`{k}`' for k in known) or 'none'}."
            )
        da = _variable(lab, name, binding.value)
        if da is None:
            skipped.append(f"{name} ({binding.value.kind})")
        else:
            variables[name] = da
    _same_grid({n: da for n, da in variables.items() if da.ndim})
    ds = xr.Dataset(variables)
    ds.attrs = {
        "codexlab_container": memory.container_id,
        "codexlab_grid": memory.grid.describe(),
        "codexlab_precision": memory.precision,
        "codexlab_seed": memory.seed,
        "codexlab_method": memory.method,
        "codexlab_wave_c": memory.wave_c,
        "codexlab_version": __version__,
        "codexlab_skipped": ", ".join(skipped),
        "codexlab_exported": utc_now_iso(),
        **memory.grid.to_attrs(),
    }
    return ds


def source_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative name, NUL, bytes; sorted by name)."""
    root = Path(path)
    h = hashlib.sha256()
    if root.is_file():
        h.update(root.read_bytes())
        return h.hexdigest()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(file.relative_to(root)).encode() + b"\0")
        h.update(file.read_bytes())
    return h.hexdigest()


def _dataset_sha256(ds: xr.Dataset) -> str:
    """SHA-256 of an in-memory Dataset's variables: names, dims, dtypes, values, coords and attrs."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        arr = np.ascontiguousarray(np.asarray(var.values))
        h.update(f"{name}|{var.dims}|{arr.dtype.str}|{arr.shape}|{sorted(_plain_attrs(var.attrs).items())}".encode())
        h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
    return h.hexdigest()


def open_source(source: xr.Dataset | str | os.PathLike[str]) -> tuple[xr.Dataset, str, str]:
    """(Dataset, where it came from, its SHA-256) for a Dataset, a NetCDF file or a Zarr folder."""
    if isinstance(source, xr.Dataset):
        origin = source.encoding.get("source")
        if isinstance(origin, str) and Path(origin).exists():
            return source, origin, source_sha256(origin)
        return source, "<in-memory Dataset>", _dataset_sha256(source)
    path = Path(source)
    if not path.exists():
        raise CodexValueError(f"`{path}` does not exist; pass an xarray Dataset, a NetCDF file or a Zarr folder.")
    digest = source_sha256(path)
    if path.is_dir():
        ds = xr.open_zarr(path).load()
    else:
        with xr.open_dataset(path, auto_complex=True) as opened:
            ds = opened.load()
    return ds, str(path.resolve()), digest


def _as_complex(da: xr.DataArray) -> xr.DataArray:
    """A complex variable read without `auto_complex` comes as records (r, i): make it complex again."""
    names = da.dtype.names
    if names is not None and set(names) == {"r", "i"}:
        values = np.asarray(da.values)
        return da.copy(data=values["r"] + 1j * values["i"])
    return da


def _value_of(da: xr.DataArray) -> tuple[Any, Kind]:
    """The runtime data of an imported variable (a number for a 0-d one) and its kind."""
    if da.ndim == 0:
        item = da.values.item()
        number = complex(item) if np.iscomplexobj(da.values) else float(item)
        return number, "number"
    return da, kind_of_data(da)


def _grid(fields: dict[str, xr.DataArray]) -> Grid | None:
    grids = {name: grid_of(da) for name, da in fields.items()}
    first = next(iter(grids.items()), None)
    if first is None:
        return None
    for name, grid in grids.items():
        if grid != first[1]:
            raise CodexValueError(
                f"`{name}` and `{first[0]}` live on different grids (`{grid.describe()}` vs "
                f"`{first[1].describe()}`); import them into separate containers."
            )
    return first[1]


def import_dataset(lab: Lab, source: xr.Dataset | str | os.PathLike[str], container: str) -> list[BeamEvent]:
    """Bind a Dataset's variables in `container`, one vetted `ingest` beam each; returns the beams."""
    from ..sqi.soullaw import log_soullaw_event, verdict_of, vet

    ds, origin, sha = open_source(source)
    arrays = {str(n): _as_complex(ds[n]) for n in ds.data_vars}
    if not arrays:
        raise CodexValueError(f"`{origin}` holds no data variables; there is nothing to import.")
    grid = _grid({n: da for n, da in arrays.items() if da.ndim})
    run_id = uuid.uuid4().hex[:16]
    with lab.container_lock(container):
        memory = lab.memory(container)
        if grid is not None and memory.bindings and memory.grid != grid:
            raise CodexValueError(
                f"Container `{container}` holds names on the grid `{memory.grid.describe()}`, but `{origin}` is on "
                f"`{grid.describe()}`; import it into a new container."
            )
        fresh = not memory.bindings
        if grid is not None:
            memory.grid = grid
        if fresh:
            _restore_directives(memory, ds.attrs)
        policy: dict[str, Any] = {k: memory.config[k] for k in ("thresholds", "laws") if k in memory.config}
        config = lab.soullaw.merged(policy or None)
        beams: list[BeamEvent] = []
        verdicts: list[Any] = []
        values: dict[str, tuple[Any, Kind]] = {}
        for name, da in arrays.items():
            prov = {k: da.attrs.get(k) for k in PROVENANCE_ATTRS}
            clean = da.copy(deep=False)
            clean.attrs = {k: v for k, v in da.attrs.items() if k not in PROVENANCE_ATTRS and k != "codexlab_expr"}
            clean.name = None
            data, kind = _value_of(clean)
            beam = _ingest_beam(lab, memory, run_id, name, data, kind, origin, sha, prov)
            found = vet(beam, _context(lab, memory, name, beam), config=config)
            verdicts.extend(found)
            beams.append(beam.evolve(verdict=verdict_of(found)))
            values[name] = (data, kind)
        stored = lab.store.persist_beam_events(beams)
        for beam in stored:
            name = str(beam.result["name"])
            data, kind = values[name]
            if beam.verdict == "veto":
                law = next(v for v in verdicts if v.beam_id == beam.beam_id and v.outcome == "veto")
                memory.veto(Vetoed(name, law.law, law.reason, beam.beam_id))
                continue
            memory.bind(Binding(name, Value(kind, data=data, beam_id=beam.beam_id, path="wave"), None, True))
            norm = beam.result.get("norm")
            if isinstance(norm, (int, float)):
                memory.norms[beam.beam_id] = float(norm)
    if verdicts:
        log_soullaw_event(
            verdicts, path=lab.trace_path, container_id=container, store=lab.store, store_outcomes=("warn", "veto")
        )
    if not lab.kg.read_only:
        lab.kg.write_beams(stored, [])
    return stored


def _restore_directives(memory: CarrierMemory, attrs: dict[Any, Any]) -> None:
    """A fresh container takes the exporting container's precision, seed, method and wave speed."""
    for field_name, attr in _DIRECTIVE_ATTRS.items():
        if attr in attrs:
            setattr(memory, field_name, type(getattr(memory, field_name))(attrs[attr]))
    if "codexlab_wave_c" in attrs:
        memory.wave_c = float(attrs["codexlab_wave_c"])


def _ingest_beam(
    lab: Lab,
    memory: CarrierMemory,
    run_id: str,
    name: str,
    data: Any,
    kind: Kind,
    origin: str,
    sha: str,
    prov: dict[str, Any],
) -> BeamEvent:
    if isinstance(data, xr.DataArray):
        summary = summarize_array(np.asarray(data.values), memory.grid.cell_volume)
        summary["vault_ref"] = lab.vault.save(data, summary["checksum"])
    else:
        summary = summarize_number(data)
    parent = prov.get("codexlab_beam_id")
    parents = [parent] if isinstance(parent, str) and parent and lab.store.get_beam(parent) is not None else []
    result = {
        **summary,
        "kind": kind,
        "name": name,
        "source": origin,
        "source_sha256": sha,
        "source_variable": name,
        "source_beam": parent or None,
        "source_run": prov.get("codexlab_run_id") or None,
    }
    return BeamEvent(
        beam_id=new_beam_id("from_dataset", "ingest"),
        cell_id="from_dataset",
        sheet_run_id=run_id,
        container_id=memory.container_id,
        stage="ingest",
        token="from_dataset",
        result=result,
        timestamp=utc_now_iso(),
        parents=parents,
        source=INGEST_SOURCE,
    )


def _context(lab: Lab, memory: CarrierMemory, name: str, beam: BeamEvent) -> dict[str, Any]:
    """What SoulLaw's laws read for an imported value."""
    return {
        "name": name,
        "op": beam.token,
        "input_norms": [],
        "spacing": memory.grid.spacing,
        "precision": memory.precision,
        "grid_points": memory.grid.size,
        "data_roots": lab.data_roots,
        "container_id": memory.container_id,
        "requires_consent": bool(memory.config.get("requires_consent")),
        "consent_granted": memory.config.get("consent_granted") is True,
    }
