"""Drift: how far a computed value is from a reference (its exact form, fp64, or the previous run), and
the gaps of a cell; together they give a container's status.

Every drift is a relative L2 distance ‖a − b‖ / max(‖b‖, scale), with `scale` the norm of the op's terms
before they cancel (‖∂ₓFₓ‖ + ‖∂ᵧFᵧ‖ for ∇·F), so an O(h²) error against an exact zero reads as O(h²)
(SEMANTICS). Norms are the fields' L2 norms √(Σ|x|²·ΔA), the same as a beam's `norm`; on a sample of m
of N points the sum is scaled by N/m.

Where the error sits: the outermost `BOUNDARY_CELLS` cells at both ends of *every* axis count as the
boundary — periodic axes included, because a periodic grid's seam is where a function that is not
periodic shows its wrap-around error. The error is said to sit at the boundary when its energy per
boundary point is more than `BOUNDARY_FACTOR` times its energy per interior point.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import sympy

from codexlab.errors import CodexValueError, did_you_mean

if TYPE_CHECKING:
    from codexlab.qwave.grid import Grid

__all__ = [
    "BOUNDARY_CELLS",
    "BOUNDARY_FACTOR",
    "GAP_WEIGHTS",
    "DriftComponent",
    "DriftReport",
    "Gap",
    "combine_reports",
    "container_status",
    "discretization_drift",
    "precision_drift",
    "relative_l2",
    "run_drift",
    "sample_indices",
]

BOUNDARY_CELLS = 2
BOUNDARY_FACTOR = 2.0

DriftKind = Literal["discretization", "precision", "run"]
Location = Literal["boundary", "interior"]
GapKind = Literal["missing_dependency", "failed_op", "empty_cell", "unmet_goal"]
ContainerStatus = Literal["CLOSED", "OPEN", "DRIFTING"]
GAP_KINDS: tuple[str, ...] = get_args(GapKind)

#: Gap weights. A missing dependency weighs 1 + 0.25·n for n missing names (one gap lists them all). A
#: failed op weighs 1.0, like a piece of missing logic: one or two failures leave a container OPEN,
#: a third makes it DRIFTING (weight > 2).
GAP_WEIGHTS: dict[str, float] = {
    "missing_dependency": 1.0,
    "missing_dependency_per_name": 0.25,
    "failed_op": 1.0,
    "empty_cell": 1.0,
    "unmet_goal": 1.5,
}
DRIFTING_WEIGHT = 2.0


# ------------------------------------------------------------------------------------------ distance


def _as_numeric(x: Any) -> np.ndarray:
    """float64 or complex128 values of an array-like (narrow formats such as bf16 widened)."""
    arr = np.asarray(x)
    return arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64, copy=False)


def _l2(x: np.ndarray, weight: float) -> float:
    """√(weight·Σ|x|²), scaled by max|x| first so that large values do not overflow."""
    if x.size == 0:
        return 0.0
    mag = np.abs(x)
    top = float(np.max(mag))
    if top == 0.0 or not math.isfinite(top):
        return top
    return top * math.sqrt(weight * float(np.sum((mag / top) ** 2)))


def relative_l2(a: Any, b: Any, *, scale: float = 0.0, weight: float = 1.0) -> float:
    """‖a − b‖ / max(‖b‖, scale): the relative L2 distance of `a` from the reference `b`.

    Parameters: `scale` — the norm of the op's terms before they cancel (non-finite or negative values
    count as 0); `weight` — the factor inside each norm (ΔA, or ΔA·N/m on a sample).
    Returns: the distance; `inf` when either side is not finite; the absolute distance ‖a − b‖ when the
    reference and `scale` are both 0 (nothing to scale by).
    Raises: `CodexValueError` when the shapes differ.
    """
    left, right = _as_numeric(a), _as_numeric(b)
    if left.shape != right.shape:
        raise CodexValueError(
            f"`relative_l2` needs two arrays of one shape, got {left.shape} and {right.shape}; "
            "compare values on the same grid."
        )
    with np.errstate(all="ignore"):
        diff = _l2(left - right, weight)
        ref = _l2(right, weight)
    if not (math.isfinite(diff) and math.isfinite(ref)):
        return math.inf
    denominator = max(ref, scale if math.isfinite(scale) and scale > 0 else 0.0)
    return diff if denominator == 0.0 else diff / denominator


# ---------------------------------------------------------------------------------------- components


@dataclass(frozen=True)
class DriftComponent:
    """One measured drift: its kind, value, where the error sits, and how many points were compared.

    `boundary_share` is the fraction of the error energy on boundary points (None without a grid).
    """

    kind: DriftKind
    value: float
    location: Location | None = None
    points: int = 0
    total_points: int = 0
    boundary_share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain values for a HUD or a JSON payload."""
        return {
            "kind": self.kind,
            "value": self.value,
            "location": self.location,
            "points": self.points,
            "total_points": self.total_points,
            "boundary_share": self.boundary_share,
        }


