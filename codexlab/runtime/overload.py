"""Overload back-off (SEMANTICS.md, "Scheduler and cost"), opt-in: admit, defer or collapse a cell by
queued cost. A Lab made with `max_concurrency=` uses it; its decisions depend on predicted and running
work, so results then depend on load (a collapsed cell runs at a lower precision) — which is why it is
off unless asked for.

The controller runs at most `max_concurrency` cells at once and compares the predicted work ahead of
a new cell (the remaining predicted ms of running cells plus the predicted ms of queued ones) with
the budget `max_concurrency × latency_budget_ms`. Within it the cell is **ok** (it runs when a slot is
free); past it the cell is **deferred** (queued, and started only once the running work fits the
budget again, or nothing else runs); past budget + 50 % it is **collapsed**: run at a lower precision
that the precision model predicts still within tolerance for the cell's own ops (`collapse_plan`),
or deferred when no such plan exists. The work ahead decides, not the cell's own cost, so a large
cell on an idle lab runs as asked. Queued cells start in arrival order. Every admission carries a
one-sentence reason for the cell's `schedule` beam. Predicted waits come from list scheduling:
queued cells are placed on the slot that frees first. Thread-safe; `clock` (seconds, default
`time.monotonic`) can be injected for tests.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import CodexError, CodexValueError, did_you_mean
from ..qwave.grid import Grid

__all__ = [
    "COLLAPSE_MARGIN",
    "DEFAULT_LATENCY_BUDGET_MS",
    "Admission",
    "CollapsePlan",
    "OverloadController",
    "State",
    "collapse_plan",
]

State = Literal["ok", "deferred", "collapsed"]
#: Latency budget per slot (ms) when none is configured: an interactive cell should answer within it.
DEFAULT_LATENCY_BUDGET_MS = 500.0
#: Load beyond the budget, as a fraction of it, past which a cell is collapsed instead of deferred.
COLLAPSE_MARGIN = 0.5
Predictor = Callable[[str, float, Grid], Any]


@dataclass(frozen=True)
class CollapsePlan:
    """A cheaper way to run a cell: its grid, precision, predicted cost factor, and why it keeps tol."""

    grid: Grid
    precision: str
    cost_factor: float
    reason: str


@dataclass(frozen=True)
class Admission:
    """The controller's decision for one cell: state, reason, predicted ms (after a collapse), the work
    ahead of it and its predicted wait, whether it runs now, and the collapse plan if any."""

    cell_id: str
    state: State
    reason: str
    predicted_ms: float
    queued_ms: float
    wait_ms: float
    runs_now: bool
    plan: CollapsePlan | None = None

    def as_result(self) -> dict[str, Any]:
        """The `result` of the cell's `schedule` beam for this decision."""
        out: dict[str, Any] = {
            "state": self.state,
            "reason": self.reason,
            "predicted_ms": self.predicted_ms,
            "queued_ms": self.queued_ms,
            "wait_ms": self.wait_ms,
            "runs_now": self.runs_now,
        }
        if self.plan is not None:
            out["collapse"] = {
                "grid": self.plan.grid.describe(),
                "shape": list(self.plan.grid.shape),
                "precision": self.plan.precision,
                "cost_factor": self.plan.cost_factor,
                "reason": self.plan.reason,
            }
        return out


def _format(name: str) -> Any:
    from ..qwave.precision import get_format

    return get_format("fp64" if name == "auto" else name)


def _native_formats() -> tuple[str, ...]:
    from ..qwave.precision import FORMATS

    return tuple(name for name, f in FORMATS.items() if not f.emulated_on_cpu)


def _rel_err(rec: Any, name: str) -> float:
    """A recommendation's predicted relative error for format `name` (inf when it has none)."""
    for cand in getattr(rec, "candidates", ()):
        if cand.format == name:
            return float(cand.rel_err)
    return float(rec.predicted_rel_err) if getattr(rec, "format", None) == name else math.inf


def _acceptable(recs: list[Any], tol: float, formats: Sequence[str]) -> list[str]:
    """Formats in `formats` predicted within `tol` for every op, cheapest (fewest bits) first."""
    ok = [name for name in formats if all(_rel_err(rec, name) <= tol for rec in recs)]
    return sorted(ok, key=lambda n: _format(n).bits)


def _plan(
    grid: Grid,
    precision: str,
    tol: float,
    predictor: Predictor,
    ops: Sequence[str],
    formats: Sequence[str] | None,
) -> tuple[CollapsePlan | None, str]:
    """The cheapest plan and its reason, or None and why there is none."""
    current = _format(precision)
    pool = formats if formats is not None else _native_formats()
    allowed = [f for f in pool if _format(f).bits <= current.bits]
    if current.name not in allowed:
        allowed.append(current.name)
    names = ", ".join(f"`{op}`" for op in ops)
    if not ops:
        return None, "the cell has no field ops whose precision could be lowered"
    try:
        recs = [predictor(op, tol, grid) for op in ops]
    except CodexError as err:
        return None, f"the precision model cannot assess {names}: {err}"
    ok = _acceptable(recs, tol, allowed)
    cheapest = ok[0] if ok else None
    if cheapest is None or _format(cheapest).bits >= current.bits:
        return None, f"no lower precision keeps {names} within tol {tol:g}"
    fmt = _format(cheapest)
    factor = fmt.dtype.itemsize / current.dtype.itemsize
    worst = max((_rel_err(r, fmt.name) for r in recs), default=0.0)
    reason = (
        f"{fmt.name} keeps the predicted rounding error of {names} at {worst:.2g} ≤ tol {tol:g} for "
        f"{factor:.2g}× the cost"
    )
    return CollapsePlan(grid, fmt.name, factor, reason), reason


