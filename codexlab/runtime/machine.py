"""The machine: runs a cell's program (the plan's "virtual CPU") against a container's carrier memory.

Statements run in order; each statement's ops go through `dispatch.run_ops`. Every value that can be
bound — a statement's, a loop's results, a pair, a measurement — passes the vet stage (`vet`) before it
is bound: a vetoed name stays unbound (a `Vetoed` record says why) and statements that read it are not
computed. Nothing is persisted here; the pipeline commits the cell's beams together afterwards.

Hooks: `on_instruction(machine, statement, at, registers)` runs before each instruction (`at` is its
`program.Place`; `statement` is None and `at` is `("halt",)` once the last one has run) — the debugger
steps there and the instruction profiler times the gaps between calls; `cancel` stops the run before
its next instruction. With a hook, loops run op by op (a fused loop has no instructions to stop at).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..contracts import BeamEvent
from ..errors import CodexCancelled, CodexError, CodexTypeError, ResourceError, located
from ..ops import OpTable
from ..photon import ir
from ..photon.symbolic import exact_terms
from ..qwave.host import HostContext
from .beams import BeamRecorder
from .codex_scheduler import PlanSettings, plan_expression
from .codex_trace import step_kind, trace_event
from .cost import CodexCostEstimator
from .dispatch import ConsentRefused, materialize, run_ops, statement_hash
from .memory import Binding, CarrierMemory
from .program import LIMITS, Leaf, Op, Place, Program, Statement, field_arrays
from .states import States
from .values import Value, Vetoed, as_kind

__all__ = ["Machine", "CellResult", "Hook", "LIMITS"]


@dataclass
class CellResult:
    """What one cell produced (before persisting)."""

    values: dict[str, Any] = field(default_factory=dict)
    exprs: dict[str, Any] = field(default_factory=dict)
    derivations: dict[str, Any] = field(default_factory=dict)
    beams: list[BeamEvent] = field(default_factory=list)
    eids: list[str] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    intents: list[Any] = field(default_factory=list)
    directives: dict[str, Any] = field(default_factory=dict)
    statements: list[str] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[Any] = field(default_factory=list)
    scores: list[Any] = field(default_factory=list)
    goals: list[Any] = field(default_factory=list)


Hook = Callable[["Machine", "Statement | None", Place, "Mapping[str, Value] | None"], None]


class Machine:
    """Runs one cell's program; see the module doc."""

    def __init__(
        self,
        memory: CarrierMemory,
        *,
        run_id: str,
        cell_id: str,
        table: OpTable,
        settings: PlanSettings,
        recorder: BeamRecorder,
        estimator: CodexCostEstimator,
        governance: Any = None,
        bus: Any = None,
        profiler: Any = None,
        sym_cache: dict[Any, Any] | None = None,
        programs: dict[str, Any] | None = None,
        precision_cache: dict[str, Any] | None = None,
        data_roots: tuple[Any, ...] = (),
        live: Any = None,
        cancel: Any = None,
        progress: bool = False,
        on_instruction: Hook | None = None,
        snapshots: str = "bound",
    ) -> None:
        self.memory = memory
        self.run_id = run_id
        self.cell_id = cell_id
        self.table = table
        self.settings = settings
        self.recorder = recorder
        self.estimator = estimator
        self.governance = governance
        self.bus = bus
        self.profiler = profiler
        self.sym_cache = sym_cache if sym_cache is not None else {}
        self.programs = programs if programs is not None else {}
        self.precision_cache = precision_cache if precision_cache is not None else {}
        self.data_roots = data_roots
        self.live = live
        self.cancel = cancel
        self.progress = progress
        self.on_instruction = on_instruction
        #: Which values get a vault snapshot: `bound` (values bound to names) or `all`.
        self.snapshots = snapshots
        #: The program being run (the instruction hook locates its places in it).
        self.program: Program | None = None
        self.result = CellResult(beams=recorder.beams)
        self.trace = self.result.trace
        self.states = States(self)
        self.quiet = False
        #: Iterations of the loops around the current statement (nested loops multiply toward the limit).
        self.loop_scale = 1
        self.step = 0
        self.stmt_hash = ""
        self.last_group_info: dict[str, Any] = {}
        self._drift: dict[str, Any] = {}
        self._data: dict[str, Any] = {}
        #: id of a field in `_data` → its entropy (`entropy`), None where the host computes it.
        self._entropies: dict[int, float | None] = {}
        self._goals: list[tuple[str, ir.PNode]] = []
        self._goal_cache: dict[tuple[Any, ...], Any] = {}

    # ----------------------------------------------------------------------------------- properties

    @property
    def grid_method(self) -> str:
        """The derivative method of the grid path: the container's, `fd2` when it says `auto`/`exact`."""
        return self.memory.method if self.memory.method in ("fd2", "fd4", "spectral") else "fd2"

    def host_context(self) -> HostContext:
        m = self.memory
        return HostContext(
            m.grid,
            self.grid_method,
            m.wave_c,
            m.seed,
            self.stmt_hash,
            self.step,
            self.data_roots,
            max_steps=LIMITS["loop_iterations"] // self.loop_scale,
        )

    def snapshot(self, code: Statement, op: Op) -> bool:
        """Whether an op's value gets a vault snapshot: the value a statement binds (or every op's)."""
        return self.snapshots == "all" or op.reg == code.root

    # --------------------------------------------------------------------------------------- run

    def run(self, program: Program, derivations: Mapping[str, Any], records: list[ir.PRecord]) -> CellResult:
        """Run every statement in order; returns the cell's result (values, beams, verdicts, …)."""
        from .goals import goal_conditions

        self.program = program
        self.result.derivations.update(derivations)
        self._goals = goal_conditions(records)
        for code in program.statements:
            self.result.statements.append(code.text)
            self.statement(code)
        if self.on_instruction is not None:
            self.on_instruction(self, None, ("halt",), None)
        self.result.goals = self.goal_results(final=True)
        for goal in self.result.goals:
            if not goal.met:
                self.trace.append(trace_event("contradiction", goal=goal.tag, violation=goal.violation))
        return self.result

    def check_cancel(self, code: Statement, at: Place, registers: Mapping[str, Value] | None = None) -> None:
        """Before the instruction at `at` of `code`: stop when the run was cancelled; call the hook."""
        if self.cancel is not None and self.cancel.is_set():
            raise CodexCancelled("The run was cancelled before its next instruction; nothing of it was kept.")
        if self.on_instruction is not None:
            self.on_instruction(self, code, at, registers)
            if self.cancel is not None and self.cancel.is_set():
                raise CodexCancelled("The run was cancelled before its next instruction; nothing of it was kept.")

    def statement(self, code: Statement) -> None:
        """Run one statement (errors are located at its line and column)."""
        self.check_cancel(code, ("stmt",))
        try:
            if code.kind == "directive":
                self.directive(code)
            elif code.kind == "record":
                self.record(code)
            elif code.kind == "loop":
                from .loops import run_loop

                run_loop(self, code)
            else:
                self.binding(code)
        except CodexError as err:
            raise err.at(code.line, code.column) from None
        except Exception as err:  # noqa: BLE001 - only CodexErrors leave a statement, located at it
            raise located(err, code.line, code.column) from err

    def directive(self, code: Statement) -> None:
        from ..lang import ast

        stmt = code.source
        assert isinstance(stmt, ir.PDirective)
        changed = self.memory.apply_directive(ast.Directive(stmt.name, tuple(stmt.args), line=code.line))
        self.result.directives.update(changed)
        grid = self.memory.grid
        if self.governance is not None:
            self.governance.check_resources(grid=grid)
        if grid.size > LIMITS["grid_points"]:
            raise ResourceError(
                f"The grid `{grid.describe()}` has {grid.size:,} points, over the limit of "
                f"{LIMITS['grid_points']:,}; use fewer points or raise `LIMITS['grid_points']`."
            )

    def record(self, code: Statement) -> None:
        from ..photon.intents import extract_intents_from_glyphs

        stmt = code.source
        assert isinstance(stmt, ir.PRecord)
        self.result.intents.extend(extract_intents_from_glyphs([stmt], metadata={"origin": self.recorder.source}))

    # ------------------------------------------------------------------------------------ bindings

    def blocked(self, code: Statement) -> Vetoed | None:
        """A record for a statement that reads a vetoed name (it is not computed), else None."""
        hit = sorted(code.reads & set(self.memory.vetoed))
        if not hit:
            return None
        first = self.memory.vetoed[hit[0]]
        target = code.target or "_"
        return Vetoed(target, first.law, f"not computed: it uses `{hit[0]}`, vetoed by `{first.law}`", first.beam_id)

    def binding(self, code: Statement) -> None:
        """A definition, assignment or expression: compute, vet, bind (or record why not)."""
        target = code.target or "_"
        record = self.blocked(code)
        if record is not None:
            self.memory.veto(record)
            self.result.values[target] = record
            return
        if self.governance is not None and code.ops:
            self.governance.check_resources(grid=self.memory.grid, arrays=field_arrays(code, self.memory.grid.ndim))
        start = len(self.recorder.beams)
        self.stmt_hash = statement_hash(target, code.expr)
        self.recorder.statement_source = "photon" if code.rules else None
        try:
            if not self.quiet:
                self.rewrite_beam(code, target)
            value = self.compute(code, target)
            self.check_cancel(code, ("bind",), {code.root or target: value})
        except ConsentRefused as refusal:
            self.refuse(target, start, str(refusal))
            return
        finally:
            self.recorder.statement_source = None
        if self.vet(target, start, value, code):
            self.bind(target, value, code)
            if code.also_underscore:
                self.bind("_", value, code)

    def compute(self, code: Statement, target: str) -> Value:
        """The statement's value, with its ingest beam where no op made one."""
        if code.kind == "define" and code.exact is not None and not code.ops:
            value = Value(as_kind(code.value_kind), expr=code.exact, path="exact")
        else:
            regs = self.load_leaves(code)
            saved = self.quiet
            self.quiet = self.quiet or code.quiet
            try:
                run_ops(self, code, regs)
            finally:
                self.quiet = saved
            assert code.root is not None
            root = regs[code.root]
            value = Value(root.kind, expr=root.expr, data=root.data, path=root.path, meta=dict(root.meta))
            value.beam_id = root.beam_id if code.kind != "define" else None
        if value.beam_id is None and not self.quiet:
            token = ":=" if code.kind == "define" else "="
            parents = [self.memory.bindings[n].value.beam_id for n in sorted(code.reads) if n in self.memory.bindings]
            data = materialize(self, value)
            summary = self.recorder.summary(value, data, self.memory.grid.cell_volume)
            beam = self.recorder.add("ingest", token, {**summary, "name": target}, parents)
            value.beam_id = beam.beam_id
            self.keep_data(beam.beam_id, value)
        return value

    def load_leaves(self, code: Statement) -> dict[str, Value]:
        """The registers of a statement's leaves: container values (LOAD) and literals (CONST)."""
        regs: dict[str, Value] = {}
        for leaf in code.leaves:
            self.check_cancel(code, ("leaf", leaf.reg), regs)
            regs[leaf.reg] = self.leaf_value(leaf)
        return regs

    def leaf_value(self, leaf: Leaf) -> Value:
        import sympy

        n = leaf.node
        if n.op == "num":
            from ..photon._calculus import as_number

            return Value("number", expr=as_number(n.value), data=n.value)
        if n.op == "imag":
            return Value("number", expr=sympy.I, data=1j)
        if n.op == "str":
            return Value("string", data=n.value)
        if n.op == "coord":
            return Value("field", expr=sympy.Symbol(str(n.value), real=True), meta={"coord": str(n.value)})
        value = self.memory.get(str(n.value)).value
        if leaf.kind == "field" and value.kind == "number":
            # A name the kind analysis made a field (a loop turns it into one) while it still holds a
            # number: the constant field, so a grid op reads it as the exact path would.
            from ..photon._calculus import as_number

            constant = value.expr if value.expr is not None else as_number(materialize(self, value))
            return Value("field", expr=constant, beam_id=value.beam_id)
        return value

    def rewrite_beam(self, code: Statement, target: str) -> None:
        derivation = self.result.derivations.get(target)
        if derivation is None or not code.rules or derivation.result is not code.expr:
            return
        from ..photon.printing import to_unicode

        parents = [
            self.memory.bindings[n].value.beam_id for n in sorted(derivation.input.names()) if n in self.memory.bindings
        ]
        beam = self.recorder.add(
            "rewrite",
            "→",
            {
                "before": to_unicode(derivation.input),
                "after": to_unicode(derivation.result),
                "steps": [
                    {"rule": s.rule, "before": to_unicode(s.before), "after": to_unicode(s.after)}
                    for s in derivation.steps
                ],
            },
            parents,
        )
        for step in derivation.steps:
            self.trace.append(
                trace_event(
                    step_kind(step.local_before, step.local_after),
                    target=target,
                    rule=step.rule,
                    before=to_unicode(step.local_before),
                    after=to_unicode(step.local_after),
                    beam_id=beam.beam_id,
                )
            )

    def bind(self, target: str, value: Value, code: Statement) -> None:
        inputs = tuple(
            (self.memory.bindings[n].value.beam_id or "") for n in sorted(code.reads) if n in self.memory.bindings
        )
        self.memory.bind(Binding(target, value, code.expr, code.kind == "define", inputs))
        for member, role in value.meta.get("members", ()):
            self.memory.members[member] = (target, role)
        if value.kind == "measurement":
            self.states.commit(value)
        if target != "_" or not self.quiet:
            self.result.values[target] = value
            if value.expr is not None:
                self.result.exprs[target] = value.expr

    def refuse(self, target: str, start: int, reason: str) -> None:
        """A `policy` beam for a refusal before running (consent); the name stays unbound."""
        from ..sqi import Verdict

        parents = [b.beam_id for b in self.recorder.beams[start:] if b.stage not in ("schedule", "rewrite")]
        beam = self.recorder.add(
            "policy", "⧖", {"law": "consent", "verdict": "veto", "reason": reason, "name": target}, parents
        )
        self.recorder.replace(beam.evolve(verdict="veto"))
        self.result.verdicts.append(Verdict("consent", "veto", reason, beam.beam_id))
        record = Vetoed(target, "consent", reason, beam.beam_id)
        self.memory.veto(record)
        self.result.values[target] = record

    # ------------------------------------------------------------------------------------------ vet

    def vet(
        self, target: str, start: int, candidate: Value | None, code: Statement | None = None, *, binds: bool = True
    ) -> bool:
        """The vet stage of one bindable value: score and vet the beams made since `start`; False (and
        the name vetoed) on a veto. Loops, pairs and measurements pass here like every statement; a beam
        that binds no name (`binds=False`: the loop as a whole) keeps its veto on the beam only."""
        beams = self.recorder.beams[start:]
        if self.governance is None or self.quiet or not beams:
            return True
        values = {bid: d for bid, d in self._data.items() if any(b.beam_id == bid for b in beams)}
        values.update({b.beam_id: self._data[p] for b in beams for p in b.parents if p in self._data})
        known = self.governance.entropy_cache
        for bid, data in values.items():
            if bid not in known:
                h = self.entropy(data)
                if h is not None:
                    known[bid] = h
        sv = self.governance.statement(
            beams,
            name=target,
            grid=self.memory.grid,
            drift_reports=self._drift,
            rules=list(code.rules) if code is not None else [],
            prior_norms=self.memory.norms,
            values=values,
            goals=self.pending_goals(target, candidate) if self._goals else (),
        )
        self.recorder.beams[start:] = sv.beams
        self.result.verdicts.extend(sv.verdicts)
        self.result.scores.extend(sv.scores)
        for b in sv.beams:
            norm = b.result.get("norm")
            if isinstance(norm, int | float):
                self.memory.norms[b.beam_id] = float(norm)
        if sv.veto is None:
            return True
        self.states.discard()
        if not binds:
            return False
        record = Vetoed(target, sv.veto.law, sv.veto.reason, sv.veto.beam_id or "")
        self.memory.veto(record)
        self.result.values[target] = record
        self.result.exprs.pop(target, None)
        return False

    # --------------------------------------------------------------------------------- op support

    def entropy(self, data: Any) -> float | None:
        """A kept field's entropy in one compiled pass (`qwave.stats.entropy_of`), once per field: several
        beams read the same data (`_data` keeps it alive, so its id stays its own). None: the host's."""
        from ..qwave.stats import entropy_of

        if id(data) not in self._entropies:
            self._entropies[id(data)] = entropy_of(data.values, self.memory.grid.ndim)
        return self._entropies[id(data)]

    def keep_data(self, beam_id: str, value: Value) -> None:
        """Remember a field's data by beam, for SQI entropies within the cell."""
        if isinstance(value.data, xr.DataArray):
            self._data[beam_id] = value.data

    def after_op(self, beam_id: str, op: Op, value: Value, operands: list[Value]) -> None:
        """Keep the op's data for SQI and measure its discretization drift against the exact form."""
        self.keep_data(beam_id, value)
        if self.governance is None or op.path == "exact" or op.exact is None:
            return
        terms = None
        if all(v.expr is not None for v in operands):
            terms = exact_terms(
                op.key,
                op.node,
                [v.expr for v in operands],
                self.memory.grid.names,
                constants={"c": self.memory.wave_c},
                table=self.table,
            )
        report = self.governance.drift_report(value.data, op.exact, self.memory.grid, terms)
        if report is not None:
            self._drift[beam_id] = report

    def publish_kernel(self, op: str, path: str, elapsed_ms: float) -> None:
        if self.bus is not None:
            self.bus.publish(
                {
                    "type": "execution_metrics",
                    "name": "kernel",
                    "op": op,
                    "path": path,
                    "duration_ms": elapsed_ms,
                    "points": self.memory.grid.size,
                    "cell_id": self.cell_id,
                    "run_id": self.run_id,
                    "timestamp": time.time(),
                }
            )

    # ------------------------------------------------------------------------------------ the grid

    def run_group(self, ops: list[Op], regs: Mapping[str, Value], code: Statement | None = None) -> dict[str, Value]:
        """Grid ops of a statement as one program in the container's precision (see `grid.run_grid_ops`)."""
        from .grid import run_grid_ops

        values, info = run_grid_ops(self, ops, regs, code)
        self.last_group_info = info
        return values

    def compiled_single(self, op: Op, operands: list[Any]) -> xr.DataArray | None:
        """The grid operator's value of one op on given operand data (the wall rule's reference)."""
        from .grid import grid_reference

        return grid_reference(self, op, operands)

    # --------------------------------------------------------------------------------------- goals

    def evaluate(self, expr: ir.PNode) -> Value:
        """A quiet evaluation of one expression against the memory as it is now (goals, conditions)."""
        from ..ops import KindEnv
        from ..photon.kinds import infer_kinds

        lookup = lambda name: self.memory.get(name).value.kind  # noqa: E731
        grid = self.memory.grid
        kinds = infer_kinds(expr, lookup, KindEnv(len(grid.space_axes), grid.has_time), table=self.table)
        code = plan_expression(expr, kinds, self.memory, self.settings, table=self.table)
        return self.run_quiet(code)

    def run_quiet(self, code: Statement) -> Value:
        """Run a quiet statement's ops (no beams) and return its root value."""
        regs = self.load_leaves(code)
        saved = self.quiet
        self.quiet = True
        try:
            run_ops(self, code, regs)
        finally:
            self.quiet = saved
        assert code.root is not None
        return regs[code.root]

    def pending_goals(self, target: str, candidate: Value | None) -> list[Any]:
        """The goals as they stand if `target` is bound to `candidate` (the value being vetted)."""
        if candidate is None or target == "_":
            return self.goal_results()
        previous = self.memory.bindings.get(target)
        self.memory.bindings[target] = Binding(target, candidate)
        try:
            return self.goal_results()
        finally:
            if previous is None:
                self.memory.bindings.pop(target, None)
            else:
                self.memory.bindings[target] = previous

    def goal_results(self, *, final: bool = False) -> list[Any]:
        """The cell's Goal records evaluated on the names bound so far (all of them when `final`).

        A goal whose names are not all bound yet is left out (it cannot be judged); one whose
        expression fails or is vetoed counts as missed. Results are cached on the values the goal reads.
        """
        from ..sqi.goals import goal_result_from_comparison

        out = []
        for tag, cond in self._goals:
            names = cond.names()
            if any(n in self.memory.vetoed for n in names):
                out.append(goal_result_from_comparison(tag, cond.op, math.inf, 0.0))
                continue
            if not all(n in self.memory.bindings for n in names):
                if final:
                    out.append(goal_result_from_comparison(tag, cond.op, math.inf, 0.0))
                continue
            key = (tag, cond.id, *(id(self.memory.bindings[n].value) for n in sorted(names)))
            if key not in self._goal_cache:
                saved = (self.stmt_hash, self.step)
                try:
                    lhs, rhs = (_as_real(self, self.evaluate(side)) for side in cond.args)
                    self._goal_cache[key] = goal_result_from_comparison(tag, cond.op, lhs, rhs)
                except CodexError:
                    self._goal_cache[key] = goal_result_from_comparison(tag, cond.op, math.inf, 0.0)
                finally:
                    self.stmt_hash, self.step = saved
            out.append(self._goal_cache[key])
        return out


def _as_real(machine: Machine, value: Value) -> float:
    """A goal side as a real number (a number, or a 0-d field); anything else cannot be compared."""
    data = materialize(machine, value)
    if isinstance(data, xr.DataArray):
        if data.ndim:
            raise CodexTypeError("A Goal compares numbers; reduce the field first, e.g. `‖f‖` or `mean(f)`.")
        data = data.item()
    elif hasattr(data, "shape") and hasattr(data, "dtype") and not np.shape(data):
        data = np.asarray(data).item()
    if isinstance(data, complex):
        if data.imag:
            raise CodexTypeError("A Goal compares real numbers; take `abs(…)` of a complex one.")
        data = data.real
    if isinstance(data, bool) or not isinstance(data, int | float | np.number):
        raise CodexTypeError(f"A Goal compares numbers, got a `{type(data).__name__}`.")
    return float(data)
