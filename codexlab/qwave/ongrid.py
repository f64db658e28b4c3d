"""Exact symbolic values on a grid: SymPy expressions compiled once (NumPy or JAX) and evaluated on the
grid's points, then wrapped as fields.

Compiled functions are cached by the expression's content hash and the coordinates; each component
of a vector is broadcast to the grid shape on its own, so constants and expressions that do not depend
on every coordinate come out with the full shape.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Literal

import numpy as np
import sympy
import xarray as xr

from ..errors import CodexValueError, did_you_mean
from ..photon._calculus import COORDS
from .fields import make_field
from .grid import Grid

__all__ = ["lambdify_on_grid", "exact_field", "BACKENDS"]

Backend = Literal["jax", "numpy"]
BACKENDS: tuple[str, ...] = ("jax", "numpy")
_CACHE_SIZE = 256
_CACHE: OrderedDict[tuple[str, tuple[str, ...], str], Callable[..., Any]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _components(expr: Any) -> tuple[list[sympy.Basic], tuple[int, ...]]:
    """Scalar entries (row-major) and the leading shape: () scalar, (n,) vector, (n, m) matrix."""
    if isinstance(expr, sympy.MatrixBase):
        rows, cols = expr.shape
        return list(expr), ((rows,) if cols == 1 else (rows, cols))
    if isinstance(expr, sympy.Basic):
        return [expr], ()
    if isinstance(expr, (int, float, complex)) and not isinstance(expr, bool):
        return [sympy.sympify(expr)], ()
    raise CodexValueError(
        f"`lambdify_on_grid` needs a SymPy expression or matrix, got `{type(expr).__name__}`; "
        "convert it with `to_sympy` first."
    )


def _on_grid_symbols(entries: list[sympy.Basic], grid: Grid) -> list[sympy.Basic]:
    """Entries with plain x/y/z/t symbols made the real coordinates; any other free symbol is refused."""
    out = []
    for e in entries:
        swap = {s: COORDS[s.name] for s in e.free_symbols if s.name in COORDS and s != COORDS[s.name]}
        out.append(e.xreplace(swap) if swap else e)
    allowed = {COORDS[n] for n in grid.names}
    extra = sorted({s.name for e in out for s in e.free_symbols} - {s.name for s in allowed})
    if extra:
        raise CodexValueError(
            f"The expression depends on `{extra[0]}`, which is not an axis of the grid `{grid.describe()}`"
            f"{did_you_mean(extra[0], grid.names)}; bind it to a number or add the axis to `@grid`."
        )
    return out


def _compiled(entries: list[sympy.Basic], names: tuple[str, ...], backend: str) -> Callable[..., Any]:
    """The lambdified (and for JAX, jitted) function of the entries, from the cache when possible."""
    key = (hashlib.blake2b(sympy.srepr(tuple(entries)).encode(), digest_size=16).hexdigest(), names, backend)
    with _CACHE_LOCK:
        fn = _CACHE.get(key)
        if fn is not None:
            _CACHE.move_to_end(key)
            return fn
    symbols = [COORDS[n] for n in names]
    raw = sympy.lambdify(symbols, list(entries), modules="jax" if backend == "jax" else "numpy", cse=True)
    if backend == "jax":
        import jax

        fn = jax.jit(raw)
    else:
        fn = raw
    with _CACHE_LOCK:
        _CACHE[key] = fn
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fn


def _out_dtype(parts: list[Any], dtype: np.dtype) -> np.dtype:
    """`dtype`, its complex counterpart when any part is complex, or bool for conditions."""
    kinds = [np.asarray(p).dtype for p in parts]
    if all(k == np.bool_ for k in kinds):
        return np.dtype(np.bool_)
    if any(np.issubdtype(k, np.complexfloating) for k in kinds):
        return np.result_type(dtype, np.complex64)
    return dtype


def lambdify_on_grid(
    expr: sympy.Basic | sympy.MatrixBase,
    grid: Grid,
    *,
    backend: Backend = "jax",
    dtype: Any = np.float64,
) -> Any:
    """Exact values of a SymPy expression at the grid's points.

    Parameters: `expr` — a scalar expression, a column matrix (vector field) or an n×m matrix; `grid`;
    `backend` — `jax` (jax.numpy, jitted) or `numpy`; `dtype` — the real precision of the points.
    Returns: an array of shape `grid.shape` (vectors: `(n, *grid.shape)`, matrices `(n, m, *grid.shape)`),
    complex when the values are, a `jax.Array` for `jax` and a NumPy array for `numpy`.
    Raises: `CodexValueError` for an unknown backend or a free symbol that is not a grid axis.
    """
    if backend not in BACKENDS:
        raise CodexValueError(
            f"Backend `{backend}` is unknown{did_you_mean(str(backend), BACKENDS)}; use `jax` or `numpy`."
        )
    real = np.dtype(dtype)
    if not np.issubdtype(real, np.floating):
        raise CodexValueError(f"`dtype` must be a real floating type such as `float64`, got `{real}`.")
    entries, lead = _components(expr)
    entries = _on_grid_symbols(entries, grid)
    fn = _compiled(entries, grid.names, backend)
    xp: ModuleType = np
    if backend == "jax":
        import jax.numpy as jnp

        xp = jnp
    mesh = [xp.asarray(m, dtype=real) for m in grid.mesh()]
    with np.errstate(all="ignore"):
        parts = list(fn(*mesh))
    out_dtype = _out_dtype(parts, real)
    stacked = xp.stack([xp.broadcast_to(xp.asarray(p).astype(out_dtype), grid.shape) for p in parts])
    return stacked.reshape(lead + grid.shape)


def exact_field(
    expr: sympy.Basic | sympy.MatrixBase,
    grid: Grid,
    *,
    name: str | None = None,
    units: str = "1",
    attrs: Mapping[str, Any] | None = None,
    dtype: Any = np.float64,
) -> xr.DataArray:
    """The exact values of `expr` on `grid` as a field (NumPy backend), via `qwave.fields.make_field`.

    Returns a DataArray with the grid's dims (plus `component`/`component2` for vectors and matrices),
    attrs `units`, `bc` and the content hash `id`. Raises like `lambdify_on_grid` and `make_field`.
    """
    values = lambdify_on_grid(expr, grid, backend="numpy", dtype=dtype)
    return make_field(np.asarray(values), grid, name=name, units=units, attrs=attrs)
