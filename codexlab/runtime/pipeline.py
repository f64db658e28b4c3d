"""The pipeline of one cell — `Lab.run` is this list of stages, each a function from the cell's state to
the next:

    parse → rewrite → plan → execute (→ vet, at every bind) → persist → score → trace → export → publish

Nothing is written before `persist`: a failure up to and including it restores the container's memory
and leaves exactly one `error` beam. `persist` commits every beam of the cell (approved and vetoed) in
one transaction. After it the cell is committed: a failure of a later stage (scores, traces, the
knowledge graph, QFC payloads) is recorded in the run's trace and on the metrics bus, and never turns
the committed cell into a failed one.

When is a value vetoed? In `execute`, before it is bound: every bindable value (statement, loop result,
pair, measurement) goes through `Machine.vet` (SQI scores, then SoulLaw, fail-closed), so a vetoed name
is never bound and the statements that read it are not computed.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contracts import BeamEvent, check_container_id, new_beam_id, utc_now_iso
from ..errors import CodexError, CodexEvaluationError, CodexValueError
from ..lang import ast
from ..lang.parser import parse as parse_scroll
from ..ops import KindEnv
from ..photon import ir
from ..photon.adapter import codex_to_photon_ast
from ..sqi.soullaw import SoulLawEvent, soullaw_events
from .analysis import Facts, RewrittenCell, rewrite_cell
from .beams import BeamRecorder
from .codex_scheduler import plan_cell
from .codex_trace import log_codex_trace, trace_event
from .machine import CellResult, Machine
from .memory import CarrierMemory
from .metrics import record_execution_metrics
from .program import Program
from .run import Run

if TYPE_CHECKING:
    from .lab import Lab

__all__ = ["CellState", "STAGES", "run_pipeline", "container_of"]


@dataclass
class CellState:
    """What one cell carries from stage to stage."""

    lab: Lab
    code: str
    container: str | None
    cell_id: str
    source: str = "codex"
    profile: bool = False
    cancel: Any = None
    hook: Any = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started: float = field(default_factory=time.perf_counter)
    tree: ast.Scroll | None = None
    memory: CarrierMemory | None = None
    snapshot: CarrierMemory | None = None
    photon: ir.PhotonProgram | None = None
    rewritten: RewrittenCell | None = None
    program: Program | None = None
    result: CellResult | None = None
    committed: bool = False
    run: Run | None = None
    problems: list[str] = field(default_factory=list)
    #: The run's execution metrics (collected from the bus while it runs; QFC payloads carry them).
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: The overload back-off's decision for the cell (None when the back-off is off).
    admission: Any = None
    #: A carrier memory the caller owns (a sheet cell's): used instead of the container's, not locked.
    own: CarrierMemory | None = None
    #: The verdicts as `soullaw_event` records (made at `persist`, appended to the trace JSONL at `score`).
    soullaw_events: list[SoulLawEvent] = field(default_factory=list)

    @property
    def tags(self) -> dict[str, str]:
        return {"run_id": self.run_id, "cell_id": self.cell_id}


Stage = Callable[[CellState], CellState]


def container_of(tree: ast.Scroll) -> str | None:
    """The container a scroll names with `@container`, if any."""
    for s in tree.statements:
        if isinstance(s, ast.Directive) and s.name == "container" and s.args:
            first = s.args[0]
            if isinstance(first, ast.Word):
                return str(first.value)
    return None


# ------------------------------------------------------------------------------------------- stages


def parse(state: CellState) -> CellState:
    """Text → Codex AST (`CodexSyntaxError` with line, column and a caret); the container it names."""
    with record_execution_metrics("parse", bus=state.lab.bus, lines=state.code.count("\n") + 1, **state.tags):
        state.tree = parse_scroll(state.code)
    state.container = container_of(state.tree) or state.container
    if state.container is not None:
        check_container_id(state.container)
    return state


def rewrite(state: CellState) -> CellState:
    """Codex AST → Photon IR, every statement kind-checked and rewritten once (`analysis.rewrite_cell`)."""
    assert state.tree is not None and state.memory is not None
    lab, memory = state.lab, state.memory
    state.photon = codex_to_photon_ast(state.tree)
    facts = {name: _facts(b.value) for name, b in memory.bindings.items()}
    shadow = memory.snapshot()

    def on_directive(d: ir.PDirective) -> KindEnv:
        shadow.apply_directive(ast.Directive(d.name, tuple(d.args), line=d.line, column=d.column))
        return _kind_env(shadow)

    with record_execution_metrics("rewrite", bus=lab.bus, **state.tags):
        state.rewritten = rewrite_cell(
            state.photon,
            facts,
            _kind_env(memory),
            rules=lab.rules,
            table=lab.ops,
            c=memory.wave_c,
            on_directive=on_directive,
            is_function=lambda name: name in lab.ops,
        )
    return state


def plan(state: CellState) -> CellState:
    """Rewritten cell → program: each op's path and the fused groups (`codex_scheduler.plan_cell`); with
    the overload back-off on, the cell is admitted here (and re-planned when collapsed)."""
    assert state.rewritten is not None and state.memory is not None
    lab = state.lab
    with record_execution_metrics("plan", bus=lab.bus, **state.tags):
        state.program = plan_cell(state.rewritten, state.memory, lab.plan_settings(state.profile), table=lab.ops)
    if lab.gate is not None:
        predicted, ops = _predicted(lab, state.program, state.memory)
        state.admission = lab.gate.admit(state.cell_id, predicted, state.memory, ops)
        if state.admission.plan is not None:
            state.memory.precision = state.admission.plan.precision
            state.program = plan_cell(state.rewritten, state.memory, lab.plan_settings(state.profile), table=lab.ops)
    return state


def _predicted(lab: Lab, program: Program, memory: CarrierMemory) -> tuple[float, list[str]]:
    """The cell's predicted ms (the sum of its ops' predicted delays) and its field ops a collapse may lower."""
    from ..ops import FIELD_KINDS

    total, ops = 0.0, []
    grid = memory.grid
    for code, times in _all_statements(program.statements, 1):
        for op in code.ops:
            field = op.kind in FIELD_KINDS
            estimate = lab.estimator.estimate(op.key, op.path, points=grid.size if field else 1, nodes=op.size)
            total += times * estimate.delay
            spec = lab.ops.get(op.key)
            if field and op.path == "grid" and spec.precision_class in ("stencil1", "stencil2", "pointwise"):
                ops.append(op.key)
    return total, list(dict.fromkeys(ops))


def _all_statements(statements: list[Any], times: int) -> list[tuple[Any, int]]:
    """Every statement with how often it runs (a loop with a literal bound multiplies its body)."""
    out = []
    for s in statements:
        out.append((s, times))
        if s.loop is not None:
            bound = s.loop.count or s.loop.bound
            n = int(bound.exact) if bound is not None and getattr(bound.exact, "is_Integer", False) else 1
            out += _all_statements([p for p in (s.loop.count, s.loop.bound) if p is not None], times)
            out += _all_statements(s.loop.body + ([s.loop.until] if s.loop.until else []), times * max(n, 1))
    return out


def execute(state: CellState) -> CellState:
    """Run the program; every bind passes the vet stage first (`Machine.vet`)."""
    assert state.program is not None and state.memory is not None and state.rewritten is not None
    lab, memory = state.lab, state.memory
    from .live import live_feed

    live = live_feed(lab.bus, memory.container_id, state.run_id, lab.live_interval_s)
    recorder = BeamRecorder(
        cell_id=state.cell_id,
        run_id=state.run_id,
        container_id=memory.container_id,
        source=state.source,
        vault=lab.vault,
        live=live,
    )
    if state.admission is not None:
        recorder.add("schedule", "cell", {"scope": "cell", **state.admission.as_result()})
    machine = Machine(
        memory,
        run_id=state.run_id,
        cell_id=state.cell_id,
        table=lab.ops,
        settings=lab.plan_settings(state.profile),
        recorder=recorder,
        estimator=lab.estimator,
        governance=lab.governance(memory),
        bus=lab.bus,
        profiler=lab.profiler if state.profile else None,
        sym_cache=lab.sym_cache,
        programs=lab.programs,
        precision_cache=lab.precision_cache,
        data_roots=lab.data_roots,
        live=live,
        cancel=state.cancel,
        progress=lab.progress,
        on_instruction=state.hook,
        snapshots=lab.snapshots,
    )
    records = [s for s in state.photon.statements if isinstance(s, ir.PRecord)] if state.photon else []
    try:
        with record_execution_metrics("execute", bus=lab.bus, **state.tags):
            state.result = machine.run(state.program, state.rewritten.derivations, records)
    finally:
        if live is not None:
            live.close()
    return state


def persist(state: CellState) -> CellState:
    """One transaction (`BeamStore.persist_cell`): every beam of the cell (QKD-signed first when on),
    its entanglement links, its SQI scores and its SoulLaw warnings and vetoes."""
    assert state.result is not None and state.memory is not None
    lab, result = state.lab, state.result
    if lab.flags.QKD_ON and result.eids:
        lab.sign_pairs(result, state.memory)
    events = soullaw_events(result.verdicts, container_id=state.memory.container_id)
    state.soullaw_events = events
    kept = [e for e, v in zip(events, result.verdicts, strict=True) if v.outcome in ("warn", "veto")]
    lab.fences.claim_commit(state.run_id, state.cancel)
    if result.beams:
        with record_execution_metrics("persist", bus=lab.bus, rows=len(result.beams), **state.tags):
            commit = lab.store.persist_cell(
                result.beams, links=result.links, rows={"sqi_scores": result.scores, "collapse_traces": kept}
            )
        if not commit.written:
            raise CodexValueError(
                f"Run `{state.run_id}` is already in the store (another process committed it meanwhile); "
                "nothing of this cell was written; run it again without `run_id`."
            )
        result.beams[:] = commit.beams
    state.committed = True
    return state


def score(state: CellState) -> CellState:
    """SQI score events on the bus, SoulLaw verdicts in the collapse-trace JSONL, the cell's status."""
    assert state.result is not None and state.memory is not None
    state.lab.publish_governance(state.result, state.soullaw_events)
    state.lab.estimator.record_verdicts(state.result.beams)
    state.lab.record_cell(state)
    return state


