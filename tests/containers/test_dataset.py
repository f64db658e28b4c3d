"""Containers to xarray and back: values, attributes and provenance links survive a NetCDF (and Zarr)
round trip; imported fields are ingest beams linked to the source's SHA-256 and to the exported beams."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from codexlab.errors import CodexNameError, CodexValueError
from codexlab.runtime import Lab
from codexlab.runtime.run import Run


def _beam_of(lab: Lab, container: str, name: str) -> str:
    beam = lab.memory(container).bindings[name].value.beam_id
    assert beam is not None
    return beam


def test_to_dataset_holds_fields_numbers_and_their_provenance(lab: Lab, source_run: Run) -> None:
    box = lab.container("src")
    assert box.names == ["E", "n0", "u", "w", "ψ"]
    ds = box.to_dataset()
    assert set(ds.data_vars) == {"E", "n0", "u", "w", "ψ"}
    assert ds["E"].dims == ("x", "y") and ds["n0"].dims == ()
    assert np.array_equal(ds["E"].values, source_run.values["E"].values)
    assert ds["ψ"].dtype == np.complex128
    for name in ds.data_vars:
        beam = lab.store.get_beam(ds[name].attrs["codexlab_beam_id"])
        assert beam is not None and beam.beam_id == _beam_of(lab, "src", str(name))
        assert ds[name].attrs["codexlab_run_id"] == beam.sheet_run_id == source_run.run_id
        assert ds[name].attrs["units"] == "1"
    assert ds["w"].attrs["bc"] == "x:periodic,y:periodic"
    assert ds.attrs["codexlab_container"] == "src" and ds.attrs["codexlab_seed"] == 7
    assert ds.attrs["codexlab_grid"] == "x:-1..1:32, y:-1..1:32"
    assert "codexlab_expr" in ds["u"].attrs  # an exact value keeps its formula


def test_netcdf_round_trip_keeps_values_attributes_and_provenance(lab: Lab, source_run: Run, tmp_path: Path) -> None:
    path = lab.container("src").to_netcdf(tmp_path / "src.nc")
    with xr.open_dataset(path, auto_complex=True) as plain:
        assert np.array_equal(plain["E"].values, source_run.values["E"].values)
        assert np.array_equal(plain["ψ"].values, source_run.values["ψ"].values)
        assert plain["E"].attrs["codexlab_beam_id"] == _beam_of(lab, "src", "E")
    copy = lab.container_from_dataset(path, "copy")
    assert copy.names == ["E", "n0", "u", "w", "ψ"]
    for name in copy.names:
        assert np.array_equal(np.asarray(copy[name]), np.asarray(lab.container("src")[name])), name
    assert copy["E"].attrs == {"units": "1", "bc": "x:periodic,y:periodic"}
    assert copy.grid == lab.memory("src").grid and lab.memory("copy").seed == 7
    file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    for name in copy.names:
        beam = lab.store.get_beam(_beam_of(lab, "copy", name))
        assert beam is not None and beam.stage == "ingest" and beam.source == "xarray"
        assert beam.result["source_sha256"] == file_hash
        assert beam.parents == [_beam_of(lab, "src", name)]
        assert beam.verdict == "pass"
    exported_again = copy.to_dataset()
    assert exported_again["E"].attrs["codexlab_beam_id"] == _beam_of(lab, "copy", "E")


def test_a_complex_field_read_without_auto_complex_still_imports(lab: Lab, source_run: Run, tmp_path: Path) -> None:
    path = lab.container("src").to_netcdf(tmp_path / "src.nc", names=["ψ"])
    with xr.open_dataset(path) as records:
        assert records["ψ"].dtype.names == ("r", "i")
        copy = lab.container_from_dataset(records.load(), "copy")
    assert np.array_equal(copy["ψ"].values, source_run.values["ψ"].values)


def test_zarr_round_trip_and_folder_hash(lab: Lab, source_run: Run, tmp_path: Path) -> None:
    path = lab.container("src").to_zarr(tmp_path / "src.zarr")
    with xr.open_zarr(path) as plain:
        assert np.array_equal(plain["w"].values, source_run.values["w"].values)
    copy = lab.container_from_dataset(path, "copy")
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    beam = lab.store.get_beam(_beam_of(lab, "copy", "w"))
    assert beam is not None and beam.result["source_sha256"] == digest.hexdigest()
    assert np.array_equal(copy["w"].values, source_run.values["w"].values)


def test_an_in_memory_dataset_is_hashed_by_content_and_has_no_parents(lab: Lab) -> None:
    grid = np.linspace(-1, 1, 8, endpoint=False)
    ds = xr.Dataset({"a": (("x", "y"), np.arange(64.0).reshape(8, 8), {"units": "m"})}, coords={"x": grid, "y": grid})
    box = lab.container_from_dataset(ds, "mem")
    beam = lab.store.get_beam(_beam_of(lab, "mem", "a"))
    assert beam is not None and beam.parents == [] and beam.result["source"] == "<in-memory Dataset>"
    lab.container_from_dataset(ds.copy(deep=True), "mem2")
    beam2 = lab.store.get_beam(_beam_of(lab, "mem2", "a"))
    assert beam2 is not None and beam2.result["source_sha256"] == beam.result["source_sha256"]
    ds["a"][0, 0] = -1.0
    lab.container_from_dataset(ds, "mem3")
    beam3 = lab.store.get_beam(_beam_of(lab, "mem3", "a"))
    assert beam3 is not None and beam3.result["source_sha256"] != beam.result["source_sha256"]
    assert box.grid.shape == (8, 8) and box["a"].attrs["units"] == "m"
    run = lab.run("b = Δa", container="mem")
    assert run.values["b"].shape == (8, 8)


def test_a_non_finite_import_is_vetoed_and_not_bound(lab: Lab) -> None:
    grid = np.linspace(-1, 1, 4, endpoint=False)
    values = np.ones((4, 4))
    values[1, 2] = np.nan
    ds = xr.Dataset(
        {"bad": (("x", "y"), values), "ok": (("x", "y"), np.full((4, 4), 2.0))}, coords={"x": grid, "y": grid}
    )
    box = lab.container_from_dataset(ds, "imp")
    assert box.names == ["ok"]
    record = lab.memory("imp").vetoed["bad"]
    assert record.law == "finite"
    beam = lab.store.get_beam(record.beam_id)
    assert beam is not None and beam.verdict == "veto"


def test_fields_on_different_grids_are_refused(lab: Lab) -> None:
    lab.run("@grid x:-1..1:16, y:-1..1:16\na := gaussian(x, y, σ=0.3)\nA = a * 1\n", container="two")
    lab.run("@grid x:-1..1:8, y:-1..1:8\nB = x * y + 0*x\n", container="two")
    with pytest.raises(CodexValueError, match=r"live on different grids.*to_dataset\(names="):
        lab.container("two").to_dataset()
    assert set(lab.container("two").to_dataset(names=["B"]).data_vars) == {"B"}


def test_pairs_are_listed_as_skipped_and_unknown_names_refused(lab: Lab) -> None:
    lab.run("@grid x:-1..1:16, y:-1..1:16\nφ := gaussian(x, y, σ=0.3) * exp(i*x)\nP = φ ↔ φ", container="pairs")
    ds = lab.container("pairs").to_dataset()
    assert set(ds.data_vars) == {"φ"} and ds.attrs["codexlab_skipped"] == "P (pair)"
    with pytest.raises(CodexNameError, match=r"`Q` is not bound in container `pairs`"):
        lab.container("pairs").to_dataset(names=["Q"])


def test_importing_onto_a_container_with_another_grid_is_refused(lab: Lab, source_run: Run, tmp_path: Path) -> None:
    path = lab.container("src").to_netcdf(tmp_path / "src.nc")
    lab.run("@grid x:-1..1:8, y:-1..1:8\nq := x + y\n", container="small")
    with pytest.raises(CodexValueError, match=r"Container `small` holds names on the grid .*import it into a new"):
        lab.container_from_dataset(path, "small")