def collapse_plan(
    grid: Grid,
    precision: str,
    tol: float,
    predictor: Predictor,
    *,
    ops: Sequence[str],
    formats: Sequence[str] | None = None,
) -> CollapsePlan | None:
    """A cheaper plan for a cell whose `ops` run on `grid` in `precision`, predicted within `tol`.

    `predictor(op, tol, grid)` returns a recommendation with `format`, `predicted_rel_err` and
    `candidates` (each with `format`, `rel_err`), e.g. `recommend_precision_for_opcode`. The plan is the
    cheapest precision narrower than the current one whose predicted error is ≤ `tol` for every op of
    the cell (`ops`); `formats` limits the candidates (default: those native on the CPU, fp64 and fp32,
    since emulated formats run slower). `cost_factor` is the bytes-per-value ratio. Returns None when
    nothing cheaper keeps `tol`. The grid is never changed (a live container keeps its grid).
    """
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise CodexValueError(f"The tolerance `tol={tol}` must be a positive finite number, e.g. `tol=1e-3`.")
    return _plan(grid, precision, float(tol), predictor, tuple(ops), formats)[0]


@dataclass
class _Entry:
    cell_id: str
    admission: Admission
    queued_at: float


class OverloadController:
    """Admits cells against a latency budget: ok, deferred (queued) or collapsed (see the module)."""

    def __init__(
        self,
        max_concurrency: int = 2,
        latency_budget_ms: float = DEFAULT_LATENCY_BUDGET_MS,
        *,
        clock: Callable[[], float] = time.monotonic,
        collapse_margin: float = COLLAPSE_MARGIN,
    ) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise CodexValueError(f"`max_concurrency` must be a whole number ≥ 1, got `{max_concurrency!r}`.")
        budget_ok = isinstance(latency_budget_ms, (int, float)) and not isinstance(latency_budget_ms, bool)
        if not (budget_ok and math.isfinite(latency_budget_ms) and latency_budget_ms > 0):
            raise CodexValueError(f"`latency_budget_ms` must be a positive number of ms, got `{latency_budget_ms!r}`.")
        self.max_concurrency = max_concurrency
        self.latency_budget_ms = float(latency_budget_ms)
        self.collapse_margin = float(collapse_margin)
        self.clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, tuple[float, float]] = {}
        self._queue: list[_Entry] = []

    @property
    def capacity_ms(self) -> float:
        """`max_concurrency × latency_budget_ms`: the predicted work allowed in flight."""
        return self.max_concurrency * self.latency_budget_ms

    # ------------------------------------------------------------------------------------------- load

    def _remaining(self, now: float) -> list[float]:
        return [max(ms - (now - started) * 1e3, 0.0) for ms, started in self._running.values()]

    def _load(self, now: float) -> float:
        return math.fsum(self._remaining(now)) + math.fsum(e.admission.predicted_ms for e in self._queue)

    def _wait(self, now: float, queued: Sequence[_Entry]) -> float:
        """When a slot frees for the next cell, after `queued` are placed on the earliest free slots."""
        slots = self._remaining(now) + [0.0] * (self.max_concurrency - len(self._running))
        heapq.heapify(slots)
        for entry in queued:
            heapq.heappush(slots, heapq.heappop(slots) + entry.admission.predicted_ms)
        return slots[0]

    def predicted_wait_ms(self) -> float:
        """The predicted queue wait of a cell admitted now (0 when a slot is free and none queue)."""
        with self._lock:
            return self._wait(self.clock(), self._queue)

    def _state_of(self, load: float) -> State:
        if load > self.capacity_ms * (1 + self.collapse_margin):
            return "collapsed"
        return "deferred" if load > self.capacity_ms else "ok"

    # ---------------------------------------------------------------------------------------- admit

    def admit(
        self,
        cell_id: str,
        predicted_ms: float,
        *,
        grid: Grid | None = None,
        precision: str = "fp64",
        tol: float | None = None,
        predictor: Predictor | None = None,
        ops: Sequence[str] = (),
        formats: Sequence[str] | None = None,
    ) -> Admission:
        """Decide for a new cell with `predicted_ms` of work; collapse needs `grid`, `tol` and `predictor`.

        Returns the `Admission`; when `runs_now` is False the cell waits in the queue and a later
        `finish` or `poll` returns its admission when it may start. Raises `CodexValueError` for a
        cell already admitted or a bad `predicted_ms`.
        """
        if not (isinstance(predicted_ms, (int, float)) and math.isfinite(predicted_ms) and predicted_ms >= 0):
            raise CodexValueError(f"`predicted_ms` must be a finite number ≥ 0, got `{predicted_ms!r}`.")
        with self._lock:
            if cell_id in self._running or any(e.cell_id == cell_id for e in self._queue):
                raise CodexValueError(
                    f'Cell `{cell_id}` is already admitted; call `finish("{cell_id}")` before admitting it again.'
                )
            now = self.clock()
            ahead = self._load(now)
            state = self._state_of(ahead)
            share = f"{ahead:.4g} ms of predicted work ahead"
            budget = f"{self.max_concurrency} × {self.latency_budget_ms:g} ms"
            plan, cost = None, float(predicted_ms)
            if state == "ok":
                reason = f"ok: {share} is within the budget of {self.capacity_ms:g} ms ({budget})"
            elif state == "deferred":
                reason = f"deferred: {share} passes the budget of {self.capacity_ms:g} ms ({budget})"
            else:
                limit = self.capacity_ms * (1 + self.collapse_margin)
                head = f"{share} passes budget + {self.collapse_margin:.0%} ({limit:g} ms)"
                plan, why = self._collapse(grid, precision, tol, predictor, ops, formats)
                if plan is None:
                    state, reason = "deferred", f"deferred: {head}, and {why}"
                else:
                    cost = float(predicted_ms) * plan.cost_factor
                    reason = f"collapsed: {head}; running {plan.reason} (predicted {cost:.4g} ms)"
            wait = self._wait(now, self._queue)
            startable = not self._queue and len(self._running) < self.max_concurrency
            runs_now = startable and state != "deferred"
            if not runs_now:
                reason += f"; queued at position {len(self._queue) + 1}, predicted wait {wait:.4g} ms"
            admission = Admission(cell_id, state, reason + ".", cost, ahead, 0.0 if runs_now else wait, runs_now, plan)
            if runs_now:
                self._running[cell_id] = (cost, now)
            else:
                self._queue.append(_Entry(cell_id, admission, now))
            return admission

    def _collapse(
        self,
        grid: Grid | None,
        precision: str,
        tol: float | None,
        predictor: Predictor | None,
        ops: Sequence[str],
        formats: Sequence[str] | None,
    ) -> tuple[CollapsePlan | None, str]:
        if grid is None or tol is None or predictor is None:
            missing = [n for n, v in (("grid", grid), ("tol", tol), ("predictor", predictor)) if v is None]
            return None, f"no collapse is possible without {', '.join(f'`{m}`' for m in missing)}"
        return _plan(grid, precision, float(tol), predictor, tuple(ops), formats)

    # ------------------------------------------------------------------------------------- progress

    def finish(self, cell_id: str) -> list[Admission]:
        """Mark a running cell done; returns the admissions of queued cells that start now."""
        with self._lock:
            if cell_id not in self._running:
                running = list(self._running)
                raise CodexValueError(
                    f"Cell `{cell_id}` is not running{did_you_mean(cell_id, running)}; running: "
                    + (", ".join(f"`{c}`" for c in running) or "none")
                    + "."
                )
            del self._running[cell_id]
            return self._start_ready(self.clock())

    def poll(self) -> list[Admission]:
        """Start the queued cells that may start now (as time passes, running work shrinks)."""
        with self._lock:
            return self._start_ready(self.clock())

    def cancel(self, cell_id: str) -> bool:
        """Drop a queued cell; returns whether it was queued."""
        with self._lock:
            before = len(self._queue)
            self._queue = [e for e in self._queue if e.cell_id != cell_id]
            return len(self._queue) < before

    def _start_ready(self, now: float) -> list[Admission]:
        started = []
        while self._queue and len(self._running) < self.max_concurrency:
            head = self._queue[0]
            ms = head.admission.predicted_ms
            in_flight = math.fsum(self._remaining(now))
            if head.admission.state == "deferred" and self._running and in_flight > self.capacity_ms:
                break
            self._queue.pop(0)
            self._running[head.cell_id] = (ms, now)
            waited = (now - head.queued_at) * 1e3
            started.append(
                replace(
                    head.admission,
                    runs_now=True,
                    wait_ms=waited,
                    reason=f"{head.admission.reason.rstrip('.')}; started after {waited:.4g} ms in the queue.",
                )
            )
        return started

    def status(self) -> dict[str, Any]:
        """Queue length, queued ms, running cells, load, capacity and the state the load is in."""
        with self._lock:
            now = self.clock()
            running_ms = math.fsum(self._remaining(now))
            queued_ms = math.fsum(e.admission.predicted_ms for e in self._queue)
            load = running_ms + queued_ms
            return {
                "state": self._state_of(load),
                "queue_length": len(self._queue),
                "queued_ms": queued_ms,
                "queued": [e.cell_id for e in self._queue],
                "running": len(self._running),
                "running_ms": running_ms,
                "load_ms": load,
                "capacity_ms": self.capacity_ms,
                "latency_budget_ms": self.latency_budget_ms,
                "max_concurrency": self.max_concurrency,
                "wait_ms": self._wait(now, self._queue),
            }
