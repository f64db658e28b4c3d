"""`Container`: a Lab's container as an object — its names and values, an xarray export, fork and exec."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from ..errors import CodexNameError, did_you_mean
from ..qwave.grid import Grid
from ..runtime.memory import CarrierMemory
from ..runtime.run import Run
from .container_exec import execute_qfc_container_beams
from .dataset import container_dataset

if TYPE_CHECKING:
    from ..runtime.lab import Lab

__all__ = ["Container"]


class Container:
    """A container of `lab` (its carrier memory: names, grid, directives), as `lab.container(cid)` gives it."""

    def __init__(self, lab: Lab, container_id: str) -> None:
        self.lab = lab
        self.container_id = container_id

    @property
    def memory(self) -> CarrierMemory:
        """The container's carrier memory (live: later cells change it)."""
        return self.lab.memory(self.container_id)

    @property
    def names(self) -> list[str]:
        """The bound names, sorted (`_`, the last bare expression's value, left out)."""
        return sorted(n for n in self.memory.bindings if n != "_")

    @property
    def grid(self) -> Grid:
        """The grid in force in the container."""
        return self.memory.grid

    def __getitem__(self, name: str) -> Any:
        """A bound value as cells see it: a field as a DataArray, a number, a pair, a measurement."""
        binding = self.memory.bindings.get(name)
        if binding is None:
            raise CodexNameError(
                f"`{name}` is not bound in container `{self.container_id}`{did_you_mean(name, self.names)}; "
                f"its names are {', '.join(f'`{n}`' for n in self.names) or 'none'}."
            )
        return binding.value.data

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.memory.bindings

    def to_dataset(self, names: list[str] | None = None) -> xr.Dataset:
        """The fields and numbers (all, or `names`) as an `xarray.Dataset`: each variable keeps its units
        and `bc` attrs and gains `codexlab_beam_id`/`codexlab_run_id`/`codexlab_cell_id` (where its value
        came from) and `codexlab_kind`; the Dataset's attrs hold the container id, grid and directives.
        Pairs and measurements have no Dataset form: `attrs["codexlab_skipped"]` lists them."""
        with self.lab.container_lock(self.container_id):
            return container_dataset(self.lab, self.memory, names)

    def to_netcdf(self, path: str | os.PathLike[str], names: list[str] | None = None) -> Path:
        """Write `to_dataset()` as NetCDF-4 (complex fields via netCDF4's `auto_complex`: open the file
        with `xr.open_dataset(path, auto_complex=True)`); returns the path."""
        target = Path(path)
        self.to_dataset(names).to_netcdf(target, engine="netcdf4", auto_complex=True)
        return target

    def to_zarr(self, path: str | os.PathLike[str], names: list[str] | None = None) -> Path:
        """Write `to_dataset()` as a Zarr (v2, consolidated) folder, replacing one already there."""
        target = Path(path)
        self.to_dataset(names).to_zarr(target, mode="w", zarr_format=2, consolidated=True)
        return target

    def fork(self, new_id: str) -> Container:
        """A new container `new_id` holding a copy of this one's names, grid and directives (the values
        and their beams are shared, so lineage continues); cells run there leave this one untouched."""
        self.lab.fork(self.container_id, new_id)
        return Container(self.lab, new_id)

    def execute(
        self,
        program: Any,
        *,
        inputs: Mapping[str, str] | None = None,
        outputs: Mapping[str, str] | str | None = None,
        cell_id: str | None = None,
    ) -> Run:
        """`execute_qfc_container_beams(self, program, ...)`: run a stored program over the fields."""
        return execute_qfc_container_beams(self, program, inputs=inputs, outputs=outputs, cell_id=cell_id)

    def __repr__(self) -> str:
        names = ", ".join(self.names[:8]) + (", …" if len(self.names) > 8 else "")
        return f"<Container {self.container_id}: {len(self.names)} names [{names}] on {self.grid.describe()}>"
