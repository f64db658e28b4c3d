"""`execute_sheet` (the plan's virtual QPU; `Lab.run_sheet`): run a sheet's cells as a dependency graph,
independent cells in parallel threads, each against a private carrier memory, reusing cached results.

Every cell sees exactly the state its dependencies left (see `state`), so the values, beams and
lineage do not depend on `jobs` or on timing. A cell whose key (code, inherited directives, container
config and flags, the hashes of the values it reads and of the files it loads, the codexlab version)
matches a cached result is not run: it gets one `cached` beam per name, whose parent is the reused
beam. Outputs merge into the container in run order once the cells are done.

With a `distributed.Client` a cell that runs is a task on a worker, by the sweeps' machinery
(`scale.point.run_point` with the cell's private memory in the task): the worker runs it against a
throwaway store and returns its rows, its memory and its `Run`; this process commits the rows
(`scale.commit.commit_point`) — so values, beams and lineage are those of a local run.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..contracts import BeamEvent, new_beam_id, utc_now_iso
from ..errors import CodexValueError, SheetError
from ..lang.deps import UNDERSCORE, CellDeps
from ..lang.parser import parse
from ..lang.printer import to_text
from ..runtime.lab import DEFAULT_CONTAINER
from ..runtime.memory import Binding, CarrierMemory
from ..runtime.run import Run
from ..runtime.values import Vetoed
from .cache import CacheEntry, SheetCache
from .digest import digest, file_digest, value_digest
from .graph import SheetGraph, analyze_sheet, build_graph
from .metrics import publish_sheet_metrics, sheet_metrics
from .result import CellOutcome, SheetRun
from .sheet import Sheet, as_sheet
from .state import DIRECTIVE_FIELDS, Watch, cell_memory, directive_state, merge_cell, merge_directives

if TYPE_CHECKING:
    from distributed import Client

    from ..runtime.lab import Lab

__all__ = ["execute_sheet", "sheet_cache"]

_SHEET_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()
#: The `source` tag of `cached` beams: the virtual QPU made them, no kernel ran.
CACHED_SOURCE = "qpu"


def sheet_cache(lab: Lab) -> SheetCache:
    """The cache of a Lab's home (`<home>/sheets`)."""
    return SheetCache(lab.home / "sheets")


def _sheet_lock(lab: Lab) -> threading.Lock:
    """One sheet at a time per Lab (cell ids are per sheet; two sheets could admit the same id twice)."""
    with _GUARD:
        return _SHEET_LOCKS.setdefault(lab, threading.Lock())


def _container(sheet: Sheet, deps: dict[str, CellDeps], container: str | None, default: str) -> str:
    named = {c.id: c.container or deps[c.id].container for c in sheet.cells}
    chosen = {n for n in named.values() if n}
    if container is not None:
        other = next((cid for cid, n in named.items() if n and n != container), None)
        if other is not None:
            raise SheetError(
                f"Cell {sheet[other].where} selects container `{named[other]}` but the sheet runs in "
                f"`{container}`; a sheet runs in one container, so drop the cell's `@container` or run the "
                f'sheet with `container="{named[other]}"`.'
            )
        return container
    if len(chosen) > 1:
        first, second = sorted(chosen)[:2]
        a = next(c for c, n in named.items() if n == first)
        b = next(c for c, n in named.items() if n == second)
        raise SheetError(
            f"Cells {sheet[a].where} and {sheet[b].where} select different containers (`{first}`, `{second}`); "
            "a sheet runs in one container, so use one `@container` for all its cells."
        )
    return chosen.pop() if chosen else default


