"""`CodexCostEstimator`: the predicted cost of each op, reported beside its measured time — it decides
nothing (the path is a pure function of the plan, `codex_scheduler`).

The cost detail of SEMANTICS.md, every term in milliseconds-equivalent so they add (contract 3):

- `delay`: predicted steady-state run time. The work comes from the op's spec (FLOPs and bytes per
  point and component, times the points; the exact path: SymPy nodes × points); the prior turns it into
  time at `PRIOR_FLOPS_PER_S` and `PRIOR_BYTES_PER_S`, and each (op, path, dtype) then carries a
  calibration factor, the median ratio of measured to prior time over its last `WINDOW` steady-state runs
  (runs that compiled are not observations). Observations are rows of the store's `cost_calibration`
  table, so a new estimator on the same store starts calibrated.
- `energy`: the time the device would need at its reference power, delay × `POWER_RATIO[device]`.
- `ethics_risk`: P(SoulLaw vetoes this op in this container) × delay, P the mean of the Beta posterior
  over the verdicts recorded so far (prior `ETHICS_PRIOR`: vetoes are rare).
- `opportunity_loss`: the predicted queue wait the caller passes (0 without the overload back-off).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contracts import utc_now_iso
from ..errors import CodexValueError
from ..ops import find_spec

if TYPE_CHECKING:
    from ..store.base import BeamStore

__all__ = [
    "CodexCostEstimator",
    "Estimate",
    "ETHICS_PRIOR",
    "PRIOR_FLOPS_PER_S",
    "PRIOR_BYTES_PER_S",
    "POWER_RATIO",
    "WINDOW",
    "glyph_execution_payload",
]

#: The prior's compute and memory rates (a CPU core; the calibration factor absorbs the machine).
PRIOR_FLOPS_PER_S = 2e9
PRIOR_BYTES_PER_S = 8e9
#: A fixed per-op overhead of the prior (dispatch), ms.
PRIOR_OVERHEAD_MS = 0.05
#: Active power over reference power per device (documented constants: energy is reported, not measured).
POWER_RATIO = {"cpu": 1.0, "gpu": 0.25}
#: Beta(α0, β0) prior of P(veto | op, container): vetoes are rare a priori (mean 0.1/10.1).
ETHICS_PRIOR: tuple[float, float] = (0.1, 10.0)
#: Steady-state observations per (op, path, dtype) the calibration factor is the median of.
WINDOW = 64
_FLUSH_ROWS = 64


@dataclass(frozen=True)
class Estimate:
    """One op's predicted cost: the work, the detail terms (ms-equivalent) and how it was calibrated."""

    op: str
    path: str
    dtype: str
    points: int
    flops: float
    bytes: float
    delay: float
    energy: float
    ethics_risk: float
    opportunity_loss: float
    veto_prob: float
    calibration: float
    observations: int

    def detail(self) -> dict[str, float]:
        """The contract-3 detail: energy, ethics_risk, delay, opportunity_loss."""
        return {
            "energy": self.energy,
            "ethics_risk": self.ethics_risk,
            "delay": self.delay,
            "opportunity_loss": self.opportunity_loss,
        }

    @property
    def cost(self) -> float:
        """The sum of the detail."""
        return self.energy + self.ethics_risk + self.delay + self.opportunity_loss


