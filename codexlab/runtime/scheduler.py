"""The scheduler: per op, the symbolic or the wave path, from predicted costs and the flags.

Each available path is priced by `CodexCostEstimator` (runtime/cost.py): the cost detail of
SEMANTICS.md, every term in milliseconds-equivalent, summed into `cost`. The cheaper path runs;
symbolic work whose predicted cost passes `COST_THRESHOLD` goes to the wave path; `QWAVE_EXEC_ON=0`
leaves only the symbolic path. Each decision logs its prediction before the op runs, and `observe`
completes it with the measured time, which calibrates the model.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BackendError
from ..qwave.grid import Grid
from ._costprior import REFERENCE_POWER_W
from .cost import CodexCostEstimator, Estimate

if TYPE_CHECKING:
    from ..store.base import BeamStore
    from .overload import OverloadController

__all__ = ["Decision", "Scheduler", "CodexCostEstimator", "REFERENCE_POWER_W"]

_SCALAR_KINDS = frozenset({"number", "bool"})


@dataclass
class Decision:
    """A scheduling decision: the path, its backend, why, and the predicted cost detail."""

    op: str
    path: str
    backend: str
    reason: str
    predicted_ms: float
    detail: dict[str, float] = field(default_factory=dict)
    alternatives: dict[str, float] = field(default_factory=dict)
    estimate: Estimate | None = None
    alternative_costs: dict[str, float] = field(default_factory=dict)
    prediction_id: str | None = None

    @property
    def cost(self) -> float:
        """Sum of the cost detail (ms-equivalent)."""
        return float(sum(self.detail.values()))

    def as_result(self) -> dict[str, Any]:
        """The `result` of the decision's `schedule` beam."""
        out: dict[str, Any] = {
            "path": self.path,
            "backend": self.backend,
            "reason": self.reason,
            "predicted_ms": self.predicted_ms,
            "cost": self.cost,
            "detail": dict(self.detail),
            "alternatives": dict(self.alternatives),
            "alternative_costs": dict(self.alternative_costs),
        }
        est = self.estimate
        if est is not None:
            out.update(
                dtype=est.dtype,
                size=est.size,
                flops=est.flops,
                bytes=est.bytes,
                features=est.feature_source,
                model=est.model,
                power=est.power_source,
                veto_prob=est.veto_prob,
            )
            if est.tick is not None:
                out["tick"] = est.tick
        if self.prediction_id is not None:
            out["prediction_id"] = self.prediction_id
        return out


