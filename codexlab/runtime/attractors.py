"""Attractors of `⟲` loops: fixed points (‖xₖ₊₁ − xₖ‖ < ε) and cycles (a state hash repeats)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["AttractorTracker", "state_digest"]


def _as_array(data: Any) -> np.ndarray | None:
    if isinstance(data, xr.DataArray):
        return np.asarray(data.values)
    if isinstance(data, (int, float, complex, np.number)) and not isinstance(data, bool):
        return np.asarray(data)
    return None


def state_digest(arrays: list[np.ndarray], decimals: int = 10) -> str:
    """Hash of the loop state rounded to `decimals` places, so cycles up to rounding noise are found."""
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        with np.errstate(all="ignore"):  # huge values overflow when scaled to round; they hash as inf
            q = np.round(a, decimals) + 0.0  # + 0.0 turns −0.0 into 0.0
        h.update(np.ascontiguousarray(q).tobytes())
    return h.hexdigest()


class AttractorTracker:
    """Watches the values a loop assigns and reports the first fixed point or cycle it sees."""

    def __init__(self, names: list[str], *, eps: float = 1e-10) -> None:
        self.names = names
        self.eps = eps
        self._seen: dict[str, int] = {}
        self._previous: list[np.ndarray] | None = None
        self._found: dict[str, Any] | None = None

    def observe(self, k: int, values: Mapping[str, Any], materialize: Callable[[Any], Any]) -> bool:
        """Record iteration `k`'s state; True once an attractor has been found."""
        if self._found is not None:
            return True
        arrays = [a for a in (_as_array(materialize(values[n])) for n in self.names if n in values) if a is not None]
        if not arrays:
            return False
        if self._previous is not None and len(self._previous) == len(arrays):
            with np.errstate(all="ignore"):  # a diverging iterate overflows here; the finite check stops it
                delta = max(float(np.linalg.norm((a - b).ravel())) for a, b in zip(arrays, self._previous, strict=True))
                scale = max(max(float(np.linalg.norm(a.ravel())) for a in arrays), 1.0)
            if delta < self.eps * scale:
                self._found = {"kind": "fixed_point", "iteration": k, "residual": delta}
                return True
        digest = state_digest(arrays)
        if digest in self._seen:
            first = self._seen[digest]
            self._found = {"kind": "cycle", "period": k - first, "iteration": k, "first_seen": first}
            return True
        self._seen[digest] = k
        self._previous = arrays
        return False

    def attractor(self) -> dict[str, Any] | None:
        """The attractor found, if any."""
        return self._found
