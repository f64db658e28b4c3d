"""`Lab`: the one entry point — opens the stores under a home and runs cells through the pipeline.

The magic, the CLI and the tests all go through `Lab.run`, which is the stage list of `pipeline`:
parse → rewrite → plan → execute (→ vet at every bind) → persist → score → trace → export → publish.
`lab.compile(code)` shows the program a cell would run, without running it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from ..contracts import BeamEvent, check_container_id, utc_now_iso
from ..errors import CodexCancelled, CodexError, CodexNameError, CodexValueError, did_you_mean
from ..flags import Flags, resolve_flags
from ..ops import OpTable
from ..sqi.scoring import cell_qscore
from ..store import open_store
from ..store.base import BeamStore, Direction
from ..store.vault import open_vault
from .admission import CellGate
from .cells import CellLog
from .codex_scheduler import PlanSettings
from .codex_trace import log_codex_trace, trace_event
from .cost import CodexCostEstimator
from .fences import RunFences
from .machine import CellResult, Hook
from .memory import CarrierMemory
from .metrics import BUS, MetricsBus, record_execution_metrics
from .overload import DEFAULT_LATENCY_BUDGET_MS, OverloadController
from .pipeline import CellState, error_beam, run_pipeline
from .program import Program
from .run import Run
from .stale import CellWatch
from .status import DEFAULT_TOL, ContainerReport, cell_report, failed_cell_report, summarize

if TYPE_CHECKING:
    import polars as pl
    import xarray as xr
    from distributed import Client

    from ..container import Container
    from ..contracts import DnaMutation, QfcUpdate
    from ..kg.store import KnowledgeGraph
    from ..lang.scrolls.library import ScrollLibrary
    from ..patterns.fusion import FusionGlyph
    from ..patterns.hooks import RepairOutcome
    from ..patterns.mutations import SideLike
    from ..qpu import Sheet, SheetRun
    from ..qwave.qglyph import QGlyphProgram
    from ..sqi.soullaw import SoulLawEvent
    from .debugger import Debugger
    from .governance import Governance
    from .instruction_profiler import InstructionProfile

__all__ = ["Lab", "default_home", "MIN_FUSION_GAIN", "DEFAULT_CONTAINER"]

_RUN_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

#: A fusion glyph is kept only when op-by-op dispatch moves at least this many times the bytes its fused
#: kernel moves (`patterns.fusion.traffic_gain`: from the op specs, never a timing).
MIN_FUSION_GAIN = 1.2

DEFAULT_CONTAINER = "default_container"


def default_home() -> Path:
    """`$CODEXLAB_HOME`, else `./.codexlab`."""
    return Path(os.environ.get("CODEXLAB_HOME") or ".codexlab")


class Lab:
    """Opens `beams.db`, `kg/`, `vault/` and `traces/` under a home and runs CodexLang cells.

    Parameters: `home` (default `$CODEXLAB_HOME` or `./.codexlab`); `db_url` (default
    `$CODEXLAB_DB_URL` or SQLite in the home); `flags` (overrides of the feature flags, fixed for the
    Lab's life: make a new Lab to change them); `data_roots` (folders `load()` may read, default
    `<repo>/data` and `<home>/data`); `bus` (the metrics bus, default the process-wide one);
    `max_concurrency` and `latency_budget_ms` (ms per slot) turn on the overload back-off (off by
    default: with it, a busy Lab defers cells or runs them at a lower precision); `graph=False` leaves
    the knowledge graph out (a sweep point's throwaway Lab: its client exports the run).
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        flags: Mapping[str, object] | None = None,
        data_roots: list[str | os.PathLike[str]] | None = None,
        bus: MetricsBus | None = None,
        max_concurrency: int | None = None,
        latency_budget_ms: float = DEFAULT_LATENCY_BUDGET_MS,
        graph: bool = True,
    ) -> None:
        self.home = Path(home).expanduser().resolve() if home is not None else default_home().resolve()
        for sub in ("kg", "vault", "traces", "data"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self._flags: Flags = resolve_flags(flags)
        self.store: BeamStore = open_store(db_url, home=self.home)
        self.store.ensure_tables()
        self.vault = open_vault(self.home)
        self.data_roots = tuple(Path(p).resolve() for p in data_roots) if data_roots else self._default_roots()
        self.bus = bus or BUS
        from ..qwave.precision import PrecisionProfiler

        self.profiler = PrecisionProfiler()
        self.estimator = CodexCostEstimator(self.store)
        #: The overload back-off (None unless `max_concurrency` was given).
        self.overload = OverloadController(max_concurrency, latency_budget_ms) if max_concurrency else None
        self.gate = CellGate(self.overload, self.profiler) if self.overload is not None else None
        #: The op specs this Lab's cells resolve: the built-in ones and this Lab's own fusion glyphs.
        self.ops = OpTable()
        #: Photon's rule set for this Lab: the defaults until a kept fusion glyph adds its rule.
        self.rules: Any = None
        self.precision_cache: dict[str, Any] = {}
        self.sym_cache: dict[Any, Any] = {}
        self.entropy_cache: dict[str, float] = {}
        self.programs: dict[str, QGlyphProgram] = {}
        from ..sqi import load_soullaw_config

        self.soullaw = load_soullaw_config(self._policy_file())
        self.trace_path = self.home / "traces" / "collapse_trace.jsonl"
        self._containers: dict[str, CarrierMemory] = {}
        self._cells = 0
        self._count_lock = threading.Lock()
        #: Each cell's code, status report and qscore, per container (repairs, dreams and `status` read it).
        self.cells = CellLog()
        #: This Lab's kept fusion glyphs by name, and the DNA mutation that recorded each chain tried.
        self.fusions: dict[str, Any] = {}
        self.fusion_mutations: dict[str, str] = {}
        #: A fusion glyph is kept only when its traffic gain reaches this (default `MIN_FUSION_GAIN`).
        self.min_fusion_gain = MIN_FUSION_GAIN
        self._locks: dict[str, threading.RLock] = {}
        #: Who ends each running run: the run itself or `fail_run` from outside (see `runtime.fences`).
        self.fences = RunFences()
        self._locks_guard = threading.Lock()
        self._dream_threads: list[threading.Thread] = []
        #: Variants per cell that `PHASE9_ENABLED` dreams of.
        self.dream_count = 3
        #: Progress bars (tqdm) for long Python-side loops; the CLI turns them off with --quiet and --json.
        self.progress = True
        #: Seconds between live HUD updates while a cell runs (when something follows the bus).
        self.live_interval_s = 0.1
        #: Vault snapshots: `bound` keeps the values bound to names (a beam without a snapshot has no
        #: `vault_ref`, so every one resolves), `all` every op's value (the `VAULT_ALL` flag).
        self.snapshots = "all" if self.flags.VAULT_ALL else "bound"
        self._kg: Any = None
        #: Whether committed runs are exported to the knowledge graph at `<home>/kg/`.
        self.graph = graph
        #: What each committed cell read, so a redefinition marks its readers stale (`stale_cells`).
        self.cell_watch = CellWatch()
        #: Containers a paused debugger holds → why (a cell run there is refused, see `runtime.debugger`).
        self.paused: dict[str, str] = {}

    # -------------------------------------------------------------------------------------- settings

    @property
    def flags(self) -> Flags:
        """The feature flags this Lab was made with (read-only: make a new Lab to change them)."""
        return self._flags

    def plan_settings(self, profile: bool = False) -> PlanSettings:
        """What the plan stage depends on besides the cell and its container: the flags."""
        bound = float(self.flags.COST_THRESHOLD)
        return PlanSettings(
            wave_on=bool(self.flags.QWAVE_EXEC_ON),
            size_bound=int(min(max(bound, 0.0), 1e12)),
            profile=profile,
        )

    @property
    def kg(self) -> KnowledgeGraph:
        """The knowledge graph at `<home>/kg/` (opened on first use; read-only if another process holds it)."""
        if self._kg is None:
            from ..kg import open_kg

            self._kg = open_kg(self.home)
        return self._kg

    def qglyph(self, qglyph_id: str) -> QGlyphProgram:
        """The QGlyph program with this content-hash id, as written in beams and collapse traces."""
        try:
            return self.programs[qglyph_id]
        except KeyError:
            raise CodexNameError(
                f"No QGlyph program `{qglyph_id}` was compiled in this Lab{did_you_mean(qglyph_id, self.programs)}."
            ) from None

    def register_program(self, program: QGlyphProgram) -> str:
        """Keep a QGlyph program so `lab.qglyph(id)` resolves it; returns its id."""
        self.programs[program.qglyph_id] = program
        return str(program.qglyph_id)

    def _policy_file(self) -> Path | None:
        """The SoulLaw policy file: `<home>/soullaw.toml` if present, else the packaged default."""
        own = self.home / "soullaw.toml"
        return own if own.is_file() else None

    def configure(self, container: str | None = None, **config: object) -> dict[str, object]:
        """Set a container's config (`requires_consent`, `consent_granted`, `thresholds`, `laws`, `fuse`,
        `track_attractors`, `drift_tol`)."""
        memory = self.memory(container)
        memory.config.update(config)
        return dict(memory.config)

    def governance(self, memory: CarrierMemory) -> Governance:
        """The vet stage's scorer and policy for a container (its thresholds and laws over the Lab's)."""
        from ..photon.rules import DEFAULT_RULES
        from .governance import Governance

        policy: dict[str, Any] = {k: memory.config[k] for k in ("thresholds", "laws") if k in memory.config}
        rules = self.rules if self.rules is not None else DEFAULT_RULES
        return Governance(
            self.soullaw.merged(policy or None),
            rule_stats=lambda names: rules.verify([n for n in names if n in rules.names()]),
            data_roots=self.data_roots,
            qkd_on=bool(self.flags.QKD_ON),
            container=memory.config,
            entropy_cache=self.entropy_cache,
        )

    def _default_roots(self) -> tuple[Path, ...]:
        from ..qwave.io import default_data_roots

        return tuple(dict.fromkeys([*default_data_roots(), self.home / "data"]))

    def __repr__(self) -> str:
        return f"<Lab home={str(self.home)!r} store={self.store!r}>"

    # ----------------------------------------------------------------------------------- containers

    def memory(self, container: str | None = None) -> CarrierMemory:
        """The carrier memory of a container (created on first use)."""
        cid = container or DEFAULT_CONTAINER
        if cid not in self._containers:
            self._containers[cid] = CarrierMemory(cid)
        return self._containers[cid]

    def fork(self, source: str | CarrierMemory, name: str) -> CarrierMemory:
        """Make container `name` a copy of `source`'s memory (a container id, or a memory snapshot): its
        names, grid and directives. Cells run there leave the source untouched — dreams run this way."""
        base = self.memory(source) if isinstance(source, str) else source
        self._containers[name] = dataclasses.replace(base.snapshot(), container_id=name)
        return self._containers[name]

    def adopt(self, other: Lab) -> None:
        """Take over another Lab's containers and cell log (a Lab recreated with new flags keeps its cells)."""
        self._containers.update(other._containers)
        self.cells.update(other.cells)
        self.cell_watch = other.cell_watch

    def container_lock(self, container: str | None = None) -> threading.RLock:
        """The lock `run` holds while a cell changes this container (a sheet holds it to read and merge)."""
        return self.lock_for(container or DEFAULT_CONTAINER)

    def container(self, container: str | None = None) -> Container:
        """The container as an object: its names, an xarray export (`to_dataset`, `to_netcdf`, `to_zarr`),
        `fork` and `execute` (see `codexlab.container.Container`)."""
        from ..container import Container

        return Container(self, self.memory(container).container_id)

    def container_from_dataset(self, dataset: xr.Dataset | str | os.PathLike[str], container: str) -> Container:
        """Bring an xarray Dataset's fields (or a NetCDF/Zarr path's) into a container as ingest beams
        linked to the source's content hash (see `codexlab.container.container_from_dataset`)."""
        from ..container import container_from_dataset

        return container_from_dataset(self, dataset, container)

    def run_sheet(
        self,
        source: Sheet | str | os.PathLike[str] | Mapping[str, str],
        *,
        jobs: int | None = None,
        container: str | None = None,
        cache: bool = True,
        client: Client | None = None,
    ) -> SheetRun:
        """Run a sheet of cells as a dependency graph, `jobs` cells at a time (on a Dask `client`'s
        workers when given), reusing unchanged cells' results (see `codexlab.qpu.execute_sheet`)."""
        from ..qpu import execute_sheet

        return execute_sheet(self, source, jobs=jobs, container=container, cache=cache, client=client)

    def stale_cells(self, container: str | None = None) -> dict[str, list[str]]:
        """Cells of a container that read a name redefined since they ran → the changed names, in order."""
        memory = self.memory(container)
        return self.cell_watch.stale(memory.container_id, memory)

    def rerun_stale(self, container: str | None = None) -> list[Run]:
        """Run a container's stale cells again, in the order they first ran, until none is stale."""
        return self.cell_watch.rerun(self, self.memory(container).container_id)

    def lock_for(self, container: str) -> threading.RLock:
        """The lock that runs one cell at a time in a container."""
        with self._locks_guard:
            return self._locks.setdefault(container, threading.RLock())

    # ------------------------------------------------------------------------------------------- run

    def _cell_id(self, cell_id: str | None, run_hint: str) -> str:
        with self._count_lock:
            self._cells += 1
            n = self._cells
        return cell_id or f"cell_{n:03d}_{run_hint[:6]}"

    def run(
        self,
        code: str,
        container: str | None = None,
        *,
        cell_id: str | None = None,
        run_id: str | None = None,
        profile: bool | None = None,
        source: str = "codex",
        cancel: threading.Event | None = None,
        memory: CarrierMemory | None = None,
        on_instruction: Hook | None = None,
    ) -> Run:
        """Run a cell through the pipeline (`pipeline.STAGES`) and return its `Run`.

        `profile=True` (or the flag `PHASE10_ENABLED`) profiles every grid op in every precision format
        into `lab.profiler`. Setting `cancel` stops the run before its next instruction (or its commit)
        with `CodexCancelled`; `fail_run` fails it from another thread. `memory` runs the cell against
        that carrier memory instead of its container's (a sheet cell's private memory, labelled with the
        container id): the caller owns it, so it is not locked, and SPE auto-fuse and dreams, which work
        on the container itself, do not run. `run_id` names the run (a sweep's point ids, a service's
        announced id; default a fresh random id); it must not be in the store yet.
        Raises: `CodexSyntaxError` for text that does not parse, another `CodexError` subclass for a
        cell that fails; either way the store gains exactly one `error` beam and the container's memory
        is as before.
        """
        if memory is not None and container not in (None, memory.container_id):
            raise CodexValueError(
                f'`container="{container}"` and `memory` of `{memory.container_id}` disagree; pass one of them.'
            )
        if container is not None:
            check_container_id(container)  # any printable id; refused before anything runs or is stored
        profile = bool(self.flags.PHASE10_ENABLED) if profile is None else profile
        if run_id is not None and not _RUN_ID.fullmatch(run_id):
            raise CodexValueError(
                f"`run_id` {run_id!r} is not 1-64 letters, digits, `_`, `-` or `.`; pass such an id or None."
            )
        if run_id is not None and self.store.beams_for_run(run_id):
            raise CodexValueError(f"The store already holds a run `{run_id}`; pass a new `run_id` (or None).")
        state = CellState(self, code, container if memory is None else memory.container_id, "", source, profile, cancel)
        state.own = memory
        state.hook = on_instruction
        state.run_id = run_id or state.run_id
        state.cell_id = self._cell_id(cell_id, state.run_id)
        auto = bool(self.flags.SPE_AUTO_FUSE) and source == "codex" and memory is None
        metrics = state.metrics
        unsubscribe = self.bus.subscribe(
            lambda e: metrics.append(e) if e.get("run_id") == state.run_id else None, {"execution_metrics"}
        )
        fence_container = state.container or DEFAULT_CONTAINER
        try:
            try:
                with self.fences.open(state.run_id, state.cell_id, fence_container, code):
                    run = run_pipeline(state)
            finally:
                unsubscribe()
                self._persist_metrics(metrics)
        except CodexError as err:
            cancelled = isinstance(err, CodexCancelled)
            repaired = _hooks().auto_repair(self, state.cell_id) if auto and not cancelled else None
            if repaired is None:
                raise
            return repaired
        run = _hooks().auto_spe(self, run) if auto else run
        if self.flags.PHASE9_ENABLED and source == "codex" and memory is None:
            self._start_dreams(run)
        return run

    def compile(self, code: str, container: str | None = None) -> Program:
        """The program `run` would execute for this cell in this container — printable like `dis` —
        without running it (the container is not changed)."""
        from .pipeline import parse, plan, rewrite

        state = CellState(self, code, container, "compile")
        state = parse(state)
        state.memory = self.memory(state.container).snapshot()
        state = plan(rewrite(state))
        assert state.program is not None
        return state.program

    def debug(
        self,
        code: str,
        container: str | None = None,
        *,
        breakpoints: Iterable[int] = (),
        instructions: Iterable[int] = (),
        stop_on_nonfinite: bool = True,
    ) -> Debugger:
        """A debugger for this cell (`runtime.debugger`): step by instruction or line, continue to line
        (`breakpoints`) or address (`instructions`) breakpoints, stop on the first non-finite value."""
        from .debugger import Debugger

        return Debugger(
            self,
            code,
            container,
            breakpoints=breakpoints,
            instructions=instructions,
            stop_on_nonfinite=stop_on_nonfinite,
        )

    def profile(
        self,
        code: str,
        container: str | None = None,
        *,
        cell_id: str | None = None,
        profile: bool | None = None,
        source: str = "codex",
    ) -> InstructionProfile:
        """Run a cell under the instruction profiler (`runtime.instruction_profiler`): a normal run, committed
        like any, whose profile (per instruction: count, time, FLOPs, bytes, GB/s) is returned, `run` attached."""
        from .instruction_profiler import profile_cell

        return profile_cell(self, code, container, cell_id=cell_id, profile=profile, source=source)

    def fail_cell(self, state: CellState, err: BaseException) -> None:
        """A failed cell: memory back as it was, one `error` beam (unless `fail_run` wrote it already), a
        failed-op gap in its report."""
        container = state.memory.container_id if state.memory is not None else state.container or DEFAULT_CONTAINER
        if state.memory is not None and state.snapshot is not None:
            state.memory.restore(state.snapshot)
        beam = error_beam(err, state.run_id, state.cell_id, container, state.code, state.source)
        self.fences.own_error(state.run_id, lambda: self.store.persist_beam_events([beam]))
        record = self.cells.record(container, state.cell_id)
        record.code, record.report, record.qscore = state.code, failed_cell_report(err), 0.0

    def fail_run(self, run_id: str, error: CodexError) -> BeamEvent | None:
        """Fail a running run from outside (a supervisor whose worker is stuck in one instruction).

        Persists the run's one `error` beam now, from `error`; when the run's thread returns, its commit
        is refused and it writes no second error beam. Set the run's `cancel` event too, so it stops at
        its next instruction. Returns the error beam, or None when the run is not running here or has
        begun to commit (it then ends on its own, with its beams or its own error beam).
        """

        def write(fence: Any) -> BeamEvent:
            container = self.cells.container_of(fence.cell_id) or fence.container_id  # `@container` of the code
            beam = error_beam(error, run_id, fence.cell_id, container, fence.code, "codex")
            return self.store.persist_beam_events([beam])[0]

        return self.fences.fail(run_id, write)

    def record_cell(self, state: CellState) -> None:
        """A committed cell's status report and qscore in the cell log."""
        assert state.result is not None and state.memory is not None
        result = state.result
        record = self.cells.record(state.memory.container_id, state.cell_id)
        vetoed = [v for v in result.values.values() if type(v).__name__ == "Vetoed"]
        record.report = cell_report(result.beams, result.goals, len(result.statements), vetoed)
        record.qscore = cell_qscore(result.scores) or 0.0
        if state.own is None:  # a sheet reports its cells itself, once they are merged into the container
            self.cell_watch.observe(state.memory.container_id, state.cell_id, state.code, state.memory)

    def _start_dreams(self, run: Run) -> None:
        """`PHASE9_ENABLED`: run `dream_count` variants of the cell in a forked container, in the background
        (`patterns.hooks.dream`); the user's container never changes (see `adopt_dream`)."""
        thread = threading.Thread(
            target=_hooks().dream, args=(self, run), name=f"codexlab-dream-{run.cell_id}", daemon=True
        )
        self._dream_threads.append(thread)
        thread.start()

    def wait_for_dreams(self, timeout: float | None = None) -> None:
        """Block until the background dreams started so far have finished (tests, scripts, shutdown)."""
        for thread in list(self._dream_threads):
            thread.join(timeout)
        self._dream_threads = [t for t in self._dream_threads if t.is_alive()]

    # ----------------------------------------------------------------------------- after the commit

    def sign_pairs(self, result: CellResult, memory: CarrierMemory) -> None:
        """`QKD_ON`: sign the pair members' beams with their BB84 keys, then let SoulLaw verify each."""
        from ..sqi.soullaw import vet
        from .integrity import QKD_FIELD, broken_signatures, sign_entangled_beams

        signed = sign_entangled_beams(
            result.beams, seed=memory.seed, eavesdropper=bool(memory.config.get("qkd_eavesdropper", False))
        )
        broken = broken_signatures(signed)
        checked = []
        for beam in signed:
            if QKD_FIELD in beam.result:
                ok = beam.beam_id not in broken
                verdicts = vet(beam, {"qkd_on": True, "signature_ok": ok}, laws=["qkd_signature"])
                result.verdicts.extend(verdicts)
                if any(v.outcome == "veto" for v in verdicts):
                    beam = beam.evolve(verdict="veto")
            checked.append(beam)
        result.beams[:] = checked

    def export_kg(self, result: CellResult, run_id: str) -> None:
        """Approved beams and their scores into the run's named graph (vetoed ones go nowhere), then the
        runs other processes left pending; a graph that cannot be written leaves the run queued (no raise)."""
        if not self.graph:
            return
        from ..kg import export_after_commit

        with record_execution_metrics("kg_export", bus=self.bus, run_id=run_id, rows=len(result.beams)):
            export_after_commit(self.home, self.store, run_id, result.scores, result.beams)

    def publish_governance(self, result: CellResult, events: list[SoulLawEvent]) -> None:
        """After the cell committed: SQI score events on the bus, SoulLaw verdicts in the trace JSONL."""
        from ..sqi._jsonl import append_jsonl

        with record_execution_metrics("sqi", bus=self.bus, rows=len(result.scores)):
            for s in result.scores:
                self.bus.publish({**s.model_dump(mode="json"), "type": "sqi_score"})
        with record_execution_metrics("soullaw", bus=self.bus, rows=len(events)):
            if events:
                append_jsonl(self.trace_path, events)

    def make_run(self, state: CellState) -> Run:
        """The `Run` of a committed cell, from the beams in memory (nothing is read back)."""
        from .dispatch import on_grid
        from .values import Vetoed

        assert state.result is not None and state.memory is not None
        result, grid = state.result, state.memory.grid
        values = {
            name: v if isinstance(v, Vetoed) else on_grid(v, grid, self.sym_cache) for name, v in result.values.items()
        }
        return Run(
            run_id=state.run_id,
            cell_id=state.cell_id,
            container_id=state.memory.container_id,
            values=values,
            exprs=dict(result.exprs),
            derivations=dict(result.derivations),
            beams=list(result.beams),
            eids=list(result.eids),
            trace=list(result.trace),
            statements=list(result.statements),
            intents=list(result.intents),
            scores=list(result.scores),
            verdicts=list(result.verdicts),
            duration_ms=(time.perf_counter() - state.started) * 1e3,
        )

    def publish_qfc(self, run: Run, metrics: Sequence[Mapping[str, object]], profiled: bool) -> None:
        """Build, store and broadcast the run's QFC payloads; `run.qfc_id` then resolves with `lab.qfc`."""
        from .qfc import broadcast_qfc_update, build_qfc_updates, qfc_id_for, save_qfc

        table = self.profiler.table(as_dicts=True) if profiled else None
        updates = build_qfc_updates(
            run,
            metrics=list(metrics),
            entanglement_map=self.store.entanglement_map(run.run_id) if run.eids else None,
            precision_table=list(table) if table else None,
        )
        run.qfc_id = qfc_id_for(run.run_id)
        save_qfc(self.home / "qfc", run.qfc_id, updates)
        for update in updates:
            broadcast_qfc_update(update, self.bus)

    def qfc(self, qfc_id: str) -> list[QfcUpdate]:
        """The stored QFC envelopes (contract `qfc_update`) of a run, by its `run.qfc_id`."""
        from .qfc import load_qfc

        return load_qfc(self.home / "qfc", qfc_id)

    def _persist_metrics(self, events: list[dict[str, Any]]) -> None:
        """Write a run's execution metrics into the store's `metrics` table."""
        if not events:
            return
        rows = []
        for e in events:
            tags = {k: v for k, v in e.items() if k not in ("type", "name", "duration_ms", "timestamp")}
            rows.append(
                {
                    "name": str(e["name"]),
                    "value": float(e["duration_ms"]),
                    "unit": "ms",
                    "tags": tags,
                    "timestamp": utc_now_iso(),
                }
            )
        self.store.persist_rows("metrics", rows)

    # ------------------------------------------------------------------------------ pattern engine

    def patterns(self, container: str | None = None) -> dict[str, pl.DataFrame]:
        """Motifs of a container's approved beams (op n-grams, attractors, entanglement topology) as
        polars tables; each call appends them to the container's pattern trace."""
        from ..patterns import mine_patterns, record_trace

        cid = self.memory(container).container_id
        found = mine_patterns(self.store, cid)
        record_trace(self.home / "traces", cid, found)
        return found

    def mutations(self, container: str | None = None) -> list[DnaMutation]:
        """The DNA mutations (contract 5) recorded for a container, oldest first."""
        from ..patterns import list_mutations

        return list_mutations(self.store, self.memory(container).container_id)

    def record_mutation(
        self,
        original: SideLike,
        mutated: SideLike,
        reason: Literal["fusion", "repair"],
        *,
        container: str,
        accepted: bool,
        qscore_before: float | None = None,
        qscore_after: float | None = None,
    ) -> DnaMutation:
        """Record one DNA mutation (contract 5) of a container in this Lab's store, graph and bus."""
        from ..patterns import add_dna_mutation

        return add_dna_mutation(
            original,
            mutated,
            reason,
            container_id=container,
            entropy_delta=0.0,
            rewrite_success_prob=1.0,
            accepted=accepted,
            qscore_before=qscore_before,
            qscore_after=qscore_after,
            store=self.store,
            kg=None if self.kg.read_only else self.kg,
            bus=self.bus,
        )

    def fuse(self, container: str | None = None, *, min_support: int = 3) -> FusionGlyph | None:
        """Turn the container's most frequent fusable chain into a fusion glyph callable by name in later
        scrolls of this Lab (`E = fuse_….(ψ, …)`), kept when it saves ≥ `lab.min_fusion_gain`× memory traffic (a
        static fact of its ops, never a timing; the measured speedup is reported); records it
        as a DNA mutation (accepted or not). None when no new chain has the support or it was dropped."""
        return _hooks().fuse(self, self.memory(container).container_id, min_support=min_support)

    def repair(self, container: str | None = None, cell_id: str | None = None, *, tries: int = 3) -> RepairOutcome:
        """Repair a cell (default: the container's worst) from its drift report: run the best-ranked patches
        (renames and directive changes; never a new value) and keep the first that raises the cell's
        qscore; every try is a DNA mutation, and definitions it would need are recorded as proposals."""
        return _hooks().repair_cell(self, self.memory(container).container_id, cell_id, tries=tries)

    def adopt_dream(self, mutation_id: str, container: str | None = None) -> Run:
        """Re-run a dream's recorded variant as its cell in the container (you adopt it)."""
        return _hooks().adopt_dream(self, mutation_id, container)

    @property
    def library(self) -> ScrollLibrary:
        """The scroll library: the sample scrolls plus this home's `scrolls/` (fusion glyphs are saved there)."""
        from ..lang.scrolls import ScrollLibrary

        return ScrollLibrary(user_dir=self.home / "scrolls")

    def status(self, container: str | None = None, tol: float | None = None) -> ContainerReport:
        """CLOSED, OPEN or DRIFTING for a container, from its cells' drift and gaps (with their weights)."""
        memory = self.memory(container)
        reports = list(self.cells.reports(memory.container_id).values())
        limit = tol if tol is not None else float(memory.config.get("drift_tol", DEFAULT_TOL))
        return summarize(memory.container_id, reports, limit)

    # ------------------------------------------------------------------------------------- sweeps

    def sweep(
        self,
        scroll: str,
        params: Mapping[str, Sequence[float]],
        client: Client | None = None,
        *,
        sweep_id: str | None = None,
        threads: int | None = None,
    ) -> xr.Dataset:
        """Run `scroll` for every combination of `params` (free names of the scroll → values) on local
        threads, or as tasks of a `distributed.Client` (or `$CODEXLAB_DASK`); returns an `xarray.Dataset`
        with one dimension per parameter and the run id per point. See `codexlab.scale.sweep`."""
        from ..scale import sweep

        return sweep(self, scroll, params, client, sweep_id=sweep_id, threads=threads)

    # ------------------------------------------------------------------------------- replay, lineage

    def replay(self, ref: str, n: int = 10, container_id: str | None = None) -> list[BeamEvent]:
        """The newest `n` beams of an eid or a run (its GHX id), oldest first; a beam id replays that
        beam's eid, or its run when it has none. Each replay is a `replay` event of the codex trace."""
        target = self.replay_ref(ref)
        beams = self.store.replay(target, n, container_id)
        event = trace_event("replay", ref=ref, target=target, beams=[b.beam_id for b in beams])
        log_codex_trace([event], home=self.home, container_id=container_id)
        return beams

    def replay_ref(self, ref: str) -> str:
        """What `replay` reads for `ref`: an eid or GHX id as given; for a stored beam, its eid or run."""
        if ref.startswith("beam_"):
            beam = self.store.get_beam(ref)
            if beam is not None:
                return beam.eid or beam.sheet_run_id
        return ref

    @overload
    def lineage(
        self, beam_id: str, direction: str = ..., depth: int | None = ..., ids_only: Literal[False] = ...
    ) -> list[BeamEvent]: ...

    @overload
    def lineage(
        self, beam_id: str, direction: str = ..., depth: int | None = ..., *, ids_only: Literal[True]
    ) -> list[str]: ...

    def lineage(
        self, beam_id: str, direction: str = "ancestors", depth: int | None = None, ids_only: bool = False
    ) -> list[BeamEvent] | list[str]:
        """Ancestors (or descendants) of a beam, as BeamEvents in time order or as ids."""
        toward: Direction
        if direction == "ancestors":
            toward = "ancestors"
        elif direction == "descendants":
            toward = "descendants"
        else:
            raise CodexValueError(f"`direction={direction!r}` must be `ancestors` or `descendants`.")
        if ids_only:
            return self.store.lineage(beam_id, direction=toward, depth=depth, ids_only=True)
        return self.store.lineage(beam_id, direction=toward, depth=depth)


def _hooks() -> Any:
    """The pattern engine's post-run hooks (repairs, fusion, dreams), which sit above the Lab and use its
    public API; imported late because they import the Lab's package."""
    from ..patterns import hooks

    return hooks