def sample_indices(shape: Sequence[int], max_points: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Multi-indices of at most `max_points` distinct grid points: all of them when the grid is smaller,
    else a seeded uniform sample in flat order (the same `seed` gives the same points)."""
    if int(max_points) < 1:
        raise CodexValueError(f"`max_points` must be at least 1, got `{max_points}`; pass e.g. `4096`.")
    return _sample_indices(tuple(int(n) for n in shape), int(max_points), int(seed))


@functools.lru_cache(maxsize=64)
def _sample_indices(shape: tuple[int, ...], max_points: int, seed: int) -> tuple[np.ndarray, ...]:
    """`sample_indices`, cached (every beam on one grid draws the same points); the arrays are read-only."""
    total = int(np.prod(shape, dtype=np.int64))
    if total <= max_points:
        flat = np.arange(total, dtype=np.int64)
    else:
        flat = np.sort(np.random.default_rng(seed).choice(total, size=int(max_points), replace=False))
    out = tuple(np.asarray(i, dtype=np.int64) for i in np.unravel_index(flat, shape))
    for arr in out:
        arr.flags.writeable = False
    return out


def _boundary_mask(indices: tuple[np.ndarray, ...], grid: Grid) -> np.ndarray:
    """Whether each indexed point lies in the outer `BOUNDARY_CELLS` cells of any axis."""
    mask = np.zeros(indices[0].shape, dtype=bool)
    for idx, axis in zip(indices, grid.axes, strict=True):
        mask |= (idx < BOUNDARY_CELLS) | (idx >= axis.n - BOUNDARY_CELLS)
    return mask


def _grid_boundary_mask(grid: Grid) -> np.ndarray:
    """The boundary mask of every grid point, flattened (built from one 1-D mask per axis)."""
    mask = np.zeros(grid.shape, dtype=bool)
    for k, axis in enumerate(grid.axes):
        idx = np.arange(axis.n)
        edge = (idx < BOUNDARY_CELLS) | (idx >= axis.n - BOUNDARY_CELLS)
        mask |= edge.reshape([-1 if j == k else 1 for j in range(grid.ndim)])
    return mask.reshape(-1)


def _locate(energy: np.ndarray, boundary: np.ndarray) -> tuple[Location, float]:
    """Boundary or interior (per-point energy ratio against `BOUNDARY_FACTOR`), and the boundary share."""
    total = float(np.sum(energy))
    if total == 0.0 or not math.isfinite(total):
        return "interior", 0.0
    edge = float(np.sum(energy[boundary]))
    share = edge / total
    n_edge = int(np.count_nonzero(boundary))
    n_inner = boundary.size - n_edge
    if n_inner == 0:
        return "boundary", share
    if n_edge == 0:
        return "interior", share
    inner_mean = (total - edge) / n_inner
    edge_mean = edge / n_edge
    return ("boundary" if edge_mean > BOUNDARY_FACTOR * inner_mean else "interior"), share


def _on_grid(values: Any, grid: Grid) -> np.ndarray:
    """Values as an array whose trailing axes are the grid's (component dims of a DataArray first)."""
    dims = getattr(values, "dims", None)
    if dims is not None:
        missing = [n for n in grid.names if n not in dims]
        if missing:
            raise CodexValueError(
                f"The values have no dim `{missing[0]}` of the grid `{grid.describe()}` (dims "
                f"{', '.join(f'`{d}`' for d in dims)}); pass values computed on that grid."
            )
        lead = [d for d in dims if d not in grid.names]
        order = (*lead, *grid.names)
        arr = np.asarray(values.values if tuple(dims) == order else values.transpose(*order).values)
    else:
        arr = np.asarray(values)
    if arr.ndim < grid.ndim or arr.shape[arr.ndim - grid.ndim :] != tuple(grid.shape):
        raise CodexValueError(
            f"The values have shape {arr.shape}, which does not end in the grid's shape {tuple(grid.shape)}; "
            "pass values computed on that grid."
        )
    return arr


@functools.lru_cache(maxsize=256)
def _lambdified(free: tuple[sympy.Symbol, ...], entries: tuple[sympy.Expr, ...]) -> Any:
    """Compiled NumPy function of an exact form (cached: the same statement is scored every run)."""
    return sympy.lambdify(free, list(entries), modules="numpy", cse=True)


def _exact_at(exact: Any, grid: Grid, indices: tuple[np.ndarray, ...], lead: tuple[int, ...]) -> np.ndarray:
    """The exact expression evaluated only at the indexed points (t = 0 when t is free and not an axis)."""
    if isinstance(exact, sympy.MatrixBase):
        entries = list(exact)
        rows, cols = exact.shape
        shape: tuple[int, ...] = (rows,) if cols == 1 else (rows, cols)
    else:
        entries, shape = [sympy.sympify(exact)], ()
    if shape != lead:
        raise CodexValueError(
            f"The exact form has component shape {shape} but the values have {lead}; compare a value with "
            "its own exact form."
        )
    free = sorted(set().union(*(e.free_symbols for e in entries)), key=lambda s: (s.name, str(s.assumptions0)))
    zero_t = {s: 0 for s in free if s.name == "t" and "t" not in grid.names}
    if zero_t:
        entries = [e.subs(zero_t) for e in entries]
        free = [s for s in free if s not in zero_t]
    unknown = [s.name for s in free if s.name not in grid.names]
    if unknown:
        raise CodexValueError(
            f"The exact form depends on `{unknown[0]}`, which is not an axis of the grid `{grid.describe()}`"
            f"{did_you_mean(unknown[0], grid.names)}; bind it to a number first."
        )
    points = {a.name: a.coords[idx] for a, idx in zip(grid.axes, indices, strict=True)}
    fn = _lambdified(tuple(free), tuple(entries))
    count = indices[0].size
    with np.errstate(all="ignore"):
        parts = [np.asarray(p) for p in fn(*(points[s.name] for s in free))]
    dtype = np.result_type(np.float64, *parts)
    stacked = np.stack([np.broadcast_to(p.astype(dtype), (count,)) for p in parts])
    return stacked.reshape(shape + (count,))


def discretization_drift(
    values: Any,
    exact: sympy.Expr | sympy.MatrixBase,
    grid: Grid,
    *,
    terms: Sequence[Any] = (),
    max_points: int = 4096,
    seed: int = 0,
) -> DriftComponent:
    """The drift of computed grid values from their exact symbolic form, on at most `max_points` points.

    Parameters: `values` — a DataArray with the grid's dims (plus `component` dims) or an array whose
    trailing axes are the grid's; `exact` — a SymPy expression or matrix over the grid's axis symbols
    (a free `t` is set to 0 when the grid has no `t` axis); `grid`; `terms` — the exact terms the op sums
    before they cancel (their norms add up to the scale; none: the exact value alone); `max_points`,
    `seed` — the sample. The exact forms are evaluated only at the sampled points, never on the whole grid.
    Returns: a `DriftComponent` of kind `discretization` with the location of the error.
    Raises: `CodexValueError` for values not on `grid`, a component mismatch or a free non-axis symbol.
    """
    arr = _on_grid(values, grid)
    lead = tuple(arr.shape[: arr.ndim - grid.ndim])
    indices = sample_indices(grid.shape, max_points, seed)
    count = indices[0].size
    key: tuple[Any, ...] = (Ellipsis, *indices)
    numeric = _as_numeric(arr[key])
    reference = _exact_at(exact, grid, indices, lead)
    weight = grid.cell_volume * grid.size / count
    with np.errstate(all="ignore"):
        scale = sum(_l2(_exact_at(term, grid, indices, lead), weight) for term in terms)
    value = relative_l2(numeric, reference, scale=scale, weight=weight)
    with np.errstate(all="ignore"):
        energy = np.sum(np.abs(numeric - reference) ** 2, axis=tuple(range(len(lead))))
    location, share = _locate(energy, _boundary_mask(indices, grid))
    return DriftComponent("discretization", value, location, count, grid.size, share)


def precision_drift(values: Any, reference_fp64: Any, *, scale: float, grid: Grid | None = None) -> DriftComponent:
    """The drift of a value computed in a narrower format from the same op in fp64 (all points).

    With a `grid` (values on it, component dims first), the report also says where the error sits.
    """
    if grid is None:
        left, right = _as_numeric(values), _as_numeric(reference_fp64)
        value = relative_l2(left, right, scale=scale)
        return DriftComponent("precision", value, None, int(left.size), int(left.size))
    left, right = _as_numeric(_on_grid(values, grid)), _as_numeric(_on_grid(reference_fp64, grid))
    value = relative_l2(left, right, scale=scale, weight=grid.cell_volume)
    lead = left.ndim - grid.ndim
    with np.errstate(all="ignore"):
        energy = np.sum(np.abs(left - right) ** 2, axis=tuple(range(lead))).reshape(-1)
    location, share = _locate(energy, _grid_boundary_mask(grid))
    return DriftComponent("precision", value, location, grid.size, grid.size, share)


def run_drift(current: Any, previous: Any, *, scale: float) -> DriftComponent:
    """The drift of a value from the previous run of the same statement with the same code and input
    hashes — nondeterminism (the caller decides when that applies; a redefinition is not drift)."""
    left, right = _as_numeric(current), _as_numeric(previous)
    if left.shape != right.shape:
        raise CodexValueError(
            f"Run drift compares two runs of one statement, but the shapes differ ({left.shape} and "
            f"{right.shape}); it applies only when the code and input hashes are the same."
        )
    return DriftComponent("run", relative_l2(left, right, scale=scale), None, int(left.size), int(left.size))


# --------------------------------------------------------------------------------------------- gaps


@dataclass(frozen=True)
class Gap:
    """Something a cell is missing: an unknown name, a failed op, an empty cell or an unmet goal."""

    kind: GapKind
    detail: str
    weight: float

    def __post_init__(self) -> None:
        if self.kind not in GAP_KINDS:
            raise CodexValueError(
                f"Gap kind `{self.kind}` is unknown{did_you_mean(str(self.kind), GAP_KINDS)}; use one of "
                f"{', '.join(f'`{k}`' for k in GAP_KINDS)}."
            )
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise CodexValueError(f"A gap's weight must be a finite number ≥ 0, got `{self.weight}`.")

    @classmethod
    def missing_dependency(cls, names: Iterable[str]) -> Gap:
        """One gap for all the unknown names of a cell: weight 1 + 0.25·n."""
        unique = list(dict.fromkeys(names))
        if not unique:
            raise CodexValueError("A missing-dependency gap needs at least one name; pass the unknown names.")
        weight = GAP_WEIGHTS["missing_dependency"] + GAP_WEIGHTS["missing_dependency_per_name"] * len(unique)
        listing = ", ".join(f"`{n}`" for n in unique)
        return cls("missing_dependency", f"unknown name{'s' if len(unique) > 1 else ''} {listing}", weight)

    @classmethod
    def failed_op(cls, op: str, message: str = "") -> Gap:
        """An op that raised: weight 1.0."""
        detail = f"`{op}` failed" + (f": {message}" if message else "")
        return cls("failed_op", detail, GAP_WEIGHTS["failed_op"])

    @classmethod
    def empty_cell(cls, detail: str = "the cell has no statements") -> Gap:
        """A cell with no logic: weight 1.0."""
        return cls("empty_cell", detail, GAP_WEIGHTS["empty_cell"])

    @classmethod
    def unmet_goal(cls, tag: str, detail: str = "") -> Gap:
        """A Goal record that does not hold: weight 1.5."""
        return cls(
            "unmet_goal",
            f"goal `{tag}` is not met" + (f" ({detail})" if detail else ""),
            GAP_WEIGHTS["unmet_goal"],
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain values for a HUD or a JSON payload."""
        return {"kind": self.kind, "detail": self.detail, "weight": self.weight}


# ------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class DriftReport:
    """The drift components measured for a value (or a cell) and the gaps found."""

    components: tuple[DriftComponent, ...] = field(default_factory=tuple)
    gaps: tuple[Gap, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", tuple(self.components))
        object.__setattr__(self, "gaps", tuple(self.gaps))

    @property
    def drift(self) -> float | None:
        """The largest available drift component (None when none was measured)."""
        return max((c.value for c in self.components), default=None)

    @property
    def location(self) -> Location | None:
        """Where the error of the largest component sits (None when unknown)."""
        if not self.components:
            return None
        return max(self.components, key=lambda c: c.value).location

    @property
    def gap_weight(self) -> float:
        """Σ of the gaps' weights."""
        return float(sum(g.weight for g in self.gaps))

    def as_dict(self) -> dict[str, Any]:
        """Plain values for a HUD or a JSON payload."""
        return {
            "drift": self.drift,
            "location": self.location,
            "gap_weight": self.gap_weight,
            "components": [c.as_dict() for c in self.components],
            "gaps": [g.as_dict() for g in self.gaps],
        }


def combine_reports(reports: Iterable[DriftReport]) -> DriftReport:
    """One report with every component and gap of `reports` (e.g. a cell's, or a container's)."""
    components: list[DriftComponent] = []
    gaps: list[Gap] = []
    for report in reports:
        components.extend(report.components)
        gaps.extend(report.gaps)
    return DriftReport(tuple(components), tuple(gaps))


def container_status(report: DriftReport, tol: float) -> ContainerStatus:
    """CLOSED (no gaps and drift ≤ tol; no measured drift counts as 0), DRIFTING (gap weight > 2),
    else OPEN."""
    drift = report.drift
    if not report.gaps and (drift is None or drift <= tol):
        return "CLOSED"
    if report.gap_weight > DRIFTING_WEIGHT:
        return "DRIFTING"
    return "OPEN"
