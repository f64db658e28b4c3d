"""Non-negative least squares for the cost model `delay_ms = a·f1 + b·f2 + c`, robust to timing noise.

Observations are grouped by feature vector (one run size) and each group contributes its low median
(the lower middle value), so a first call that compiles, or a descheduled run on a busy machine, does
not move the fit. The fit minimises the relative error Σ wᵢ((a·f1ᵢ + b·f2ᵢ + c − yᵢ)/yᵢ)², wᵢ the group's
run count, over a, b, c ≥ 0: with three unknowns the exact NNLS solution is the best of the
least-squares fits on each subset of the columns whose coefficients are all non-negative, so every
subset is solved (ties go to the smaller subset, constant first). With a single size the shape of the
model cannot be told from the data: the prior's coefficients are scaled so it predicts that size's
median.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LinearModel", "fit_nonnegative", "low_median"]

#: Columns of a support, smallest first; supports with the constant column (index 2) first.
_SUPPORTS: tuple[tuple[int, ...], ...] = tuple(
    s
    for size in (1, 2, 3)
    for s in sorted(itertools.combinations(range(3), size), key=lambda cols: (2 not in cols, cols))
)
_FLOOR_MS = 1e-6


@dataclass(frozen=True)
class LinearModel:
    """`delay_ms = a·f1 + b·f2 + c` with its provenance: `prior`, `scaled prior` or `fit`."""

    a: float
    b: float
    c: float
    source: str = "prior"
    n: int = 0
    sizes: int = 0

    def predict(self, f1: float, f2: float) -> float:
        """Predicted milliseconds for features (f1, f2)."""
        return max(self.a * f1 + self.b * f2 + self.c, _FLOOR_MS)

    def describe(self) -> str:
        """`fit on 12 runs at 4 sizes`, `prior scaled to 3 runs at 1 size`, or `prior`."""
        if self.source == "fit":
            return f"fit on {self.n} runs at {self.sizes} sizes"
        if self.source == "scaled prior":
            return f"prior scaled to {self.n} runs at 1 size"
        return "prior"


def low_median(values: Sequence[float]) -> float:
    """The median, or the lower of the two middle values for an even count."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def fit_nonnegative(rows: Sequence[tuple[float, float, float]], prior: LinearModel) -> LinearModel:
    """Fit (a, b, c) ≥ 0 to `(f1, f2, actual_ms)` rows; `prior` gives the shape for a single size."""
    groups: dict[tuple[float, float], list[float]] = {}
    for f1, f2, ms in rows:
        if math.isfinite(f1) and math.isfinite(f2) and math.isfinite(ms) and ms >= 0:
            groups.setdefault((float(f1), float(f2)), []).append(max(float(ms), _FLOOR_MS))
    n = sum(len(v) for v in groups.values())
    if not groups:
        return prior
    if len(groups) == 1:
        (f1, f2), ys = next(iter(groups.items()))
        ratio = low_median(ys) / prior.predict(f1, f2)
        return LinearModel(prior.a * ratio, prior.b * ratio, prior.c * ratio, "scaled prior", n, 1)
    keys = list(groups)
    x = np.array([[f1, f2, 1.0] for f1, f2 in keys], dtype=np.float64)
    y = np.array([low_median(groups[k]) for k in keys], dtype=np.float64)
    w = np.sqrt(np.array([len(groups[k]) for k in keys], dtype=np.float64)) / y
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    xs = x / scale
    best: tuple[float, np.ndarray] | None = None
    for cols in _SUPPORTS:
        if any(not np.any(xs[:, c]) for c in cols):
            continue
        a = xs[:, cols] * w[:, None]
        coef, *_ = np.linalg.lstsq(a, y * w, rcond=None)
        if np.any(coef < 0) or not np.all(np.isfinite(coef)):
            continue
        full = np.zeros(3)
        full[list(cols)] = coef
        resid = float(np.sum(((xs @ full - y) * w) ** 2))
        resid = 0.0 if resid < 1e-18 * n else resid  # an exact fit, up to rounding: keep the smaller support
        if best is None or resid < best[0] * (1 - 1e-9):
            best = (resid, full)
    if best is None:
        return prior
    coef = best[1] / scale
    return LinearModel(float(coef[0]), float(coef[1]), float(coef[2]), "fit", n, len(groups))
