"""Built-in reference kernels and κ cached on disk, so `recommend_precision_for_opcode` works in a fresh
process for every op that runs in a chosen format.

An op's reference kernel is its own array rule (the spec's, `codexlab.qwave.arrays`: what the grid path
runs), fed with `reference_inputs` Gaussians shaped as the op takes them — scalar fields, or vector fields
stacked from them. A few ops are probed on inputs where they are well conditioned (`_PROBES`), so κ
measures rounding, not the op's own singularities. κ measured this way is stored in `cache_dir("kappa")`,
keyed by op, grid and the codexlab and JAX versions, so later processes read it instead of running the
kernel in fp64 and fp32. A kernel registered with `register_reference_kernel` wins over these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._version import __version__
from ...caches import JsonCache
from ...errors import CodexValueError
from ...ops import KindEnv, KindMismatch, OpSpec, find_spec, iter_specs
from ..grid import Grid
from .kappa import KappaTable, canonical_op, measure_kappa, reference_inputs

__all__ = ["builtin_kappa", "builtin_ops", "builtin_kernel"]

Kernel = Callable[..., Any]
_CACHE = JsonCache("kappa", "kappa.json")
#: Precision classes whose ops run in a chosen format (and so need κ).
_FORMATTED = frozenset({"stencil1", "stencil2", "pointwise"})
#: Inputs on which an op is well conditioned (reference Gaussians come close to 0 at the edges).
_PROBES: dict[str, Callable[[list[Any]], list[Any]]] = {
    "/": lambda xs: [xs[0], 1 + xs[1]],
    "^": lambda xs: [1 + xs[0], xs[1]],
    "abs": lambda xs: [xs[0] - 0.5],
    "conj": lambda xs: [xs[0] + 1j * xs[1]],
    "re": lambda xs: [xs[0] * np.exp(1j * xs[1])],
    "im": lambda xs: [xs[0] * np.exp(1j * xs[1])],
    "⋈": lambda xs: [xs[0], xs[1], 0.5],
}
_EXTRA_INPUTS = {"conj": 1, "re": 1, "im": 1}


def _operand_kinds(spec: OpSpec, env: KindEnv) -> tuple[str, ...] | None:
    """The first operand kinds the op takes: scalar fields, else vector fields (a number for a phase)."""
    n = spec.arity[0]
    for kinds in (("field",) * n, ("vector",) * n, ("field",) * (n - 1) + ("number",)):
        try:
            spec.kind(kinds, env)
            return kinds
        except KindMismatch:
            continue
    return None


def builtin_ops() -> tuple[str, ...]:
    """Every op with a built-in reference kernel (an array rule that runs in a chosen format)."""
    return tuple(s.key for s in iter_specs() if s.array is not None and s.precision_class in _FORMATTED)


def builtin_kernel(op: str, grid: Grid) -> tuple[int, Kernel] | None:
    """(number of reference Gaussians, kernel(*inputs, grid=grid)) of an op from its spec, or None."""
    from ..arrays import array_spec

    spec = find_spec(canonical_op(op))
    if spec is None or spec.array is None or spec.precision_class not in _FORMATTED:
        return None
    if spec.axis == "t" and "t" not in grid.names:
        raise CodexValueError(
            f"`{spec.key}` differentiates along `t`, and the grid `{grid.describe()}` has no `t` axis; pass a grid "
            'with one, e.g. `Grid.from_spec([("x", -1, 1, 64), ("t", 0, 1, 64)])`.'
        )
    dims = len(grid.space_axes)
    kinds = _operand_kinds(spec, KindEnv(dims, grid.has_time))
    if kinds is None:
        return None
    rule = spec.array
    probe = _PROBES.get(spec.key, lambda xs: xs)
    fields = sum(1 for k in kinds if k != "number")
    vectors = "vector" in kinds
    count = max(2, fields) if vectors else fields + _EXTRA_INPUTS.get(spec.key, 0)

    def kernel(*inputs: Any, grid: Grid) -> np.ndarray:
        xs = list(inputs)
        if vectors:  # vector operands stack the Gaussians: (a, b, a, …) and (b, a, b, …)
            a, b = xs[0], xs[1]
            xs = [np.stack([(a, b)[(k + j) % 2] for k in range(dims)]) for j in range(fields)]
        out = rule(probe(xs), array_spec(grid), {})
        return np.asarray(out)

    return count, kernel


def _key(op: str, grid: Grid) -> str:
    import jax

    return f"{op} | {grid.describe()} | codexlab {__version__} | jax {jax.__version__}"


def builtin_kappa(op: str, grid: Grid, h: float, table: KappaTable) -> float | None:
    """κ of `op` on `grid` with its built-in kernel: from the disk cache, else measured (fp32 vs fp64)
    and stored there; added to `table` at spacing `h` either way. None when `op` has no built-in kernel."""
    entry = builtin_kernel(op, grid)
    if entry is None:
        return None
    key = _key(canonical_op(op), grid)
    cached = _CACHE.get(key)
    if isinstance(cached, (int, float)) and cached > 0:
        table.add(canonical_op(op), h, float(cached))
        return float(cached)
    arity, kernel = entry

    def bound(*xs: Any) -> Any:
        return kernel(*xs, grid=grid)

    kappa = measure_kappa(canonical_op(op), bound, reference_inputs(grid, arity), h, table=table)
    _CACHE.put(key, kappa)
    return kappa