def trace(state: CellState) -> CellState:
    """One collapse trace (contract 6) per `⧖`, with ids that resolve, and the cell's trace (`codex_trace`)
    in the home's `traces/codex_trace.jsonl`."""
    assert state.result is not None and state.memory is not None and state.tree is not None
    from .tracing import collapse_traces

    with record_execution_metrics("collapse_trace", bus=state.lab.bus, **state.tags):
        collapse_traces(state.lab, state.result, state.memory, state.run_id, state.tree)
        log_codex_trace(
            state.result.trace,
            home=state.lab.home,
            run_id=state.run_id,
            cell_id=state.cell_id,
            container_id=state.memory.container_id,
        )
    return state


def export(state: CellState) -> CellState:
    """Approved beams and their scores into the run's named graph of the knowledge graph."""
    assert state.result is not None
    state.lab.export_kg(state.result, state.run_id)
    return state


def publish(state: CellState) -> CellState:
    """The `Run` (from the beams in memory) and its QFC payloads on the bus and in the home."""
    assert state.result is not None and state.memory is not None
    state.run = state.lab.make_run(state)
    state.lab.publish_qfc(state.run, state.metrics, state.profile)
    return state


#: The stages, in order; everything up to `persist` may fail the cell, nothing after it.
STAGES: tuple[Stage, ...] = (parse, rewrite, plan, execute, persist, score, trace, export, publish)
_COMMIT = STAGES.index(persist)


