"""Precision formats and profiling: run kernels in fp32 … fp4/int8, measure errors, recommend a format.

The error model is rel_err ≈ κ · ε(format), with κ measured per (op, grid spacing) from fp32 vs fp64 —
with the op's own kernel, or its built-in one (`references`), whose κ is cached across processes.
"""

from __future__ import annotations

from .formats import (
    ALL_FORMATS,
    BLOCK_SIZE,
    FORMATS,
    SCALINGS,
    Format,
    Scale,
    dequantize,
    formats_by_cost,
    get_format,
    quantize,
    run_in_format,
)
from .kappa import (
    DEFAULT_KAPPA,
    KAPPA_FLOOR,
    KappaEstimate,
    KappaTable,
    ReferenceKernel,
    as_grid,
    canonical_op,
    derivative_order,
    grid_spacing,
    measure_kappa,
    reference_inputs,
    reference_kernel,
    register_reference_kernel,
    rel_l2,
)
from .profiler import PrecisionProfiler, ProfileRecord
from .recommend import Candidate, Recommendation, recommend_precision_for_opcode
from .references import builtin_kappa, builtin_kernel, builtin_ops

__all__ = [
    "ALL_FORMATS",
    "BLOCK_SIZE",
    "FORMATS",
    "SCALINGS",
    "Format",
    "Scale",
    "dequantize",
    "formats_by_cost",
    "get_format",
    "quantize",
    "run_in_format",
    "DEFAULT_KAPPA",
    "KAPPA_FLOOR",
    "KappaEstimate",
    "KappaTable",
    "ReferenceKernel",
    "as_grid",
    "canonical_op",
    "derivative_order",
    "grid_spacing",
    "measure_kappa",
    "reference_inputs",
    "reference_kernel",
    "register_reference_kernel",
    "rel_l2",
    "PrecisionProfiler",
    "ProfileRecord",
    "Candidate",
    "Recommendation",
    "recommend_precision_for_opcode",
    "builtin_kernel",
    "builtin_ops",
    "builtin_kappa",
]
