"""The error model rel_err ≈ κ · ε(format): κ per (op, grid spacing h), measured from fp32 vs fp64.

κ follows the op's derivative order m: κ ∝ h^−m (a second derivative amplifies rounding by 1/h²).
`KappaTable.lookup` uses measured values at h, interpolates between measured spacings in log h, and
extrapolates outside them with the power law of the op's order (or takes the nearest measured h when
the order is unknown). Reference kernels registered per op let a recommendation measure κ itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ...errors import CodexValueError, did_you_mean
from ..grid import AXIS_NAMES, Axis, Grid
from .formats import FORMATS, run_in_format

__all__ = [
    "KAPPA_FLOOR",
    "KappaEstimate",
    "KappaTable",
    "DEFAULT_KAPPA",
    "ReferenceKernel",
    "canonical_op",
    "derivative_order",
    "as_grid",
    "grid_spacing",
    "rel_l2",
    "measure_kappa",
    "register_reference_kernel",
    "reference_kernel",
    "reference_inputs",
]

#: Lookalike spellings of glyphs (the spec names — `lap`, `grad`, … — are aliases too, see `canonical_op`).
_LOOKALIKES: dict[str, str] = {"∆": "Δ", "∇⋅": "∇·", "·": "•", "⋅": "•", "|·|²": "density"}


def _aliases() -> dict[str, str]:
    from ...ops import iter_specs

    return {**{s.name: s.key for s in iter_specs() if s.name != s.key}, **_LOOKALIKES}


#: Smallest κ stored: no op beats rounding its output once (relative error up to ε/2).
KAPPA_FLOOR = 0.5


def canonical_op(op: str) -> str:
    """The canonical spelling of an op: ASCII aliases (its spec's name) and lookalikes mapped to its glyph."""
    key = str(op).strip()
    return _aliases().get(key, key)


def derivative_order(op: str) -> int | None:
    """The op's derivative order m (κ ∝ h^−m, from its spec), or None when unknown."""
    from ...ops import find_spec

    spec = find_spec(canonical_op(op))
    return None if spec is None else spec.order


def rel_l2(a: Any, b: Any) -> float:
    """Relative L2 error ‖a − b‖ / max(‖b‖, tiny) of `a` against the reference `b`."""
    a64, b64 = np.asarray(a), np.asarray(b)
    if a64.shape != b64.shape:
        raise CodexValueError(
            f"Cannot compare outputs of shapes `{a64.shape}` and `{b64.shape}`; the kernel must return "
            f"the same shape in every format."
        )
    return float(np.linalg.norm((a64 - b64).ravel()) / max(np.linalg.norm(b64.ravel()), np.finfo(float).tiny))


def as_grid(grid: Grid | Sequence[int] | None) -> Grid:
    """A `Grid` from a Grid, a shape tuple ([−1, 1] periodic axes x, y, z, t) or None (the default grid)."""
    if grid is None:
        return Grid.default()
    if isinstance(grid, Grid):
        return grid
    shape = tuple(grid)
    if not shape or len(shape) > len(AXIS_NAMES) or any(int(n) != n for n in shape):
        raise CodexValueError(
            f"Grid shape `{shape}` is not 1 to {len(AXIS_NAMES)} integer point counts; pass e.g. "
            f"`(256, 256)` or a `Grid`."
        )
    return Grid(tuple(Axis(name, -1.0, 1.0, int(n)) for name, n in zip(AXIS_NAMES, shape, strict=False)))


def grid_spacing(grid: Grid | Sequence[int] | None) -> float:
    """The grid spacing h that sets κ: the smallest spacing over the axes."""
    return float(min(as_grid(grid).spacing))


class KappaEstimate(NamedTuple):
    """κ at spacing `h`, how it was obtained, and from which measured spacing."""

    kappa: float
    h: float
    method: str
    source_h: float


def _h_key(h: float) -> float:
    if not (math.isfinite(h) and h > 0):
        raise CodexValueError(f"Grid spacing `h={h}` must be a positive finite number.")
    return float(f"{float(h):.12g}")


class KappaTable:
    """Measured κ per (op, h), with lookups that follow each op's power law κ ∝ h^−m."""

    def __init__(self) -> None:
        self._data: dict[str, dict[float, float]] = {}

    def add(self, op: str, h: float, kappa: float) -> None:
        """Store a measured κ for `op` at spacing `h` (replacing an earlier one at the same h)."""
        if not (math.isfinite(kappa) and kappa > 0):
            raise CodexValueError(f"κ for `{op}` must be a positive finite number, got `{kappa}`.")
        self._data.setdefault(canonical_op(op), {})[_h_key(h)] = float(kappa)

    def __contains__(self, op: object) -> bool:
        return isinstance(op, str) and canonical_op(op) in self._data

    @property
    def ops(self) -> tuple[str, ...]:
        """Ops with at least one measured κ."""
        return tuple(self._data)

    def measured(self, op: str) -> dict[float, float]:
        """The measured κ of `op` by spacing h, in increasing h."""
        return dict(sorted(self._data.get(canonical_op(op), {}).items()))

    def lookup(self, op: str, h: float) -> KappaEstimate | None:
        """κ of `op` at spacing `h`, or None when `op` has no measurement at any spacing."""
        points = self.measured(op)
        if not points:
            return None
        h = _h_key(h)
        if h in points:
            return KappaEstimate(points[h], h, "measured", h)
        hs = list(points)
        order = derivative_order(op)
        below = [x for x in hs if x < h]
        above = [x for x in hs if x > h]
        if below and above:
            h0, h1 = below[-1], above[0]
            w = math.log(h / h0) / math.log(h1 / h0)
            m = order if order is not None else -math.log(points[h1] / points[h0]) / math.log(h1 / h0)
            c0, c1 = math.log(points[h0] * h0**m), math.log(points[h1] * h1**m)
            kappa = math.exp((1 - w) * c0 + w * c1) * h**-m
            return KappaEstimate(kappa, h, "interpolated", h0 if w <= 0.5 else h1)
        near = min(hs, key=lambda x: abs(math.log(x / h)))
        if order is None:
            return KappaEstimate(points[near], h, "nearest", near)
        return KappaEstimate(points[near] * (near / h) ** order, h, "extrapolated", near)

    def as_dict(self) -> dict[str, list[dict[str, float]]]:
        """`{op: [{h, kappa}, …]}`, JSON-safe."""
        return {op: [{"h": h, "kappa": k} for h, k in self.measured(op).items()] for op in self._data}


#: The table that `measure_kappa` and `recommend_precision_for_opcode` use when given none.
DEFAULT_KAPPA = KappaTable()


def measure_kappa(
    op: str,
    kernel: Callable[..., Any],
    inputs: Any,
    h: float,
    *,
    table: KappaTable | None = None,
) -> float:
    """Measure κ = rel_err(fp32 vs fp64) / ε(fp32) for `op` at spacing `h` and store it in `table`.

    `kernel(*inputs)` is run in fp64 and fp32 (see `run_in_format`); κ is at least `KAPPA_FLOOR`.
    The value goes into `table` (default `DEFAULT_KAPPA`). Raises `CodexValueError` for a bad `h`
    or a kernel whose fp32 output is not finite.
    """
    _h_key(h)
    ref = run_in_format(kernel, inputs, "fp64")
    err = rel_l2(run_in_format(kernel, inputs, "fp32"), ref)
    if not math.isfinite(err):
        raise CodexValueError(
            f"The fp32 run of `{op}` is not finite, so κ cannot be measured; check the kernel and inputs."
        )
    kappa = max(err / FORMATS["fp32"].eps, KAPPA_FLOOR)
    (DEFAULT_KAPPA if table is None else table).add(op, h, kappa)
    return kappa


# ------------------------------------------------------------------------------ reference kernels


@dataclass(frozen=True)
class ReferenceKernel:
    """A kernel for an op, called as `kernel(*inputs, grid=grid)`, and its number of inputs."""

    op: str
    kernel: Callable[..., Any]
    arity: int = 1


_REFERENCE_KERNELS: dict[str, ReferenceKernel] = {}


def register_reference_kernel(
    op: str, kernel: Callable[..., Any], *, arity: int = 1, override: bool = False
) -> ReferenceKernel:
    """Register the kernel used to measure κ for `op` on reference inputs when none is known.

    The kernel is called as `kernel(*inputs, grid=grid)` with `arity` smooth Gaussians on the grid
    (see `reference_inputs`). Raises `CodexValueError` when `op` already has one and not `override`.
    """
    key = canonical_op(op)
    if arity < 1:
        raise CodexValueError(f"A reference kernel for `{key}` needs `arity` ≥ 1, got `{arity}`.")
    if key in _REFERENCE_KERNELS and not override:
        raise CodexValueError(f"Op `{key}` already has a reference kernel; pass `override=True` to replace it.")
    entry = ReferenceKernel(key, kernel, int(arity))
    _REFERENCE_KERNELS[key] = entry
    return entry


def reference_kernel(op: str) -> ReferenceKernel | None:
    """The registered reference kernel of `op`, or None."""
    return _REFERENCE_KERNELS.get(canonical_op(op))


def reference_kernel_names() -> tuple[str, ...]:
    """Ops with a registered reference kernel."""
    return tuple(_REFERENCE_KERNELS)


def reference_inputs(grid: Grid | Sequence[int] | None, arity: int = 1) -> tuple[np.ndarray, ...]:
    """`arity` smooth Gaussians on the grid (float64): σ = span/10 per axis, the k-th shifted by k·σ/2."""
    g = as_grid(grid)
    mesh = g.mesh()
    out = []
    for k in range(arity):
        r2 = np.zeros(g.shape)
        for a, x in zip(g.axes, mesh, strict=True):
            span = float(a.hi) - float(a.lo)
            sigma = span / 10
            centre = float(a.lo) + span / 2 + k * sigma / 2
            r2 = r2 + ((x - centre) / sigma) ** 2
        out.append(np.exp(-r2 / 2))
    return tuple(out)


def unknown_op_message(op: str, builtin: tuple[str, ...] = ()) -> str:
    """The error text for an op with no κ and no reference kernel (`builtin`: ops with a built-in one)."""
    known = sorted(set(reference_kernel_names()) | set(DEFAULT_KAPPA.ops) | set(builtin))
    return (
        f"No κ is known for `{op}`{did_you_mean(op, known)} and no reference kernel is registered; "
        f'profile it with `PrecisionProfiler().profile("{op}", kernel, inputs, grid=grid)` (its fp32 '
        f'run measures κ) and pass `profiler=`, or call `register_reference_kernel("{op}", kernel)`.'
    )