def run_pipeline(state: CellState) -> Run:
    """Run a cell through `STAGES` under its container's lock (see the module doc)."""
    lab = state.lab
    try:
        state = parse(state)
        if state.own is not None and state.container != state.own.container_id:
            raise CodexValueError(
                f"The cell selects container `{state.container}` but runs in the memory of "
                f"`{state.own.container_id}`; drop its `@container` line."
            )
    except CodexError as err:
        lab.fail_cell(state, err)
        raise
    memory = state.own if state.own is not None else lab.memory(state.container)
    state.memory = memory
    if state.own is None and memory.container_id in lab.paused:
        from .debugger import check_not_paused

        try:
            check_not_paused(lab, memory.container_id)
        except CodexError as err:
            lab.fail_cell(state, err)
            raise
    lab.cells.record(memory.container_id, state.cell_id).code = state.code
    with lab.lock_for(memory.container_id) if state.own is None else contextlib.nullcontext():
        snapshot = state.snapshot = memory.snapshot()
        try:
            for stage in STAGES[1 : _COMMIT + 1]:
                state = stage(state)
        except CodexError as err:
            lab.fail_cell(state, err)
            raise
        except Exception as err:  # noqa: BLE001 - only CodexErrors leave a cell; anything else is wrapped
            wrapped = CodexEvaluationError(f"The cell failed: {type(err).__name__}: {err}")
            lab.fail_cell(state, wrapped)
            raise wrapped from err
        finally:
            if state.admission is not None and lab.gate is not None:
                lab.gate.finish(state.cell_id)
                if state.admission.plan is not None:  # a collapse applied to this cell only
                    memory.precision = snapshot.precision
        for stage in STAGES[_COMMIT + 1 :]:
            try:
                state = stage(state)
            except Exception as err:  # noqa: BLE001 - a committed cell stays committed; the failure is recorded
                _recorded(state, stage, err)
                if stage is publish:
                    state.run = lab.make_run(state)
    assert state.run is not None
    return state.run


