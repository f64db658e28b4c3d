"""A sweep's results as one `xarray.Dataset`: a dimension per parameter, every point kept.

Fields a point bound stack to `(*params, *field dims)`, numbers to `(*params)`. A name vetoed at a point
(or a point whose scroll failed) is NaN there — masked, not dropped — and `verdict` says why. Per point
and bound name: `qscore` and `verdict` (dims `(*params, binding)`); per point: `cell_qscore` (mean over
the run's scored beams), `point_verdict` (its worst: error > veto > warn > pass), `error` (the message,
or "") and the coordinate `run_id`, which `lab.replay`, `lab.qfc` and the store's lineage resolve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..errors import CodexNameError, CodexValueError
from ..runtime.values import Vetoed
from .point import PointResult

__all__ = ["build_dataset", "RESERVED_VARIABLES", "BINDING"]

#: The dimension of per-name bookkeeping (`qscore`, `verdict`).
BINDING = "binding"
#: Dataset names a sweep uses itself; a scroll binding one of them cannot be stacked beside them.
RESERVED_VARIABLES = frozenset(
    {"qscore", "verdict", "cell_qscore", "point_verdict", "error", "run_id", BINDING, "component", "component2"}
)
_RANK = {"pass": 0, "none": 0, "warn": 1, "veto": 2, "error": 3}


def check_names(bound: set[str]) -> None:
    """Refuse scroll names that would collide with the Dataset's own variables."""
    clash = sorted(bound & RESERVED_VARIABLES)
    if clash:
        raise CodexNameError(
            f"The scroll binds `{clash[0]}`, a name the sweep's Dataset uses for its own bookkeeping "
            f"({', '.join(f'`{n}`' for n in sorted(RESERVED_VARIABLES))}); rename it in the scroll."
        )


def _kind(value: Any) -> str:
    if isinstance(value, xr.DataArray):
        return "field"
    if isinstance(value, bool | np.bool_):
        return "number"
    if isinstance(value, int | float | complex | np.number):
        return "number"
    return type(value).__name__


def _field(
    name: str,
    dims: tuple[str, ...],
    shape: tuple[int, ...],
    points: dict[tuple[int, ...], xr.DataArray],
    where: Mapping[tuple[int, ...], str],
) -> xr.DataArray:
    """One name's fields stacked over the parameter grid (NaN where a point has none)."""
    ref = next(iter(points.values()))
    for index, da in points.items():
        same = da.dims == ref.dims and da.shape == ref.shape
        same = same and all(
            np.array_equal(da.coords[d].values, ref.coords[d].values) for d in ref.dims if d in ref.coords
        )
        if not same:
            raise CodexValueError(
                f"Field `{name}` has dims {dict(da.sizes)} at {where[index]} but {dict(ref.sizes)} elsewhere; a "
                "sweep stacks one grid per name: keep `@grid` fixed, or sweep the grids as separate sweeps."
            )
    dtype = np.result_type(np.float64, *(da.dtype for da in points.values()))
    data = np.full(shape + ref.shape, np.nan, dtype=dtype)
    for index, da in points.items():
        data[index] = da.values
    coords = {d: ref.coords[d] for d in ref.dims if d in ref.coords}
    attrs = {k: v for k, v in ref.attrs.items() if k != "id"}
    return xr.DataArray(data, dims=dims + tuple(str(d) for d in ref.dims), coords=coords, attrs=attrs)


def _number(shape: tuple[int, ...], dims: tuple[str, ...], points: dict[tuple[int, ...], Any]) -> xr.DataArray:
    complex_ = any(np.iscomplexobj(v) for v in points.values())
    data = np.full(shape, np.nan, dtype=np.complex128 if complex_ else np.float64)
    for index, value in points.items():
        data[index] = complex(value) if complex_ else float(value)
    return xr.DataArray(data, dims=dims)


def build_dataset(
    grid: Mapping[str, np.ndarray],
    results: Mapping[tuple[int, ...], PointResult],
    *,
    attrs: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Stack the points' results over the parameter grid (see the module doc)."""
    dims = tuple(grid)
    shape = tuple(len(v) for v in grid.values())
    where = {i: ", ".join(f"{d}={grid[d][k]!r}" for d, k in zip(dims, i, strict=True)) for i in results}
    ordered = [results[i] for i in sorted(results)]
    names = list(dict.fromkeys(n for r in ordered for n in r.values if n not in grid))  # parameters: coords
    variables: dict[str, xr.DataArray] = {}
    unstacked: dict[str, str] = {}
    for name in names:
        held = {r.index: r.values[name] for r in ordered if name in r.values and not isinstance(r.values[name], Vetoed)}
        kinds = {_kind(v) for v in held.values()}
        if kinds == {"field"}:
            variables[name] = _field(name, dims, shape, held, where)
        elif kinds == {"number"} or not kinds:
            variables[name] = _number(shape, dims, held)
        else:
            unstacked[name] = " or ".join(sorted(kinds))
    variables.update(_bookkeeping(dims, shape, names, ordered))
    coords: dict[str, Any] = {d: (d, np.asarray(v)) for d, v in grid.items()}
    coords[BINDING] = (BINDING, np.asarray(names, dtype=str))
    coords["run_id"] = (dims, _strings(shape, {r.index: r.run_id for r in ordered}))
    ds = xr.Dataset(variables, coords=coords, attrs=dict(attrs or {}))
    if unstacked:
        ds.attrs["unstacked"] = "; ".join(f"{n}: {k}" for n, k in unstacked.items())
    return ds


def _strings(shape: tuple[int, ...], values: Mapping[tuple[int, ...], str]) -> np.ndarray:
    width = max((len(v) for v in values.values()), default=1)
    out = np.full(shape, "", dtype=f"<U{max(width, 1)}")
    for index, text in values.items():
        out[index] = text
    return out


def _bookkeeping(
    dims: tuple[str, ...], shape: tuple[int, ...], names: list[str], ordered: list[PointResult]
) -> dict[str, xr.DataArray]:
    """`qscore`, `verdict`, `cell_qscore`, `point_verdict` and `error` over the grid."""
    qscore = np.full(shape + (len(names),), np.nan)
    verdict: dict[tuple[int, ...], str] = {}
    cell = np.full(shape, np.nan)
    worst: dict[tuple[int, ...], str] = {}
    errors: dict[tuple[int, ...], str] = {}
    for r in ordered:
        for j, name in enumerate(names):
            q = r.qscores.get(name)
            qscore[r.index + (j,)] = np.nan if q is None else q
            verdict[r.index + (j,)] = "error" if r.error else r.verdicts.get(name, "")
        cell[r.index] = np.nan if r.cell_qscore is None else r.cell_qscore
        outcomes = ["error"] if r.error else list(r.verdicts.values())
        worst[r.index] = max(outcomes, key=lambda v: _RANK.get(v, 0), default="pass")
        errors[r.index] = r.error or ""
    per_name = dims + (BINDING,)
    return {
        "qscore": xr.DataArray(qscore, dims=per_name),
        "verdict": xr.DataArray(_strings(shape + (len(names),), verdict), dims=per_name),
        "cell_qscore": xr.DataArray(cell, dims=dims),
        "point_verdict": xr.DataArray(_strings(shape, worst), dims=dims),
        "error": xr.DataArray(_strings(shape, errors), dims=dims),
    }
