"""Run one sweep point and collect its rows: what a worker (a thread or a Dask task) does.

`run_point` runs the point's scroll in a throwaway Lab whose home (SQLite store, vault, traces, graph)
lives in a temporary folder, then reads back everything the run wrote: its beams, entanglement links,
payload rows (SQI scores, SoulLaw and collapse traces, metrics), collapse-trace lines, QFC payloads and
— unless the vault is shared — its vault snapshots. Nothing of the point persists on the worker. The
client commits the rows (`commit.commit_point`); with a shared PostgreSQL store and a shared vault the
worker commits them itself, once per run id (`BeamStore.persist_cell`).

A distributed sheet's cell is a point too: its task carries the cell's private carrier memory (the state
its dependencies left), the run uses it, and the result carries it back with the `Run`, the cell's
status report and, for a failed cell, the error itself. The `Run`'s derivations travel without their
rule set (its rules hold closures that do not pickle); their steps are whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import xarray as xr

from ..contracts import BeamEvent
from ..errors import CodexError
from ..runtime.values import Vetoed
from ..sqi.scoring import cell_qscore
from ..store.schema import PAYLOAD_TABLES

__all__ = ["PointTask", "PointResult", "run_point"]


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to run one point, as plain picklable data."""

    run_id: str
    cell_id: str
    index: tuple[int, ...]
    code: str
    container: str
    flags: dict[str, Any] = field(default_factory=dict)
    data_roots: tuple[str, ...] = ()
    policy: str | None = None
    container_config: dict[str, Any] = field(default_factory=dict)
    vault_url: str | None = None
    db_url: str | None = None
    db_schema: str | None = None
    #: The id of the chain key the client's store is sealed with; a worker commits only under that key.
    key_id: str | None = None
    #: A sheet cell's private carrier memory: the run uses it (not the container's) and it comes back.
    memory: Any = None


@dataclass
class PointResult:
    """What one point produced: bound values, its rows for the store, and how each name was judged."""

    run_id: str
    cell_id: str
    container_id: str
    index: tuple[int, ...]
    code: str
    values: dict[str, Any] = field(default_factory=dict)
    qscores: dict[str, float | None] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)
    cell_qscore: float | None = None
    error: str | None = None
    beams: list[BeamEvent] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    trace: list[dict[str, Any]] = field(default_factory=list)
    qfc: list[dict[str, Any]] = field(default_factory=list)
    snapshots: dict[str, xr.DataArray] = field(default_factory=dict)
    #: Set when the worker committed the point itself: whether this run wrote it (False: it was there).
    written: bool | None = None
    #: Who committed the point: `worker` or `client` (None until committed).
    committed_by: str | None = None
    #: Why a worker asked to commit left it to the client (it does not hold the client's chain key).
    commit_refused: str | None = None
    #: For a task with a memory: that memory after the run, the `Run`, the cell's report and its error.
    memory: Any = None
    run: Any = None
    report: Any = None
    failure: BaseException | None = None


def run_point(task: PointTask) -> PointResult:
    """Run one point in a throwaway Lab and collect what it wrote; commit it here when the task names a
    shared database. A point whose scroll fails (a `CodexError`) comes back with `error` set and its one
    `error` beam, as `Lab.run` would have stored it."""
    from ..runtime.lab import Lab
    from ..runtime.metrics import MetricsBus
    from ..store.vault import Vault

    with tempfile.TemporaryDirectory(prefix="codexlab-point-") as tmp:
        home = Path(tmp)
        if task.policy is not None:
            (home / "soullaw.toml").write_text(task.policy, encoding="utf-8")
        lab = Lab(
            home,
            db_url=f"sqlite:///{home / 'beams.db'}",
            flags=task.flags,
            data_roots=[Path(p) for p in task.data_roots] or None,
            bus=MetricsBus(),
            # The knowledge-graph export happens once, on the client (`commit_point`): a throwaway graph
            # here would only cost a RocksDB open and removal per point (a third of a warm point's overhead).
            graph=False,
        )
        lab.progress = False
        if task.vault_url is not None:
            lab.vault = Vault(task.vault_url)
        if task.container_config and task.memory is None:
            lab.configure(task.container, **task.container_config)
        try:
            result = _execute(lab, task)
            result.rows = {t: rows for t in PAYLOAD_TABLES if (rows := lab.store.rows(t))}
            result.links = lab.store.rows("entanglement_members")
            result.beams = lab.store.beams_for_run(task.run_id)
            result.trace = _jsonl(lab.trace_path)
            result.qfc = _qfc(home / "qfc" / f"{task.run_id}.json")
            if task.vault_url is None:
                result.snapshots = {sid: lab.vault.load(sid) for sid in lab.vault.ids()}
            if task.db_url is not None:
                _commit_here(task, result, home)
        finally:
            lab.store.close()
    return result


def _execute(lab: Any, task: PointTask) -> PointResult:
    """Run the scroll under the point's run and cell ids; values, qscores and verdicts per bound name."""
    out = PointResult(task.run_id, task.cell_id, task.container, task.index, task.code)
    own = task.memory
    try:
        container = task.container if own is None else None
        run = lab.run(task.code, container, cell_id=task.cell_id, run_id=task.run_id, memory=own)
    except CodexError as err:
        out.error, out.failure = f"{type(err).__name__}: {err}", err if own is not None else None
        return out
    out.container_id = run.container_id
    memory = lab.memory(run.container_id) if own is None else own
    if own is not None:
        record = lab.cells.get(run.container_id, task.cell_id)
        derivations = {n: replace(d, ruleset=None) for n, d in run.derivations.items()}
        out.memory, out.report = own, record.report if record is not None else None
        out.run = replace(run, derivations=derivations)
    stored = {b.beam_id: b for b in run.beams}
    for name, value in run.values.items():
        if isinstance(value, Vetoed):
            beam = stored.get(value.beam_id)
            out.values[name] = value
            out.qscores[name] = beam.qscore if beam is not None else None
            out.verdicts[name] = "veto"
            continue
        out.values[name] = value
        binding = memory.bindings.get(name)
        beam = stored.get(binding.value.beam_id or "") if binding is not None else None
        out.qscores[name] = beam.qscore if beam is not None else None
        out.verdicts[name] = (beam.verdict if beam is not None else None) or "none"  # none: never vetted
    out.cell_qscore = cell_qscore(run.scores)
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _qfc(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _commit_here(task: PointTask, result: PointResult, home: Path) -> None:
    """Commit the point to the shared database from the worker, sealed with the client's chain key.

    The worker's key comes from `$CODEXLAB_CHAIN_KEY` only (a worker has no home of its own); without it,
    or with another key, the point goes back to the client to commit (`commit_refused` says why).
    """
    from ..store import open_store
    from ..store.keys import ENV_KEY, load_chain_key

    if os.environ.get(ENV_KEY) is None:
        result.commit_refused = f"the worker has no `${ENV_KEY}`"
        return
    if load_chain_key(None).key_id != task.key_id:
        result.commit_refused = f"the worker's `${ENV_KEY}` is not the client's chain key"
        return
    store = open_store(task.db_url, schema=task.db_schema, home=home)
    try:
        commit = store.persist_cell(result.beams, links=result.links, rows=result.rows)
    finally:
        store.close()
    result.beams, result.written, result.committed_by = commit.beams, commit.written, "worker"
