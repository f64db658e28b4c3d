"""Sweep parameters: a scroll's free names, the checked grid of values, and each point's scroll text.

A free name is one the scroll reads but never binds (coordinates and `i` excepted): the names a sweep
may set. A point binds each parameter with a definition (`σ := 0.1`) placed after the scroll's leading
directives, so its value is an `ingest` beam that every result using it descends from.
"""

from __future__ import annotations

import hashlib
import itertools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from ..lang import ast
from ..lang.deps import UNDERSCORE, analyze
from ..lang.printer import to_text

__all__ = [
    "free_names",
    "bound_names",
    "container_of",
    "check_params",
    "SweepPoint",
    "sweep_points",
    "point_scroll",
    "point_run_id",
]


def free_names(scroll: str | ast.Scroll) -> tuple[str, ...]:
    """The names a scroll reads but never binds, in the order it first reads them.

    Coordinates (`x y z t`), the imaginary unit `i`, `_` and callable names are not free (see
    `lang.deps`). Raises `CodexSyntaxError` for text that does not parse.
    """
    deps = analyze(scroll)
    return tuple(n for n in deps.read_order if n not in deps.writes)


def bound_names(tree: ast.Scroll) -> set[str]:
    """Every name a scroll binds (`:=`, `=`, `x -> name`, `_`)."""
    deps = analyze(tree)
    return set(deps.writes) | ({UNDERSCORE} if deps.underscore else set())


def container_of(tree: ast.Scroll) -> str | None:
    """The container a scroll's `@container` directive names (as `Lab.run` reads it), or None."""
    return analyze(tree).container


def _bound_at(tree: ast.Scroll, name: str) -> int | None:
    """The line of the first statement binding `name` (None when nothing binds it)."""
    for s in tree.statements:
        if name in bound_names(ast.Scroll(statements=(s,))):
            return s.line
    return None


def check_params(tree: ast.Scroll, params: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """The parameter grid as one 1-D array of distinct real numbers per free name, in the given order.

    Raises `CodexNameError` for a name that is not free in the scroll (naming the free names),
    `CodexTypeError` for a value that is not a real number, `CodexValueError` for an empty or
    repeated list of values.
    """
    free = free_names(tree)
    listing = ", ".join(f"`{n}`" for n in free) if free else "none"
    if not params:
        raise CodexValueError(f"A sweep needs at least one parameter; the scroll's free names are {listing}.")
    grid: dict[str, np.ndarray] = {}
    for name, values in params.items():
        if name not in free:
            line = _bound_at(tree, name)
            why = f"it is bound on line {line}" if line else "the scroll never reads it"
            raise CodexNameError(
                f"`{name}` is not a free name of the scroll ({why}){did_you_mean(name, free)}; the scroll's "
                f"free names are {listing}: sweep over those, or remove the scroll's own binding of `{name}`."
            )
        grid[name] = _values(name, values)
    return grid


def _values(name: str, values: Sequence[float]) -> np.ndarray:
    items = list(values) if not isinstance(values, str | bytes) else [values]
    bad = [v for v in items if isinstance(v, bool) or not isinstance(v, numbers.Real)]
    if bad:
        raise CodexTypeError(
            f"Parameter `{name}` has the value `{bad[0]!r}`, which is not a real number; sweep over numbers "
            f"(e.g. `{name}=[0.1, 0.2]`)."
        )
    if not items:
        raise CodexValueError(f"Parameter `{name}` has no values; give it at least one number.")
    array = np.asarray(items)
    if not np.all(np.isfinite(array)):
        raise CodexValueError(f"Parameter `{name}` has a value that is not finite in `{items}`; give finite numbers.")
    if len(np.unique(array)) != len(array):
        raise CodexValueError(f"Parameter `{name}` repeats a value in `{items}`; give each value once.")
    return array


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: its position in the grid, its parameter values and its run id."""

    index: tuple[int, ...]
    values: dict[str, float]
    run_id: str


def point_run_id(sweep_id: str, values: Mapping[str, float]) -> str:
    """The run id of a point: a hash of the sweep id and the point's values, so a retried or resumed
    point commits under the same id (at most once)."""
    text = sweep_id + "|" + "|".join(f"{k}={float(v)!r}" for k, v in values.items())
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def sweep_points(sweep_id: str, grid: Mapping[str, np.ndarray]) -> list[SweepPoint]:
    """Every combination of the parameter values, in C order of the grid."""
    names = list(grid)
    points = []
    for index in itertools.product(*(range(len(v)) for v in grid.values())):
        values = {n: grid[n][i].item() for n, i in zip(names, index, strict=True)}
        points.append(SweepPoint(tuple(index), values, point_run_id(sweep_id, values)))
    return points


def point_scroll(tree: ast.Scroll, values: Mapping[str, float]) -> str:
    """The scroll text of a point: its parameters defined after the leading directives."""
    statements = list(tree.statements)
    head = next((i for i, s in enumerate(statements) if not isinstance(s, ast.Directive)), len(statements))
    defs = [ast.Definition(name, ast.Number(value)) for name, value in values.items()]
    return to_text(ast.Scroll(tuple(statements[:head] + defs + statements[head:])))
