"""Entropy of a value: H = −Σ p log p (nats) over p = |ψ|²ΔA normalized to sum 1, and its change.

ΔA is the same at every point, so it cancels in the normalization. A real field uses p ∝ f²; a vector
field uses its pointwise |F|² (summed over the `component` dims of a DataArray). Points with p = 0 are
left out (0·log 0 = 0). Numbers have entropy 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from codexlab.errors import CodexTypeError

__all__ = ["beam_entropies", "entropy_delta", "is_field", "shannon_entropy"]

_COMPONENT_DIMS = ("component", "component2")


def is_field(value: Any) -> bool:
    """Whether a value is a field (a DataArray or an array with at least one axis), not a number."""
    if hasattr(value, "dims") and hasattr(value, "values"):
        return len(value.dims) > 0
    return isinstance(value, np.ndarray) and value.ndim > 0


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | int | float | complex | np.number):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0


def _power(value: Any) -> np.ndarray:
    """|ψ|² / max|ψ|² per grid point (|F|² summed over component dims for a vector DataArray).

    The amplitudes are scaled by their largest before squaring, so tiny or huge fields neither underflow
    nor overflow (the entropy is scale-free); NaN or Inf propagate.
    """
    arr = np.asarray(value.values if hasattr(value, "dims") else value)
    mag = np.abs(arr).astype(np.float64, copy=False)
    top = float(np.max(mag)) if mag.size else 0.0
    if top > 0.0 and math.isfinite(top):
        mag = mag / top
    if hasattr(value, "dims"):
        axes = tuple(value.dims.index(d) for d in value.dims if d in _COMPONENT_DIMS)
        if axes:
            return np.sum(mag**2, axis=axes)
    return mag**2


def shannon_entropy(value: Any) -> float:
    """H = −Σ p log p in nats over p = |ψ|²ΔA / Σ|ψ|²ΔA.

    Returns: 0 for a number or an all-zero field; NaN for a field with NaN/Inf values.
    Raises: `CodexTypeError` for a value that is neither a field nor a number (a pair, a measurement).
    """
    if _is_number(value):
        return 0.0
    if not is_field(value):
        raise CodexTypeError(
            f"Entropy is defined for fields and numbers, got a `{type(value).__name__}`; pass a field "
            "(a pair's entanglement entropy is its `entropy_bits`)."
        )
    with np.errstate(all="ignore"):
        power = _power(value).reshape(-1)
        top = float(np.max(power)) if power.size else 0.0
        if not math.isfinite(top):  # max propagates NaN and reaches inf: one pass instead of isfinite
            return math.nan
        if top == 0.0:
            return 0.0
        # With w = |ψ|²/max and S = Σw: H = −Σ (w/S) log(w/S) = log S − Σ w log w / S (0·log 0 = 0).
        w = power / top
        total = float(np.sum(w))
        logs = np.log(w, out=np.zeros_like(w), where=w > 0)
        return float(math.log(total) - float(np.dot(w, logs)) / total)


def entropy_delta(output: Any, inputs: Iterable[Any]) -> float:
    """H(output) − mean H(field inputs); 0 when no input is a field."""
    fields = [v for v in inputs if is_field(v)]
    if not fields:
        return 0.0
    return shannon_entropy(output) - float(np.mean([shannon_entropy(v) for v in fields]))


def beam_entropies(values_by_beam: Mapping[str, Any]) -> dict[str, float]:
    """Beam id → H of its value, for the values that are fields (what `process_beams` reads)."""
    return {beam_id: shannon_entropy(v) for beam_id, v in values_by_beam.items() if is_field(v)}
