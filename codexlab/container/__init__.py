"""Containers as objects (`lab.container(cid)`): names, an xarray export (`to_dataset`, `to_netcdf`,
`to_zarr`), `fork`, import from xarray (`container_from_dataset`), and the plan's container exec
(`execute_qfc_container_beams`). `python -m codexlab.container` demonstrates them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import xarray as xr

from .container import Container
from .container_exec import SOURCE, execute_qfc_container_beams, program_code
from .dataset import import_dataset, source_sha256

if TYPE_CHECKING:
    from ..runtime.lab import Lab

__all__ = [
    "Container",
    "SOURCE",
    "container_from_dataset",
    "execute_qfc_container_beams",
    "program_code",
    "source_sha256",
]


def container_from_dataset(lab: Lab, dataset: xr.Dataset | str | os.PathLike[str], container: str) -> Container:
    """Bring a Dataset's variables (or a NetCDF file's, or a Zarr folder's) into `container`, one vetted
    `ingest` beam each whose `result` names the source and its `source_sha256`, and whose parent is the
    beam in the variable's `codexlab_beam_id` attr when this store has it. Returns the container."""
    import_dataset(lab, dataset, container)
    return Container(lab, container)
