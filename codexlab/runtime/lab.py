"""`Lab`: the one entry point — opens the stores under a home and runs cells through the pipeline.

The magic, the CLI and the tests all go through `Lab.run`, so they share one path:
parse → Photon IR → rewrite → schedule → execute → persist (one transaction per cell).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ..contracts import BeamEvent, new_beam_id, utc_now_iso
from ..errors import CodexError
from ..flags import Flags, resolve_flags
from ..lang import ast
from ..lang.parser import parse
from ..store import open_store
from ..store.base import BeamStore
from ..store.vault import Vault
from .admission import CellGate
from .cells import CellLog
from .executor import CellExecutor, CellResult
from .memory import CarrierMemory
from .metrics import BUS, MetricsBus, record_execution_metrics
from .overload import DEFAULT_LATENCY_BUDGET_MS, OverloadController
from .run import Run
from .scheduler import Scheduler
from .status import DEFAULT_TOL, ContainerReport, cell_report, failed_cell_report, summarize
from .values import Vetoed

__all__ = ["Lab", "default_home", "MIN_FUSION_SPEEDUP"]

#: A fusion glyph is kept only when its fused kernel is at least this much faster than op-by-op dispatch.
MIN_FUSION_SPEEDUP = 1.2

DEFAULT_CONTAINER = "default_container"


def default_home() -> Path:
    """`$CODEXLAB_HOME`, else `./.codexlab`."""
    return Path(os.environ.get("CODEXLAB_HOME") or ".codexlab")


class Lab:
    """Opens `beams.db`, `kg/`, `vault/` and `traces/` under a home and runs CodexLang cells.

    Parameters: `home` (default `$CODEXLAB_HOME` or `./.codexlab`); `db_url` (default
    `$CODEXLAB_DB_URL` or SQLite in the home); `flags` (overrides of the feature flags);
    `data_roots` (folders `load()` may read, default `<repo>/data` and `<home>/data`);
    `max_concurrency` and `latency_budget_ms` (ms per slot) for the overload back-off of `run`.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        flags: Mapping[str, Any] | None = None,
        data_roots: list[str | os.PathLike[str]] | None = None,
        bus: MetricsBus | None = None,
        max_concurrency: int = 2,
        latency_budget_ms: float = DEFAULT_LATENCY_BUDGET_MS,
    ) -> None:
        self.home = Path(home).expanduser().resolve() if home is not None else default_home().resolve()
        for sub in ("kg", "vault", "traces", "data"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self.flags: Flags = resolve_flags(flags)
        self.store: BeamStore = open_store(db_url, home=self.home)
        self.store.ensure_tables()
        self.vault = Vault(self.home / "vault")
        self.data_roots = tuple(Path(p).resolve() for p in data_roots) if data_roots else self._default_roots()
        self.overload = OverloadController(max_concurrency, latency_budget_ms)
        self.scheduler = Scheduler(cost_threshold=float(self.flags.COST_THRESHOLD), overload=self.overload)
        self.bus = bus or BUS
        from ..qwave.precision import PrecisionProfiler

        self.profiler = PrecisionProfiler()
        self.gate = CellGate(self.overload, self.profiler)
        self._precision_cache: dict[str, Any] = {}
        self._sym_cache: dict[Any, Any] = {}
        self._entropy_cache: dict[str, float] = {}
        from ..sqi import load_soullaw_config

        self.soullaw = load_soullaw_config(self._policy_file())
        self.trace_path = self.home / "traces" / "collapse_trace.jsonl"
        self._containers: dict[str, CarrierMemory] = {}
        self._cells = 0
        self._programs: dict[str, Any] = {}
        #: Each cell's code, status report and qscore, per container (repairs, dreams and `status` read it).
        self.cells = CellLog()
        self._fusions: dict[str, Any] = {}
        self._fusion_mutations: dict[str, str] = {}
        #: A fusion glyph is kept only when its measured speedup reaches this (default `MIN_FUSION_SPEEDUP`).
        self.min_fusion_speedup = MIN_FUSION_SPEEDUP
        #: Photon's rule set for this Lab: the defaults until a kept fusion glyph adds its rule.
        self.rules: Any = None
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._dream_threads: list[threading.Thread] = []
        #: Variants per cell that `PHASE9_ENABLED` dreams of.
        self.dream_count = 3
        #: Progress bars (tqdm) for long Python-side loops; the CLI turns them off with --quiet and --json.
        self.progress = True
        #: Seconds between live HUD updates while a cell runs (when something follows the bus).
        self.live_interval_s = 0.1
        self._kg: Any = None

    @property
    def kg(self) -> Any:
        """The knowledge graph at `<home>/kg/` (opened on first use; read-only if another process holds it)."""
        if self._kg is None:
            from ..kg import open_kg

            self._kg = open_kg(self.home)
        return self._kg

    def qglyph(self, qglyph_id: str) -> Any:
        """The QGlyph program with this content-hash id, as written in beams and collapse traces."""
        try:
            return self._programs[qglyph_id]
        except KeyError:
            from ..errors import CodexNameError, did_you_mean

            raise CodexNameError(
                f"No QGlyph program `{qglyph_id}` was compiled in this Lab{did_you_mean(qglyph_id, self._programs)}."
            ) from None

    def register_program(self, program: Any) -> str:
        """Keep a QGlyph program so `lab.qglyph(id)` resolves it; returns its id."""
        self._programs[program.qglyph_id] = program
        return str(program.qglyph_id)

    def _policy_file(self) -> Path | None:
        """The SoulLaw policy file: `<home>/soullaw.toml` if present, else the packaged default."""
        own = self.home / "soullaw.toml"
        return own if own.is_file() else None

    def configure(self, container: str | None = None, **config: Any) -> dict[str, Any]:
        """Set a container's config (`requires_consent`, `consent_granted`, `thresholds`, `laws`)."""
        memory = self.memory(container)
        memory.config.update(config)
        return dict(memory.config)

    def _governance(self, memory: CarrierMemory) -> Any:
        from ..photon.rules import DEFAULT_RULES
        from .governance import Governance

        policy = {k: memory.config[k] for k in ("thresholds", "laws") if k in memory.config}
        rules = self.rules if self.rules is not None else DEFAULT_RULES
        return Governance(
            self.soullaw.merged(policy or None),
            rule_stats=lambda names: rules.verify([n for n in names if n in rules.names()]),
            data_roots=self.data_roots,
            qkd_on=bool(self.flags.QKD_ON),
            container=memory.config,
            entropy_cache=self._entropy_cache,
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

    # ----------------------------------------------------------------------------------------- run

    def run(
        self,
        code: str,
        container: str | None = None,
        *,
        cell_id: str | None = None,
        profile: bool | None = None,
        source: str = "codex",
        cancel: threading.Event | None = None,
    ) -> Run:
        """Parse, rewrite, schedule and execute a cell; persist its beams together; return a `Run`.

        `profile=True` (or the flag `PHASE10_ENABLED`) profiles every wave op in every precision
        format into `lab.profiler`. Setting `cancel` stops the run before its next instruction with
        `CodexCancelled` (and nothing of it is kept but its error beam). Raises: `CodexSyntaxError` for
        text that does not parse, another `CodexError` subclass for a cell that fails. Either way the
        store gains exactly one `error` beam and nothing else.
        """
        profile = bool(self.flags.PHASE10_ENABLED) if profile is None else profile
        run_id = uuid.uuid4().hex[:16]
        self._cells += 1
        cell = cell_id or f"cell_{self._cells:03d}_{run_id[:6]}"
        auto = bool(self.flags.SPE_AUTO_FUSE) and source == "codex"
        try:
            run = self._run_cell(code, container, run_id, cell, profile, source, cancel)
        except CodexError:
            repaired = self._auto_repair(cell) if auto else None
            if repaired is None:
                raise
            return repaired
        run = self._auto_spe(run) if auto else run
        if self.flags.PHASE9_ENABLED and source == "codex":
            self._start_dreams(run)
        return run

    def _start_dreams(self, run: Run) -> None:
        """`PHASE9_ENABLED`: run `dream_count` variants of the cell in a background thread (see `dreams`)."""
        from .dreams import dream

        thread = threading.Thread(target=dream, args=(self, run), name=f"codexlab-dream-{run.cell_id}", daemon=True)
        self._dream_threads.append(thread)
        thread.start()

    def wait_for_dreams(self, timeout: float | None = None) -> None:
        """Block until the background dreams started so far have finished (tests, scripts, shutdown)."""
        for thread in list(self._dream_threads):
            thread.join(timeout)
        self._dream_threads = [t for t in self._dream_threads if t.is_alive()]

    def _run_cell(
        self,
        code: str,
        container: str | None,
        run_id: str,
        cell: str,
        profile: bool,
        source: str,
        cancel: threading.Event | None = None,
    ) -> Run:
        started = time.perf_counter()
        collected: list[dict[str, Any]] = []
        unsubscribe = self.bus.subscribe(
            lambda e: collected.append(e) if e.get("run_id") == run_id else None, {"execution_metrics"}
        )
        try:
            run = self._run(code, container, run_id, cell, started, profile, source, cancel)
            self._publish_qfc(run, collected, profile)
            return run
        finally:
            unsubscribe()
            self._persist_metrics(collected)

    def _publish_qfc(self, run: Run, metrics: list[dict[str, Any]], profiled: bool) -> None:
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

    def qfc(self, qfc_id: str) -> list[Any]:
        """The stored QFC envelopes (contract `qfc_update`) of a run, by its `run.qfc_id`."""
        from .qfc import load_qfc

        return load_qfc(self.home / "qfc", qfc_id)

    def _run(
        self,
        code: str,
        container: str | None,
        run_id: str,
        cell: str,
        started: float,
        profile: bool,
        source: str = "codex",
        cancel: threading.Event | None = None,
    ) -> Run:
        tags = {"run_id": run_id, "cell_id": cell}
        try:
            with record_execution_metrics("parse", bus=self.bus, lines=code.count("\n") + 1, **tags):
                tree = parse(code)
        except CodexError as err:
            self._persist_error(err, run_id, cell, container or DEFAULT_CONTAINER, code)
            record = self.cells.record(container or DEFAULT_CONTAINER, cell)
            record.code, record.report = code, failed_cell_report(err)
            raise
        container = _container_of(tree) or container
        memory = self.memory(container)
        self.cells.record(memory.container_id, cell).code = code
        with self._lock_for(memory.container_id):  # one cell at a time per container (dreams run beside)
            admission = self.gate.admit(cell, code, memory)
            collapsed_from = memory.precision
            if admission.plan is not None:
                memory.precision = admission.plan.precision
            try:
                return self._execute(
                    code, tree, memory, admission, run_id, cell, started, profile, tags, source, cancel
                )
            finally:
                if admission.plan is not None and memory.precision == admission.plan.precision:
                    memory.precision = collapsed_from
                self.gate.finish(cell, code, (time.perf_counter() - started) * 1e3)

    def _lock_for(self, container: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(container, threading.RLock())

    def _execute(
        self,
        code: str,
        tree: ast.Scroll,
        memory: CarrierMemory,
        admission: Any,
        run_id: str,
        cell: str,
        started: float,
        profile: bool,
        tags: dict[str, str],
        source: str = "codex",
        cancel: threading.Event | None = None,
    ) -> Run:
        snapshot = memory.snapshot()
        from ..photon.adapter import codex_to_photon_ast
        from .live import live_feed

        live = live_feed(self.bus, memory.container_id, run_id, self.live_interval_s)

        executor = CellExecutor(
            memory,
            run_id=run_id,
            cell_id=cell,
            wave_on=bool(self.flags.QWAVE_EXEC_ON),
            scheduler=self.scheduler,
            data_roots=self.data_roots,
            vault=self.vault,
            bus=self.bus,
            profiler=self.profiler if profile else None,
            precision_cache=self._precision_cache,
            governance=self._governance(memory),
            sym_cache=self._sym_cache,
            programs=self._programs,
            progress=self.progress,
            live=live,
            source=source,
            rules=self.rules,
            cancel=cancel,
        )
        try:
            with record_execution_metrics("execute", bus=self.bus, **tags):
                result = executor.run(codex_to_photon_ast(tree))
                if live is not None:
                    live.close()
                result.beams.insert(0, self._admission_beam(admission, memory, run_id, cell))
                values = {
                    name: v if isinstance(v, Vetoed) else executor.materialize(v) for name, v in result.values.items()
                }
            if self.flags.QKD_ON and result.eids:
                self._sign_pairs(result, memory)
            with record_execution_metrics("persist", bus=self.bus, rows=len(result.beams), **tags):
                self.store.persist_beam_events(result.beams)
                if result.links:
                    self.store.persist_entanglement_links(result.links)
        except Exception as err:
            if live is not None:
                live.close()
            memory.restore(snapshot)
            self._persist_error(err, run_id, cell, memory.container_id, code)
            record = self.cells.record(memory.container_id, cell)
            record.report, record.qscore = failed_cell_report(err), 0.0
            raise
        self._publish_governance(result, memory)
        from .repairs import cell_qscore

        record = self.cells.record(memory.container_id, cell)
        record.report = cell_report(result.beams, result.goals, len(result.statements))
        record.qscore = cell_qscore(result.scores)
        self._trace_collapses(result, memory, run_id, tree)
        self._export_kg(result, run_id)
        return self._make_run(run_id, cell, memory, result, values, started)

    def _admission_beam(self, admission: Any, memory: CarrierMemory, run_id: str, cell: str) -> BeamEvent:
        """The cell's `schedule` beam for the overload controller's decision (ok, deferred, collapsed)."""
        return BeamEvent(
            beam_id=new_beam_id(cell, "schedule"),
            cell_id=cell,
            sheet_run_id=run_id,
            container_id=memory.container_id,
            stage="schedule",
            token="cell",
            result={"scope": "cell", **admission.as_result()},
            timestamp=utc_now_iso(),
        )

    # ------------------------------------------------------------------------------ pattern engine

    def patterns(self, container: str | None = None) -> dict[str, Any]:
        """Motifs of a container's approved beams (op n-grams, attractors, entanglement topology) as
        polars tables; each call appends them to the container's pattern trace."""
        from ..patterns import mine_patterns, record_trace

        cid = self.memory(container).container_id
        found = mine_patterns(self.store, cid)
        record_trace(self.home / "traces", cid, found)
        return found

    def mutations(self, container: str | None = None) -> list[Any]:
        """The DNA mutations (contract 5) recorded for a container, oldest first."""
        from ..patterns import list_mutations

        return list_mutations(self.store, self.memory(container).container_id)

    def record_mutation(
        self,
        original: Any,
        mutated: Any,
        reason: Literal["fusion", "repair"],
        *,
        container: str,
        accepted: bool,
        qscore_before: float | None = None,
        qscore_after: float | None = None,
    ) -> Any:
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

    def fuse(self, container: str | None = None, *, min_support: int = 3) -> Any:
        """Turn the container's most frequent fusable chain into a fusion glyph callable by name in later
        scrolls (`E = fuse_….(ψ, …)`), kept when ≥ `lab.min_fusion_speedup`× faster; records it as a DNA
        mutation (accepted or not). None when no new chain has the support or the glyph was dropped."""
        from ..patterns import fusion_sides, recombine_from_beams
        from ..patterns.motifs import container_beams

        cid = self.memory(container).container_id
        found = recombine_from_beams(container_beams(self.store, cid), min_support=min_support)
        if not found or found[0].name in self._fusion_mutations:
            return None
        glyph = found[0]
        kept = glyph.speedup is not None and glyph.speedup >= self.min_fusion_speedup
        if kept:
            if self.rules is None:
                from ..photon.rules import DEFAULT_RULES

                self.rules = DEFAULT_RULES.copy(f"lab:{self.home.name}")
            register_fusion(glyph, self.rules)
            self._fusions[glyph.name] = glyph
            self._save_fusion_scroll(glyph)
        original, mutated = fusion_sides(glyph)
        mutation = self.record_mutation(original, mutated, "fusion", container=cid, accepted=kept)
        self._fusion_mutations[glyph.name] = mutation.mutation_id
        return glyph if kept else None

    def repair(self, container: str | None = None, cell_id: str | None = None, *, tries: int = 3) -> Any:
        """Repair a cell (default: the container's worst) from its drift report: run the best-ranked patched
        scrolls and keep the first that raises the cell's qscore; every try is a DNA mutation."""
        from .repairs import repair_cell

        return repair_cell(self, self.memory(container).container_id, cell_id, tries=tries)

    @property
    def library(self) -> Any:
        """The scroll library: the sample scrolls plus this home's `scrolls/` (fusion glyphs are saved there)."""
        from ..lang.scrolls import ScrollLibrary

        return ScrollLibrary(user_dir=self.home / "scrolls")

    def _save_fusion_scroll(self, glyph: Any) -> None:
        """A scroll in the library saying what a kept fusion glyph computes and how to call it."""
        call = f"{glyph.name}({', '.join(glyph.inputs)})"
        speed = "" if glyph.speedup is None else f", {glyph.speedup:.2f}× faster than op by op"
        text = (
            f"# Fusion glyph `{glyph.name}` (support {glyph.support}{speed}):\n#   {call} = {glyph.text}\nE = {call}\n"
        )
        self.library.save(glyph.name, text, overwrite=True)

    def _auto_repair(self, cell: str) -> Run | None:
        """`SPE_AUTO_FUSE` on a failed cell: the repaired run when a patch is accepted, else None."""
        container = self.cells.container_of(cell)
        if container is None:
            return None
        outcome = self.repair(container, cell)
        if outcome.accepted is None:
            return None
        run = outcome.run
        run.mutations = [t["mutation_id"] for t in outcome.tries]
        return run

    def _auto_spe(self, run: Run) -> Run:
        """`SPE_AUTO_FUSE` after a committed cell: repair drift gaps (kept only if qscore improves) and turn a
        chain with enough support into a fusion glyph (kept only if it is ≥ 1.2× faster)."""
        from .status import DEFAULT_TOL

        cid = run.container_id
        record = self.cells.get(cid, run.cell_id)
        report = record.report if record is not None else None
        mutations: list[str] = []
        if report is not None and (report.gaps or (report.drift or 0.0) > DEFAULT_TOL):
            outcome = self.repair(cid, run.cell_id)
            mutations += [t["mutation_id"] for t in outcome.tries]
            if outcome.accepted is not None:
                run = outcome.run
        tried = set(self._fusion_mutations)
        self.fuse(cid)
        mutations += [m for name, m in self._fusion_mutations.items() if name not in tried]
        run.mutations = list(run.mutations) + mutations
        return run

    def status(self, container: str | None = None, tol: float | None = None) -> ContainerReport:
        """CLOSED, OPEN or DRIFTING for a container, from its cells' drift and gaps (with their weights)."""
        memory = self.memory(container)
        reports = list(self.cells.reports(memory.container_id).values())
        limit = tol if tol is not None else float(memory.config.get("drift_tol", DEFAULT_TOL))
        return summarize(memory.container_id, reports, limit)

    def _sign_pairs(self, result: CellResult, memory: CarrierMemory) -> None:
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
        result.beams = checked

    def _trace_collapses(self, result: CellResult, memory: CarrierMemory, run_id: str, tree: ast.Scroll) -> None:
        """One collapse trace (contract 6) per ⧖ of the cell, with ids that `replay`, `vault.load` and
        `qglyph` resolve."""
        from .tracing import collapse_traces

        with record_execution_metrics("collapse_trace", bus=self.bus, run_id=run_id):
            collapse_traces(self, result, memory, run_id, tree)

    def _export_kg(self, result: CellResult, run_id: str) -> None:
        """Approved beams and their scores into the run's named graph (vetoed ones go nowhere)."""
        if self.kg.read_only:
            return
        with record_execution_metrics("kg_export", bus=self.bus, run_id=run_id, rows=len(result.beams)):
            self.kg.write_beams(self.store.beams_for_run(run_id), result.scores)

    def _publish_governance(self, result: CellResult, memory: CarrierMemory) -> None:
        """After the cell committed: SQI score events on the bus and in the store, verdicts in the trace."""
        from ..sqi import log_soullaw_event

        with record_execution_metrics("sqi", bus=self.bus, rows=len(result.scores)):
            if result.scores:
                self.store.persist_rows("sqi_scores", result.scores)
                for score in result.scores:
                    self.bus.publish({**score.model_dump(mode="json"), "type": "sqi_score"})
        with record_execution_metrics("soullaw", bus=self.bus, rows=len(result.verdicts)):
            if result.verdicts:
                # Every verdict goes to the JSONL; the store keeps warnings and vetoes (a pass is already
                # on its beam as `verdict`, and a row per law and beam doubled governance's cost).
                log_soullaw_event(
                    result.verdicts,
                    path=self.trace_path,
                    container_id=memory.container_id,
                    store=self.store,
                    store_outcomes=("warn", "veto"),
                )

    def _make_run(
        self,
        run_id: str,
        cell: str,
        memory: CarrierMemory,
        result: CellResult,
        values: dict[str, Any],
        started: float,
    ) -> Run:
        stored = {b.beam_id: b for b in self.store.beams_for_run(run_id)}
        return Run(
            run_id=run_id,
            cell_id=cell,
            container_id=memory.container_id,
            values=values,
            exprs=dict(result.exprs),
            derivations=dict(result.derivations),
            beams=[stored.get(b.beam_id, b) for b in result.beams],
            eids=list(result.eids),
            trace=list(result.trace),
            statements=list(result.statements),
            intents=list(result.intents),
            scores=list(result.scores),
            verdicts=list(result.verdicts),
            duration_ms=(time.perf_counter() - started) * 1e3,
        )

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

    def _persist_error(self, err: BaseException, run_id: str, cell: str, container: str, code: str) -> BeamEvent:
        """One `error` beam saying what failed and where; nothing else of the cell is kept."""
        result: dict[str, Any] = {"error": type(err).__name__, "message": getattr(err, "message", str(err))}
        if isinstance(err, CodexError) and err.line is not None:
            result.update(line=err.line, column=err.column)
        result["code"] = code if len(code) <= 2000 else code[:1999] + "…"
        beam = BeamEvent(
            beam_id=new_beam_id(cell, "error"),
            cell_id=cell,
            sheet_run_id=run_id,
            container_id=container,
            stage="error",
            token="error",
            result=result,
            timestamp=utc_now_iso(),
        )
        return self.store.persist_beam_events([beam])[0]

    # ------------------------------------------------------------------------------- replay, lineage

    def replay(self, ref: str, n: int = 10, container_id: str | None = None) -> list[BeamEvent]:
        """The newest `n` beams of an eid or a run (its GHX id), oldest first; a beam id replays that
        beam's eid, or its run when it has none."""
        return self.store.replay(self.replay_ref(ref), n, container_id)

    def replay_ref(self, ref: str) -> str:
        """What `replay` reads for `ref`: an eid or GHX id as given; for a stored beam, its eid or run."""
        if ref.startswith("beam_"):
            beam = self.store.get_beam(ref)
            if beam is not None:
                return beam.eid or beam.sheet_run_id
        return ref

    def lineage(
        self, beam_id: str, direction: str = "ancestors", depth: int | None = None, ids_only: bool = False
    ) -> list[Any]:
        """Ancestors (or descendants) of a beam, as BeamEvents in time order or as ids."""
        return self.store.lineage(beam_id, direction=direction, depth=depth, ids_only=ids_only)  # type: ignore[arg-type]


def _container_of(tree: ast.Scroll) -> str | None:
    for s in tree.statements:
        if isinstance(s, ast.Directive) and s.name == "container" and s.args:
            first = s.args[0]
            if isinstance(first, ast.Word):
                return str(first.value)
    return None


def register_fusion(glyph: Any, rules: Any = None) -> Any:
    """Make a fusion glyph usable: a wave kernel in the instruction registry, an exact form (its template)
    among Photon's builtins, and — with `rules` — a rewrite rule `template ⟶ glyph(inputs)` checked for
    soundness like every rule, so later cells that spell the chain out run the fused kernel. Returns the
    rule (or None)."""
    from ..photon.builtins import register_builtin
    from ..photon.ir import node
    from ..photon.pattern import var
    from ..photon.ruleset import Rule
    from ..photon.symbolic import to_sympy
    from .registry import ExecContext, instruction

    def kernel(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
        return glyph.kernel(ctx.grid, method=ctx.method)(*args, **kw)

    kernel.__doc__ = f"Fusion glyph `{glyph.name}` = {glyph.text} (support {glyph.support})."
    instruction(glyph.name, name=glyph.name, stage="wave", precision_class="none", symbolic=True, override=True)(kernel)

    def exact(*args: Any) -> Any:
        symbols = {str(s) for a in args for s in getattr(a, "free_symbols", ())}
        coords = tuple(c for c in ("x", "y", "z") if c in symbols) or ("x", "y")
        return to_sympy(glyph.template, dict(zip(glyph.inputs, args, strict=True)), coords=coords)

    register_builtin(glyph.name, tuple(glyph.inputs), override=True, help=kernel.__doc__)(exact)
    if rules is None:
        return None
    metas = {name: var(name) for name in glyph.inputs}
    pattern = _with_metavariables(glyph.template, metas)
    replacement = node("call", *(metas[name] for name in glyph.inputs), value=glyph.name)
    rule = Rule(f"fuse:{glyph.name}", pattern, replacement, priority=5, doc=f"{glyph.text} ⟶ {glyph.name}(…)")
    rules.add(rule, override=True)
    rules.verify([rule.name])
    return rule


def _with_metavariables(template: Any, metas: dict[str, Any]) -> Any:
    """The template with each input name replaced by its metavariable (children first, hash-consed)."""
    from ..photon.ir import walk

    done: dict[str, Any] = {}
    for n in walk(template):
        if n.op == "name" and n.value in metas:
            done[n.id] = metas[n.value]
        elif n.is_leaf:
            done[n.id] = n
        else:
            done[n.id] = n.with_children(tuple(done[c.id] for c in n.children))
    return done[template.id]
