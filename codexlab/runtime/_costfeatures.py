"""Work features of an op for the cost model: FLOPs and bytes, from XLA's cost analysis or a table.

With a jitted kernel and example arguments, `xla_features` asks XLA
(`jax.jit(fn).lower(*args).compile().cost_analysis()`) for the FLOPs and bytes accessed of that exact
call, cached per (op, kernel, shapes, dtypes). The scheduler has no jittable kernel in hand (registry
kernels take DataArrays), so `grid_features` analyses a registered *cost kernel* (the qwave JAX kernel
the op runs) once per (op, axes, boundary conditions, dtype, method, components) on a reference grid
of `REFERENCE_POINTS` points and scales the per-point counts by the grid's points: an analysis at every
new grid shape would add a compile per shape (0.3–1.2 s for a stencil on a 2-core CPU) to the
kernel's own. Ops without a cost kernel, scalar operands, and analyses that fail or lack counts use
the documented table fallback: FLOPs = `FLOPS_PER_POINT[op]` × points × components and bytes =
(inputs + outputs) × itemsize × points × components.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import CodexValueError, did_you_mean
from ..qwave.grid import Grid

__all__ = [
    "ARITY",
    "DTYPE_NAMES",
    "FLOPS_PER_POINT",
    "REFERENCE_POINTS",
    "TRANSCENDENTAL_FLOPS",
    "canonical_dtype",
    "grid_features",
    "itemsize",
    "register_cost_kernel",
    "table_features",
    "xla_features",
]

#: FLOPs per grid point and component when no XLA analysis exists: fd2 stencils on a 2-D grid as XLA
#: counts them (Δ 6, ∇ 6, ∇· 7, ∇× 8, one first derivative 3), a pointwise arithmetic op 1, `^` one
#: transcendental (`TRANSCENDENTAL_FLOPS`), |ψ|² of a complex value 3.
FLOPS_PER_POINT: dict[str, float] = {
    "+": 1.0,
    "-": 1.0,
    "*": 1.0,
    "/": 1.0,
    "neg": 1.0,
    "^": 10.0,
    "Δ": 6.0,
    "□": 7.0,
    "∇": 6.0,
    "∇·": 7.0,
    "∇×": 8.0,
    "d/dt": 3.0,
    "∂x": 3.0,
    "∂y": 3.0,
    "∂z": 3.0,
    "∂t": 3.0,
    "•": 3.0,
    "×": 3.0,
    "⊗": 1.0,
    "⋈": 6.0,
    "density": 3.0,
    "norm": 3.0,
    "⊕": 6.0,
    "⊖": 6.0,
}
#: FLOPs one transcendental function (exp, log, sin, pow) counts as: XLA counts them apart, and on the
#: CPU each is a polynomial evaluation of about 10–20 FLOPs.
TRANSCENDENTAL_FLOPS = 10.0
#: FLOPs per point of an op missing from the table: one pointwise operation.
DEFAULT_FLOPS_PER_POINT = 1.0
#: (input arrays, output arrays) per point, for the table's bytes; missing ops count as (1, 1).
ARITY: dict[str, tuple[int, int]] = {
    "+": (2, 1),
    "-": (2, 1),
    "*": (2, 1),
    "/": (2, 1),
    "^": (2, 1),
    "•": (2, 1),
    "×": (2, 1),
    "⊗": (2, 1),
    "⋈": (2, 1),
    "⊕": (2, 1),
    "⊖": (2, 1),
    "↔": (2, 2),
    "norm": (1, 0),
}
#: Points of the reference grid a cost kernel is analysed on (64², 16³, 8⁴).
REFERENCE_POINTS = 4096
#: Precision names of codexlab (and NumPy names) → the dtype label kept with calibration rows.
DTYPE_NAMES: dict[str, str] = {
    "fp64": "float64",
    "auto": "float64",
    "fp32": "float32",
    "fp16": "float16",
    "bf16": "bfloat16",
    "float64": "float64",
    "float32": "float32",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "complex128": "complex128",
    "complex64": "complex64",
}
#: Emulated formats (fp8, fp4, int8) compute in float32 on the CPU; their label stays their own name.
_EMULATED = ("fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int8")
_ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "complex128": 16, "complex64": 8}

CostKernel = Callable[[tuple[Any, ...], str, str, int], "tuple[Callable[..., Any], tuple[Any, ...]] | None"]
_COST_KERNELS: dict[str, CostKernel] = {}
_CACHE_SIZE = 256
_xla_cache: OrderedDict[tuple[Any, ...], tuple[float, float] | None] = OrderedDict()
_grid_cache: dict[tuple[Any, ...], tuple[float, float] | None] = {}
_lock = threading.Lock()


def canonical_dtype(dtype: Any) -> str:
    """The calibration label of a precision (`fp64` → `float64`); emulated formats keep their name."""
    name = str(getattr(dtype, "name", dtype))
    if name in DTYPE_NAMES:
        return DTYPE_NAMES[name]
    if name in _EMULATED:
        return name
    choices = sorted(set(DTYPE_NAMES) | set(_EMULATED))
    raise CodexValueError(
        f"`{name}` is not a precision the cost model knows{did_you_mean(name, choices)}; use one of "
        + ", ".join(f"`{c}`" for c in choices)
        + "."
    )


def compute_dtype(label: str) -> str:
    """The dtype a kernel of this label computes in (emulated formats run in float32)."""
    return "float32" if label in _EMULATED else label


def itemsize(label: str) -> int:
    """Bytes per value of a dtype label."""
    return _ITEMSIZE[compute_dtype(label)]


def table_features(op: str, size: int, dtype: str = "float64", components: int = 1) -> tuple[float, float]:
    """The table fallback: (FLOPs, bytes) of `op` over `size` points of `components` values each."""
    n = float(max(int(size), 1)) * max(int(components), 1)
    ins, outs = ARITY.get(op, (1, 1))
    flops = FLOPS_PER_POINT.get(op, DEFAULT_FLOPS_PER_POINT) * n
    return flops, float(ins + outs) * itemsize(canonical_dtype(dtype)) * n


def _analysis_counts(analysis: Any) -> tuple[float, float] | None:
    """(flops, bytes accessed) from a cost analysis: a dict, or a list of dicts in some JAX versions."""
    if isinstance(analysis, Sequence) and not isinstance(analysis, dict):
        parts = [a for a in analysis if isinstance(a, dict)]
    else:
        parts = [analysis] if isinstance(analysis, dict) else []
    if not parts or not any("flops" in p or "bytes accessed" in p for p in parts):
        return None
    flops = sum(
        max(float(p.get("flops", 0.0)), 0.0) + TRANSCENDENTAL_FLOPS * max(float(p.get("transcendentals", 0.0)), 0.0)
        for p in parts
    )
    nbytes = sum(max(float(p.get("bytes accessed", 0.0)), 0.0) for p in parts)
    return flops, nbytes


def _signature(args: Sequence[Any]) -> tuple[tuple[tuple[int, ...], str], ...]:
    return tuple((tuple(np.shape(a)), str(getattr(a, "dtype", np.asarray(a).dtype))) for a in args)


def _remember(key: tuple[Any, ...], value: tuple[float, float] | None) -> None:
    with _lock:
        _xla_cache[key] = value
        _xla_cache.move_to_end(key)
        while len(_xla_cache) > _CACHE_SIZE:
            _xla_cache.popitem(last=False)


def xla_features(op: str, kernel: Callable[..., Any], example_args: Sequence[Any]) -> tuple[float, float] | None:
    """(FLOPs, bytes accessed) of `kernel(*example_args)` from XLA's compiled cost analysis, or None.

    FLOPs include `TRANSCENDENTAL_FLOPS` per transcendental function XLA counts.
    A kernel that is already jitted is lowered as it is (so its compiled executable is shared with
    its calls); any other callable is wrapped in `jax.jit`. Arguments may be arrays or
    `jax.ShapeDtypeStruct`s. None when XLA gives no counts (the caller falls back to the table).
    """
    import jax

    key = (op, kernel, _signature(example_args))
    with _lock:
        if key in _xla_cache:
            _xla_cache.move_to_end(key)
            return _xla_cache[key]
    jitted = kernel if hasattr(kernel, "lower") else jax.jit(kernel)
    try:
        counts = _analysis_counts(jitted.lower(*example_args).compile().cost_analysis())
    except Exception:  # noqa: BLE001  (a kernel XLA cannot analyse falls back to the table)
        counts = None
    _remember(key, counts)
    return counts


def register_cost_kernel(op: str, *, override: bool = False) -> Callable[[CostKernel], CostKernel]:
    """Register `factory(axes, dtype, method, components) -> (fn, example_args) | None` for `op`.

    `axes` are qwave `AxisSpec`s of a reference grid; the factory returns the JAX function the op runs
    and `jax.ShapeDtypeStruct` arguments, or None when the op does not apply (e.g. `□` without `t`).
    A duplicate raises unless `override=True`.
    """

    def register(factory: CostKernel) -> CostKernel:
        _builtin_cost_kernels()
        with _lock:
            if op in _COST_KERNELS and not override:
                raise CodexValueError(
                    f"A cost kernel for `{op}` is already registered; pass `override=True` to replace it."
                )
            _COST_KERNELS[op] = factory
            for key in [k for k in _grid_cache if k[0] == op]:
                del _grid_cache[key]
        return factory

    return register


def _reference_axes(grid: Grid) -> tuple[Any, ...]:
    """The grid's axes (names, boundary conditions) with about `REFERENCE_POINTS` points in all."""
    from ..qwave.kernels import AxisSpec

    n = max(8, int(round(REFERENCE_POINTS ** (1.0 / grid.ndim))))
    return tuple(AxisSpec(a.name, n, 1.0, a.bc) for a in grid.axes)


