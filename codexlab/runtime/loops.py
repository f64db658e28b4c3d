"""`⟲` loops: fused into one lax loop where the body allows it, else op by op — vetted like any value.

Both kinds stop at the first iterate with a NaN or an Inf (the fused loop carries a finite flag) and
name that iteration. After the loop, one `loop` beam records the run (iterations, bound, condition,
attractor, fused or why not), and each name the body assigned gets its own `loop` beam with its final
value's summary; each passes the vet stage before it is bound — a veto leaves the name unbound and the
statements that read it uncomputed. Attractor search (fixed points, cycles) runs where the loop state is
small (≤ `TRACK_MAX_VALUES` values), or when the container asks (`track_attractors`); on large fields
it costs more than the loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..errors import CodexTypeError, CodexValueError
from .codex_trace import trace_event
from .dispatch import PRECISION_DTYPES, as_grid_array, from_array, materialize
from .memory import Binding
from .program import Statement, check_iterations
from .values import Value, Vetoed, kind_of_data

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["run_loop", "PROGRESS_MIN_ITERATIONS", "TRACK_MAX_VALUES"]

#: Python loops at least this long show a progress bar (when the Lab's `progress` is on).
PROGRESS_MIN_ITERATIONS = 50
#: Loop states up to this many values (128²) get attractor tracking by default: on larger fields the
#: search costs 0.6–1.6× the loop itself (`benchmarks/loops_bench.py`), so it runs only when asked.
TRACK_MAX_VALUES = 1 << 14
#: Precisions a fused loop runs in (`auto` runs in fp64).
_FUSED_LOOP_PRECISIONS = {**{k: PRECISION_DTYPES[k] for k in ("fp64", "fp32")}, "auto": "float64"}


def _label(code: Statement, count: int) -> str:
    assert code.loop is not None
    return f"⟲ {count}" if code.loop.until is None else f"⟲ until (max {count})"


def _count(machine: Machine, code: Statement) -> int:
    """The loop's bound (count, or the max of an until-loop), checked before anything runs."""
    loop = code.loop
    assert loop is not None
    bound = loop.count or loop.bound
    if bound is None:
        raise CodexValueError("`⟲ until` needs a bound: write `⟲ until C max N { … }`.")
    n = materialize(machine, machine.run_quiet(bound))
    if not isinstance(n, int | float) or isinstance(n, bool) or not math.isfinite(n) or n < 0 or int(n) != n:
        raise CodexValueError(f"A loop count must be a whole number ≥ 0, got `{bound.text}`.")
    total = int(n) * machine.loop_scale
    check_iterations(total)
    if machine.governance is not None:
        machine.governance.check_resources(loop_iterations=total)
    return int(n)


def _finite(data: Any) -> bool:
    if isinstance(data, xr.DataArray):
        return bool(np.all(np.isfinite(np.asarray(data.values))))
    if isinstance(data, int | float | complex | np.number) and not isinstance(data, bool):
        return math.isfinite(abs(complex(data)))
    return True


def _track(machine: Machine, names: tuple[str, ...]) -> bool:
    """Attractor search on small states, or when the container says so."""
    asked = machine.memory.config.get("track_attractors")
    if asked is not None:
        return bool(asked)
    size = 0
    for n in names:
        b = machine.memory.bindings.get(n)
        data = b.value.data if b is not None else None
        size += int(np.size(data.values)) if isinstance(data, xr.DataArray) else 1
    return size <= TRACK_MAX_VALUES


# ------------------------------------------------------------------------------------------- Python


