"""Parameter sweeps: the same scroll over a grid of parameter values, one point per task.

Without a client the points run in local threads; with a `distributed.Client` (or `$CODEXLAB_DASK`
naming a scheduler address) each point is a task on a worker. Workers never write the Lab's SQLite
store: each point runs against a throwaway store and returns its rows, which this process commits as
points finish, one transaction per point (`commit.commit_point`). With a PostgreSQL store and a shared
vault (`$CODEXLAB_VAULT_URL`) the workers commit directly. Run ids are a hash of the sweep id and the
point's values, so a point retried after a worker died commits once, and a sweep rerun with the same
`sweep_id` finds its committed points. Progress shows as a tqdm bar and on the Lab's bus (a live
`qpu_beam_timeline` envelope with `progress`, which the HUD draws).
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import xarray as xr

from ..errors import CodexConfigError, CodexValueError
from ..lang.parser import parse
from ..lang.printer import to_text
from ..store.keys import ENV_KEY
from ..store.sql import SQLStore
from ..store.vault import VAULT_URL_ENV
from .commit import commit_point
from .dataset import build_dataset, check_names
from .params import bound_names, check_params, container_of, point_scroll, sweep_points
from .point import PointResult, PointTask, run_point

if TYPE_CHECKING:
    from distributed import Client

    from ..runtime.lab import Lab

__all__ = ["sweep", "point_template", "DASK_ENV"]

#: The environment variable naming a Dask scheduler address to run sweeps on.
DASK_ENV = "CODEXLAB_DASK"
_SWEEP_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def sweep(
    lab: Lab,
    scroll: str,
    params: Mapping[str, Sequence[float]],
    client: Client | None = None,
    *,
    sweep_id: str | None = None,
    threads: int | None = None,
) -> xr.Dataset:
    """Run `scroll` once per combination of `params` and stack the results (see `dataset`).

    Parameters: `params` maps free names of the scroll to their values; `client` a
    `distributed.Client` (default: `$CODEXLAB_DASK`, else local threads); `sweep_id` names the sweep
    (letters, digits, `_`), which fixes its run ids (default: a fresh id); `threads` the number of
    local threads (default: one per core; refused with a client).
    Raises: `CodexSyntaxError` for a scroll that does not parse, `CodexNameError` for a parameter
    that is not a free name of the scroll, `CodexValueError`/`CodexTypeError` for bad values or
    options, `CodexConfigError` for workers that cannot run points.
    """
    tree = parse(scroll)
    grid = check_params(tree, params)
    check_names(bound_names(tree))
    sweep_id = sweep_id or f"sweep_{uuid.uuid4().hex[:12]}"
    if not _SWEEP_ID.match(sweep_id):
        raise CodexValueError(f"`sweep_id={sweep_id!r}` should be 1–64 letters, digits or `_`; pick such a name.")
    container = container_of(tree) or "default_container"
    client, owned = _resolve_client(client, threads)
    try:
        tasks = _tasks(lab, tree, grid, sweep_id, container, client)
        label = "sweep " + " × ".join(grid)
        with _Progress(lab, container, sweep_id, label, len(tasks)) as progress:
            if client is None:
                results = _run_threads(lab, tasks, threads, progress.advance)
            else:
                results = _run_dask(lab, client, tasks, progress.advance)
    finally:
        if owned and client is not None:
            client.close()
    refused = sorted({r.commit_refused for r in results.values() if r.commit_refused})
    if refused:
        warnings.warn(
            f"The workers could not commit the points to the shared database ({'; '.join(refused)}), so this "
            f"process committed them; to commit on the workers, give them `${ENV_KEY}` set to this store's "
            f"chain key (id `{lab.store.chain_key().key_id}`).",
            RuntimeWarning,
            stacklevel=2,
        )
    by_workers = bool(results) and all(r.committed_by == "worker" for r in results.values())
    attrs = {
        "sweep_id": sweep_id,
        "scroll": to_text(tree),
        "container": container,
        "executor": "threads" if client is None else "dask",
        "committed_by": "workers" if by_workers else "client",
    }
    return build_dataset(grid, results, attrs=attrs)


def _resolve_client(client: Client | None, threads: int | None) -> tuple[Client | None, bool]:
    """The client to use and whether this sweep opened it (from `$CODEXLAB_DASK`)."""
    if client is not None and threads is not None:
        raise CodexValueError(
            "`threads=` sets local threads; with a Dask `client` the workers' threads apply; drop one."
        )
    if client is not None or threads is not None or not os.environ.get(DASK_ENV):
        return client, False
    from distributed import Client

    address = os.environ[DASK_ENV]
    try:
        return Client(address, timeout="10s"), True
    except OSError as err:
        raise CodexConfigError(
            f"No Dask scheduler answers at `{address}` (from `{DASK_ENV}`): {err}; start one or unset `{DASK_ENV}`."
        ) from err


def _tasks(
    lab: Lab, tree: Any, grid: Mapping[str, Any], sweep_id: str, container: str, client: Client | None
) -> list[PointTask]:
    """One task per point, carrying the Lab's flags, data roots, policy and container config."""
    template = point_template(lab, container, client)
    return [
        replace(
            template, run_id=p.run_id, cell_id=f"{sweep_id}_p{k:04d}", index=p.index, code=point_scroll(tree, p.values)
        )
        for k, p in enumerate(sweep_points(sweep_id, grid))
    ]


