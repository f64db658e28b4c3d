"""Op dispatch: the one function that runs planned ops — exact, grid (alone or fused) and host — and
records each: its `schedule` beam (path, reason, predicted cost), its op beam (summary, duration,
compile time, precision actually used), its drift against the exact form, its kernel metrics.

Values on the grid follow one **wall rule**: on a Dirichlet or Neumann axis, the points within the
stencil radius of a wall hold the grid operator's value (its stencil with the boundary condition's
ghost values, computed from the operands' grid values), whichever path runs; the exact path supplies
every other point. So both paths give the same kind (a field on the grid) and agree in the interior
within the discretization error, and at the walls exactly.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy
import xarray as xr

from ..ops import FIELD_KINDS, stencil_radius
from ..photon import ir
from ..qwave.fields import COMPONENT, COMPONENT2, aligned
from .codex_trace import trace_event
from .program import Leaf, Op, Statement
from .values import Value, as_kind, kind_of_data

if TYPE_CHECKING:
    from .machine import Machine

__all__ = [
    "materialize",
    "on_grid",
    "run_ops",
    "wall_zone",
    "as_grid_array",
    "from_array",
    "op_extent",
    "PRECISION_DTYPES",
]

_T = sympy.Symbol("t", real=True)
#: Precisions the grid path runs natively (a fused program in that dtype).
PRECISION_DTYPES = {"fp64": "float64", "fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
_LABELS = {"float64": "fp64", "complex128": "fp64", "float32": "fp32", "complex64": "fp32"}
_LABELS.update({"float16": "fp16", "bfloat16": "bf16"})


class ConsentRefused(Exception):
    """Internal: `⧖` in a container that requires consent it has not been given."""


# ------------------------------------------------------------------------------------ values and data


def materialize(machine: Machine, value: Value) -> Any:
    """The data of a value, putting its exact form on the machine's grid the first time."""
    return on_grid(value, machine.memory.grid, machine.sym_cache)


def on_grid(value: Value, grid: Any, cache: dict[Any, Any]) -> Any:
    """The data of a value, putting its exact form on `grid` the first time (a field stays a field;
    `cache` keeps exact fields by expression and grid)."""
    if value.data is not None or value.expr is None:
        return value.data
    # SymPy's complex infinity (log 0, 1/0) has no floating-point form: it is NaN on the grid, which the
    # finite law then vetoes, as it does the grid path's value.
    expr = value.expr.xreplace({sympy.zoo: sympy.nan}) if value.expr.has(sympy.zoo) else value.expr
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
    key = ("field", expr, grid.describe())
    cached = cache.get(key)
    if cached is None:
        from ..qwave.ongrid import exact_field

        cached = exact_field(expr, grid)
        cache[key] = cached
    value.data = cached
    return value.data


def as_grid_array(data: Any, grid: Any) -> Any:
    """`data` as a raw array (a field on `grid`) or a number, or None if it is neither."""
    if isinstance(data, xr.DataArray):
        names = tuple(grid.names)
        lead = data.ndim - len(names)
        if not 0 <= lead <= 2 or tuple(data.dims[lead:]) != names or data.shape[lead:] != tuple(grid.shape):
            return None
        return np.asarray(data.values)
    if isinstance(data, bool | np.bool_) or not isinstance(data, int | float | complex | np.number):
        return None
    return data.item() if isinstance(data, np.number) else data


def from_array(x: Any, grid: Any) -> Any:
    """A raw result as a value holds it: a field on the grid (DataArray), a Python number or a bool."""
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


def wall_zone(grid: Any, radius: int) -> np.ndarray | None:
    """Mask of the points within `radius` of a Dirichlet or Neumann wall, or None on a periodic grid."""
    walls = [i for i, a in enumerate(grid.axes) if a.bc != "periodic" and a.name != "t"]
    if not walls or radius <= 0:
        return None
    mask = np.zeros(grid.shape, dtype=bool)
    for i in walls:
        index: list[Any] = [slice(None)] * grid.ndim
        n = grid.shape[i]
        index[i] = np.r_[0 : min(radius, n), max(n - radius, 0) : n]
        mask[tuple(index)] = True
    return mask


# -------------------------------------------------------------------------------------------- units


def _operands(machine: Machine, op: Op, regs: Mapping[str, Value]) -> list[Value]:
    return [regs[r] for r in op.args]