def _recorded(state: CellState, stage: Stage, err: Exception) -> None:
    message = f"stage `{stage.__name__}` failed after the commit: {type(err).__name__}: {err}"
    state.problems.append(message)
    if state.result is not None:
        state.result.trace.append(trace_event("warning", message=message))
    state.lab.bus.publish(
        {"type": "pipeline_warning", "run_id": state.run_id, "stage": stage.__name__, "message": message}
    )


def _facts(value: Any) -> Facts:
    """What the rewrite stage knows of a container value."""
    import math

    import numpy as np
    import xarray as xr

    kind = value.kind
    constant = kind == "number"
    finite = False
    if kind == "number" and isinstance(value.data, int | float | complex):
        finite = math.isfinite(abs(value.data))
    t_free = True
    if value.expr is not None:
        t_free = "t" not in {str(s) for s in getattr(value.expr, "free_symbols", ())}
    elif isinstance(value.data, xr.DataArray):
        t_free = "t" not in value.data.dims
        finite = bool(np.all(np.isfinite(value.data.values))) if value.data.size <= 1 << 16 else False
    return Facts(kind if kind != "string" else "string", constant, t_free, finite)


def _kind_env(memory: CarrierMemory) -> KindEnv:
    grid = memory.grid
    return KindEnv(len(grid.space_axes), grid.has_time)


def error_beam(
    err: BaseException, run_id: str, cell: str, container: str, code: str, source: str = "codex"
) -> BeamEvent:
    """The one `error` beam of a failed cell: what failed and where."""
    result: dict[str, Any] = {"error": type(err).__name__, "message": getattr(err, "message", str(err))}
    if isinstance(err, CodexError) and err.line is not None:
        result.update(line=err.line, column=err.column)
    result["code"] = code if len(code) <= 2000 else code[:1999] + "…"
    return BeamEvent(
        beam_id=new_beam_id(cell, "error"),
        cell_id=cell,
        sheet_run_id=run_id,
        container_id=container,
        stage="error",
        token="error",
        result=result,
        timestamp=utc_now_iso(),
        source=source,
    )