def _python_loop(machine: Machine, code: Statement, count: int) -> dict[str, Any]:
    """The loop op by op, watched by an `AttractorTracker`; stops at the first non-finite iterate."""
    from .attractors import AttractorTracker

    loop = code.loop
    assert loop is not None
    names = list(loop.names)
    tracker = AttractorTracker(names) if _track(machine, loop.names) else None
    iterations, met, stopped = 0, loop.until is None, None
    steps: Any = range(count)
    label = _label(code, count)
    if machine.progress and count >= PROGRESS_MIN_ITERATIONS:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=label, leave=False)
    if machine.live is not None:
        machine.live.progress(label, 0, count, fused=False)
    for k in steps:
        machine.step = k
        for stmt in loop.body:
            machine.statement(stmt)
        machine.check_cancel(code, ("end",))
        iterations = k + 1
        if machine.live is not None:
            machine.live.progress(label, iterations, count, fused=False)
        current = {n: machine.memory.bindings[n].value for n in names if n in machine.memory.bindings}
        if not all(_finite(materialize(machine, v)) for v in current.values()):
            stopped = iterations
            break
        if tracker is not None:
            tracker.observe(k, current, lambda v: materialize(machine, v))
        if loop.until is not None:
            blocked = machine.blocked(loop.until)
            if blocked is not None:  # the condition reads a vetoed name: it cannot be decided
                return {
                    "iterations": iterations,
                    "condition_met": False,
                    "attractor": None,
                    "stopped_at": None,
                    "undecided": blocked.reason.replace("not computed: it", "the condition"),
                }
            cond = materialize(machine, machine.run_quiet(loop.until))
            if not isinstance(cond, bool):
                raise CodexTypeError("The condition of `⟲ until` must be a comparison of numbers.")
            if cond:
                met = True
                break
    return {
        "iterations": iterations,
        "condition_met": met,
        "attractor": tracker.attractor() if tracker is not None else None,
        "stopped_at": stopped,
    }


# -------------------------------------------------------------------------------------------- fused


def _why_not_fused(machine: Machine, code: Statement, count: int) -> str | None:
    m = machine.memory
    loop = code.loop
    assert loop is not None
    if not machine.settings.wave_on:
        return "the grid path is off (`QWAVE_EXEC_ON=0`)"
    if m.config.get("fuse", True) is False:
        return "fusion is off for this container (`fuse=False`)"
    if machine.profiler is not None:
        return "profiling runs every op in every format, one by one"
    if machine.on_instruction is not None:
        return "an instruction hook (debugger or instruction profiler) steps the loop op by op"
    if m.precision not in _FUSED_LOOP_PRECISIONS:
        return f"`@precision {m.precision}` runs op by op"
    if count == 0:
        return "the loop runs no iterations"
    kinds = sorted({s.kind for s in loop.body if s.kind != "bind" or s.target is None})
    if kinds:
        return f"the body holds {', '.join(kinds)} statements, not only assignments; it runs op by op"
    vetoed = sorted(set().union(*(s.reads for s in loop.body)) & set(m.vetoed))
    if vetoed:
        return f"`{vetoed[0]}` is vetoed; the loop runs op by op"
    return None


def _fused_loop(machine: Machine, code: Statement, count: int) -> dict[str, Any]:
    """The loop as one lax loop (see `qwave.bridge.compile_loop`), its results bound; or why not."""
    from ..qwave.bridge import NotFusable, compile_loop
    from ..qwave.stats import stats_of

    loop = code.loop
    assert loop is not None
    why = _why_not_fused(machine, code, count)
    if why is not None:
        return {"fused": False, "why_not": why}
    m = machine.memory
    body = [(s.target, s.expr) for s in loop.body]
    bound: dict[str, Any] = {"count": count}
    if loop.node is not None and loop.node.until is not None:
        assert loop.until is not None and loop.until.expr is not None
        bound = {"until": loop.until.expr, "max_iter": count}
    try:
        compiled = compile_loop(
            body,
            list(loop.names),
            m.grid,
            method=machine.grid_method,
            c=m.wave_c,
            dtype=_FUSED_LOOP_PRECISIONS[m.precision],
            track=_track(machine, loop.names),
            **bound,
        )
        inputs = {n: _fused_input(machine, n) for n in compiled.inputs}
        out = compiled(inputs, progress=_progress(machine, code, count))
    except NotFusable as err:
        return {"fused": False, "why_not": err.reason}
    machine.programs.setdefault(compiled.body.qglyph_id, compiled.body)
    fusion: dict[str, Any] = {"fused": True, "qglyph_id": compiled.body.qglyph_id}
    if compiled.condition is not None:
        machine.programs.setdefault(compiled.condition.qglyph_id, compiled.condition)
        fusion["until_qglyph_id"] = compiled.condition.qglyph_id
    exprs = dict(body)
    for name in compiled.assigned:
        if out.iterations > 0 and name in out.values:
            data = from_array(out.values[name], m.grid)
            meta: dict[str, Any] = {"precision": m.precision}
            stats = stats_of(out.values[name], m.grid.ndim)
            if stats is not None:
                meta["stats"] = stats  # the summary and entropy in one compiled pass, not on the host
            value = Value(kind_of_data(data), data=data, path="grid", meta=meta)
            m.bind(Binding(name, value, exprs[name], False))
    fusion.update(
        iterations=out.iterations, condition_met=out.condition_met, attractor=out.attractor, stopped_at=out.stopped_at
    )
    return fusion


