"""Cell admission for `Lab.run`: the overload controller decides ok / deferred / collapsed before a cell runs.

A cell's predicted cost is the median duration of the same code in this Lab (0 the first time: an
unknown cell is never held back). A deferred cell blocks its caller until the controller starts it; a
collapsed cell runs at the plan's lower precision (only plans that keep the grid are applied, since a
coarser grid would leave the container's later cells on two grids, so such a plan is dropped). Every
decision becomes a `schedule` beam of the cell with the controller's one-sentence reason.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
from collections import defaultdict, deque
from dataclasses import replace
from typing import Any

from .memory import CarrierMemory
from .overload import Admission, OverloadController

__all__ = ["CellGate"]

#: How many past durations of a cell are kept for its prediction.
HISTORY = 8
#: Seconds between checks while a deferred cell waits (it is also woken when another cell finishes).
POLL_S = 0.01


def _code_key(code: str) -> str:
    return hashlib.blake2b(code.encode("utf-8"), digest_size=8).hexdigest()


class CellGate:
    """Admits `Lab.run` cells through an `OverloadController` and learns each cell's duration."""

    def __init__(self, controller: OverloadController, profiler: Any = None) -> None:
        self.controller = controller
        self.profiler = profiler
        self._history: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=HISTORY))
        self._wake = threading.Condition()
        self._started: dict[str, Admission] = {}

    def predicted_ms(self, code: str) -> float:
        """The median of this code's past durations in this Lab (0 when it never ran)."""
        past = self._history.get(_code_key(code))
        return float(statistics.median(past)) if past else 0.0

    def _predictor(self, op: str, tol: float, grid: Any) -> Any:
        from ..qwave.precision import recommend_precision_for_opcode

        return recommend_precision_for_opcode(op, tol, grid, profiler=self.profiler)

    def admit(self, cell: str, code: str, memory: CarrierMemory) -> Admission:
        """Admit the cell, blocking while it is deferred; returns the admission it starts with."""
        admission = self.controller.admit(
            cell,
            self.predicted_ms(code),
            grid=memory.grid,
            precision="fp64" if memory.precision == "auto" else memory.precision,
            tol=float(memory.extras.get("precision_tol", 1e-3)),
            predictor=self._predictor,
        )
        if admission.plan is not None and admission.plan.grid.shape != memory.grid.shape:
            admission = replace(
                admission,
                state="ok" if admission.runs_now else "deferred",
                reason=admission.reason.rstrip(".")
                + "; a coarser grid is not applied to a live container, so the cell runs unchanged.",
                plan=None,
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

    def finish(self, cell: str, code: str, duration_ms: float) -> None:
        """Record the cell's duration and free its slot (waking the cells that wait)."""
        self._history[_code_key(code)].append(float(duration_ms))
        with self._wake:
            self._collect(self.controller.finish(cell))
            self._wake.notify_all()
