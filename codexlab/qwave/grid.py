"""Cartesian grids: axes with bounds, point counts and boundary conditions, from `@grid` or a DataArray.

Periodic axes exclude the upper endpoint (x_k = lo + k·h, h = (hi − lo)/n); Dirichlet and Neumann axes
include both endpoints (h = (hi − lo)/(n − 1)). An axis named `t` is a time axis (for □ and d/dt).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import CodexValueError, did_you_mean

__all__ = ["Axis", "Grid", "BOUNDARY_CONDITIONS", "AXIS_NAMES", "MIN_SPACING"]

BoundaryCondition = Literal["periodic", "dirichlet", "neumann"]
BOUNDARY_CONDITIONS: tuple[str, ...] = ("periodic", "dirichlet", "neumann")
AXIS_NAMES: tuple[str, ...] = ("x", "y", "z", "t")
#: The smallest grid spacing h: 1/h² (second derivatives) stays finite and h² a normal float.
MIN_SPACING = math.sqrt(sys.float_info.min)


@dataclass(frozen=True)
class Axis:
    """One grid axis: name, bounds, number of points and boundary condition."""

    name: str
    lo: float
    hi: float
    n: int
    bc: str = "periodic"

    def __post_init__(self) -> None:
        if self.name not in AXIS_NAMES:
            raise CodexValueError(
                f"Axis `{self.name}` is not a coordinate{did_you_mean(self.name, AXIS_NAMES)}; "
                f"use one of {', '.join(f'`{a}`' for a in AXIS_NAMES)}."
            )
        if self.bc not in BOUNDARY_CONDITIONS:
            raise CodexValueError(
                f"Boundary condition `{self.bc}` of axis `{self.name}` is unknown"
                f"{did_you_mean(self.bc, BOUNDARY_CONDITIONS)}; use one of "
                f"{', '.join(f'`{b}`' for b in BOUNDARY_CONDITIONS)}."
            )
        if int(self.n) != self.n or self.n < 3:
            raise CodexValueError(f"Axis `{self.name}` needs at least 3 points, got `{self.n}`.")
        if not float(self.hi) > float(self.lo):
            raise CodexValueError(f"Axis `{self.name}` needs hi > lo, got `{self.lo}..{self.hi}`; swap the bounds.")
        if not math.isfinite(float(self.hi) - float(self.lo)):
            raise CodexValueError(f"Axis `{self.name}` needs a finite width, got `{self.lo}..{self.hi}`; narrow it.")
        if not self.spacing >= MIN_SPACING:
            raise CodexValueError(
                f"Axis `{self.name}` has a spacing of {self.spacing:.3g}, below the smallest that derivatives "
                f"can divide by ({MIN_SPACING:.3g}); widen `{self.lo}..{self.hi}` or use fewer points."
            )

    @property
    def periodic(self) -> bool:
        """Whether the axis wraps around."""
        return self.bc == "periodic"

    @property
    def spacing(self) -> float:
        """Grid spacing h."""
        span = float(self.hi) - float(self.lo)
        return span / self.n if self.periodic else span / (self.n - 1)

    @property
    def coords(self) -> np.ndarray:
        """Point coordinates along the axis (float64)."""
        return float(self.lo) + self.spacing * np.arange(self.n, dtype=np.float64)


@dataclass(frozen=True)
class Grid:
    """A Cartesian grid: an ordered tuple of axes."""

    axes: tuple[Axis, ...]

    def __post_init__(self) -> None:
        names = [a.name for a in self.axes]
        if not names:
            raise CodexValueError("A grid needs at least one axis; write e.g. `@grid x:-1..1:128`.")
        if len(set(names)) != len(names):
            raise CodexValueError(f"Grid axes must be distinct, got `{', '.join(names)}`.")

    # ---------------------------------------------------------------------------------- constructors

    @classmethod
    def default(cls) -> Grid:
        """The grid of a scroll without `@grid`: 128 × 128 on [−1, 1]², periodic."""
        return cls((Axis("x", -1.0, 1.0, 128), Axis("y", -1.0, 1.0, 128)))

    @classmethod
    def from_spec(
        cls,
        axes: Sequence[tuple[str, float, float, int]],
        bc: str | Mapping[str, str] = "periodic",
    ) -> Grid:
        """Build a grid from `(name, lo, hi, n)` tuples and one bc or a bc per axis name."""
        bcs = {name: bc for name, *_ in axes} if isinstance(bc, str) else dict(bc)
        return cls(tuple(Axis(n, float(lo), float(hi), int(k), bcs.get(n, "periodic")) for n, lo, hi, k in axes))

    @classmethod
    def from_coords(cls, coords: Mapping[str, Any], bc: str | Mapping[str, str] = "periodic") -> Grid:
        """Infer a grid from 1-D coordinate arrays (e.g. a DataArray's), checking they are uniform."""
        bcs = {name: bc for name in coords} if isinstance(bc, str) else dict(bc)
        axes = []
        for name, values in coords.items():
            c = np.asarray(values, dtype=np.float64)
            if c.ndim != 1 or c.size < 3:
                raise CodexValueError(f"Coordinate `{name}` must be 1-D with at least 3 points.")
            h = np.diff(c)
            if not np.allclose(h, h[0], rtol=1e-6, atol=0.0):
                raise CodexValueError(f"Coordinate `{name}` is not uniformly spaced; regrid it first.")
            b = bcs.get(name, "periodic")
            hi = float(c[0] + c.size * (c[-1] - c[0]) / (c.size - 1)) if b == "periodic" else float(c[-1])
            # Coordinates written as lo + k·h carry rounding; snap hi back to the bound they came from.
            snapped = float(f"{hi:.12g}")
            axis = Axis(str(name), float(c[0]), snapped, int(c.size), b)
            if not np.allclose(axis.coords, c, rtol=1e-9, atol=1e-12 * max(1.0, abs(hi))):
                axis = Axis(str(name), float(c[0]), hi, int(c.size), b)
            axes.append(axis)
        return cls(tuple(axes))

    # ------------------------------------------------------------------------------------ properties

    @property
    def names(self) -> tuple[str, ...]:
        """Axis names in order."""
        return tuple(a.name for a in self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of points per axis."""
        return tuple(a.n for a in self.axes)

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.axes)

    @property
    def size(self) -> int:
        """Total number of grid points."""
        return math.prod(self.shape)  # an exact int: 65536⁴ must not wrap to 0 as an int64 product would

    @property
    def spacing(self) -> tuple[float, ...]:
        """Grid spacing per axis."""
        return tuple(a.spacing for a in self.axes)

    @property
    def cell_volume(self) -> float:
        """ΔA: the product of the spacings (area in 2-D), the weight of one point in integrals."""
        return float(np.prod(self.spacing))

    @property
    def space_axes(self) -> tuple[Axis, ...]:
        """The axes other than time."""
        return tuple(a for a in self.axes if a.name != "t")

    @property
    def has_time(self) -> bool:
        """Whether one axis is the time axis `t`."""
        return "t" in self.names

    def axis(self, name: str) -> Axis:
        """The axis called `name`."""
        for a in self.axes:
            if a.name == name:
                return a
        raise CodexValueError(
            f"The grid has no axis `{name}`{did_you_mean(name, self.names)}; its axes are "
            f"{', '.join(f'`{n}`' for n in self.names)}."
        )

    def coords(self) -> dict[str, np.ndarray]:
        """1-D coordinates per axis name (for xarray)."""
        return {a.name: a.coords for a in self.axes}

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Coordinate arrays broadcast to the grid shape (`indexing="ij"`)."""
        return tuple(np.meshgrid(*[a.coords for a in self.axes], indexing="ij"))

    def bcs(self) -> dict[str, str]:
        """Boundary condition per axis name."""
        return {a.name: a.bc for a in self.axes}

    def to_attrs(self) -> dict[str, str]:
        """Grid description for DataArray attrs (`bc` per axis, e.g. `"x:periodic,y:dirichlet"`)."""
        return {"bc": ",".join(f"{a.name}:{a.bc}" for a in self.axes)}

    def describe(self) -> str:
        """`x:-1..1:256, y:-1..1:256` plus the bcs, as `@grid` would write it."""
        parts = [f"{a.name}:{a.lo:g}..{a.hi:g}:{a.n}" for a in self.axes]
        bcs = {a.bc for a in self.axes}
        if bcs != {"periodic"}:
            parts.extend([f"bc={bcs.pop()}"] if len(bcs) == 1 else [f"bc_{a.name}={a.bc}" for a in self.axes])
        return ", ".join(parts)
