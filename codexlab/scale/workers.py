"""Dask workers set up for codexlab: spawned (never forked after JAX loaded), XLA limited to each worker's
share of the cores, codexlab's kernels imported before the first point.

`local_cluster()` starts a `LocalCluster` that way (the environment is set before the worker process
starts, so JAX reads it at import); `CodexWorkerPlugin` does the rest on any cluster: it pins each worker
to its share of the host's cores (XLA sizes its thread pool from the affinity mask), sets `XLA_FLAGS`
when JAX has not started its backend yet, imports the kernels and records what it did.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import zlib
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin

from ..errors import CodexConfigError

__all__ = ["CodexWorkerPlugin", "local_cluster", "prepare_workers", "xla_environment", "worker_setup", "PLUGIN_NAME"]

PLUGIN_NAME = "codexlab-worker"


def xla_environment(threads: int) -> dict[str, str]:
    """Environment that keeps XLA (and BLAS/OpenMP) to `threads` threads; set it before JAX starts."""
    flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" if threads == 1 else ""
    env = {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    if flags:
        env["XLA_FLAGS"] = flags
    return env


def _jax_started() -> bool:
    """Whether JAX has created its backends in this process (XLA flags are read then, not at import)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None))


def _share(name: Any, peers: list[str], cores: list[int]) -> list[int]:
    """This worker's block of cores: the host's cores split evenly among its workers, by name order."""
    count = max(1, len(peers))
    size = max(1, len(cores) // count)
    slot = peers.index(str(name)) if str(name) in peers else zlib.crc32(str(name).encode()) % count
    start = (slot * size) % len(cores)
    return [cores[(start + k) % len(cores)] for k in range(size)]


class CodexWorkerPlugin(WorkerPlugin):
    """Prepares a worker for sweep points: its share of cores, XLA limits, codexlab's kernels imported."""

    name = PLUGIN_NAME
    #: Registered once per worker: a second sweep does not pin or report again (JAX is running by then).
    idempotent = True

    def __init__(self, pin: bool = True) -> None:
        self.pin = pin
        #: What `setup` found and did on the worker it ran on (read back with `client.run(worker_setup)`).
        self.report: dict[str, Any] = {}

    async def setup(self, worker: Any) -> None:
        """Pin the worker to its share of cores, limit XLA, import codexlab's kernels."""
        identity = await worker.scheduler.identity()
        host = worker.address.rsplit(":", 1)[0]
        peers = sorted(
            str(w.get("name")) for a, w in identity.get("workers", {}).items() if a.rsplit(":", 1)[0] == host
        )
        cores = (
            sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        )
        share = _share(worker.name, peers, cores) if self.pin else cores
        if self.pin and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, share)
        started = _jax_started()
        if not started:
            os.environ.update(xla_environment(len(share)))
        import codexlab.qwave.kernels  # noqa: F401  (registers the kernels and their backends)
        import codexlab.runtime.lab  # noqa: F401

        self.report = {
            "cores": share,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "jax_started_before": started,
            "start_method": multiprocessing.get_start_method(allow_none=True),
        }
        worker.codexlab_setup = self.report


def worker_setup(dask_worker: Any = None) -> dict[str, Any]:
    """What the plugin did on this worker (call as `client.run(worker_setup)`)."""
    return dict(getattr(dask_worker, "codexlab_setup", {}))


def prepare_workers(client: Client) -> dict[str, dict[str, Any]]:
    """Register the plugin on every worker (present and future) and refuse forked workers.

    Raises `CodexConfigError` when the workers cannot import codexlab or were started by `fork`.
    """
    try:
        client.register_plugin(CodexWorkerPlugin(), name=PLUGIN_NAME)
        reports: dict[str, dict[str, Any]] = client.run(worker_setup)
    except (ImportError, AttributeError) as err:
        raise CodexConfigError(
            f"The Dask workers cannot import codexlab ({err}); install it where they run "
            "(`pip install codexlab[dist]`) and restart them."
        ) from err
    forked = [addr for addr, r in reports.items() if r.get("start_method") == "fork"]
    if forked:
        raise CodexConfigError(
            f"Dask worker `{forked[0]}` was started by `fork`, which deadlocks once JAX runs threads; start "
            "the workers with `spawn` (`dask.config.set({'distributed.worker.multiprocessing-method': "
            "'spawn'})`, the default) or use `codexlab.scale.local_cluster()`."
        )
    return reports


def local_cluster(n_workers: int = 2, *, threads_per_worker: int = 1, **kwargs: Any) -> LocalCluster:
    """A `LocalCluster` of spawned worker processes whose XLA uses its share of this machine's cores.

    Extra keyword arguments go to `LocalCluster` (e.g. `dashboard_address=None`, `memory_limit=`).
    """
    import dask

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // max(1, n_workers))
    env = {**xla_environment(share), **kwargs.pop("env", {})}
    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
        return LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, env=env, **kwargs
        )
