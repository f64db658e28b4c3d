"""Execute one cell: statements in order, each op on the symbolic or the wave path, one beam per op.

The executor reads the Photon program, rewrites each expression (keeping the derivation), asks the
scheduler for a path per node, runs it, and records beams with lineage. It never persists: the
caller commits the cell's beams together or not at all (`Lab.run`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
import xarray as xr

from ..contracts import BeamEvent, new_beam_id, utc_now_iso
from ..errors import CodexError, CodexNameError, CodexTypeError, CodexValueError, ResourceError, did_you_mean
from ..lang import ast
from ..photon import ir
from ..photon.ir import PNode
from .memory import Binding, CarrierMemory
from .registry import INSTRUCTIONS, ExecContext, lookup
from .scheduler import Decision, Scheduler
from .summary import summarize_array, summarize_number
from .values import Value, Vetoed, kind_of_data, kind_of_expr

__all__ = ["CellExecutor", "CellResult", "LIMITS"]

_T = sympy.Symbol("t", real=True)
_TIME_GLYPHS = frozenset({"d/dt", "□", "∂t"})

#: Resource limits checked before anything is allocated (SoulLaw's resource law reads these too).
LIMITS = {"grid_points": 64 * 1024 * 1024, "loop_iterations": 1_000_000}

_STATE_GLYPHS = frozenset({"↔", "⧖"})


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
    ) -> None:
        self.memory = memory
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
        return beam

    def _summary(self, value: Value) -> dict[str, Any]:
        data = self.materialize(value)
        if isinstance(data, xr.DataArray):
            out = summarize_array(data.values, self.memory.grid.cell_volume)
            if self.vault is not None:
                out["vault_ref"] = self.vault.save(data)
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
        for stmt in program.statements:
            self.result.statements.append(_describe(stmt))
            self.statement(stmt)
        return self.result

    def statement(self, stmt: ir.PStatement) -> None:
        """Execute one statement."""
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
            if (
                stmt.expr.op == "->"
                and stmt.expr.args[1].op == "name"
                and not _is_function(stmt.expr.args[1].value)
            ):
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
        if self._govern(target, start):
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

    def _govern(self, target: str, start: int) -> bool:
        """Score and vet the beams made since `start`; False (and the name vetoed) on a veto."""
        beams = self.result.beams[start:]
        if self.governance is None or self._quiet or not beams:
            return True
        values = {bid: d for bid, d in self._beam_data.items() if any(b.beam_id == bid for b in beams)}
        values.update(
            {b.beam_id: self._beam_data[p] for b in beams for p in b.parents if p in self._beam_data}
        )
        sv = self.governance.statement(
            beams,
            name=target,
            grid=self.memory.grid,
            drift_reports=self._drift,
            rules=self._rules,
            prior_norms=self.memory.norms,
            values=values,
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
            rewrite(expr, context=self._rewrite_context())
            if self.rules is None
            else rewrite(expr, rules=self.rules, context=self._rewrite_context())
        )
        self._rules = [st.rule for st in derivation.steps]
        if derivation.steps and not self._quiet:
            self.result.derivations[target] = derivation
            parents = [
                self.memory.bindings[n].value.beam_id for n in expr.names() if n in self.memory.bindings
            ]
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

    def _rewrite_context(self) -> dict[str, Any]:
        constants, t_free, finite = set(), set(), set()
        for name, b in self.memory.bindings.items():
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
            beam = self._beam(
                "ingest", ":=", {**self._summary(value), "name": target}, [p for p in parents if p]
            )
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
            (self.memory.bindings[n].value.beam_id or "")
            for n in sorted(expr.names())
            if n in self.memory.bindings
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
        """Run a `⟲` loop on the wave path; one `loop` beam with iterations and attractors."""
        from .attractors import AttractorTracker

        count = self._loop_bound(loop.count if loop.count is not None else loop.max, loop)
        body_names = _assigned_names(loop.body)
        read = sorted(set().union(*(e.names() for e in ir.PhotonProgram(loop.body).expressions())) | set())
        parents = [self.memory.bindings[n].value.beam_id for n in read if n in self.memory.bindings]
        tracker = AttractorTracker(body_names)
        saved = (self._mode, self._quiet)
        self._mode, self._quiet = "wave", True
        iterations, met = 0, loop.until is None
        started = time.perf_counter()
        try:
            for k in range(count):
                self._step = k
                for stmt in loop.body:
                    self.statement(stmt)
                iterations = k + 1
                if tracker.observe(
                    k,
                    {n: self.memory.bindings[n].value for n in body_names if n in self.memory.bindings},
                    self.materialize,
                ):
                    pass
                if loop.until is not None:
                    cond = self.evaluate(loop.until, emit=False)
                    if not isinstance(cond.data, bool):
                        raise CodexTypeError("The condition of `⟲ until` must be a comparison of numbers.")
                    if cond.data:
                        met = True
                        break
        finally:
            self._mode, self._quiet = saved
            self._step = 0
        result = {
            "iterations": iterations,
            "bound": count,
            "condition_met": met,
            "attractor": tracker.attractor(),
            "duration_ms": (time.perf_counter() - started) * 1e3,
            "names": body_names,
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
            for n in ir.walk(expr):
                memo[n.id] = self._node(n, memo)
        finally:
            self._quiet = saved
        return memo[expr.id]

    def _node(self, n: PNode, memo: dict[str, Value]) -> Value:
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
        decision = self.scheduler.decide(
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
            "precision": value.meta.get("precision", self.memory.precision)
            if decision.path == "wave"
            else "exact",
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
                rec = rp.choose_format(
                    ins.glyph, len(operands), ctx, tol, self.profiler, self._precision_cache
                )
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
        self.memory.bindings[pair_name] = Binding(
            pair_name, new_value, pair_binding.node, pair_binding.defined
        )
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
        decision = self.scheduler.decide(
            fname,
            kids,
            sym_available=sym_expr is not None,
            wave_available=self.wave_on and fname in NUMERIC_BUILTINS,
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
