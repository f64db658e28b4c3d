"""The grid path of a cell: planned grid ops run as one compiled program per group, in the precision the
container asks for — and each op's label says the precision it actually ran in.

- `fp64`, `fp32`, `fp16`, `bf16`: the group is one jitted program in that dtype (complex values use
  complex64 below fp64, which JAX offers; the label then says `fp32`);
- `fp8_e4m3`, `fp8_e5m2`, `fp4_e2m1`, `int8`: each op alone, inputs and output stored in the format with
  amax scaling, computed in fp32 (`qwave.precision.run_in_format`), labelled with the format;
- `auto`: each op alone in the format `recommend_precision_for_opcode` picks for it on this grid;
- profiling (`PHASE10_ENABLED`) runs each op alone and profiles it in every format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jax
import numpy as np
import xarray as xr

from ..errors import CodexTypeError
from ..photon import ir
from ..qwave.arrays import array_spec
from ..qwave.bridge import NotFusable, compile_program, to_qglyph
from ..qwave.qglyph import QGlyphProgram
from ..qwave.stats import STAT_KEYS
from .dispatch import PRECISION_DTYPES, as_grid_array, from_array, materialize
from .program import Op, Statement
from .values import Value, kind_of_data

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["run_grid_ops", "grid_reference", "label_of", "profile_op"]

#: Precision classes whose ops run in the cell's format (states and comparisons keep theirs: fp64).
PROFILED_CLASSES = frozenset({"stencil1", "stencil2", "pointwise"})
_LABELS = {"float64": "fp64", "complex128": "fp64", "float32": "fp32", "complex64": "fp32"}
_LABELS.update({"float16": "fp16", "bfloat16": "bf16"})


def label_of(dtype: Any) -> str:
    """The precision label of a result's dtype (`fp64`, `fp32`, `fp16`, `bf16`)."""
    return _LABELS.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _program(
    ops: list[Op], regs: Mapping[str, Value], code: Statement | None = None
) -> tuple[QGlyphProgram, dict[str, str], dict[str, str]]:
    """The QGlyph program of a group: container names stay their names (so a stored program runs again
    over a container), other operands from outside the group are inputs `__r…` (numbers too, so one
    program serves every constant), coordinates are computed in the kernel; the statement's value is the
    output named after its target. Returns the program, node id → register, and input name → register."""
    members = {op.reg for op in ops}
    names = {leaf.reg: str(leaf.node.value) for leaf in (code.leaves if code else ()) if leaf.node.op == "name"}
    rebuilt: dict[str, ir.PNode] = {}
    inputs: dict[str, str] = {}
    node_reg: dict[str, str] = {}

    def operand(reg: str) -> ir.PNode:
        if reg in members:
            return rebuilt[reg]
        value = regs[reg]
        if "coord" in value.meta:
            return ir.name(str(value.meta["coord"]))
        label = names.get(reg, f"__{reg}")
        inputs[label] = reg
        return ir.PNode("name", (), label)

    for op in ops:
        n = op.node.with_children(tuple(operand(r) for r in op.args))
        rebuilt[op.reg] = n
        node_reg[n.id] = op.reg
    used = {a for op in ops for a in op.args}
    sinks = [op for op in ops if op.reg not in used]
    target = code.target if code is not None and code.target else "_"
    outputs = [
        (target if code is not None and op.reg == code.root else f"__o{op.reg}", rebuilt[op.reg]) for op in sinks
    ]
    program = to_qglyph(outputs)
    return program, node_reg, inputs


