"""The virtual QPU (plan name `codex_virtual_qpu`): sheets of CodexLang cells run as a dependency graph.

>>> run = execute_sheet(lab, "sheet.codex", jobs=2)    # or lab.run_sheet(...)
>>> run.ran, run.reused, run.values["L"], run.metrics["critical_path"]

A sheet is a `.codex` file with `# %% <cell id>` cells or a notebook's `%%codex` cells. Independent
cells run in parallel threads against private memories; unchanged cells are reused from the cache
with a `cached` beam linked to the beams they reuse; `python -m codexlab.qpu FILE` runs one.
The runtime (JAX, SymPy) loads on first use of the names that need it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .sheet import Cell, Sheet, as_sheet, load_sheet, parse_sheet

if TYPE_CHECKING:
    from .graph import SheetGraph, build_graph
    from .result import CellOutcome, SheetRun
    from .runner import execute_sheet, sheet_cache

__all__ = [
    "Cell",
    "CellOutcome",
    "Sheet",
    "SheetGraph",
    "SheetRun",
    "as_sheet",
    "build_graph",
    "execute_sheet",
    "load_sheet",
    "parse_sheet",
    "sheet_cache",
]

_LAZY = {
    "SheetGraph": "graph",
    "build_graph": "graph",
    "CellOutcome": "result",
    "SheetRun": "result",
    "execute_sheet": "runner",
    "sheet_cache": "runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module `{__name__}` has no attribute `{name}`")
