"""Execute one cell: statements in order, each op on the symbolic or the wave path, one beam per op.

The executor reads the Photon program, rewrites each expression (keeping the derivation), asks the
scheduler for a path per node, runs it, and records beams with lineage. It never persists: the
caller commits the cell's beams together or not at all (`Lab.run`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
import xarray as xr

from ..contracts import BeamEvent, new_beam_id, utc_now_iso
from ..errors import (
    CodexCancelled,
    CodexError,
    CodexNameError,
    CodexTypeError,
    CodexValueError,
    ResourceError,
    did_you_mean,
)
from ..lang import ast
from ..photon import ir
from ..photon.ir import PNode
from ..qwave.qglyph import QGlyphProgram
from .memory import Binding, CarrierMemory
from .registry import INSTRUCTIONS, ExecContext, lookup
from .scheduler import Decision, Scheduler
from .summary import summarize_array, summarize_number
from .values import Kind, Value, Vetoed, kind_of_data, kind_of_expr

__all__ = ["CellExecutor", "CellResult", "LIMITS"]

_T = sympy.Symbol("t", real=True)
_TIME_GLYPHS = frozenset({"d/dt", "□", "∂t"})
#: Python loops at least this long show a progress bar (when the Lab's `progress` is on).
PROGRESS_MIN_ITERATIONS = 50

#: Resource limits checked before anything is allocated (SoulLaw's resource law reads these too).
LIMITS = {"grid_points": 64 * 1024 * 1024, "loop_iterations": 1_000_000}

_STATE_GLYPHS = frozenset({"↔", "⧖"})

#: Precisions a fused statement runs in (`auto` picks a format per op, which fusion would hide).
_FUSED_STATEMENT_PRECISIONS = {"fp64": "float64", "fp32": "float32"}
#: Precisions a fused loop runs in (`auto` runs in fp64).
_FUSED_LOOP_PRECISIONS = {**_FUSED_STATEMENT_PRECISIONS, "auto": "float64"}


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
    collapses: list[dict[str, Any]] = field(default_factory=list)


def statement_hash(target: str | None, expr: PNode | None) -> str:
    """Content hash of a statement (target and expression), for PRNG keys and run drift."""
    text = f"{target or '_'}={expr.id if expr is not None else ''}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class CellExecutor:
    """Runs the statements of one cell against a container's carrier memory."""

    def __init__(
        self,
        memory: CarrierMemory,
        *,
        run_id: str,
        cell_id: str,
        wave_on: bool = True,
        scheduler: Scheduler | None = None,
        data_roots: tuple[Any, ...] = (),
        rules: Any = None,
        source: str = "codex",
        on_beam: Callable[[BeamEvent], None] | None = None,
        vault: Any = None,
        bus: Any = None,
        profiler: Any = None,
        precision_cache: dict[str, Any] | None = None,
        governance: Any = None,
        sym_cache: dict[Any, Any] | None = None,
        programs: dict[str, QGlyphProgram] | None = None,
        progress: bool = False,
        live: Any = None,
        cancel: Any = None,
    ) -> None:
        self.memory = memory
        #: A `threading.Event`; once set, the cell stops before its next statement or op.
        self.cancel = cancel
        self.progress = progress
        #: A `LiveFeed` (or None): executed beams and loop progress, published while the cell runs.
        self.live = live
        self.run_id = run_id
        self.cell_id = cell_id
        self.wave_on = wave_on
        self.scheduler = scheduler or Scheduler()
        self.data_roots = data_roots
        self.rules = rules
        self.source = source
        self.on_beam = on_beam
        self.vault = vault
        self.bus = bus
        self.profiler = profiler
        self.governance = governance
        self._drift: dict[str, Any] = {}
        self._beam_data: dict[str, Any] = {}
        self._rules: list[str] = []
        self._precision_cache = precision_cache if precision_cache is not None else {}
        self.result = CellResult()
        self._mode = "auto"
        self._quiet = False
        self._step = 0
        self._stmt_hash = ""
        self._sym_cache: dict[Any, Any] = sym_cache if sym_cache is not None else {}
        self.programs: dict[str, QGlyphProgram] = programs if programs is not None else {}
        self._planned: dict[str, Decision] = {}
        self._goals: list[Any] = []
        self._goal_cache: dict[tuple[Any, ...], Any] = {}

    # ------------------------------------------------------------------------------------------ beams

    def _beam(
        self,
        stage: str,
        token: str,
        result: dict[str, Any],
        parents: list[str] | tuple[str, ...] = (),
        eid: str | None = None,
    ) -> BeamEvent:
        beam = BeamEvent(
            beam_id=new_beam_id(self.cell_id, stage),
            cell_id=self.cell_id,
            sheet_run_id=self.run_id,
            container_id=self.memory.container_id,
            eid=eid,
            stage=stage,
            token=token,
            result=result,
            timestamp=utc_now_iso(),
            parents=list(dict.fromkeys(p for p in parents if p)),
            source=self.source,
        )
        self.result.beams.append(beam)
        if self.on_beam is not None:
            self.on_beam(beam)
        if self.live is not None:
            self.live.beam(beam)
        return beam

    def _summary(self, value: Value) -> dict[str, Any]:
        data = self.materialize(value)
        if isinstance(data, xr.DataArray):
            out = summarize_array(data.values, self.memory.grid.cell_volume)
            if self.vault is not None:
                out["vault_ref"] = self.vault.save(data, out["checksum"])
        elif isinstance(data, (int, float, complex, np.number)) and not isinstance(data, bool):
            out = summarize_number(complex(data) if np.iscomplexobj(data) else float(data))
        elif isinstance(data, bool):
            out = {"shape": [], "dtype": "bool", "value": data, "finite": True}
        elif value.kind == "pair":
            out = {
                "kind": "pair",
                "schmidt_rank": int(data.schmidt_rank),
                "entropy_bits": float(data.entropy_bits),
                "lambdas": [float(v) for v in np.asarray(data.lam)],
                "finite": bool(np.all(np.isfinite(np.asarray(data.lam)))),
            }
        elif value.kind == "measurement":
            out = {
                "kind": "measurement",
                "outcome": [float(v) for v in data.outcome],
                "probability": float(data.probability),
                "mode": data.mode,
                "sigma": float(data.sigma),
                "finite": True,
            }
        else:
            out = {"kind": value.kind, "value": str(data)}
        out["kind"] = value.kind
        if value.expr is not None:
            key = ("text", value.expr)
            if key not in self._sym_cache:
                self._sym_cache[key] = _short(sympy.sstr(value.expr))
            out["expr"] = self._sym_cache[key]
        return out

    # ------------------------------------------------------------------------------------ statements

    def run(self, program: ir.PhotonProgram) -> CellResult:
        """Execute every statement of `program` in order."""
        self._goals = _goal_conditions(program.statements)
        for stmt in program.statements:
            self.result.statements.append(_describe(stmt))
            self.statement(stmt)
        self.result.goals = self._goal_results(final=True)
        return self.result

    def _pending_goals(self, target: str, candidate: Value | None) -> list[Any]:
        """The goals as they stand if `target` is bound to `candidate` (the value being vetted)."""
        if candidate is None or target == "_":
            return self._goal_results()
        previous = self.memory.bindings.get(target)
        self.memory.bindings[target] = Binding(target, candidate)
        try:
            return self._goal_results()
        finally:
            if previous is None:
                self.memory.bindings.pop(target, None)
            else:
                self.memory.bindings[target] = previous

    def _goal_results(self, *, final: bool = False) -> list[Any]:
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
                saved = (self._stmt_hash, self._step)
                try:
                    lhs, rhs = (_as_real(self.evaluate(side, emit=False), self) for side in cond.args)
                    self._goal_cache[key] = goal_result_from_comparison(tag, cond.op, lhs, rhs)
                except CodexError:
                    self._goal_cache[key] = goal_result_from_comparison(tag, cond.op, math.inf, 0.0)
                finally:
                    self._stmt_hash, self._step = saved
            out.append(self._goal_cache[key])
        return out

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CodexCancelled("The run was cancelled before its next instruction; nothing of it was kept.")

    def statement(self, stmt: ir.PStatement) -> None:
        """Execute one statement."""
        self._check_cancel()
        if isinstance(stmt, ir.PDirective):
            changed = self.memory.apply_directive(ast.Directive(stmt.name, tuple(stmt.args)))
            self.result.directives.update(changed)
            self._check_grid()
        elif isinstance(stmt, ir.PDefine):
            self._governed(stmt.name, stmt.expr, defined=True)
        elif isinstance(stmt, ir.PAssign):
            self._governed(stmt.name, stmt.expr, defined=False)
        elif isinstance(stmt, ir.PExpr):
            target = "_"
            if stmt.expr.op == "->" and stmt.expr.args[1].op == "name" and not _is_function(stmt.expr.args[1].value):
                target = stmt.expr.args[1].value
            self._governed(target, stmt.expr, defined=False)
        elif isinstance(stmt, ir.PLoop):
            self._loop(stmt)
        elif isinstance(stmt, ir.PRecord):
            self._record(stmt)

    def _governed(self, target: str, expr: PNode, *, defined: bool) -> None:
        """Run one binding statement, score and vet its beams, and bind the name unless vetoed."""
        blocked = sorted(expr.names() & set(self.memory.vetoed))
        if blocked:
            first = self.memory.vetoed[blocked[0]]
            record = Vetoed(
                target,
                first.law,
                f"not computed: it uses `{blocked[0]}`, vetoed by `{first.law}`",
                first.beam_id,
            )
            self.memory.veto(record)
            self.result.values[target] = record
            return
        start = len(self.result.beams)
        self._rules = []
        try:
            value, bound_expr = self._define(target, expr) if defined else self._assign(target, expr)
        except _ConsentRefused as refusal:
            self._refuse(target, start, str(refusal))
            return
        if self._govern(target, start, value):
            self._bind(target, value, bound_expr, defined=defined)
            if target != "_" and expr.op == "->":
                self._bind("_", value, bound_expr, defined=False)

    def _refuse(self, target: str, start: int, reason: str) -> None:
        """Record a `policy` beam for a refusal before running (consent) and leave the name unbound."""
        parents = [b.beam_id for b in self.result.beams[start:] if b.stage not in ("schedule", "rewrite")]
        beam = self._beam(
            "policy", "⧖", {"law": "consent", "verdict": "veto", "reason": reason, "name": target}, parents
        )
        beam = beam.evolve(verdict="veto")
        self.result.beams[-1] = beam
        from ..sqi import Verdict

        self.result.verdicts.append(Verdict("consent", "veto", reason, beam.beam_id))
        record = Vetoed(target, "consent", reason, beam.beam_id)
        self.memory.veto(record)
        self.result.values[target] = record

    def _govern(self, target: str, start: int, candidate: Value | None = None) -> bool:
        """Score and vet the beams made since `start`; False (and the name vetoed) on a veto."""
        beams = self.result.beams[start:]
        if self.governance is None or self._quiet or not beams:
            return True
        values = {bid: d for bid, d in self._beam_data.items() if any(b.beam_id == bid for b in beams)}
        values.update({b.beam_id: self._beam_data[p] for b in beams for p in b.parents if p in self._beam_data})
        sv = self.governance.statement(
            beams,
            name=target,
            grid=self.memory.grid,
            drift_reports=self._drift,
            rules=self._rules,
            prior_norms=self.memory.norms,
            values=values,
            goals=self._pending_goals(target, candidate) if self._goals else (),
        )
        self.result.beams[start:] = sv.beams
        self.result.verdicts.extend(sv.verdicts)
        self.result.scores.extend(sv.scores)
        for b in sv.beams:
            norm = b.result.get("norm")
            if isinstance(norm, (int, float)):
                self.memory.norms[b.beam_id] = float(norm)
        if sv.veto is None:
            return True
        record = Vetoed(target, sv.veto.law, sv.veto.reason, sv.veto.beam_id or "")
        self.memory.veto(record)
        self.result.values[target] = record
        self.result.exprs.pop(target, None)
        return False

    def _check_grid(self) -> None:
        grid = self.memory.grid
        if self.governance is not None:
            self.governance.check_resources(grid=grid)
        if grid.size > LIMITS["grid_points"]:
            raise ResourceError(
                f"The grid `{grid.describe()}` has {grid.size:,} points, over the limit of "
                f"{LIMITS['grid_points']:,}; use fewer points or raise `LIMITS['grid_points']`."
            )

    def _record(self, stmt: ir.PRecord) -> None:
        from ..photon.intents import extract_intents_from_glyphs

        self.result.intents.extend(extract_intents_from_glyphs([stmt], metadata={"origin": self.source}))

    def _rewrite(self, target: str, expr: PNode) -> PNode:
        from ..photon.rewrite import rewrite

        derivation = (
            rewrite(expr, context=self._rewrite_context(expr))
            if self.rules is None
            else rewrite(expr, rules=self.rules, context=self._rewrite_context(expr))
        )
        self._rules = [st.rule for st in derivation.steps]
        if derivation.steps and not self._quiet:
            self.result.derivations[target] = derivation
            parents = [self.memory.bindings[n].value.beam_id for n in expr.names() if n in self.memory.bindings]
            self._beam(
                "rewrite",
                "→",
                {
                    "before": _printed(expr),
                    "after": _printed(derivation.result),
                    "steps": [
                        {"rule": s.rule, "before": _printed(s.before), "after": _printed(s.after)}
                        for s in derivation.steps
                    ],
                },
                [p for p in parents if p],
            )
            self.result.trace.append({"kind": "rewrite", "target": target, "steps": len(derivation.steps)})
        return derivation.result

    def _rewrite_context(self, expr: PNode) -> dict[str, Any]:
        """What the rules may assume about the names `expr` reads (constant, t-free, finite)."""
        constants, t_free, finite = set(), set(), set()
        for name in expr.names():
            b = self.memory.bindings.get(name)
            if b is None:
                continue
            v = b.value
            if v.kind == "number":
                constants.add(name)
                t_free.add(name)
                if v.data is not None and np.isfinite(complex(v.data)):
                    finite.add(name)
            elif v.expr is not None:
                if _T not in getattr(v.expr, "free_symbols", set()):
                    t_free.add(name)
            elif isinstance(v.data, xr.DataArray) and "t" not in v.data.dims:
                t_free.add(name)
        return {"constants": constants, "t_free": t_free, "finite": finite, "c": self.memory.wave_c}

    def _define(self, target: str, expr: PNode) -> tuple[Value, PNode]:
        """`name := expr`: kept symbolic where possible; data definitions are evaluated."""
        self._stmt_hash = statement_hash(target, expr)
        expr = self._rewrite(target, expr)
        value = self._define_value(expr)
        parents = [self.memory.bindings[n].value.beam_id for n in expr.names() if n in self.memory.bindings]
        if not self._quiet:
            beam = self._beam("ingest", ":=", {**self._summary(value), "name": target}, [p for p in parents if p])
            value.beam_id = beam.beam_id
            self._keep_data(beam.beam_id, value)
        return value, expr

    def _define_value(self, expr: PNode) -> Value:
        try:
            sym = self._to_sympy_whole(expr)
        except _NoSymbolic:
            sym = None
        if sym is not None:
            return Value(kind_of_expr(sym), expr=sym, path="symbolic")
        return self.evaluate(expr, emit=False)

    def _assign(self, target: str, expr: PNode) -> tuple[Value, PNode]:
        """`name = expr` (and bare expressions as `_`): evaluated op by op with beams."""
        self._stmt_hash = statement_hash(target, expr)
        expr = self._rewrite(target, expr)
        value = self._then(expr) if expr.op == "->" else self.evaluate(expr)
        if value.beam_id is None and not self._quiet:
            beam = self._beam("ingest", "=", {**self._summary(value), "name": target})
            value.beam_id = beam.beam_id
            self._keep_data(beam.beam_id, value)
        return value, expr

    def _keep_data(self, beam_id: str, value: Value) -> None:
        """Remember a field value by beam for SQI entropies within the cell."""
        if isinstance(value.data, xr.DataArray):
            self._beam_data[beam_id] = value.data

    def _bind(self, target: str, value: Value, expr: PNode, *, defined: bool) -> None:
        inputs = tuple(
            (self.memory.bindings[n].value.beam_id or "") for n in sorted(expr.names()) if n in self.memory.bindings
        )
        self.memory.bind(Binding(target, value, expr, defined, inputs))
        for member, role in value.meta.get("members", ()):
            self.memory.members[member] = (target, role)
        if target != "_" or not self._quiet:
            self.result.values[target] = value
            if value.expr is not None:
                self.result.exprs[target] = value.expr

    def _then(self, expr: PNode) -> Value:
        """`a -> name` binds a to name; `a -> f` pipes a into the builtin or glyph f."""
        left, right = expr.args
        value = self.evaluate(left)
        if right.op == "name" and not _is_function(right.value):
            return value
        fname = right.value if right.op in ("name", "call") else None
        if fname is None:
            raise CodexTypeError(f"`->` needs a name or a function on its right, got `{_printed(right)}`.")
        call = ir.node("call", left, *right.args, value=fname, kwargs=right.kwargs)
        return self.evaluate(call)

    # ---------------------------------------------------------------------------------------- loops

    def _loop(self, loop: ir.PLoop) -> None:
        """Run a `⟲` loop in one fused lax loop, else op by op; one `loop` beam with iterations and attractors."""
        count = self._loop_bound(loop.count if loop.count is not None else loop.max, loop)
        body_names = _assigned_names(loop.body)
        read = sorted(set().union(*(e.names() for e in ir.PhotonProgram(loop.body).expressions())) | set())
        parents = [self.memory.bindings[n].value.beam_id for n in read if n in self.memory.bindings]
        saved = (self._mode, self._quiet)
        self._mode, self._quiet = "wave", True
        started = time.perf_counter()
        try:
            fusion = self._fused_loop(loop, count, body_names)
            if not fusion["fused"]:
                fusion.update(self._python_loop(loop, count, body_names))
        finally:
            self._mode, self._quiet = saved
            self._step = 0
            if self.live is not None:
                self.live.loop_done()
        met = fusion.pop("condition_met")
        result = {
            "iterations": fusion.pop("iterations"),
            "bound": count,
            "condition_met": met,
            "attractor": fusion.pop("attractor"),
            "duration_ms": (time.perf_counter() - started) * 1e3,
            "names": body_names,
            **fusion,
        }
        if not met:
            result["warning"] = f"`⟲ until` stopped after {count} iterations without its condition holding."
            self.result.trace.append({"kind": "warning", "message": result["warning"]})
        beam = self._beam("loop", "⟲", result, [p for p in parents if p])
        for name in body_names:
            if name in self.memory.bindings:
                b = self.memory.bindings[name]
                b.value.beam_id = beam.beam_id
                self.result.values[name] = b.value
                if b.value.expr is not None:
                    self.result.exprs[name] = b.value.expr

    def _python_loop(self, loop: ir.PLoop, count: int, body_names: list[str]) -> dict[str, Any]:
        """The loop op by op in Python, watched by an `AttractorTracker`."""
        from .attractors import AttractorTracker

        tracker = AttractorTracker(body_names)
        iterations, met = 0, loop.until is None
        steps: Any = range(count)
        if self.progress and count >= PROGRESS_MIN_ITERATIONS:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=_loop_label(loop, count), leave=False)
        label = _loop_label(loop, count)
        if self.live is not None:
            self.live.progress(label, 0, count, fused=False)
        for k in steps:
            self._step = k
            for stmt in loop.body:
                self.statement(stmt)
            iterations = k + 1
            if self.live is not None:
                self.live.progress(label, iterations, count, fused=False)
            tracker.observe(
                k,
                {n: self.memory.bindings[n].value for n in body_names if n in self.memory.bindings},
                self.materialize,
            )
            if loop.until is not None:
                cond = self.evaluate(loop.until, emit=False)
                if not isinstance(cond.data, bool):
                    raise CodexTypeError("The condition of `⟲ until` must be a comparison of numbers.")
                if cond.data:
                    met = True
                    break
        return {"iterations": iterations, "condition_met": met, "attractor": tracker.attractor()}

    def _fused_loop(self, loop: ir.PLoop, count: int, body_names: list[str]) -> dict[str, Any]:
        """Run the loop with `compile_loop` and bind its results; `{"fused": False, "why_not": …}` if it cannot."""
        from ..qwave.bridge import NotFusable, compile_loop

        why = self._fusion_off(_FUSED_LOOP_PRECISIONS)
        if why is None and count == 0:
            why = "the loop runs no iterations"
        if why is None:
            kinds = sorted({type(s).__name__ for s in loop.body if not isinstance(s, ir.PAssign)})
            if kinds:
                why = f"the body holds {', '.join(kinds)} statements, not only assignments; it runs op by op"
        if why is None:
            vetoed = sorted(set().union(*(s.expr.names() for s in loop.body)) & set(self.memory.vetoed))
            if vetoed:
                why = f"`{vetoed[0]}` is vetoed; the loop runs op by op"
        if why is not None:
            return {"fused": False, "why_not": why}
        body = [(s.name, self._rewrite(s.name, s.expr)) for s in loop.body]
        m = self.memory
        bound: dict[str, Any] = {"count": count} if loop.until is None else {"until": loop.until, "max_iter": count}
        try:
            compiled = compile_loop(
                body,
                body_names,
                m.grid,
                method=m.method,
                c=m.wave_c,
                dtype=_FUSED_LOOP_PRECISIONS[m.precision],
                **bound,
            )
            inputs = {n: self._fused_input(n) for n in compiled.inputs}
            out = compiled(inputs, progress=self._loop_progress(loop, count))
        except NotFusable as err:
            return {"fused": False, "why_not": err.reason}
        self._register(compiled.body)
        fusion: dict[str, Any] = {"fused": True, "qglyph_id": compiled.body.qglyph_id}
        if compiled.condition is not None:
            self._register(compiled.condition)
            fusion["until_qglyph_id"] = compiled.condition.qglyph_id
        exprs = dict(body)
        for name in compiled.assigned:
            if out.iterations > 0 and name in out.values:
                data = _from_array(out.values[name], m.grid)
                self._bind(name, Value(kind_of_data(data), data=data, path="wave"), exprs[name], defined=False)
        fusion.update(iterations=out.iterations, condition_met=out.condition_met, attractor=out.attractor)
        return fusion

    def _loop_progress(self, loop: ir.PLoop, count: int) -> Callable[[int], None] | None:
        """The progress callback a fused loop reports to while it runs (None without a live feed)."""
        live = self.live
        if live is None:
            return None
        label = _loop_label(loop, count)
        live.progress(label, 0, count, fused=True)
        return lambda done: live.progress(label, done, count, fused=True)

    def _fusion_off(self, precisions: dict[str, str]) -> str | None:
        """Why the fused path is off in this cell, or None."""
        m = self.memory
        if not self.wave_on:
            return "the wave path is off (`QWAVE_EXEC_ON=0`)"
        if m.config.get("fuse", True) is False:
            return "fusion is off for this container (`fuse=False`)"
        if self.profiler is not None:
            return "profiling runs every op in every format, one by one"
        if m.precision not in precisions:
            return f"`@precision {m.precision}` runs op by op"
        return None

    def _fused_input(self, name: str) -> Any:
        """A name's current value as a raw array or number for a fused program (NotFusable otherwise)."""
        from ..qwave.bridge import NotFusable

        value = self.memory.get(name).value
        data = self.materialize(value)
        arr = _grid_array(data, self.memory.grid)
        if arr is None:
            raise NotFusable(f"`{name}` is a {value.kind}, not a number or a field on the grid; run it op by op.")
        return arr

    def _register(self, program: QGlyphProgram) -> None:
        """Keep a compiled program by id, so a `qglyph_id` written in a beam resolves (`Lab.qglyph`)."""
        self.programs.setdefault(program.qglyph_id, program)

    def _loop_bound(self, bound: PNode | None, loop: ir.PLoop) -> int:
        if bound is None:
            raise CodexValueError("`⟲ until` needs a bound: write `⟲ until C max N { … }`.")
        v = self.evaluate(bound, emit=False)
        n = self.materialize(v)
        if not isinstance(n, (int, float)) or isinstance(n, bool) or n < 0 or int(n) != n:
            raise CodexValueError(f"A loop count must be a whole number ≥ 0, got `{_printed(bound)}`.")
        if n > LIMITS["loop_iterations"]:
            raise ResourceError(
                f"The loop asks for {int(n):,} iterations, over the limit of {LIMITS['loop_iterations']:,}."
            )
        return int(n)

    # ----------------------------------------------------------------------------------- expressions

    def evaluate(self, expr: PNode, *, emit: bool = True) -> Value:
        """Evaluate an expression DAG bottom-up (each shared node once)."""
        memo: dict[str, Value] = {}
        saved = self._quiet
        self._quiet = self._quiet or not emit
        try:
            if self._quiet or not self._fused(expr, memo):
                for n in ir.walk(expr):
                    memo[n.id] = self._node(n, memo)
        finally:
            self._quiet = saved
            self._planned.clear()
        return memo[expr.id]

    # ----------------------------------------------------------------------------------------- fusion

    def _fused(self, expr: PNode, memo: dict[str, Value]) -> bool:
        """Evaluate a whole expression in one fused call if it is fusable and every op takes the wave path.

        Decides every op first (as op by op would), runs the program once, then writes one schedule beam
        and one op beam per op with the fused call's time split evenly. False (nothing bound, decisions
        kept for the op-by-op run) when it cannot: the expression is scalar-only or a single op, an op is
        not fusable, an input is not a number or a field on the grid, or an op takes the symbolic path.
        """
        from ..qwave.bridge import NotFusable, compile_program, to_wave_program

        nodes = list(ir.walk(expr))
        ops = [n for n in nodes if not n.is_leaf]
        if len(ops) < 2 or self._fusion_off(_FUSED_STATEMENT_PRECISIONS) is not None:
            return False
        program = to_wave_program(expr)
        instr = {i.node: i.id for i in program.instructions}
        if not program.fusable or any(n.id not in instr for n in ops):
            return False
        if self.governance is not None and any(self.governance.consent_refusal(n.op) for n in ops):
            return False
        m = self.memory
        try:
            inputs = {name: self._fused_input(name) for name in program.inputs}
            compiled = compile_program(
                program, m.grid, method=m.method, c=m.wave_c, dtype=_FUSED_STATEMENT_PRECISIONS[m.precision]
            )
            shapes = self._fused_shapes(compiled, inputs)
        except (NotFusable, CodexNameError):
            return False
        if all(not s.shape for s in shapes.values()) and all(np.ndim(v) == 0 for v in inputs.values()):
            return False
        planned: dict[str, tuple[Decision, Any]] = {}
        values: dict[str, Value] = {}
        for n in nodes:
            if n.is_leaf:
                values[n.id] = self._node(n, values)
                continue
            kids = [values[c.id] for c in n.args]
            decision, sym_expr = self._decide(n, kids)
            planned[n.id] = (decision, sym_expr)
            if decision.path != "wave":
                self._planned.update({k: d for k, (d, _) in planned.items()})
                return False
            shape = shapes[instr[n.id]]
            values[n.id] = Value(_kind_of_shape(shape, m.grid), expr=sym_expr, path="wave")
        started = time.perf_counter()
        out = _block(compiled(inputs))
        elapsed = (time.perf_counter() - started) * 1e3
        self._register(program)
        share = elapsed / len(ops)
        for n in ops:
            decision, sym_expr = planned[n.id]
            kids = [values[c.id] for c in n.args]
            parents = [k.beam_id for k in kids if k.beam_id]
            schedule_id = self._beam("schedule", _token(n), decision.as_result(), parents).beam_id
            data = _from_array(out[instr[n.id]], m.grid)
            value = Value(kind_of_data(data), expr=sym_expr, data=data, path="wave", meta={"precision": m.precision})
            self.scheduler.observe(decision, share)
            self._publish_kernel(_token(n), "wave", share)
            result = {
                **self._summary(value),
                "path": "wave",
                "backend": decision.backend,
                "precision": m.precision,
                "duration_ms": share,
                "predicted_ms": decision.predicted_ms,
                "schedule_beam": schedule_id,
                "fused": True,
                "qglyph_id": program.qglyph_id,
                "fused_ms": elapsed,
                "duration_split": f"the fused call's time split evenly over its {len(ops)} ops",
            }
            stage = "wave" if n.op == "call" else lookup(n.op).stage
            beam = self._beam(stage, _token(n), result, parents)
            value.beam_id = beam.beam_id
            self._after_op(beam.beam_id, value, _token(n), kids)
            if n.op != "call":
                self.result.trace.append({"kind": "glyph", "glyph": n.op, "path": "wave", "ms": share})
            values[n.id] = value
        memo.update(values)
        return True

    def _fused_shapes(self, compiled: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        """Every instruction's result shape and dtype (traced once per program and input shapes)."""
        import jax

        key = (
            "fused-shapes",
            compiled.qglyph_id,
            compiled.spec,
            tuple((n, np.shape(v), np.result_type(v).str) for n, v in sorted(inputs.items())),
        )
        if key not in self._sym_cache:
            structs = {n: jax.ShapeDtypeStruct(np.shape(v), np.result_type(v)) for n, v in inputs.items()}
            self._sym_cache[key] = jax.eval_shape(compiled, structs)
        return self._sym_cache[key]  # type: ignore[no-any-return]

    def _decide(self, n: PNode, kids: list[Value]) -> tuple[Decision, Any]:
        """The scheduler's decision for one op or call node, as `_op` and `_call` make it, and its exact form."""
        if n.op == "call":
            from .builtins import NUMERIC_BUILTINS

            fname = n.value
            sym_expr = self._try_symbolic(n, kids, {}) if fname in _symbolic_builtins() else None
            wave = self.wave_on and fname in NUMERIC_BUILTINS
        else:
            ins = lookup(n.op)
            fname = n.op
            sym_expr = self._try_symbolic(n, kids, {}) if ins.symbolic else None
            wave = self.wave_on and ins.wave is not None and self._wave_applies(n.op, kids)
        decision = self.scheduler.decide(
            fname,
            kids,
            sym_available=sym_expr is not None,
            wave_available=wave,
            grid=self.memory.grid,
            mode=self._mode,
            expr=sym_expr,
        )
        return decision, sym_expr

    def _node(self, n: PNode, memo: dict[str, Value]) -> Value:
        self._check_cancel()
        op = n.op
        if op == "num":
            return Value("number", expr=_sym_number(n.value), data=n.value)
        if op == "imag":
            return Value("number", expr=sympy.I, data=1j)
        if op == "str":
            return Value("string", data=n.value)
        if op == "coord":
            return self._coord(n.value)
        if op == "name":
            if n.value in self.memory.members and self._is_pair_member_read(n):
                pass
            return self.memory.get(n.value).value
        kids = [memo[c.id] for c in n.args]
        kw = {k: memo[v.id] for k, v in n.kwargs}
        if op == "call":
            return self._call(n, kids, kw)
        if op == "->":
            raise CodexTypeError("`->` may only stand at the top of a statement, e.g. `Δψ -> L`.")
        return self._op(n, kids, kw)

    def _wave_applies(self, glyph: str, kids: list[Value]) -> bool:
        """Time derivatives run on the grid only along a `t` axis; otherwise only the exact path can."""
        if glyph not in _TIME_GLYPHS:
            return True
        return self.memory.grid is not None and "t" in self.memory.grid.names

    def _is_pair_member_read(self, n: PNode) -> bool:
        return True

    def _coord(self, axis: str) -> Value:
        sym = sympy.Symbol(axis, real=True)
        return Value("field", expr=sym)

    def _op(self, n: PNode, kids: list[Value], kw: dict[str, Value]) -> Value:
        glyph = n.op
        ins = lookup(glyph)
        if self.governance is not None:
            refusal = self.governance.consent_refusal(glyph)
            if refusal is not None:
                raise _ConsentRefused(refusal)
        if glyph == "⧖" and n.args[0].op == "name" and n.args[0].value in self.memory.members:
            return self._measure_member(n, n.args[0].value, kids)
        sym_expr = self._try_symbolic(n, kids, kw) if ins.symbolic and not self._quiet else None
        decision = self._planned.pop(n.id, None) or self.scheduler.decide(
            glyph,
            kids,
            sym_available=sym_expr is not None,
            wave_available=self.wave_on and ins.wave is not None and self._wave_applies(glyph, kids),
            grid=self.memory.grid,
            mode=self._mode,
            expr=sym_expr,
        )
        schedule_id = None
        parents = [k.beam_id for k in kids if k.beam_id]
        if not self._quiet:
            schedule_id = self._beam("schedule", glyph, decision.as_result(), parents).beam_id
        started = time.perf_counter()
        if decision.path == "symbolic":
            value = Value(kind_of_expr(sym_expr), expr=sym_expr, path="symbolic")
            self.materialize(value)
            stage = "symbolic"
        else:
            out, meta = self._wave(
                ins, [self.materialize(k) for k in kids], {k: self.materialize(v) for k, v in kw.items()}
            )
            value = Value(kind_of_data(out), expr=sym_expr, data=out, path="wave", meta=meta)
            stage = ins.stage
        elapsed = (time.perf_counter() - started) * 1e3
        self.scheduler.observe(decision, elapsed)
        self._publish_kernel(glyph, decision.path, elapsed)
        if value.kind == "pair":
            self._tag_pair(n, value)
        if self._quiet:
            return value
        result = {
            **self._summary(value),
            "path": decision.path,
            "backend": decision.backend,
            "precision": value.meta.get("precision", self.memory.precision) if decision.path == "wave" else "exact",
            "duration_ms": elapsed,
            "predicted_ms": decision.predicted_ms,
            "schedule_beam": schedule_id,
        }
        if "precision_reason" in value.meta:
            result["precision_reason"] = value.meta["precision_reason"]
        beam = self._beam(stage, glyph, result, parents, eid=value.meta.get("eid"))
        value.beam_id = beam.beam_id
        self._after_op(beam.beam_id, value, glyph, kids)
        if value.kind == "pair":
            self._link_members(value, beam)
        self.result.trace.append({"kind": "glyph", "glyph": glyph, "path": decision.path, "ms": elapsed})
        return value

    def _after_op(self, beam_id: str, value: Value, glyph: str, kids: list[Value]) -> None:
        """Keep the op's data for SQI and measure its discretization drift against the exact form."""
        self._keep_data(beam_id, value)
        if self.governance is None or value.path != "wave" or value.expr is None:
            return
        norms = [_l2(self.materialize(k), self.memory.grid.cell_volume) for k in kids]
        finite = [n for n in norms if n is not None]
        report = self.governance.drift_report(
            value.data, value.expr, self.memory.grid, glyph, max(finite) if finite else None
        )
        if report is not None:
            self._drift[beam_id] = report

    def _publish_kernel(self, op: str, path: str, elapsed_ms: float) -> None:
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

    def _context(self) -> ExecContext:
        m = self.memory
        return ExecContext(
            grid=m.grid,
            method=m.method,
            c=m.wave_c,
            dtype=m.precision,
            seed=m.seed,
            statement_hash=self._stmt_hash,
            step=self._step,
            data_roots=self.data_roots,
        )

    def _wave(self, ins: Any, operands: list[Any], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Run a wave kernel in the scroll's precision (`auto`: per-op recommendation); profile it."""
        from . import precision as rp

        ctx = self._context()
        fmt = self.memory.precision
        meta: dict[str, Any] = {}
        fields = [o for o in operands if isinstance(o, xr.DataArray)]
        # The κ probes feed scalar fields on the grid; ops on vector fields run in fp64 instead.
        scalar = len(fields) == len(operands) > 0 and not any("component" in o.dims for o in fields)
        profiled = scalar and ins.precision_class in rp.PROFILED_CLASSES
        if fmt == "auto":
            fmt = "fp64"
            if profiled:
                tol = float(self.memory.extras.get("precision_tol", 1e-3))
                rec = rp.choose_format(ins.glyph, len(operands), ctx, tol, self.profiler, self._precision_cache)
                fmt = rec.format if isinstance(rec.format, str) else rec.format.name
                meta["precision_reason"] = rec.reason
        with np.errstate(all="ignore"):
            if fmt in ("fp64", "fp32") or not profiled:
                out = ins.wave([self._cast(o, fmt) for o in operands], ctx, kwargs)
            else:
                out = rp.run_op_in_format(ins, operands, ctx, kwargs, fmt)
            if self.profiler is not None and profiled:
                rp.profile_op(self.profiler, ins, operands, ctx, kwargs)
        meta["precision"] = fmt
        return out, meta

    def _cast(self, data: Any, fmt: str | None = None) -> Any:
        """Cast field operands to the scroll's precision (fp64 reference, fp32 native)."""
        fmt = fmt or self.memory.precision
        if not isinstance(data, xr.DataArray) or fmt in ("fp64", "auto"):
            return data
        if fmt == "fp32":
            target = np.complex64 if np.iscomplexobj(data.values) else np.float32
            return data.astype(target)
        return data

    # ----------------------------------------------------------------------------------- pairs, ⧖

    def _tag_pair(self, n: PNode, value: Value) -> None:
        h = hashlib.blake2b(f"{n.id}:{self._stmt_hash}:{self._step}".encode(), digest_size=8).hexdigest()
        eid = f"eid::{self.run_id}::{h}"
        value.meta["eid"] = eid
        try:
            value.data.eid = eid
        except AttributeError:
            pass
        members = [(c.value, role) for c, role in zip(n.args, ("A", "B"), strict=False) if c.op == "name"]
        value.meta["members"] = members
        if eid not in self.result.eids:
            self.result.eids.append(eid)

    def _link_members(self, value: Value, beam: BeamEvent) -> None:
        pair = value.data
        for member, role in value.meta.get("members", ()):
            b = self.memory.bindings.get(member)
            self.result.links.append(
                {
                    "eid": value.meta["eid"],
                    "beam_id": (b.value.beam_id if b and b.value.beam_id else beam.beam_id),
                    "cell_id": self.cell_id,
                    "role": role,
                    "schmidt_rank": int(pair.schmidt_rank),
                    "entropy_bits": float(pair.entropy_bits),
                }
            )

    def _measure_member(self, n: PNode, member: str, kids: list[Value]) -> Value:
        """`⧖a` on a pair member: sample from the pair's marginal and update the pair (Kraus on A)."""
        from ..qwave import measure, prng

        pair_name, role = self.memory.members[member]
        pair_binding = self.memory.get(pair_name)
        pair = pair_binding.value.data
        key = prng.derive_key(self.memory.seed, self._stmt_hash, self._step)
        started = time.perf_counter()
        record, new_pair = measure.measure_pair(pair, member=role, key=key)
        elapsed = (time.perf_counter() - started) * 1e3
        eid = pair_binding.value.meta.get("eid")
        try:
            new_pair.eid = eid
        except AttributeError:
            pass
        value = Value("measurement", data=record, path="wave", meta={"eid": eid})
        parents = [p for p in (pair_binding.value.beam_id, kids[0].beam_id) if p]
        if not self._quiet:
            beam = self._beam(
                "collapse",
                "⧖",
                {
                    **self._summary(value),
                    "member": member,
                    "role": role,
                    "path": "wave",
                    "duration_ms": elapsed,
                    "entropy_bits_after": float(new_pair.entropy_bits),
                },
                parents,
                eid=eid,
            )
            value.beam_id = beam.beam_id
        new_value = Value(
            "pair",
            data=new_pair,
            path="wave",
            beam_id=value.beam_id or pair_binding.value.beam_id,
            meta=dict(pair_binding.value.meta),
        )
        members = {m: r for m, (p, r) in self.memory.members.items() if p == pair_name}
        self.memory.bindings[pair_name] = Binding(pair_name, new_value, pair_binding.node, pair_binding.defined)
        for m, r in members.items():
            self.memory.members[m] = (pair_name, r)
        self.result.values[pair_name] = new_value
        return value

    # ---------------------------------------------------------------------------------------- calls

    def _call(self, n: PNode, kids: list[Value], kw: dict[str, Value]) -> Value:
        from .builtins import NUMERIC_BUILTINS, call_numeric

        fname = n.value
        sym_expr = None
        if fname in _symbolic_builtins():
            sym_expr = self._try_symbolic(n, kids, kw)
        if sym_expr is None and fname not in NUMERIC_BUILTINS:
            if not _is_function(fname):
                known = sorted(set(NUMERIC_BUILTINS) | _symbolic_builtins())
                raise CodexNameError(
                    f"`{fname}` is not a function{did_you_mean(fname, known)}; the builtins are "
                    f"{', '.join(f'`{k}`' for k in known)}."
                )
        registered = INSTRUCTIONS.get(fname) if fname not in NUMERIC_BUILTINS else None
        decision = self._planned.pop(n.id, None) or self.scheduler.decide(
            fname,
            kids,
            sym_available=sym_expr is not None,
            wave_available=self.wave_on
            and (fname in NUMERIC_BUILTINS or (registered is not None and registered.wave is not None)),
            grid=self.memory.grid,
            mode=self._mode,
            expr=sym_expr,
        )
        parents = [k.beam_id for k in kids + list(kw.values()) if k.beam_id]
        schedule_id = None
        if not self._quiet:
            schedule_id = self._beam("schedule", fname, decision.as_result(), parents).beam_id
        started = time.perf_counter()
        if decision.path == "symbolic":
            value = Value(kind_of_expr(sym_expr), expr=sym_expr, path="symbolic")
            self.materialize(value)
            stage = "symbolic"
        else:
            args = [self._cast(self.materialize(k)) for k in kids]
            kwargs = {k: self.materialize(v) for k, v in kw.items()}
            with np.errstate(all="ignore"):
                if registered is not None and registered.wave is not None:
                    out = registered.wave(args, self._context(), kwargs)
                else:
                    out = call_numeric(fname, args, kwargs, self._context())
            value = Value(kind_of_data(out), expr=sym_expr, data=out, path="wave")
            stage = "ingest" if fname in ("load", "random") else "wave"
        elapsed = (time.perf_counter() - started) * 1e3
        self.scheduler.observe(decision, elapsed)
        self._publish_kernel(fname, decision.path, elapsed)
        if self._quiet:
            return value
        result = {
            **self._summary(value),
            "path": decision.path,
            "backend": decision.backend,
            "precision": self.memory.precision if decision.path == "wave" else "exact",
            "duration_ms": elapsed,
            "predicted_ms": decision.predicted_ms,
            "schedule_beam": schedule_id,
        }
        beam = self._beam(stage, fname, result, parents)
        value.beam_id = beam.beam_id
        self._after_op(beam.beam_id, value, fname, kids)
        return value

    # ------------------------------------------------------------------------------------- symbolic

    def _space(self) -> tuple[str, ...]:
        """The grid's axis names (`t` included: `□` needs to know a time axis exists)."""
        return self.memory.grid.names

    def _try_symbolic(self, n: PNode, kids: list[Value], kw: dict[str, Value]) -> Any:
        """The exact result of one op from its operands' exact forms, or None if there is none."""
        from ..photon.symbolic import NoSymbolicForm, to_sympy

        if any(k.expr is None for k in kids) or any(v.expr is None for v in kw.values()):
            return None
        key = (
            "op",
            n.op,
            n.value,
            self._space(),
            self.memory.wave_c,
            tuple(k.expr for k in kids),
            tuple((k, v.expr) for k, v in kw.items()),
        )
        if key in self._sym_cache:
            return self._sym_cache[key]
        env = {f"__a{i}": k.expr for i, k in enumerate(kids)}
        env.update({f"__k_{k}": v.expr for k, v in kw.items()})
        placeholder = ir.PNode(
            n.op,
            tuple(ir.PNode("name", (), f"__a{i}") for i in range(len(kids))),
            n.value,
            tuple((k, ir.PNode("name", (), f"__k_{k}")) for k in kw),
        )
        try:
            out = to_sympy(placeholder, env, coords=self._space(), constants={"c": self.memory.wave_c})
        except NoSymbolicForm:
            out = None
        self._sym_cache[key] = out
        return out

    def _to_sympy_whole(self, expr: PNode) -> Any:
        """The exact form of a whole definition, from the exact forms of the names it reads."""
        from ..photon.symbolic import NoSymbolicForm, to_sympy

        env = {}
        for name in expr.names():
            b = self.memory.get(name)
            if b.value.expr is None:
                raise _NoSymbolic
            env[name] = b.value.expr
        try:
            return to_sympy(expr, env, coords=self._space(), constants={"c": self.memory.wave_c})
        except NoSymbolicForm:
            raise _NoSymbolic from None

    def materialize(self, value: Value) -> Any:
        """The numeric data of a value, putting its exact form on the grid the first time."""
        if value.data is not None or value.expr is None:
            return value.data
        expr = value.expr
        grid = self.memory.grid
        if value.kind == "number":
            z = complex(sympy.N(expr))
            value.data = z.real if z.imag == 0 else z
            return value.data
        if value.kind == "bool":
            value.data = bool(expr)
            return value.data
        if _T in getattr(expr, "free_symbols", set()) and not grid.has_time:
            expr = expr.subs(_T, 0)
            value.meta["t"] = "evaluated at t = 0 (the grid has no `t` axis)"
        from ..photon.symbolic import exact_field

        key = ("field", expr, grid.describe())
        cached = self._sym_cache.get(key)
        if cached is None:
            cached = exact_field(expr, grid)
            self._sym_cache[key] = cached
        value.data = cached
        return value.data


class _ConsentRefused(Exception):
    """Internal: `⧖` in a container that requires consent it has not been given."""


class _NoSymbolic(Exception):
    """Internal: a definition has no exact form (it reads data)."""


def _l2(data: Any, cell_volume: float) -> float | None:
    """‖data‖ (Σ|·|²ΔA)^½ of a field, |data| of a number, None otherwise."""
    if isinstance(data, xr.DataArray):
        return float(np.sqrt(np.sum(np.abs(np.asarray(data.values)) ** 2) * cell_volume))
    if isinstance(data, (int, float, complex, np.number)) and not isinstance(data, bool):
        return float(abs(data))
    return None


def _grid_array(data: Any, grid: Any) -> Any:
    """`data` as a raw array (a field on `grid`) or a number, or None if it is neither."""
    if isinstance(data, xr.DataArray):
        names = tuple(grid.names)
        lead = data.ndim - len(names)
        if not 0 <= lead <= 2 or tuple(data.dims[lead:]) != names or data.shape[lead:] != tuple(grid.shape):
            return None
        for axis in grid.axes:
            if axis.name not in data.coords:
                return None
            c, ref = np.asarray(data.coords[axis.name].values), axis.coords
            if not np.allclose([c[0], c[-1]], [ref[0], ref[-1]]):
                return None
        return np.asarray(data.values)
    if isinstance(data, (bool, np.bool_)) or not isinstance(data, (int, float, complex, np.number)):
        return None
    return data.item() if isinstance(data, np.number) else data


def _from_array(x: Any, grid: Any) -> Any:
    """A fused result as the op-by-op path holds it: a field on the grid, a Python number or a bool.

    Fields are wrapped like `make_field` does, less its content hash (a full pass over the data that
    the op-by-op arithmetic results do not carry either).
    """
    from ..qwave.fields import COMPONENT, COMPONENT2, aligned

    a = aligned(x)
    if a.ndim > 0:
        space = tuple(ax.name for ax in grid.space_axes)
        lead = a.shape[: a.ndim - grid.ndim]
        dims = [COMPONENT, COMPONENT2][: len(lead)] + list(grid.names)
        coords: dict[str, Any] = dict(grid.coords())
        for dim, d in zip(dims, lead, strict=False):
            coords[dim] = list(space if d == len(space) else ("x", "y", "z")[:d])
        return xr.DataArray(a, dims=dims, coords=coords, attrs={"units": "1", **grid.to_attrs()})
    if a.dtype == np.bool_:
        return bool(a)
    return complex(a) if np.iscomplexobj(a) else float(a)


def _kind_of_shape(struct: Any, grid: Any) -> Kind:
    """The kind of a fused result from its shape: number (or bool), field, vector or tensor."""
    if not struct.shape:
        return "bool" if struct.dtype == np.bool_ else "number"
    return ("field", "vector", "tensor")[len(struct.shape) - len(grid.shape)]


def _token(n: PNode) -> str:
    """The glyph or function name of an op node, as its beams show it."""
    return str(n.value) if n.op == "call" else n.op


def _block(out: Any) -> Any:
    """Wait for a JAX computation to finish (so its time is measured)."""
    import jax

    return jax.block_until_ready(out)


def _sym_number(v: int | float | complex) -> Any:
    if isinstance(v, complex):
        return sympy.Float(v.real) + sympy.I * sympy.Float(v.imag)
    return sympy.Integer(v) if isinstance(v, int) else sympy.Float(v)


def _symbolic_builtins() -> set[str]:
    from ..photon import builtins

    return set(getattr(builtins, "BUILTINS", {}))


def _is_elementary(fname: str) -> bool:
    from ..photon.context import ELEMENTARY_FUNCS

    return fname in ELEMENTARY_FUNCS


def _is_function(fname: str) -> bool:
    from .builtins import NUMERIC_BUILTINS

    return fname in NUMERIC_BUILTINS or fname in _symbolic_builtins() or fname in INSTRUCTIONS


def _loop_label(loop: ir.PLoop, count: int) -> str:
    return f"⟲ {count}" if loop.until is None else f"⟲ until (max {count})"


def _assigned_names(body: tuple[ir.PStatement, ...]) -> list[str]:
    names: list[str] = []
    for s in body:
        if isinstance(s, (ir.PAssign, ir.PDefine)) and s.name not in names:
            names.append(s.name)
        elif isinstance(s, ir.PLoop):
            names.extend(n for n in _assigned_names(s.body) if n not in names)
    return names


def _printed(n: PNode) -> str:
    from ..photon.printing import to_unicode

    return to_unicode(n)


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(stmt: ir.PStatement) -> str:
    from ..photon.printing import to_unicode

    return to_unicode(stmt)


def _error_location(err: BaseException) -> dict[str, Any]:
    if isinstance(err, CodexError):
        return {"line": err.line, "column": err.column}
    return {}


_ = (Decision, _error_location)


def _goal_conditions(statements: list[Any]) -> list[tuple[str, PNode]]:
    """(tag, comparison) of every Goal record of a cell whose value is a comparison."""
    from ..photon.intents import extract_intents_from_glyphs
    from ..sqi.goals import COMPARISONS

    records = [s for s in statements if isinstance(s, ir.PRecord)]
    out = []
    for intent in extract_intents_from_glyphs(records) if records else []:
        cond = intent.condition
        if intent.type == "Goal" and cond is not None and cond.op in COMPARISONS and len(cond.args) == 2:
            out.append((intent.tag, cond))
    return out


def _as_real(value: Value, executor: CellExecutor) -> float:
    """A goal side as a real number (a number, or a 0-d field); anything else cannot be compared."""
    data = executor.materialize(value)
    if isinstance(data, xr.DataArray):
        if data.ndim:
            raise CodexTypeError("A Goal compares numbers; reduce the field first, e.g. `‖f‖` or `mean(f)`.")
        data = data.item()
    elif hasattr(data, "shape") and hasattr(data, "dtype") and not np.shape(data):
        data = np.asarray(data).item()  # a 0-d NumPy or JAX array (e.g. what `‖f‖` returns)
    if isinstance(data, complex):
        if data.imag:
            raise CodexTypeError("A Goal compares real numbers; take `abs(…)` of a complex one.")
        data = data.real
    if isinstance(data, bool) or not isinstance(data, int | float | np.number):
        raise CodexTypeError(f"A Goal compares numbers, got a `{type(data).__name__}`.")
    return float(data)
