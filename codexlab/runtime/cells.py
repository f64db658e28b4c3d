"""`CellLog`: what a Lab remembers of each cell it ran — its code, status report and qscore — per container.

Repairs, dreams and `status` read it; `Lab.run` writes it. It is the Lab's memory of *cells* (the
container's memory of *names* is `CarrierMemory`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["CellLog", "CellRecord"]


@dataclass
class CellRecord:
    """One cell of a container: the code that last ran as it, its status report and its qscore."""

    code: str | None = None
    report: Any = None
    qscore: float = 0.0


class CellLog:
    """Cell records by container and cell id (thread-safe: dreams write from a background thread)."""

    def __init__(self) -> None:
        self._cells: dict[str, dict[str, CellRecord]] = {}
        self._lock = threading.RLock()

    def record(self, container: str, cell: str) -> CellRecord:
        """The record of a cell, created empty on first use."""
        with self._lock:
            return self._cells.setdefault(container, {}).setdefault(cell, CellRecord())

    def get(self, container: str, cell: str) -> CellRecord | None:
        """The record of a cell, or None when it never ran in that container."""
        with self._lock:
            return self._cells.get(container, {}).get(cell)

    def cells(self, container: str) -> dict[str, CellRecord]:
        """The container's cells, in the order they first ran (a copy)."""
        with self._lock:
            return dict(self._cells.get(container, {}))

    def reports(self, container: str) -> dict[str, Any]:
        """The container's status reports by cell id (cells without one left out)."""
        return {cell: r.report for cell, r in self.cells(container).items() if r.report is not None}

    def container_of(self, cell: str) -> str | None:
        """The first container that ran a cell of this id."""
        with self._lock:
            return next((c for c, cells in self._cells.items() if cell in cells), None)

    def update(self, other: CellLog) -> None:
        """Take over another log's records (a Lab recreated with new flags keeps its cells)."""
        with other._lock:
            copied = {c: dict(cells) for c, cells in other._cells.items()}
        with self._lock:
            for container, cells in copied.items():
                self._cells.setdefault(container, {}).update(cells)
