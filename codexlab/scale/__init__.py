"""Scale-out: parameter sweeps on local threads or dask.distributed, committed by the client.

`sweep(lab, scroll, params, client=None)` (also `lab.sweep`) returns an `xarray.Dataset` with one
dimension per parameter; `free_names(scroll)` lists what a sweep may set; `run_point` is what a worker
runs. `local_cluster()` and `CodexWorkerPlugin` (in `codexlab.scale.workers`, which needs
`dask[distributed]`) set workers up for JAX. Chunked, out-of-core fields live in `codexlab.qwave.chunked`.
"""

from __future__ import annotations

from typing import Any

from .params import free_names
from .point import PointResult, PointTask, run_point
from .sweep import DASK_ENV, sweep

__all__ = ["sweep", "free_names", "run_point", "PointTask", "PointResult", "local_cluster", "DASK_ENV"]


def __getattr__(name: str) -> Any:
    """`local_cluster` without importing distributed until it is asked for."""
    if name == "local_cluster":
        from .workers import local_cluster

        return local_cluster
    raise AttributeError(f"module `codexlab.scale` has no attribute `{name}`")
