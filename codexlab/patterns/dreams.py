"""Dreams (`PHASE9_ENABLED`): k variants of a cell — other precisions, derivative methods, resolutions.

Each variant is the cell's scroll with one directive changed (built with the scroll injector, so it
parses): fp32 ↔ fp64, fd2 → fd4 (or back), spectral where every axis is periodic, and a doubled grid
when the cell sets its own `@grid` (a cell on its container's grid cannot change it alone). Running
them, judging them by qscore and recording them as mutations is the Lab's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lang import ast, parse
from .repair import CellSettings, _directive, _grid, _periodic, _set_directive, _word

__all__ = ["DreamVariant", "dream_variants"]


@dataclass(frozen=True)
class DreamVariant:
    """One variant of a cell: what changed and the scroll that runs it."""

    kind: str
    description: str
    scroll: str


def dream_variants(scroll_text: str, k: int = 3, settings: CellSettings | None = None) -> list[DreamVariant]:
    """Up to `k` variants of a cell, precision first, then method, then resolution; `settings` are the
    container's method and precision where the cell sets none."""
    settings = settings or CellSettings()
    scroll = parse(scroll_text)
    out: list[DreamVariant] = []
    precision = _word(scroll, "precision", settings.precision)
    other = "fp32" if precision in ("fp64", "auto") else "fp64"
    out.append(
        DreamVariant(
            "precision",
            f"`@precision {other}` instead of `{precision}`",
            _set_directive(scroll, ast.Directive("precision", (ast.Word(other),))),
        )
    )
    method = _word(scroll, "method", settings.method)
    swap = "fd4" if method != "fd4" else "fd2"
    out.append(
        DreamVariant(
            "method",
            f"`@method {swap}` instead of `{method}`",
            _set_directive(scroll, ast.Directive("method", (ast.Word(swap),))),
        )
    )
    own_grid = _directive(scroll, "grid") is not None
    if own_grid:
        axes, options = _grid(scroll, settings)
        if method != "spectral" and all(_periodic(axes, options).values()):
            out.append(
                DreamVariant(
                    "spectral",
                    "spectral derivatives on the periodic axes",
                    _set_directive(scroll, ast.Directive("method", (ast.Word("spectral"),))),
                )
            )
        finer = [ast.AxisSpec(a.name, a.lo, a.hi, a.n * 2) for a in axes]
        out.append(
            DreamVariant(
                "resolution",
                "twice the points per axis",
                _set_directive(scroll, ast.Directive("grid", (*finer, *options))),
            )
        )
    return out[: max(int(k), 0)]