def _inputs(machine: Machine, inputs: Mapping[str, str], regs: Mapping[str, Value]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, reg in inputs.items():
        data = materialize(machine, regs[reg])
        arr = as_grid_array(data, machine.memory.grid)
        if arr is None:
            raise CodexTypeError(
                f"An operand of kind `{regs[reg].kind}` is not a number or a field on the grid; it cannot "
                "run on the grid path."
            )
        out[name] = arr
    return out


def _compiled_values(
    machine: Machine, ops: list[Op], regs: Mapping[str, Value], dtype: str, code: Statement | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Raw results by register of one group compiled in `dtype`, and what happened (compile time, id)."""
    m = machine.memory
    program, node_reg, names = _program(ops, regs, code)
    arrays = _inputs(machine, names, regs)
    try:
        compiled = compile_program(program, m.grid, method=machine.grid_method, c=m.wave_c, dtype=dtype)
        scalars = all(np.ndim(a) == 0 for a in arrays.values()) and not program.coords
        stats: dict[str, Any] = {}
        if scalars:
            out, compile_ms = compiled.eager(arrays), 0.0
        else:
            (out, stats), compile_ms = compiled.run_timed(arrays, stats=True)
    except NotFusable as err:
        raise CodexTypeError(err.reason) from err
    machine.programs.setdefault(program.qglyph_id, program)
    ids = {ins.id: node_reg[ins.node] for ins in program.instructions if ins.node in node_reg}
    by_reg = {reg: out[i] for i, reg in ids.items()}
    host = jax.device_get({ids[i]: v for i, v in stats.items() if i in ids})
    by_stats = {reg: dict(zip(STAT_KEYS, map(float, v), strict=True)) for reg, v in host.items()}
    return by_reg, {"compile_ms": compile_ms, "qglyph_id": program.qglyph_id, "stats": by_stats}


def _single(machine: Machine, op: Op, regs: Mapping[str, Value], fmt: str, reason: str | None) -> tuple[Any, str]:
    """One op in an emulated format (stored in `fmt`, computed in fp32); returns the array and a reason."""
    from ..qwave import precision as qp

    spec = machine.table.get(op.key)
    rule = spec.array
    assert rule is not None
    aspec = array_spec(machine.memory.grid, machine.grid_method, machine.memory.wave_c, "float32")
    arrays = [as_grid_array(materialize(machine, regs[r]), machine.memory.grid) for r in op.args]

    def kernel(*xs: Any) -> Any:
        return rule(list(xs), aspec, {})

    out = qp.run_in_format(kernel, arrays, fmt)
    note = reason or f"emulated: inputs and output stored in `{fmt}` (amax scaling), computed in fp32"
    return out, note


def profile_op(machine: Machine, op: Op, regs: Mapping[str, Value]) -> None:
    """Profile one op in every format — its array rule on the operands it ran on, whichever path ran it —
    into the machine's profiler (ops on numbers, and ops without an array rule, have none)."""
    spec = machine.table.get(op.key)
    rule = spec.array
    if rule is None or machine.profiler is None or spec.precision_class not in PROFILED_CLASSES:
        return
    aspec = array_spec(machine.memory.grid, machine.grid_method, machine.memory.wave_c, "float64")
    arrays = [as_grid_array(materialize(machine, regs[r]), machine.memory.grid) for r in op.args]
    if any(a is None or np.ndim(a) == 0 for a in arrays):
        return

    def kernel(*xs: Any) -> Any:
        return rule(list(xs), aspec, {})

    machine.profiler.profile(op.key, kernel, arrays, grid=machine.memory.grid)


def _auto_format(machine: Machine, op: Op) -> tuple[str, str]:
    """`@precision auto`: the format recommended for this op on this grid, and why."""
    from ..qwave import precision as qp

    tol = float(machine.memory.extras.get("precision_tol", 1e-3))
    key = f"{op.key}|{machine.memory.grid.describe()}|{tol}"
    rec = machine.precision_cache.get(key)
    if rec is None:
        _ensure_reference(machine, op)
        rec = qp.recommend_precision_for_opcode(op.key, tol, machine.memory.grid, profiler=machine.profiler)
        machine.precision_cache[key] = rec
    fmt = rec.format if isinstance(rec.format, str) else rec.format.name
    return fmt, rec.reason


def _ensure_reference(machine: Machine, op: Op) -> None:
    """The op's array rule as its κ reference kernel (so `auto` can measure κ where none is known)."""
    from ..qwave import precision as qp

    key = qp.canonical_op(op.key)
    if qp.reference_kernel(key) is not None:
        return
    rule = machine.table.get(op.key).array
    if rule is None:
        return

    def kernel(*inputs: Any, grid: Any) -> Any:
        return np.asarray(rule(list(inputs), array_spec(grid, machine.grid_method), {}))

    qp.register_reference_kernel(key, kernel, arity=len(op.args))


def run_grid_ops(
    machine: Machine, ops: list[Op], regs: Mapping[str, Value], code: Statement | None = None
) -> tuple[dict[str, Value], dict[str, Any]]:
    """Run one group of grid ops of a statement; the values by register, and timing and program info."""
    fmt = machine.memory.precision
    grid = machine.memory.grid
    info: dict[str, Any] = {}
    if fmt in PRECISION_DTYPES and machine.profiler is None:
        raw, info = _compiled_values(machine, ops, regs, PRECISION_DTYPES[fmt], code)
        values = {}
        for op in ops:
            data = from_array(raw[op.reg], grid)
            label = label_of(np.asarray(raw[op.reg]).dtype)
            meta: dict[str, Any] = {"precision": label, "qglyph_id": info["qglyph_id"]}
            if op.reg in info["stats"]:
                meta["stats"] = info["stats"][op.reg]
            if label != fmt and fmt != "fp64":
                meta["precision_reason"] = f"complex values run in complex64 (JAX has no complex `{fmt}`)"
            values[op.reg] = Value(kind_of_data(data), data=data, path="grid", meta=meta)
        return values, info
    values = {}
    for op in ops:
        on_fields = all(np.ndim(as_grid_array(materialize(machine, regs[r]), grid)) > 0 for r in op.args)
        if machine.table.get(op.key).precision_class not in PROFILED_CLASSES or not on_fields:
            chosen = "fp64" if fmt not in PRECISION_DTYPES else fmt
            reason = (
                None
                if chosen == fmt
                else f"`{op.key}` runs in fp64: `{fmt}` applies to stencil and pointwise ops on fields"
            )
        elif fmt == "auto":
            chosen, reason = _auto_format(machine, op)
        else:
            chosen, reason = fmt, None
        if chosen in PRECISION_DTYPES:
            raw, info = _compiled_values(machine, [op], regs, PRECISION_DTYPES[chosen], code)
            out, label = raw[op.reg], label_of(np.asarray(raw[op.reg]).dtype)
            stats = info["stats"].get(op.reg)
        else:
            out, reason = _single(machine, op, regs, chosen, reason)
            label, stats = chosen, None
        data = from_array(out, grid)
        meta = {"precision": label}
        if stats is not None:
            meta["stats"] = stats
        if reason:
            meta["precision_reason"] = reason
        values[op.reg] = Value(kind_of_data(data), data=data, path="grid", meta=meta)
    return values, info


def grid_reference(machine: Machine, op: Op, operands: list[Any]) -> xr.DataArray | None:
    """The grid operator's value (fp64) of one op on given operand data, for the wall rule."""
    regs = {r: Value(kind_of_data(d), data=d) for r, d in zip(op.args, operands, strict=True)}
    try:
        raw, _ = _compiled_values(machine, [op], regs, "float64")
    except CodexTypeError:
        return None
    data = from_array(raw[op.reg], machine.memory.grid)
    return data if isinstance(data, xr.DataArray) else None
