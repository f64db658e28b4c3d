"""Result summaries: the op-specific `result` dict of a beam (shape, dtype, min, max, norm, checksum)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..store.vault import array_checksum as checksum

__all__ = ["summarize_array", "summarize_number", "checksum"]


def _finite_or_text(value: float) -> float | str:
    """Floats stay floats; NaN and ±inf become text so the summary stays valid JSON."""
    return value if math.isfinite(value) else repr(value)


def summarize_array(
    values: Any, cell_volume: float = 1.0, *, stats: Mapping[str, float] | None = None, hashed: bool = True
) -> dict[str, Any]:
    """Shape, dtype, min, max (of the real part, or of |z| for complex), L2 norm and, when `hashed`, the
    checksum. `stats` (`qwave.stats.field_stats` by name, computed in the program that made the values)
    replaces the host passes for min, max and norm."""
    arr = np.asarray(values)
    if stats is not None:
        lo, hi = stats["min"], stats["max"]
        norm = math.sqrt(stats["sumsq"] * cell_volume) if math.isfinite(stats["sumsq"]) else stats["sumsq"]
    else:
        real = np.abs(arr) if np.iscomplexobj(arr) else arr
        with np.errstate(all="ignore"):
            norm = float(np.sqrt(np.vdot(real, real).real * cell_volume)) if real.size else 0.0
            lo = float(np.min(real)) if real.size else 0.0
            hi = float(np.max(real)) if real.size else 0.0
    out = {
        "shape": list(arr.shape),
        "dtype": str(arr.dtype),
        "min": _finite_or_text(lo),
        "max": _finite_or_text(hi),
        "norm": _finite_or_text(norm),
        # min and max propagate NaN and reach ±inf, so both finite ⇔ every entry finite (one pass fewer).
        "finite": math.isfinite(lo) and math.isfinite(hi),
    }
    if hashed:
        out["checksum"] = checksum(arr)
    return out


def summarize_number(value: complex | float | int) -> dict[str, Any]:
    """A number's summary: its value (real, or real and imaginary parts)."""
    if isinstance(value, complex):
        return {
            "shape": [],
            "dtype": "complex128",
            "value": [_finite_or_text(value.real), _finite_or_text(value.imag)],
            "finite": math.isfinite(value.real) and math.isfinite(value.imag),
        }
    v = float(value)
    return {"shape": [], "dtype": "float64", "value": _finite_or_text(v), "finite": math.isfinite(v)}