def point_template(lab: Lab, container: str, client: Client | None) -> PointTask:
    """A task with what every point of `lab` needs (flags, data roots, policy, container config, where to
    commit); `replace` fills in the point's run id, cell id and code. Workers commit themselves only with
    a PostgreSQL store and a shared vault."""
    policy = lab.home / "soullaw.toml"
    shared_vault = client is None or bool(os.environ.get(VAULT_URL_ENV))
    vault_url = lab.vault.url if shared_vault else None
    db_url, db_schema, key_id = (None, None, None)
    store = lab.store
    if client is not None and vault_url and isinstance(store, SQLStore) and store.engine.dialect.name == "postgresql":
        # Workers reach the same database; the password stays out of the task (libpq reads PGPASSWORD).
        db_url = store.engine.url.set(password=None).render_as_string(hide_password=False)
        db_schema = store.schema
        key_id = store.chain_key().key_id
    return PointTask(
        run_id="",
        cell_id="",
        index=(),
        code="",
        container=container,
        flags=dict(lab.flags),
        data_roots=tuple(str(p) for p in lab.data_roots),
        policy=policy.read_text(encoding="utf-8") if policy.is_file() else None,
        container_config=dict(lab.memory(container).config),
        vault_url=vault_url,
        db_url=db_url,
        db_schema=db_schema,
        key_id=key_id,
    )


Advance = Callable[[PointResult], None]


def _run_threads(
    lab: Lab, tasks: list[PointTask], threads: int | None, advance: Advance
) -> dict[tuple[int, ...], PointResult]:
    """Points in local threads; each finished point is committed here, in this thread."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise CodexValueError(f"`threads` should be a whole number >= 1, got `{threads!r}`; fix it.")
    results: dict[tuple[int, ...], PointResult] = {}
    workers = threads or max(1, min(len(tasks), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codexlab-sweep") as pool:
        futures = [pool.submit(run_point, task) for task in tasks]
        try:
            for future in as_completed(futures):
                result = commit_point(lab, future.result())
                results[result.index] = result
                advance(result)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


def _run_dask(lab: Lab, client: Client, tasks: list[PointTask], advance: Advance) -> dict[tuple[int, ...], PointResult]:
    """Points as Dask tasks (a dead worker's point is rerun by the scheduler); committed here as they finish."""
    from distributed import as_completed as dask_completed

    from .workers import prepare_workers

    prepare_workers(client)
    futures = [client.submit(run_point, task, key=f"codexlab-point-{task.run_id}", pure=False) for task in tasks]
    results: dict[tuple[int, ...], PointResult] = {}
    try:
        for future in dask_completed(futures):
            result = commit_point(lab, future.result())
            results[result.index] = result
            advance(result)
    except BaseException:
        client.cancel(futures)
        raise
    return results


class _Progress:
    """A tqdm bar in the terminal and live progress envelopes on the Lab's bus (when the HUD listens)."""

    def __init__(self, lab: Lab, container: str, sweep_id: str, label: str, total: int) -> None:
        from tqdm.auto import tqdm

        from ..runtime.live import live_feed

        self.total, self.done, self.label = total, 0, label
        self.bar = tqdm(total=total, desc=label, unit="point", disable=not lab.progress, leave=False)
        self.live = live_feed(lab.bus, container, sweep_id, lab.live_interval_s)

    def __enter__(self) -> _Progress:
        if self.live is not None:
            self.live.progress(self.label, 0, self.total)
        return self

    def advance(self, result: PointResult) -> None:
        self.done += 1
        self.bar.update(1)
        if self.live is not None:
            self.live.progress(self.label, self.done, self.total)

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
        if self.live is not None:
            self.live.loop_done()