def execute_sheet(
    lab: Lab,
    source: Sheet | str | os.PathLike[str] | Mapping[str, str],
    *,
    jobs: int | None = None,
    container: str | None = None,
    cache: bool = True,
    client: Client | None = None,
) -> SheetRun:
    """Run a sheet (a `Sheet`, a `.codex`/`.ipynb` path, sheet text or a dict of cell id → code).

    Parameters: `jobs` — how many cells may run at once (default 1; with a client, the workers'
    threads); `container` — where the sheet runs (default: the cells' `@container`, else the Lab's
    default container); `cache` — reuse the results of unchanged cells and store new ones; `client` —
    a `distributed.Client` whose workers run the cells (see the module doc). Returns a `SheetRun`.
    Raises `SheetError` for a name defined by two cells, a dependency cycle, or a failed cell (naming
    it; the cells that finished are merged into the container and kept in the cache, so a rerun after
    the fix reuses them).
    """
    if jobs is None:
        jobs = max(1, sum(client.nthreads().values())) if client is not None else 1
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise CodexValueError(f"`jobs` must be a whole number ≥ 1, got `{jobs!r}`; use `jobs=2` for two threads.")
    sheet = as_sheet(source)
    with _sheet_lock(lab):
        deps = analyze_sheet(sheet)
        cid = _container(sheet, deps, container, DEFAULT_CONTAINER)
        with lab.container_lock(cid):
            base = lab.memory(cid).snapshot()
        graph = build_graph(sheet, base.members, deps=deps)
        run = _Execution(lab, graph, base, jobs, sheet_cache(lab) if cache else None, client)
        lab.kg  # open the knowledge graph here, not first from two worker threads at once  # noqa: B018
        failed = run.execute()
        with lab.container_lock(cid):
            live = lab.memory(cid)
            for cell in graph.order:
                if cell in run.outputs:
                    merge_cell(live, graph, cell, run.outputs[cell])
            merge_directives(live, graph, run.outputs)
        result = run.result()
        lab.cell_watch.observe_sheet(graph, run.outputs, base)
    if failed:
        raise _failure(graph, result, *failed[0])
    return result


def _failure(graph: SheetGraph, result: SheetRun, cell: str, err: BaseException) -> BaseException:
    if isinstance(err, SheetError):
        err.sheet_run = result
        return err
    spec = graph.sheet[cell]
    line = spec.file_line(getattr(err, "line", None))
    where = f" at line {line}" if line is not None else ""
    message = str(getattr(err, "message", err)).rstrip(".")
    skipped = [c for c in graph.sheet.ids if result.cells.get(c) is None or result.cells[c].status == "not run"]
    rest = f"; {', '.join(f'`{c}`' for c in skipped)} did not run" if skipped else ""
    wrapped = SheetError(
        f"Cell {spec.where} failed{where}: {type(err).__name__}: {message}{rest}; fix the cell and run the sheet "
        "again (cells that finished are reused).",
        line=line,
    )
    wrapped.sheet_run = result
    wrapped.__cause__ = err
    return wrapped


def _completed(fn: Callable[[], Any]) -> Future[Any]:
    """Run `fn` now, in this thread, and hand back its outcome as a finished future (`jobs=1`)."""
    future: Future[Any] = Future()
    try:
        future.set_result(fn())
    except Exception as err:  # noqa: BLE001 - re-raised by `future.result()` in the caller
        future.set_exception(err)
    return future


