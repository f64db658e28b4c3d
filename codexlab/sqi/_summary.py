"""Reading beam summaries and op facts shared by scoring and SoulLaw: numbers, norms, derivative orders."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "STATE_OPS",
    "as_float",
    "beam_field",
    "derivative_order",
    "effective_growth_limit",
    "min_spacing",
    "summary_norm",
]


#: Ops whose result is a state that must have norm 1 (glyphs and their ASCII names).
STATE_OPS: frozenset[str] = frozenset({"⊕", "⊖", "↔", "⧖", "superpose", "cancel", "entangle", "collapse"})


def as_float(value: Any) -> float | None:
    """A summary number as a float: floats, ints, and the `'nan'`/`'inf'` text summaries use; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


def summary_norm(result: Mapping[str, Any]) -> float | None:
    """A beam result's size: its `norm`, else |value| of a number (real or `[re, im]`); None if neither."""
    norm = as_float(result.get("norm"))
    if norm is not None:
        return norm
    value = result.get("value")
    if isinstance(value, list | tuple) and len(value) == 2:
        parts = [as_float(v) for v in value]
        if parts[0] is not None and parts[1] is not None:
            return math.hypot(parts[0], parts[1])
        return None
    number = as_float(value)
    return abs(number) if number is not None else None


def beam_field(beam: Any, name: str, default: Any = None) -> Any:
    """A field of a BeamEvent or of a beam dict."""
    if isinstance(beam, Mapping):
        return beam.get(name, default)
    return getattr(beam, name, default)


def derivative_order(op: str | None) -> int:
    """How many powers of 1/h an op can add to a norm: its spec's derivative order (by glyph or by name,
    e.g. `Δ` or `lap`); 0 for anything that is not a derivative."""
    from codexlab.ops import find_spec, iter_specs

    spec = find_spec(op or "") or next((s for s in iter_specs() if s.name == op), None)
    return spec.order if spec is not None else 0


def min_spacing(spacing: float | Iterable[float] | None) -> float | None:
    """The smallest positive grid spacing of a number or a per-axis sequence (None when unknown)."""
    if spacing is None:
        return None
    values = [float(spacing)] if isinstance(spacing, int | float) else [float(h) for h in spacing]
    positive = [h for h in values if math.isfinite(h) and h > 0]
    return min(positive) if positive else None


def effective_growth_limit(growth_limit: float, op: str | None, spacing: float | Iterable[float] | None) -> float:
    """G = growth_limit · h^(−order): a derivative may grow a norm by 1/h per order.

    Without a spacing the plain limit is used — stricter, so a missing context never loosens the law.
    """
    order = derivative_order(op)
    h = min_spacing(spacing)
    if order == 0 or h is None:
        return float(growth_limit)
    return float(growth_limit) * h ** (-order)