class Scheduler:
    """Chooses the path per op: the cheaper available one, with `COST_THRESHOLD` and `QWAVE_EXEC_ON`.

    `estimator` prices the paths (default: a `CodexCostEstimator` on `device` keeping its calibration
    in `store`); `overload`, when given, supplies the predicted queue wait (opportunity loss).
    """

    def __init__(
        self,
        cost_threshold: float = 50.0,
        estimator: CodexCostEstimator | None = None,
        *,
        store: BeamStore | None = None,
        device: str = "cpu",
        overload: OverloadController | None = None,
    ) -> None:
        self.cost_threshold = cost_threshold
        self.estimator = estimator or CodexCostEstimator(device=device, store=store)
        self.overload = overload
        self.tick = 0
        self._lock = threading.Lock()

    def decide(
        self,
        op: str,
        operands: list[Any],
        *,
        sym_available: bool,
        wave_available: bool,
        grid: Grid,
        mode: str = "auto",
        expr: Any = None,
        dtype: str = "fp64",
        method: str = "fd2",
        container: str | None = None,
        memory: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        beam_context: Mapping[str, Any] | None = None,
    ) -> Decision:
        """The path for one op, with the reason and the predicted costs of both paths.

        `dtype` and `method` are the container's precision and derivative method; `container` selects
        the veto record of the ethics term; `memory` (bytes free) and `metadata` go into the estimate's
        context; `beam_context` is kept with the logged prediction. Raises `BackendError` when neither
        path exists.
        """
        if not sym_available and not wave_available:
            raise BackendError(
                f"`{op}` has no symbolic form for these operands and the wave path is off "
                "(`QWAVE_EXEC_ON=0`); set `QWAVE_EXEC_ON=1` (flag or environment) to run it on the wave path."
            )
        with self._lock:
            tick = self.tick
            self.tick += 1
        size, components = _extent(operands, grid)
        context: dict[str, Any] = {
            "tick": tick,
            "metadata": dict(metadata or {}),
            "queue_ms": self.overload.predicted_wait_ms() if self.overload is not None else 0.0,
        }
        if memory is not None:
            context["memory"] = memory
        est = self.estimator
        estimates: dict[str, Estimate] = {}
        if sym_available:
            points = grid.size if _on_grid(expr, grid) else 1
            estimates["symbolic"] = est.estimate(
                op, "symbolic", context, size=points, dtype=dtype, expr=expr, container=container
            )
        if wave_available:
            where: dict[str, Any] = {"grid": grid} if size == grid.size else {"size": size}
            estimates["wave"] = est.estimate(
                op,
                "wave",
                context,
                dtype=dtype,
                method=method,
                components=components,
                container=container,
                **where,
            )
        costs = {path: e.cost for path, e in estimates.items()}
        path, reason = self._choose(costs, mode)
        chosen = estimates[path]
        handle = est.log_beam_prediction(
            op, path, chosen, beam_context={"tick": tick, "container": container, **dict(beam_context or {})}
        )
        return Decision(
            op,
            path,
            "sympy" if path == "symbolic" else "jax",
            reason,
            chosen.delay,
            chosen.detail(),
            {p: e.delay for p, e in estimates.items()},
            chosen,
            costs,
            handle,
        )

    def _choose(self, costs: dict[str, float], mode: str) -> tuple[str, str]:
        if mode == "wave" and "wave" in costs:
            return "wave", "inside a loop: loop-carried values run on the wave path"
        if len(costs) == 1:
            path = next(iter(costs))
            if path == "symbolic":
                return path, "only the symbolic path exists"
            return path, "no symbolic form: data or a wave-only op"
        if costs["symbolic"] > self.cost_threshold:
            sym = costs["symbolic"]
            return "wave", f"symbolic cost {sym:.3g} ms passes COST_THRESHOLD {self.cost_threshold:g}"
        if costs["symbolic"] <= costs["wave"]:
            return "symbolic", "symbolic is cheaper (and exact)"
        return "wave", "wave is cheaper"

    def observe(self, decision: Decision, actual_ms: float, *, grid: Grid | None = None, expr: Any = None) -> None:
        """Feed a measured duration back into the cost model (completes the decision's prediction)."""
        if decision.prediction_id is not None:
            self.estimator.record_actual(decision.prediction_id, actual_ms)
            decision.prediction_id = None
        elif decision.estimate is not None:
            e = decision.estimate
            self.estimator.observe(e.op, e.backend, e.dtype, e.size, e.flops, e.bytes, actual_ms, predicted_ms=e.delay)

    def flush(self) -> int:
        """Write the estimator's pending calibration rows to its store; returns how many."""
        return self.estimator.flush()


def _extent(operands: list[Any], grid: Grid) -> tuple[int, int]:
    """(points, components) an op works on: 1 for numbers only, else the grid with the widest operand."""
    kinds = [getattr(v, "kind", None) for v in operands]
    if kinds and all(k in _SCALAR_KINDS for k in kinds):
        return 1, 1
    n = len(grid.space_axes)
    width = {"vector": n, "tensor": n * n}
    return grid.size, max((width.get(k, 1) for k in kinds if k is not None), default=1)


def _on_grid(expr: Any, grid: Grid) -> bool:
    """Whether an exact value depends on the grid's coordinates (so it is evaluated at every point)."""
    names = {str(s) for s in getattr(expr, "free_symbols", ())}
    return bool(names & set(grid.names))
