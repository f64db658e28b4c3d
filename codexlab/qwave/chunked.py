"""Out-of-core operators: the differential kernels on Dask arrays, chunk by chunk with `map_overlap`.

`operators` sends a field whose values are a Dask array here instead of computing it. Each output
component is one `dask.array.map_overlap` over the input components: every chunk gets ghost layers as
wide as the stencil radius (`radius(order)`: 1 for `fd2`, 2 for `fd4`) along the axes the operator
differentiates, from its neighbours, wrapped around on periodic axes (`boundary="periodic"`) and, at
the walls of Dirichlet and Neumann axes, the reflections of `stencils.ghost_lo`/`ghost_hi`. The chunk
then runs the same in-memory kernel, so the result equals the in-memory one. Spectral derivatives need
the whole axis: an axis they differentiate must be one chunk.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CodexTypeError, CodexValueError
from . import kernels as K
from .grid import Grid
from .stencils import AxisSpec, ghost_hi, ghost_lo, radius, space_indices

if TYPE_CHECKING:
    import dask.array

__all__ = ["is_dask_array", "apply_chunked", "ghost_widths"]

# Kernel name -> whether output j reads input component j alone (componentwise ops).
_COMPONENTWISE = {"lap": True, "dalembert": True, "derivative": True, "grad": False, "div": False, "curl": False}


def is_dask_array(values: Any) -> bool:
    """Whether `values` is a Dask array (False without importing Dask when it was never imported)."""
    # `Array` is missing while another thread is still importing dask.array; no instance can exist yet.
    array_type = getattr(sys.modules.get("dask.array"), "Array", None)
    return array_type is not None and isinstance(values, array_type)


def _used_axes(kernel: str, axes: Sequence[AxisSpec], kw: dict[str, Any]) -> tuple[int, ...]:
    """The grid axes a kernel differentiates along."""
    if kernel == "derivative":
        return (int(kw["axis"]),)
    if kernel == "dalembert":
        return tuple(range(len(axes)))
    return space_indices(axes)


def ghost_widths(kernel: str, axes: Sequence[AxisSpec], method: str, kw: dict[str, Any]) -> dict[int, int]:
    """Ghost layers per grid axis: the stencil radius of the method's order on differentiated axes
    (1 for `fd2`, 2 for `fd4`, as for first and second derivatives alike), 0 elsewhere and for spectral."""
    r = 0 if method == "spectral" else radius(int(method[2:]))
    used = set(_used_axes(kernel, axes, kw))
    return {a: (r if a in used else 0) for a in range(len(axes))}


def _check_chunks(
    data: dask.array.Array, lead: int, axes: Sequence[AxisSpec], depth: dict[int, int], method: str, used: Sequence[int]
) -> None:
    """Refuse chunkings the halo exchange cannot serve, saying how to rechunk."""
    for a in used:
        spec, chunks = axes[a], data.chunks[lead + a]
        if method == "spectral" and len(chunks) > 1:
            raise CodexValueError(
                f"Spectral derivatives need the whole axis `{spec.name}` in one chunk, but the field has "
                f"{len(chunks)} chunks along it; rechunk it (`da.chunk({{'{spec.name}': -1}})`) or use "
                '`method="fd2"` or `"fd4"`.'
            )
        if spec.bc != "periodic" and min(chunks) <= depth[a]:
            raise CodexValueError(
                f"Axis `{spec.name}` has a chunk of {min(chunks)} point(s), but its `{spec.bc}` walls need "
                f"chunks of more than {depth[a]} (the stencil radius); rechunk it (`da.chunk({{'{spec.name}': "
                f"{max(2 * depth[a] + 1, 64)}}})`)."
            )


def _block_axes(axes: Sequence[AxisSpec], shape: tuple[int, ...], depth: dict[int, int]) -> tuple[AxisSpec, ...]:
    """Axis specs of a chunk with its ghost layers: its own length, the grid's spacing, and a periodic
    wrap on haloed axes (it only touches the ghost rim, which is cut away)."""
    return tuple(
        AxisSpec(a.name, int(n), a.h, "periodic" if depth[i] else a.bc)
        for i, (a, n) in enumerate(zip(axes, shape, strict=True))
    )


def _wall_ghosts(
    block: Any, axes: Sequence[AxisSpec], depth: dict[int, int], info: dict[str, Any]
) -> tuple[Any, list[tuple[int, int]]]:
    """Add the Dirichlet/Neumann ghost layers where the chunk touches a wall; returns the widths added."""
    where, count = info["chunk-location"], info["num-chunks"]
    added = [(0, 0)] * block.ndim
    for a, spec in enumerate(axes):
        r = depth[a]
        if r == 0 or spec.bc == "periodic":
            continue
        lo = r if where[a] == 0 else 0
        hi = r if where[a] == count[a] - 1 else 0
        parts = (
            ([ghost_lo(block, a, r, spec.bc)] if lo else [])
            + [block]
            + ([ghost_hi(block, a, r, spec.bc)] if hi else [])
        )
        block = np.concatenate([np.asarray(p) for p in parts], axis=a)
        added[a] = (lo, hi)
    return block, added


def _chunk_fn(
    kernel: str,
    axes: tuple[AxisSpec, ...],
    method: str,
    depth: dict[int, int],
    pick: int | None,
    backend: str | None,
    kw: dict[str, Any],
) -> Callable[..., np.ndarray]:
    """The function one chunk runs: wall ghosts, the in-memory kernel, output `pick`, ghosts added here cut."""

    def run(*blocks: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        info = (block_info or {})[0]
        parts = [_wall_ghosts(b, axes, depth, info) for b in blocks]
        added = parts[0][1]
        stacked = parts[0][0] if len(parts) == 1 else np.stack([p[0] for p in parts])
        shape = parts[0][0].shape
        out = getattr(K, kernel)(stacked, _block_axes(axes, shape, depth), method=method, backend=backend, **kw)
        out = np.asarray(out if pick is None else out[pick])
        keep = tuple(slice(lo, n - hi) for (lo, hi), n in zip(added, shape, strict=True))
        return out[keep]

    return run


def _overlap(
    data: list[Any],
    fn: Callable[..., np.ndarray],
    axes: Sequence[AxisSpec],
    depth: dict[int, int],
    dtype: np.dtype[Any],
) -> dask.array.Array:
    import dask.array as dsa

    boundary = {a: ("periodic" if (depth[a] and spec.bc == "periodic") else "none") for a, spec in enumerate(axes)}
    return dsa.map_overlap(
        fn, *data, depth=depth, boundary=boundary, dtype=dtype, meta=np.empty((0,) * len(axes), dtype), trim=True
    )


#: One output component: the kernel that computes it, the input components it reads, which of the
#: kernel's outputs to keep (None: all of it), and the kernel's keyword arguments.
_Output = tuple[str, list[int], int | None, dict[str, Any]]


def _output_plan(kernel: str, axes: Sequence[AxisSpec], count: int, kw: dict[str, Any]) -> list[_Output]:
    """How to compute each output component, each from as few inputs and as little work as possible."""
    if _COMPONENTWISE[kernel]:
        return [(kernel, [i], None, kw) for i in range(count)]
    if kernel == "grad":  # component j of ∇u is ∂u/∂x_j: the same stencil term, one halo axis per component
        return [("derivative", [0], None, {"axis": a, "deriv": 1}) for a in space_indices(axes)]
    if kernel == "curl" and len(space_indices(axes)) == 3:  # each component runs the kernel, keeps its part
        return [(kernel, list(range(count)), j, kw) for j in range(3)]
    return [(kernel, list(range(count)), None, kw)]


def apply_chunked(
    kernel: str, data: dask.array.Array, grid: Grid, method: str, *, backend: str | None = None, **kw: Any
) -> dask.array.Array:
    """Run kernel `kernel` of `codexlab.qwave.kernels` (`grad div curl lap dalembert derivative`) on a Dask
    array of a field on `grid` (components first; they are never split), one `map_overlap` per output
    component, shaped as the in-memory kernel's result.

    Raises `CodexValueError` for a spectral derivative along a chunked axis and for wall chunks thinner
    than the stencil radius (both say how to rechunk), and what the in-memory kernel raises.
    """
    import dask.array as dsa

    axes = K.axis_specs(grid)
    used = _used_axes(kernel, axes, kw)
    K.check_method(axes, used, method)
    lead = data.ndim - len(axes)
    _check_chunks(data, lead, axes, ghost_widths(kernel, axes, method, kw), method, used)
    dtype = np.dtype(data.dtype if np.issubdtype(data.dtype, np.inexact) else np.float64)
    if lead:
        data = data.rechunk({i: -1 for i in range(lead)})
    flat = data.reshape((-1, *data.shape[lead:])) if lead else data[None]
    inputs = [flat[i] for i in range(flat.shape[0])]
    space = space_indices(axes)
    if kernel in ("div", "curl") and len(inputs) != len(space):  # the in-memory kernel would say so at compute
        glyph = "∇·" if kernel == "div" else "∇×"
        raise CodexTypeError(f"`{glyph}` needs {len(space)} components (one per spatial axis), got {len(inputs)}.")
    parts = []
    for name, sources, pick, args in _output_plan(kernel, axes, len(inputs), kw):
        depth = ghost_widths(name, axes, method, args)
        fn = _chunk_fn(name, axes, method, depth, pick, backend, args)
        parts.append(_overlap([inputs[i] for i in sources], fn, axes, depth, dtype))
    if _COMPONENTWISE[kernel]:
        return parts[0] if not lead else dsa.stack(parts).reshape(data.shape)
    return dsa.stack(parts) if kernel == "grad" or len(parts) > 1 else parts[0]
