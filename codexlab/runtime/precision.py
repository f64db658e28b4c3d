"""Precision on the wave path: run an op in the scroll's format, profile it, pick formats for `auto`.

The registry's kernels take DataArrays; the precision package takes raw-array kernels. `raw_kernel`
adapts one to the other so profiling and emulated formats run the very kernel the op runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ..qwave import precision as qp
from ..qwave.fields import make_field
from ..qwave.grid import Grid
from .registry import INSTRUCTIONS, ExecContext, Instruction

__all__ = ["raw_kernel", "run_op_in_format", "ensure_reference_kernel", "PROFILED_CLASSES", "choose_format"]

#: Precision classes whose ops are profiled (states and comparisons are not: their formats are fixed).
PROFILED_CLASSES = frozenset({"stencil1", "stencil2", "pointwise"})


def raw_kernel(ins: Instruction, templates: list[Any], ctx: ExecContext, kwargs: dict[str, Any]) -> Callable[..., Any]:
    """A raw-array kernel that rebuilds the op's DataArray operands around the arrays it is given."""

    def kernel(*arrays: Any) -> Any:
        operands = [
            t.copy(data=np.asarray(a)) if isinstance(t, xr.DataArray) else a
            for t, a in zip(templates, arrays, strict=True)
        ]
        assert ins.wave is not None
        out = ins.wave(operands, ctx, kwargs)
        return np.asarray(out.values) if isinstance(out, xr.DataArray) else np.asarray(out)

    return kernel


def _arrays(operands: list[Any]) -> list[Any]:
    return [np.asarray(o.values) if isinstance(o, xr.DataArray) else o for o in operands]


def run_op_in_format(
    ins: Instruction, operands: list[Any], ctx: ExecContext, kwargs: dict[str, Any], fmt: str
) -> xr.DataArray:
    """Run the op with inputs and output stored in `fmt` (emulated where the CPU lacks it)."""
    values = qp.run_in_format(raw_kernel(ins, operands, ctx, kwargs), _arrays(operands), fmt)
    return make_field(values, ctx.grid)


def ensure_reference_kernel(glyph: str, arity: int, ctx: ExecContext) -> None:
    """Register the op's own kernel as its κ reference (once), so `auto` can measure κ on demand."""
    ins = INSTRUCTIONS[glyph]
    key = qp.canonical_op(glyph)
    if qp.reference_kernel(key) is not None:
        return

    def kernel(*inputs: Any, grid: Grid) -> Any:
        operands = [make_field(np.asarray(a), grid) for a in inputs]
        local = ExecContext(grid=grid, method=ctx.method, c=ctx.c)
        assert ins.wave is not None
        out = ins.wave(operands, local, {})
        return np.asarray(out.values) if isinstance(out, xr.DataArray) else np.asarray(out)

    qp.register_reference_kernel(key, kernel, arity=arity)


def choose_format(
    glyph: str,
    arity: int,
    ctx: ExecContext,
    tol: float,
    profiler: qp.PrecisionProfiler | None,
    cache: dict[str, Any],
) -> qp.Recommendation:
    """`@precision auto`: the cheapest format predicted to meet `tol` for this op on this grid."""
    key = f"{glyph}|{ctx.grid.describe()}|{tol}"
    if key not in cache:
        ensure_reference_kernel(glyph, arity, ctx)
        cache[key] = qp.recommend_precision_for_opcode(glyph, tol, ctx.grid, profiler=profiler)
    return cache[key]


def profile_op(
    profiler: qp.PrecisionProfiler,
    ins: Instruction,
    operands: list[Any],
    ctx: ExecContext,
    kwargs: dict[str, Any],
) -> list[Any]:
    """Profile one executed op in every format (errors vs fp64, time) into the profiler."""
    kernel = raw_kernel(ins, operands, ctx, kwargs)
    return profiler.profile(ins.glyph, kernel, _arrays(operands), grid=ctx.grid)