class CodexCostEstimator:
    """Predicts each op's cost detail (see the module doc); thread-safe. `store` keeps the calibration."""

    def __init__(self, store: BeamStore | None = None, *, device: str = "cpu") -> None:
        if device not in POWER_RATIO:
            raise CodexValueError(f"`device={device!r}` is unknown; use `cpu` or `gpu`.")
        self.device = device
        self.store = store
        self._lock = threading.Lock()
        self._ratios: dict[tuple[str, str, str], deque[float]] = {}
        self._pending: list[dict[str, Any]] = []
        self._verdicts: dict[tuple[str, str], list[int]] = {}
        if store is not None:
            self._load()

    # --------------------------------------------------------------------------------------- work

    @staticmethod
    def work(op: str, path: str, points: int, components: int = 1, nodes: int | None = None) -> tuple[float, float]:
        """(FLOPs, bytes) of one op: from its spec on the grid, from the exact form's size on the exact path."""
        if path == "exact":
            n = float(nodes or 1)
            return n * points, 8.0 * points
        spec = find_spec(op)
        flops = spec.flops if spec is not None else 1.0
        nbytes = spec.bytes if spec is not None else 24.0
        return flops * points * components, nbytes * points * components

    def estimate(
        self,
        op: str,
        path: str,
        *,
        points: int,
        components: int = 1,
        dtype: str = "fp64",
        nodes: int | None = None,
        container: str = "default",
        queue_ms: float = 0.0,
    ) -> Estimate:
        """The predicted cost of one op; the same inputs give the same estimate until runs are observed."""
        flops, nbytes = self.work(op, path, points, components, nodes)
        prior = _prior_ms(flops, nbytes)
        key = (op, path, dtype)
        with self._lock:
            ratios = list(self._ratios.get(key, ()))
        factor = statistics.median(ratios) if ratios else 1.0
        delay = prior * factor
        p_veto = self.veto_probability(op, container)
        return Estimate(
            op=op,
            path=path,
            dtype=dtype,
            points=int(points),
            flops=flops,
            bytes=nbytes,
            delay=delay,
            energy=delay * POWER_RATIO[self.device],
            ethics_risk=p_veto * delay,
            opportunity_loss=float(queue_ms),
            veto_prob=p_veto,
            calibration=factor,
            observations=len(ratios),
        )

    # -------------------------------------------------------------------------------- calibration

    def observe(self, estimate: Estimate, actual_ms: float) -> None:
        """One steady-state run of an estimated op (never a run that compiled)."""
        prior = _prior_ms(estimate.flops, estimate.bytes)
        if not (actual_ms > 0 and prior > 0):
            return
        row = {
            "op": estimate.op,
            "backend": estimate.path,
            "dtype": estimate.dtype,
            "size": estimate.points,
            "flops": estimate.flops,
            "bytes": estimate.bytes,
            "predicted_ms": estimate.delay,
            "actual_ms": float(actual_ms),
            "timestamp": utc_now_iso(),
        }
        with self._lock:
            self._ratios.setdefault((estimate.op, estimate.path, estimate.dtype), deque(maxlen=WINDOW)).append(
                actual_ms / prior
            )
            self._pending.append(row)
            full = len(self._pending) >= _FLUSH_ROWS
        if full:
            self.flush()

    def flush(self) -> int:
        """Write pending observations to the store's `cost_calibration` table; returns how many."""
        with self._lock:
            rows, self._pending = self._pending, []
        if rows and self.store is not None:
            self.store.persist_rows("cost_calibration", rows)
        return len(rows)

    def _load(self) -> None:
        assert self.store is not None
        frame = self.store.frame("cost_calibration")
        for row in frame.tail(WINDOW * 32).iter_rows(named=True):
            prior = _prior_ms(float(row["flops"] or 0.0), float(row["bytes"] or 0.0))
            if prior > 0 and row["actual_ms"]:
                key = (str(row["op"]), str(row["backend"]), str(row["dtype"]))
                self._ratios.setdefault(key, deque(maxlen=WINDOW)).append(float(row["actual_ms"]) / prior)

    # ------------------------------------------------------------------------------------- ethics

    def record_verdicts(self, beams: Iterable[Any]) -> int:
        """Count the verdicts of scored beams per (op, container); returns how many were counted."""
        counted = 0
        with self._lock:
            for b in beams:
                if b.verdict in ("pass", "warn", "veto"):
                    tally = self._verdicts.setdefault((b.token, b.container_id), [0, 0])
                    tally[0 if b.verdict == "veto" else 1] += 1
                    counted += 1
        return counted

    def veto_probability(self, op: str, container: str) -> float:
        """Posterior mean of P(veto | op, container)."""
        alpha, beta = ETHICS_PRIOR
        with self._lock:
            vetoes, passes = self._verdicts.get((op, container), (0, 0))
        return (alpha + vetoes) / (alpha + beta + vetoes + passes)


def _prior_ms(flops: float, nbytes: float) -> float:
    return (flops / PRIOR_FLOPS_PER_S + nbytes / PRIOR_BYTES_PER_S) * 1e3 + PRIOR_OVERHEAD_MS


def glyph_execution_payload(
    glyph: str, action: Any, source: str, estimate: Estimate | Mapping[str, float], *, timestamp: float | None = None
) -> dict[str, Any]:
    """Contract 3 (`glyph_execution`) for a glyph that ran: cost = the sum of the detail, validated.

    `estimate` is an `Estimate` or a mapping of the four detail terms (a schedule beam's `detail`).
    Raises `ContractError` when the payload does not validate.
    """
    from ..contracts import validate_payload

    items = estimate if isinstance(estimate, Mapping) else estimate.detail()
    detail = {str(k): float(v) for k, v in items.items()}
    message = {
        "type": "glyph_execution",
        "payload": {
            "glyph": glyph,
            "action": action,
            "source": source,
            "timestamp": time.time() if timestamp is None else float(timestamp),
            "cost": math.fsum(detail.values()),
            "detail": detail,
        },
    }
    return validate_payload("glyph_execution", message).model_dump(mode="json")
