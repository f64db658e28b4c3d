"""Stale cells of a container: a cell is stale when a name it read is now bound to another value (a later
cell redefined it). `CellWatch` records, for every committed cell, the beam of each value it read;
`rerun` runs the stale cells again in the order they first ran, until none is left.

`Lab.run` reports each committed cell to the watch (a sheet reports its cells once merged); `panel`
gives the container's cells and which are stale as a `qpu_sheet_metrics` payload of scope `container`,
which the HUD folds in after each run.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CodexError
from ..lang.deps import UNDERSCORE, analyze
from .memory import CarrierMemory

if TYPE_CHECKING:
    from ..qpu.graph import SheetGraph
    from .lab import Lab
    from .run import Run

__all__ = ["CellWatch", "SeenCell", "MAX_CELLS"]

#: Cells kept per container (the oldest are forgotten first).
MAX_CELLS = 500


@dataclass(frozen=True)
class SeenCell:
    """A committed cell: its code, when it first ran, what it read (and which beam each value had)."""

    cell_id: str
    code: str
    order: int
    writes: frozenset[str]
    #: name read → the beam id of its value then (`vetoed:<beam>` for a veto, None when unbound)
    seen: Mapping[str, str | None]


def _beam_of(memory: CarrierMemory, name: str) -> str | None:
    binding = memory.bindings.get(name)
    if binding is not None:
        return binding.value.beam_id
    vetoed = memory.vetoed.get(name)
    return f"vetoed:{vetoed.beam_id}" if vetoed is not None else None


class CellWatch:
    """What each cell of each container read when it last ran (`Lab.run` reports every committed cell)."""

    def __init__(self) -> None:
        self._cells: dict[str, dict[str, SeenCell]] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count()

    # ------------------------------------------------------------------------------------- recording

    def observe(self, container: str, cell_id: str, code: str, memory: CarrierMemory) -> None:
        """Record that `cell_id` ran `code` and read its inputs as `memory` holds them now (after the
        cell: names it bound itself are not its inputs). Older cells it supersedes are dropped: the
        same code run again, or a cell all of whose names this one rebinds."""
        try:
            deps = analyze(code)
        except CodexError:
            return
        reads = deps.reads - deps.writes - {UNDERSCORE}
        seen = {name: _beam_of(memory, name) for name in sorted(reads)}
        with self._lock:
            cells = self._cells.setdefault(container, {})
            previous = cells.pop(cell_id, None)
            for other in list(cells.values()):
                if other.code == code or (other.writes and other.writes <= deps.writes):
                    del cells[other.cell_id]
            order = previous.order if previous is not None else next(self._counter)
            cells[cell_id] = SeenCell(cell_id, code, order, deps.writes, seen)
            while len(cells) > MAX_CELLS:
                oldest = min(cells.values(), key=lambda c: c.order)
                del cells[oldest.cell_id]

    def observe_sheet(self, graph: SheetGraph, outputs: Mapping[str, CarrierMemory], base: CarrierMemory) -> None:
        """Record a sheet's finished cells with the inputs their private memories held."""
        container = base.container_id
        for cell in graph.order:
            if cell in outputs:
                deps = graph.deps[cell]
                memory = outputs[cell]
                seen = {n: _beam_of(memory, n) for n in sorted(deps.reads - deps.writes - {UNDERSCORE})}
                with self._lock:
                    cells = self._cells.setdefault(container, {})
                    previous = cells.pop(cell, None)
                    order = previous.order if previous is not None else next(self._counter)
                    cells[cell] = SeenCell(cell, graph.sheet[cell].code, order, deps.writes, seen)

    # ------------------------------------------------------------------------------------ answering

    def cells(self, container: str) -> list[SeenCell]:
        """The container's recorded cells, in the order they first ran."""
        with self._lock:
            return sorted(self._cells.get(container, {}).values(), key=lambda c: c.order)

    def stale(self, container: str, memory: CarrierMemory) -> dict[str, list[str]]:
        """Stale cell id → the names whose value changed since it ran, in the order the cells first ran."""
        out: dict[str, list[str]] = {}
        for cell in self.cells(container):
            changed = [n for n, beam in cell.seen.items() if _beam_of(memory, n) != beam]
            if changed:
                out[cell.cell_id] = changed
        return out

    def rerun(self, lab: Lab, container: str) -> list[Run]:
        """Run the stale cells again, earliest first, until none is stale (each cell at most once)."""
        runs: list[Run] = []
        done: set[str] = set()
        while True:
            stale = [c for c in self.stale(container, lab.memory(container)) if c not in done]
            if not stale:
                return runs
            cell = stale[0]
            done.add(cell)
            code = self._cells[container][cell].code
            runs.append(lab.run(code, container=container, cell_id=cell))

    def panel(self, container: str, memory: CarrierMemory) -> dict[str, Any]:
        """The `qpu_sheet_metrics` payload of scope `container`: its cells and which are stale."""
        stale = self.stale(container, memory)
        return {
            "kind": "qpu_sheet_metrics",
            "scope": "container",
            "cells": len(self.cells(container)),
            "stale": list(stale),
            "rows": [
                {
                    "cell_id": c.cell_id,
                    "status": "stale" if c.cell_id in stale else "current",
                    "reads": sorted(c.seen),
                    "writes": sorted(c.writes),
                    "changed": stale.get(c.cell_id, []),
                }
                for c in self.cells(container)
            ],
        }