def _exact(machine: Machine, op: Op, regs: Mapping[str, Value]) -> Value:
    """An exact op: its exact form (a field on the grid when it is one), walls by the grid operator."""
    value = Value(as_kind(op.kind), expr=op.exact, path="exact")
    operands = _operands(machine, op, regs)
    if op.kind not in FIELD_KINDS or machine.quiet:
        return value
    data = materialize(machine, value)
    spec = machine.table.get(op.key)
    patched = spec.order > 0 or any(v.meta.get("walls") for v in operands)
    radius = (
        stencil_radius(spec, machine.grid_method)
        if spec.order > 0
        else max((int(v.meta.get("walls", 0)) for v in operands), default=0)
    )
    zone = wall_zone(machine.memory.grid, radius) if patched and spec.array is not None else None
    if zone is None:
        return value
    reference = machine.compiled_single(op, [materialize(machine, v) for v in operands])
    if reference is None:
        return value
    ref = np.asarray(reference.values)
    values = np.where(np.broadcast_to(zone, ref.shape), ref, np.asarray(data.values))
    value.data = data.copy(data=values.astype(np.result_type(values, ref)))
    value.meta["walls"] = radius
    return value


def _host(machine: Machine, op: Op, code: Statement, regs: Mapping[str, Value]) -> Value:
    """A host op (states, pairs, measurements, data sources, solvers) with its checked keywords."""
    spec = machine.table.get(op.key)
    if op.key == "⧖" and machine.governance is not None:
        refusal = machine.governance.consent_refusal("⧖")
        if refusal is not None:
            raise ConsentRefused(refusal)
    kw_values = {k: materialize(machine, regs[r]) for k, r in op.kwargs}
    kw = spec.resolve_keywords(kw_values)
    leaf = code.registers().get(op.args[0]) if op.args else None
    if op.key == "⧖" and isinstance(leaf, Leaf) and leaf.node.op == "name":
        member = str(leaf.node.value)
        if member in machine.memory.members:
            return _host_label(machine, op, machine.states.measure_member(op, member, regs[op.args[0]], kw))
    args = [_host_arg(machine, regs[r]) for r in op.args]
    host = spec.host
    assert host is not None
    with np.errstate(all="ignore"):
        out = host(args, kw, machine.host_context())
    value = Value(kind_of_data(out), data=out, path="grid")
    if value.kind == "pair":
        machine.states.tag_pair(op, value)
    return _host_label(machine, op, value)


def _host_label(machine: Machine, op: Op, value: Value) -> Value:
    """A host kernel runs at its own precision: the label is the dtype its value has (fp64 for pairs and
    measurements), with the reason when the cell asked for another format."""
    label = _LABELS.get(str(getattr(value.data, "dtype", "float64")), "fp64")
    value.meta["precision"] = label
    wanted = machine.memory.precision
    if wanted not in (label, "auto"):
        value.meta["precision_reason"] = (
            f"`{op.key}` runs on the host in {label}; `@precision {wanted}` applies to grid ops"
        )
    return value


def _host_arg(machine: Machine, value: Value) -> Any:
    """An operand as a host kernel takes it (a coordinate stays its axis name for field makers)."""
    if "coord" in value.meta:
        return value.meta["coord"]
    return materialize(machine, value)


# ------------------------------------------------------------------------------------------ record


def _record(
    machine: Machine, code: Statement, op: Op, value: Value, regs: Mapping[str, Value], timing: dict[str, Any]
) -> None:
    """The schedule and op beams of one executed op, its drift and its kernel metrics."""
    operands = [regs[r] for r in (*op.args, *(r for _, r in op.kwargs))]
    parents = [v.beam_id for v in operands] + [value.meta.get("pair_beam")]
    grid = machine.memory.grid
    points, components = op_extent(grid, op.kind, [v.kind for v in operands])
    precision = value.meta.get("precision", "exact" if op.path == "exact" else machine.memory.precision)
    estimate = machine.estimator.estimate(
        op.key,
        op.path,
        points=points,
        components=components,
        dtype=precision,
        nodes=op.size,
        container=machine.memory.container_id,
    )
    schedule = {
        "path": op.path,
        "backend": _backend(op),
        "reason": op.reason,
        "predicted_ms": estimate.delay,
        "cost": estimate.cost,
        "detail": estimate.detail(),
        "flops": estimate.flops,
        "bytes": estimate.bytes,
        "calibration": estimate.calibration,
    }
    if op.size is not None:
        schedule["exact_nodes"] = op.size
    sched = machine.recorder.add("schedule", op.key, schedule, parents)
    data = materialize(machine, value)
    spec = machine.table.get(op.key)
    result = {
        **machine.recorder.summary(value, data, grid.cell_volume, snapshot=machine.snapshot(code, op)),
        "path": op.path,
        "backend": _backend(op),
        "precision": precision,
        "duration_ms": timing["ms"],
        "compile_ms": timing.get("compile_ms", 0.0),
        "predicted_ms": estimate.delay,
        "schedule_beam": sched.beam_id,
    }
    for key in ("fused", "qglyph_id", "fused_ms", "duration_split", "precision_reason", "walls", "t"):
        if key in value.meta or key in timing:
            result[key] = value.meta.get(key, timing.get(key))
    beam = machine.recorder.add(
        "symbolic" if op.path == "exact" else spec.stage, op.key, result, parents, eid=value.meta.get("eid")
    )
    value.beam_id = beam.beam_id
    machine.after_op(beam.beam_id, op, value, operands)
    if value.kind == "pair":
        machine.states.link_members(value, beam)
    if timing.get("compile_ms", 0.0) == 0.0 and op.path != "exact":
        machine.estimator.observe(estimate, timing["ms"])
    machine.publish_kernel(op.key, op.path, timing["ms"])
    machine.trace.append(trace_event("glyph", glyph=op.key, path=op.path, ms=timing["ms"], beam_id=beam.beam_id))
    machine.trace.append(
        trace_event("prediction", glyph=op.key, path=op.path, predicted_ms=estimate.delay, beam_id=sched.beam_id)
    )