def _fused_input(machine: Machine, name: str) -> Any:
    from ..qwave.bridge import NotFusable

    value = machine.memory.get(name).value
    arr = as_grid_array(materialize(machine, value), machine.memory.grid)
    if arr is None:
        raise NotFusable(f"`{name}` is a {value.kind}, not a number or a field on the grid; run it op by op.")
    return arr


def _progress(machine: Machine, code: Statement, count: int) -> Callable[[int], None] | None:
    live = machine.live
    if live is None:
        return None
    label = _label(code, count)
    live.progress(label, 0, count, fused=True)
    return lambda done: live.progress(label, done, count, fused=True)


# ---------------------------------------------------------------------------------------------- run


def run_loop(machine: Machine, code: Statement) -> None:
    """Run one `⟲` statement: bound, body (fused or op by op), then the loop's beams through the vet stage."""
    loop = code.loop
    assert loop is not None
    m = machine.memory
    reads = sorted(set().union(*(s.reads for s in loop.body)) - set(loop.names)) + [
        n for n in loop.names if n in m.bindings
    ]
    parents = [m.bindings[n].value.beam_id for n in reads if n in m.bindings]
    bound = loop.count or loop.bound
    blocked = machine.blocked(bound) if bound is not None else None
    if blocked is not None:  # a bound that reads a vetoed name: the loop is not computed, like a statement
        for name in loop.names:
            record = Vetoed(name, blocked.law, blocked.reason, blocked.beam_id)
            m.veto(record)
            machine.result.values[name] = record
        return
    count = _count(machine, code)
    saved_quiet, saved_scale = machine.quiet, machine.loop_scale
    machine.quiet, machine.loop_scale = True, machine.loop_scale * max(count, 1)
    started = time.perf_counter()
    try:
        run = _fused_loop(machine, code, count)
        if not run["fused"]:
            run.update(_python_loop(machine, code, count))
    finally:
        machine.quiet, machine.loop_scale = saved_quiet, saved_scale
        machine.step = 0
        if machine.live is not None:
            machine.live.loop_done()
    if machine.quiet:
        return
    _loop_beams(machine, code, count, run, parents, (time.perf_counter() - started) * 1e3)


def _loop_beams(
    machine: Machine, code: Statement, count: int, run: dict[str, Any], parents: list[str | None], ms: float
) -> None:
    """The loop's beam and one beam per result name, each through the vet stage."""
    loop = code.loop
    assert loop is not None
    m = machine.memory
    stopped = run.pop("stopped_at", None)
    met = run.pop("condition_met")
    values = {n: m.bindings[n].value for n in loop.names if n in m.bindings}
    result: dict[str, Any] = {
        "iterations": run.pop("iterations"),
        "bound": count,
        "condition_met": met,
        "attractor": run.pop("attractor"),
        "duration_ms": ms,
        "names": list(loop.names),
        "finite": stopped is None,
        **run,
    }
    if stopped is not None:
        result["stopped_at"] = stopped
        result["warning"] = f"`⟲` stopped at iteration {stopped}: a value became NaN or Inf."
        machine.trace.append(trace_event("warning", message=result["warning"]))
    elif run.get("undecided"):
        result["warning"] = f"`⟲ until` stopped after {result['iterations']} iterations: {run['undecided']}."
        machine.trace.append(trace_event("warning", message=result["warning"]))
    elif not met:
        result["warning"] = f"`⟲ until` stopped after {count} iterations without its condition holding."
        machine.trace.append(trace_event("warning", message=result["warning"]))
    start = len(machine.recorder.beams)
    beam = machine.recorder.add("loop", "⟲", result, parents)
    machine.vet("⟲", start, None, code, binds=False)
    for name, value in values.items():
        start = len(machine.recorder.beams)
        data = materialize(machine, value)
        summary = machine.recorder.summary(value, data, m.grid.cell_volume)
        if stopped is not None:
            summary["stopped_at"] = stopped
        named = machine.recorder.add("loop", "⟲", {**summary, "name": name, "loop_beam": beam.beam_id}, [beam.beam_id])
        value.beam_id = named.beam_id
        machine.keep_data(named.beam_id, value)
        if machine.vet(name, start, value, code):
            machine.result.values[name] = value
            if value.expr is not None:
                machine.result.exprs[name] = value.expr
