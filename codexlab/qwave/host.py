"""Host kernels: ops whose value is not one array on the grid — states that are normalized over the grid,
entangled pairs, measurements, data sources and solvers — registered into their specs.

A host kernel takes the operands as values (DataArrays, numbers, strings), the call's checked keywords
and a `HostContext`; it returns a DataArray, a number, an `EntangledPair` or a `Measurement`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import CodexTypeError, ResourceError
from ..ops import implements
from .grid import Grid

__all__ = ["HostContext", "HostKernel"]


@dataclass(frozen=True)
class HostContext:
    """What a host kernel may read besides its operands: the grid, numerics and the PRNG inputs."""

    grid: Grid
    method: str = "fd2"
    c: float = 1.0
    seed: int = 0
    statement_hash: str = ""
    step: int = 0
    data_roots: tuple[Any, ...] = ()
    #: How many solver time steps this call may take (what the loop-iteration limit leaves inside the
    #: loops around it); None: no limit.
    max_steps: int | None = None


HostKernel = Callable[[list[Any], Mapping[str, Any], HostContext], Any]


def _field(value: Any, glyph: str, what: str = "a state") -> xr.DataArray:
    if not isinstance(value, xr.DataArray):
        raise CodexTypeError(f"`{glyph}` needs {what}, got a {type(value).__name__}.")
    return value


def _host(key: str) -> Callable[[HostKernel], HostKernel]:
    return implements(key, "host")


@_host("⊕")
def _superpose(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import states

    return states.superpose(_field(args[0], "⊕"), _field(args[1], "⊕"))


@_host("⊖")
def _cancel(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import states

    return states.cancel(_field(args[0], "⊖"), _field(args[1], "⊖"))


@_host("↔")
def _entangle(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import pairs

    return pairs.entangle(_field(args[0], "↔"), _field(args[1], "↔"))


@_host("⊗")
def _tensor(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import pairs

    return pairs.tensor(_field(args[0], "⊗"), _field(args[1], "⊗"))


@_host("⧖")
def _collapse(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import measure, prng

    key = prng.derive_key(ctx.seed, ctx.statement_hash, ctx.step)
    return measure.collapse(_field(args[0], "⧖"), key, mode=str(kw["mode"]), resolution=kw["resolution"])


@_host("random")
def _random(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    """A standard normal field; key from `seed=` (or `@seed`), the statement hash and the step."""
    import jax

    from . import prng
    from .fields import make_field

    seed = kw["seed"] if kw["seed"] is not None else ctx.seed
    key = prng.derive_key(int(seed), ctx.statement_hash, ctx.step)
    return make_field(np.asarray(jax.random.normal(key, ctx.grid.shape, dtype=np.float64)), ctx.grid)


@_host("load")
def _load(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import io

    path = args[0]
    if not isinstance(path, str):
        raise CodexTypeError('`load` needs a path in quotes, e.g. `load("data/fields/ring.nc")`.')
    roots = list(ctx.data_roots) or list(io.default_data_roots())
    return io.load(path, roots=roots, variable=kw["variable"])


@_host("relax")
def _relax(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import solvers

    return solvers.relax(_field(args[0], "relax", "a field"))


@_host("evolve")
def _evolve(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
    from . import solvers

    given = dict(zip(("steps", "dt"), args[1:], strict=False))
    twice = [k for k in given if kw.get(k) is not None]
    if twice:
        raise CodexTypeError(f"`evolve` got `{twice[0]}` both as an argument and as a keyword; write it once.")
    steps = given.get("steps", kw["steps"])
    dt = given.get("dt", kw["dt"])
    if steps is None or dt is None:
        raise CodexTypeError('`evolve` needs `steps` and `dt`: `evolve(ψ, 100, 0.001, eq="heat")`.')
    if ctx.max_steps is not None and isinstance(steps, int | float) and steps > ctx.max_steps:
        raise ResourceError(
            f"`evolve` asks for {int(steps):,} time steps, over the {ctx.max_steps:,} the loop-iteration limit "
            "leaves here (steps of loops around it multiply); take fewer steps."
        )
    method = ctx.method if ctx.method in ("fd2", "fd4", "spectral") else None
    return solvers.evolve(
        _field(args[0], "evolve", "a field"), int(steps), float(dt), str(kw["eq"]), c=ctx.c, method=method
    )


def _field_maker(key: str) -> HostKernel:
    """`gaussian`, `plane_wave`, `ones`, `zeros` with numeric arguments from data: their exact rule,
    evaluated onto the grid."""

    def kernel(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
        from ..photon._calculus import COORDS, as_number
        from ..photon.builtins import call_builtin
        from .ongrid import exact_field

        def exact(v: Any) -> Any:
            if isinstance(v, xr.DataArray):
                raise CodexTypeError(f"`{key}` takes numbers and coordinates, got a field.")
            return as_number(complex(v) if isinstance(v, complex) else float(v))

        coords = [COORDS[a] if isinstance(a, str) and a in COORDS else exact(a) for a in args]
        expr = call_builtin(key, coords, {k: exact(v) for k, v in kw.items() if v is not None})
        return exact_field(expr, ctx.grid)

    return kernel


for _key in ("gaussian", "plane_wave", "zeros", "ones"):
    _host(_key)(_field_maker(_key))

del _key