def op_extent(grid: Any, kind: str, operand_kinds: list[str]) -> tuple[int, int]:
    """(points, components) an op's work is counted over: the grid when it or an operand lives on it."""
    points = grid.size if kind in FIELD_KINDS or any(k in FIELD_KINDS for k in operand_kinds) else 1
    components = {"vector": len(grid.space_axes), "tensor": len(grid.space_axes) ** 2}.get(kind, 1)
    return points, components


def _backend(op: Op) -> str:
    return {"exact": "sympy", "grid": "jax", "host": "host"}[op.path]


# --------------------------------------------------------------------------------------------- run


def run_ops(machine: Machine, code: Statement, regs: dict[str, Value]) -> None:
    """Run a statement's ops in the plan's order — each exact or host op alone, each grid group as one
    program — and record them (unless the statement is quiet). `regs` holds the leaves' values and gains
    the ops'."""
    by_reg = {op.reg: op for op in code.ops}
    groups = {g.index: [by_reg[r] for r in g.regs] for g in code.groups}
    for unit, key in code.order:
        if unit == "group":
            _run_group(machine, code, groups[key], regs)
            _profile(machine, code, groups[key], regs)
            continue
        op = by_reg[key]
        machine.check_cancel(code, ("op", op.reg), regs)
        started = time.perf_counter()
        value = _exact(machine, op, regs) if op.path == "exact" else _host(machine, op, code, regs)
        elapsed = (time.perf_counter() - started) * 1e3
        regs[op.reg] = value
        _profile(machine, code, [op], regs)
        if not code.quiet:
            _record(machine, code, op, value, regs, {"ms": elapsed})


def _profile(machine: Machine, code: Statement, ops: list[Op], regs: Mapping[str, Value]) -> None:
    """`PHASE10_ENABLED`: every op's kernel in every format, on the operands it just ran on."""
    if machine.profiler is None or code.quiet:
        return
    from .grid import profile_op

    for op in ops:
        profile_op(machine, op, regs)


def _run_group(machine: Machine, code: Statement, members: list[Op], regs: dict[str, Value]) -> None:
    """One compiled program of grid ops, its run time split evenly over its ops' beams."""
    machine.check_cancel(code, ("group", members[0].group) if len(members) > 1 else ("op", members[0].reg), regs)
    started = time.perf_counter()
    values = machine.run_group(members, regs, code)
    elapsed = (time.perf_counter() - started) * 1e3
    info = machine.last_group_info
    compile_ms = float(info.get("compile_ms", 0.0))
    run_ms = max(elapsed - compile_ms, 0.0)
    for member in members:
        regs[member.reg] = values[member.reg]
    if code.quiet:
        return
    for member in members:
        timing: dict[str, Any] = {"ms": run_ms / len(members), "compile_ms": compile_ms / len(members)}
        if len(members) > 1:
            timing.update(
                fused=True,
                fused_ms=run_ms,
                duration_split=f"the fused call's run time split evenly over its {len(members)} ops",
            )
        _record(machine, code, member, values[member.reg], regs, timing)


def statement_hash(target: str | None, expr: ir.PNode | None) -> str:
    """Content hash of a statement (target and expression), for PRNG keys and run drift."""
    text = f"{target or '_'}={expr.id if expr is not None else ''}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
