"""Cell admission for `Lab.run` when the overload back-off is on: ok, deferred or collapsed, before the
cell runs.

A cell's predicted cost is the sum of its planned ops' predicted delays (the cost report of
`CodexCostEstimator`); a collapse lowers the precision of the cell's own field ops, as far as the
precision model predicts they stay within tolerance. A deferred cell blocks its caller until the
controller starts it. Every decision becomes the cell's first beam (`schedule`, token `cell`) with the
controller's one-sentence reason.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .memory import CarrierMemory
from .overload import Admission, OverloadController

__all__ = ["CellGate"]

#: Seconds between checks while a deferred cell waits (it is also woken when another cell finishes).
POLL_S = 0.01


class CellGate:
    """Admits `Lab.run` cells through an `OverloadController`."""

    def __init__(self, controller: OverloadController, profiler: Any = None) -> None:
        self.controller = controller
        self.profiler = profiler
        self._wake = threading.Condition()
        self._started: dict[str, Admission] = {}

    def _predictor(self, op: str, tol: float, grid: Any) -> Any:
        from ..qwave.precision import recommend_precision_for_opcode

        return recommend_precision_for_opcode(op, tol, grid, profiler=self.profiler)

    def admit(self, cell: str, predicted_ms: float, memory: CarrierMemory, ops: Sequence[str]) -> Admission:
        """Admit the cell, blocking while it is deferred; returns the admission it starts with."""
        admission = self.controller.admit(
            cell,
            predicted_ms,
            grid=memory.grid,
            precision="fp64" if memory.precision == "auto" else memory.precision,
            tol=float(memory.extras.get("precision_tol", 1e-3)),
            predictor=self._predictor,
            ops=ops,
        )
        while not admission.runs_now:
            with self._wake:
                self._collect(self.controller.poll())
                started = self._started.pop(cell, None)
                if started is not None:
                    admission = replace(started, state=admission.state, plan=admission.plan)
                    break
                self._wake.wait(POLL_S)
        return admission

    def _collect(self, started: list[Admission]) -> None:
        for a in started:
            self._started[a.cell_id] = a

    def finish(self, cell: str) -> None:
        """Free the cell's slot (waking the cells that wait)."""
        with self._wake:
            self._collect(self.controller.finish(cell))
            self._wake.notify_all()