def grid_features(
    op: str, grid: Grid, dtype: str = "float64", method: str = "fd2", components: int = 1
) -> tuple[float, float, str]:
    """(FLOPs, bytes, source) of `op` on `grid`: XLA per-point counts × points, else the table.

    `source` is `"xla"` or `"table"`.
    """
    label = canonical_dtype(dtype)
    per_point = _per_point(op, grid, label, method, max(int(components), 1))
    if per_point is not None:
        return per_point[0] * grid.size, per_point[1] * grid.size, "xla"
    flops, nbytes = table_features(op, grid.size, label, components)
    return flops, nbytes, "table"


def _per_point(op: str, grid: Grid, label: str, method: str, components: int) -> tuple[float, float] | None:
    """XLA's (FLOPs, bytes) per grid point of `op`'s cost kernel on the reference grid, cached."""
    key = (op, tuple((a.name, a.bc) for a in grid.axes), label, method, components)
    with _lock:
        if key in _grid_cache:
            return _grid_cache[key]
    _builtin_cost_kernels()
    factory = _COST_KERNELS.get(op)
    result = None
    if factory is not None:
        axes = _reference_axes(grid)
        made = factory(axes, compute_dtype(label), method, components)
        if made is not None:
            counts = xla_features(op, made[0], made[1])
            if counts is not None:
                points = float(np.prod([a.n for a in axes]))
                result = (counts[0] / points, counts[1] / points)
    with _lock:
        _grid_cache[key] = result
    return result