class _Execution:
    """One sheet run: schedules ready cells, runs or reuses each, keeps outputs and timings."""

    def __init__(
        self,
        lab: Lab,
        graph: SheetGraph,
        base: CarrierMemory,
        jobs: int,
        cache: SheetCache | None,
        client: Client | None = None,
    ) -> None:
        self.lab = lab
        self.client = client
        if client is not None:
            from ..scale.sweep import point_template
            from ..scale.workers import prepare_workers

            prepare_workers(client)
            self._template = point_template(lab, base.container_id, client)
        self.graph = graph
        self.base = base
        self.jobs = jobs
        self.cache = cache
        self.sheet_run_id = uuid.uuid4().hex[:16]
        self.outputs: dict[str, CarrierMemory] = {}
        self.outcomes: dict[str, CellOutcome] = {}
        self.wall_ms = 0.0
        self._t0 = time.perf_counter()
        self._settings = self._lab_settings()

    # ----------------------------------------------------------------------------------- scheduling

    def execute(self) -> list[tuple[str, BaseException]]:
        """Run every cell whose inputs are ready, `jobs` at a time; stop starting cells after a failure.
        Returns the failures (cell, error) in run order."""
        order = {c: k for k, c in enumerate(self.graph.order)}
        kids = self.graph.children()
        waiting = {c: len(self.graph.parents(c)) for c in self.graph.order}
        ready = [(order[c], c) for c in self.graph.order if waiting[c] == 0]
        heapq.heapify(ready)
        failed: list[tuple[str, BaseException]] = []
        running: dict[Future[Any], str] = {}
        self._t0 = time.perf_counter()
        pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="codexlab-sheet") if self.jobs > 1 else None
        try:
            while ready or running:
                while ready and len(running) < self.jobs and not failed:
                    _, cell = heapq.heappop(ready)
                    memory = cell_memory(self.graph, cell, self.base, self.outputs)
                    task = lambda c=cell, m=memory: self._cell(c, m)  # noqa: E731 - bound per cell
                    running[pool.submit(task) if pool is not None else _completed(task)] = cell
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: order[running[f]]):
                    cell = running.pop(future)
                    try:
                        outcome, memory = future.result()
                    except Exception as err:  # noqa: BLE001 - a failed cell stops the sheet, reported after
                        failed.append((cell, err))
                        self.outcomes[cell] = CellOutcome(cell, "failed", error=f"{type(err).__name__}: {err}")
                        continue
                    self.outcomes[cell], self.outputs[cell] = outcome, memory
                    for kid in kids[cell]:
                        waiting[kid] -= 1
                        if waiting[kid] == 0:
                            heapq.heappush(ready, (order[kid], kid))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            self.wall_ms = (time.perf_counter() - self._t0) * 1e3
        return sorted(failed, key=lambda f: order[f[0]])

    def _ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1e3

    # ------------------------------------------------------------------------------------- one cell

    def _cell(self, cell: str, memory: CarrierMemory) -> tuple[CellOutcome, CarrierMemory]:
        """Reuse the cell's cached result when its key matches, else run it (worker thread)."""
        start = self._ms()
        deps = self.graph.deps[cell]
        cache = self.cache
        key = self._key(cell, memory) if cache is not None else None
        entry = self._lookup(cache, key) if cache is not None and key is not None else None
        if entry is not None:
            outcome = self._reuse(cell, memory, entry)
        else:
            watch = Watch.of(memory)
            spec = self.graph.sheet[cell]
            if self.client is not None:
                run, memory = self._remote(cell, memory, watch)
            else:
                run = self.lab.run(
                    spec.code, container=memory.container_id, cell_id=cell, memory=memory, profile=spec.profile or None
                )
            watch.check(self.graph, cell, memory)
            outcome = CellOutcome(cell, "ran", run=run, values=dict(run.values), beams=list(run.beams))
            if cache is not None and key is not None:
                self._store(cache, cell, key, run, memory, watch)
        outcome.key = key
        outcome.reads = tuple(sorted(deps.reads))
        outcome.writes = tuple(sorted(self.graph.writes(cell)))
        outcome.start_ms, outcome.end_ms = start, self._ms()
        return outcome, memory

    def _remote(self, cell: str, memory: CarrierMemory, watch: Watch) -> tuple[Run, CarrierMemory]:
        """Run a cell on a Dask worker and commit what it wrote here; its run and memory after the run."""
        from ..scale.commit import commit_point
        from ..scale.point import run_point

        spec = self.graph.sheet[cell]
        task = replace(
            self._template,
            run_id=uuid.uuid4().hex[:16],
            cell_id=cell,
            code=spec.code,
            container=memory.container_id,
            memory=memory,
        )
        future = self.client.submit(run_point, task, key=f"codexlab-cell-{task.run_id}", pure=False)  # type: ignore[union-attr]
        result = commit_point(self.lab, future.result())
        if result.failure is not None or result.error is not None:
            raise result.failure or SheetError(f"Cell {spec.where} failed on a worker: {result.error}")
        back: CarrierMemory = result.memory
        for name, binding in back.bindings.items():  # unchanged names keep their objects (what `Watch` compares)
            before = watch.bindings.get(name)
            if before is not None and before.value.beam_id == binding.value.beam_id:
                back.bindings[name] = before
        record = self.lab.cells.record(back.container_id, cell)
        record.code, record.report, record.qscore = spec.code, result.report, result.cell_qscore or 0.0
        run: Run = result.run
        run.beams = list(result.beams)
        return run, back

    # ---------------------------------------------------------------------------------------- cache

    def _lab_settings(self) -> str:
        """What of the Lab decides values beside the cell's own inputs: flags, policy, rewrite rules."""
        lab = self.lab
        laws = [(law.name, law.when, law.verdict, law.reason) for law in lab.soullaw.laws]
        rules = sorted(lab.rules.names()) if lab.rules is not None else None
        return digest(dict(lab.flags), dict(lab.soullaw.thresholds), laws, rules, [str(r) for r in lab.data_roots])

    def _key(self, cell: str, memory: CarrierMemory) -> str:
        """The content hash a cell's result is kept under."""
        deps = self.graph.deps[cell]
        spec = self.graph.sheet[cell]
        names = sorted(deps.reads | self.graph.pair_writes.get(cell, frozenset()))
        inputs = {
            n: value_digest(memory.bindings[n].value if n in memory.bindings else memory.vetoed.get(n)) for n in names
        }
        return digest(
            "codexlab-sheet-cell",
            __version__,
            to_text(parse(spec.code)),
            {k: v for k, v in directive_state(memory).items() if k in deps.inherits},
            memory.config,
            memory.extras,
            dict(memory.members),
            inputs,
            {path: self._load_digest(path) for path in deps.loads},
            self._settings,
        )

    def _load_digest(self, path: str) -> str:
        """The hash of the file `load(path)` reads: the first candidate that exists, as `load` looks."""
        raw = Path(path).expanduser()
        candidates = [raw] if raw.is_absolute() else [Path.cwd() / raw, *(root / raw for root in self.lab.data_roots)]
        found = next((c for c in candidates if c.exists()), None)
        return file_digest(found) if found is not None else "missing"

    def _lookup(self, cache: SheetCache, key: str) -> CacheEntry | None:
        """The cached entry for `key` when every beam it would reuse is still in the store."""
        entry = cache.lookup(key)
        if entry is None:
            return None
        store = self.lab.store
        if any(store.get_beam(out["beam_id"]) is None for out in entry.outputs.values()):
            return None
        return entry

    def _store(self, cache: SheetCache, cell: str, key: str, run: Run, memory: CarrierMemory, watch: Watch) -> None:
        """Keep a cell's result when it can be reused as is: nothing vetoed, no collapsed admission."""
        if any(isinstance(v, Vetoed) for v in run.values.values()) or any(v.outcome == "veto" for v in run.verdicts):
            return
        if any(b.stage == "schedule" and b.token == "cell" and b.result.get("state") == "collapsed" for b in run.beams):
            return
        names = sorted(n for n in watch.changed(memory) if n in memory.bindings)
        bindings = {n: memory.bindings[n] for n in names}
        if any(b.value.beam_id is None for b in bindings.values()):
            return
        record = self.lab.cells.get(memory.container_id, cell)
        payload = {
            "bindings": bindings,
            "members": {m: link for m, link in memory.members.items() if m in self.graph.deps[cell].entangles},
            "directives": {kind: getattr(memory, DIRECTIVE_FIELDS[kind]) for kind in self.graph.deps[cell].sets},
            "norms": {
                b.value.beam_id: memory.norms[b.value.beam_id]
                for b in bindings.values()
                if b.value.beam_id in memory.norms
            },
            "report": record.report if record is not None else None,
            "qscore": record.qscore if record is not None else 0.0,
        }
        outputs = {
            n: {"beam_id": b.value.beam_id, "digest": value_digest(b.value), "kind": b.value.kind}
            for n, b in bindings.items()
        }
        try:
            cache.store(CacheEntry(key, cell, run.run_id, outputs, run.duration_ms, payload))
        except (TypeError, AttributeError, ValueError, OSError):
            return  # a value that does not pickle (or a full disk) just goes uncached

    def _reuse(self, cell: str, memory: CarrierMemory, entry: CacheEntry) -> CellOutcome:
        """Bind a cached result: one `cached` beam per name, linked to the beam it reuses."""
        lab, payload = self.lab, entry.payload
        run_id = uuid.uuid4().hex[:16]
        beams = []
        for name, out in entry.outputs.items():
            beams.append(self._cached_beam(cell, run_id, entry, {"name": name, **out}, [out["beam_id"]]))
        if not beams:
            beams.append(self._cached_beam(cell, run_id, entry, {}, []))
        stored = lab.store.persist_beam_events(beams)
        if not lab.kg.read_only:
            lab.kg.write_beams(stored, [])
        beam_of = {b.result["name"]: b.beam_id for b in stored if "name" in b.result}
        values: dict[str, Any] = {}
        for name, binding in payload["bindings"].items():
            value = binding.value.with_beam(beam_of[name])
            memory.bind(Binding(name, value, binding.node, binding.defined, binding.input_hashes))
            values[name] = value.data
            old = binding.value.beam_id
            if old in payload["norms"]:
                memory.norms[beam_of[name]] = payload["norms"][old]
        memory.members.update(payload["members"])
        for kind, setting in payload["directives"].items():
            setattr(memory, DIRECTIVE_FIELDS[kind], setting)
        record = lab.cells.record(memory.container_id, cell)
        record.code, record.report, record.qscore = self.graph.sheet[cell].code, payload["report"], payload["qscore"]
        return CellOutcome(cell, "cached", values=values, beams=stored, reused_run_id=entry.run_id)

    def _cached_beam(
        self, cell: str, run_id: str, entry: CacheEntry, result: dict[str, Any], parents: list[str]
    ) -> BeamEvent:
        return BeamEvent(
            beam_id=new_beam_id(cell, "cached"),
            cell_id=cell,
            sheet_run_id=run_id,
            container_id=self.base.container_id,
            stage="cached",
            token="cache",
            result={**result, "key": entry.key, "reused_run": entry.run_id, "saved_ms": entry.duration_ms},
            timestamp=utc_now_iso(),
            parents=parents,
            source=CACHED_SOURCE,
        )

    # --------------------------------------------------------------------------------------- result

    def result(self) -> SheetRun:
        """The `SheetRun` (cells in file order, values merged in run order) with its metrics published."""
        sheet = self.graph.sheet
        cells = {c: self.outcomes.get(c) or CellOutcome(c, "not run") for c in sheet.ids}
        for outcome in cells.values():
            if outcome.status == "not run":
                outcome.reads = tuple(sorted(self.graph.deps[outcome.cell_id].reads))
                outcome.writes = tuple(sorted(self.graph.writes(outcome.cell_id)))
        values: dict[str, Any] = {}
        for cell in self.graph.order:
            for name, value in cells[cell].values.items():
                if name != UNDERSCORE:
                    values[name] = value
        payload = sheet_metrics(
            self.graph, self.outcomes, sheet_run_id=self.sheet_run_id, wall_ms=self.wall_ms, jobs=self.jobs
        )
        qfc_id = publish_sheet_metrics(self.lab.home, self.base.container_id, payload, self.lab.bus)
        return SheetRun(
            sheet_run_id=self.sheet_run_id,
            sheet=sheet.name,
            container_id=self.base.container_id,
            jobs=self.jobs,
            cells=cells,
            order=list(self.graph.order),
            values=values,
            metrics=payload,
            qfc_id=qfc_id,
        )
