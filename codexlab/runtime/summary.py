"""Result summaries: the op-specific `result` dict of a beam (shape, dtype, min, max, norm, checksum)."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

__all__ = ["summarize_array", "summarize_number", "checksum"]


def checksum(values: np.ndarray) -> str:
    """Content hash of an array's bytes, shape and dtype (blake2b, 24 hex)."""
    arr = np.ascontiguousarray(values)
    h = hashlib.blake2b(digest_size=12)
    h.update(str(arr.dtype).encode())
    h.update(str(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def _finite_or_text(value: float) -> float | str:
    """Floats stay floats; NaN and ±inf become text so the summary stays valid JSON."""
    return value if math.isfinite(value) else repr(value)


def summarize_array(values: Any, cell_volume: float = 1.0) -> dict[str, Any]:
    """Shape, dtype, min, max (of the real part, or of |z| for complex), L2 norm and checksum."""
    arr = np.asarray(values)
    real = np.abs(arr) if np.iscomplexobj(arr) else arr.astype(np.float64, copy=False)
    with np.errstate(all="ignore"):
        norm = float(np.sqrt(np.sum(np.abs(arr) ** 2) * cell_volume))
        lo = float(np.min(real)) if real.size else 0.0
        hi = float(np.max(real)) if real.size else 0.0
    return {
        "shape": list(arr.shape),
        "dtype": str(arr.dtype),
        "min": _finite_or_text(lo),
        "max": _finite_or_text(hi),
        "norm": _finite_or_text(norm),
        "finite": bool(np.all(np.isfinite(arr))),
        "checksum": checksum(arr),
    }


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