_builtins_done = False


def _builtin_cost_kernels() -> None:
    """Register the cost kernels of the built-in glyphs (once, on first use: it imports JAX)."""
    global _builtins_done
    if _builtins_done:
        return
    with _lock:
        if _builtins_done:
            return
        _register_builtins()
        _builtins_done = True


def _register_builtins() -> None:
    import jax
    import jax.numpy as jnp

    from ..qwave import kernels

    def field(axes: tuple[Any, ...], dtype: str, lead: tuple[int, ...] = ()) -> Any:
        return jax.ShapeDtypeStruct(lead + tuple(a.n for a in axes), jnp.dtype(dtype))

    def lead_of(components: int) -> tuple[int, ...]:
        return (components,) if components > 1 else ()

    def space(axes: tuple[Any, ...]) -> list[int]:
        return [i for i, a in enumerate(axes) if a.name != "t"]

    def stencil(name: str) -> CostKernel:
        def factory(axes: tuple[Any, ...], dtype: str, method: str, components: int) -> Any:
            if name == "dalembert" and not any(a.name == "t" for a in axes):
                return None
            op = getattr(kernels, name)
            arg = field(axes, dtype, lead_of(components))
            return (lambda u: op(u, axes, method=method, backend="jax")), (arg,)

        return factory

    def vector_in(name: str, dims: tuple[int, ...]) -> CostKernel:
        def factory(axes: tuple[Any, ...], dtype: str, method: str, components: int) -> Any:
            n = len(space(axes))
            if n not in dims:
                return None
            op = getattr(kernels, name)
            return (lambda F: op(F, axes, method=method, backend="jax")), (field(axes, dtype, (n,)),)

        return factory

    def along(axis_name: str) -> CostKernel:
        def factory(axes: tuple[Any, ...], dtype: str, method: str, components: int) -> Any:
            index = next((i for i, a in enumerate(axes) if a.name == axis_name), None)
            if index is None:
                return None

            def fn(u: Any) -> Any:
                return kernels.derivative(u, axes, index, 1, method=method, backend="jax")

            return fn, (field(axes, dtype, lead_of(components)),)

        return factory

    def pointwise(fn: Callable[..., Any], arity: int) -> CostKernel:
        def factory(axes: tuple[Any, ...], dtype: str, method: str, components: int) -> Any:
            return fn, tuple(field(axes, dtype, lead_of(components)) for _ in range(arity))

        return factory

    for op, factory in {
        "Δ": stencil("lap"),
        "□": stencil("dalembert"),
        "∇": stencil("grad"),
        "∇·": vector_in("div", (1, 2, 3)),
        "∇×": vector_in("curl", (2, 3)),
        "d/dt": along("t"),
        **{f"∂{a}": along(a) for a in "xyzt"},
        "+": pointwise(jnp.add, 2),
        "-": pointwise(jnp.subtract, 2),
        "*": pointwise(jnp.multiply, 2),
        "/": pointwise(jnp.divide, 2),
        "^": pointwise(jnp.power, 2),
        "neg": pointwise(jnp.negative, 1),
        "density": pointwise(lambda u: jnp.abs(u) ** 2, 1),
    }.items():
        _COST_KERNELS.setdefault(op, factory)
