"""Builtins on the wave path: elementary functions on data, reductions, data sources and solvers.

Symbolic builtins (`gaussian`, `plane_wave`, …) are defined once in `codexlab.photon.builtins`; here
are the numeric implementations the wave path calls when an operand is data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ..errors import CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from .registry import ExecContext

__all__ = ["NUMERIC_BUILTINS", "call_numeric"]

NumericFn = Callable[[list[Any], dict[str, Any], ExecContext], Any]

_ELEMENTARY: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "conj": np.conj,
    "re": np.real,
    "im": np.imag,
}


def _one(args: list[Any], fname: str) -> Any:
    if len(args) != 1:
        raise CodexTypeError(f"`{fname}` takes one argument, got {len(args)}.")
    return args[0]


def _field(value: Any, fname: str) -> xr.DataArray:
    if not isinstance(value, xr.DataArray):
        raise CodexTypeError(f"`{fname}` needs a field, got a {type(value).__name__}.")
    return value


def _elementary(fname: str) -> NumericFn:
    fn = _ELEMENTARY[fname]

    def run(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
        a = _one(args, fname)
        out = fn(a)
        if isinstance(out, np.ndarray) and out.ndim == 0:
            return out.item()
        if fname == "log" and isinstance(a, (int, float)) and not isinstance(a, bool) and a < 0:
            return complex(np.log(complex(a)))
        return out

    return run


def _norm(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    a = _one(args, "norm")
    if isinstance(a, xr.DataArray):
        return float(np.sqrt(float(np.sum(np.abs(np.asarray(a.values)) ** 2)) * ctx.grid.cell_volume))
    return abs(a)


def _mean(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    a = _field(_one(args, "mean"), "mean")
    m = np.mean(np.asarray(a.values))
    return complex(m) if np.iscomplexobj(m) else float(m)


def _integral(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    a = _field(_one(args, "integral"), "integral")
    s = np.sum(np.asarray(a.values)) * ctx.grid.cell_volume
    return complex(s) if np.iscomplexobj(s) else float(s)


def _extreme(fname: str, fn: Callable[[np.ndarray], Any]) -> NumericFn:
    def run(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
        a = _field(_one(args, fname), fname)
        values = np.asarray(a.values)
        if np.iscomplexobj(values):
            raise CodexTypeError(f"`{fname}` needs a real field; take `abs(…)` or `re(…)` first.")
        return float(fn(values))

    return run


def _random(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    """Standard normal field: key from `seed=` (or `@seed`), the statement hash and the step."""
    import jax

    from ..qwave import prng
    from ..qwave.fields import make_field

    if args:
        raise CodexTypeError("`random` takes only keywords, e.g. `random(seed=3)`.")
    unknown = set(kwargs) - {"seed"}
    if unknown:
        key = sorted(unknown)[0]
        raise CodexTypeError(f"`random` has no keyword `{key}`{did_you_mean(key, ['seed'])}.")
    seed = kwargs.get("seed", ctx.seed)
    if not isinstance(seed, (int, float)) or int(seed) != seed:
        raise CodexValueError(f"`random(seed=…)` needs an integer seed, got `{seed}`.")
    key = prng.derive_key(int(seed), ctx.statement_hash, ctx.step)
    values = jax.random.normal(key, ctx.grid.shape, dtype=np.float64)
    return make_field(np.asarray(values), ctx.grid)


def _load(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    from ..qwave import io

    path = _one(args, "load")
    if not isinstance(path, str):
        raise CodexTypeError('`load` needs a path in quotes, e.g. `load("data/fields/ring.nc")`.')
    roots = list(ctx.data_roots) or list(io.default_data_roots())
    return io.load(path, roots=roots, variable=kwargs.get("variable"))


def _relax(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    from ..qwave import solvers

    return solvers.relax(_field(_one(args, "relax"), "relax"))


def _evolve(args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    from ..qwave import solvers

    if not args:
        raise CodexTypeError('`evolve` needs a field: `evolve(ψ, steps, dt, eq="heat")`.')
    psi = _field(args[0], "evolve")
    rest = dict(zip(("steps", "dt", "eq"), args[1:], strict=False))
    rest.update(kwargs)
    return solvers.evolve(psi, **rest)


NUMERIC_BUILTINS: dict[str, NumericFn] = {
    **{name: _elementary(name) for name in _ELEMENTARY},
    "norm": _norm,
    "mean": _mean,
    "integral": _integral,
    "∫": _integral,
    "max": _extreme("max", np.max),
    "min": _extreme("min", np.min),
    "random": _random,
    "load": _load,
    "relax": _relax,
    "evolve": _evolve,
}


def call_numeric(fname: str, args: list[Any], kwargs: dict[str, Any], ctx: ExecContext) -> Any:
    """Run builtin `fname` on data."""
    try:
        fn = NUMERIC_BUILTINS[fname]
    except KeyError:
        raise CodexNameError(f"`{fname}` has no wave implementation{did_you_mean(fname, NUMERIC_BUILTINS)}.") from None
    return fn(args, kwargs, ctx)
