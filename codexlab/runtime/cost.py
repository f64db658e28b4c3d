"""The cost model of the scheduler (SEMANTICS.md, "Scheduler and cost"): four terms in ms-equivalent.

- `delay`: predicted run time from `delay_ms = a·f1 + b·f2 + c` per (op, backend, dtype). On the wave
  path f1, f2 are FLOPs and bytes (XLA's cost analysis, see `_costfeatures`); on the symbolic path they
  are the expression's ops and ops × grid points (lambdify work and evaluation work), and the
  `cost_calibration` rows of backend `sympy:*` hold those two in their `flops` and `bytes` columns.
  The coefficients are fitted (non-negative, relative error, per-size medians; `_costfit`) to the
  observed runs once there are `MIN_OBSERVATIONS`, first for (op, backend, dtype), else pooled over
  dtypes, else over every op of the backend, else the measured prior (`_costprior`). Each observation
  is a `cost_calibration` row, so a new estimator on the same store starts calibrated.
- `energy` = joules / reference power = active power × delay / reference power (ms the device would
  need at its reference power); the power is measured from energy counters or configured, and each
  estimate names which in `power_source`.
- `ethics_risk` = P(veto | op, container) × delay, P the posterior mean of Beta(α0 + vetoes, β0 + passes)
  with the prior Beta(0.1, 10) (`ETHICS_PRIOR`): policy vetoes are rare a priori (P ≈ 0.0099).
- `opportunity_loss` = predicted queue wait, `context["queue_ms"]` (from the overload controller).

`cost` is their sum. `estimate` is a pure function of its inputs and the current coefficients.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contracts import utc_now_iso
from ..errors import CodexValueError, did_you_mean
from ._costfeatures import canonical_dtype, grid_features, table_features, xla_features
from ._costfit import LinearModel, fit_nonnegative
from ._costprior import MachineProbe, check_device, probe_machine

if TYPE_CHECKING:
    from ..qwave.grid import Grid
    from ..store.base import BeamStore

__all__ = [
    "CONTEXT_KEYS",
    "ETHICS_PRIOR",
    "MIN_OBSERVATIONS",
    "WARMUP_RUNS",
    "CodexCostEstimator",
    "Estimate",
    "Prediction",
    "default_estimator",
    "glyph_execution_payload",
    "log_beam_prediction",
]

#: Beta(α0, β0) prior of P(veto | op, container): policy vetoes are rare a priori (mean 0.1/10.1).
ETHICS_PRIOR: tuple[float, float] = (0.1, 10.0)
#: Observations a model needs before it replaces the next level (pooled fit, then the prior).
MIN_OBSERVATIONS = 3
#: Most recent observations per model kept for fitting.
FIT_WINDOW = 256
#: Observations stored per (op, backend, dtype, size) by one estimator: a loop repeats one size, and
#: this many runs pin its median.
ROWS_PER_SIZE = 32
#: Runs of a wave op per (op, backend, dtype, features) in a process that only warm up: the first call
#: of a kernel at a new shape compiles it (and may time competing backends), a one-off cost that
#: would otherwise be fitted as the op's steady-state time. Logged as predictions, not fitted.
WARMUP_RUNS = 1
#: Pending calibration rows written to the store in one transaction.
FLUSH_ROWS = 64
#: Completed predictions kept for `predictions()` (and pending ones at most).
PREDICTION_LOG = 10_000
#: Keys an estimate's context may hold.
CONTEXT_KEYS: tuple[str, ...] = ("memory", "tick", "metadata", "queue_ms")
PATHS: dict[str, str] = {"wave": "jax", "symbolic": "sympy"}
_ANY = "*"


@dataclass(frozen=True)
class Estimate:
    """One op's predicted cost on one path, with the features and model behind it."""

    op: str
    path: str
    backend: str
    dtype: str
    size: int
    flops: float
    bytes: float
    delay: float
    energy: float
    ethics_risk: float
    opportunity_loss: float
    veto_prob: float
    model: str
    feature_source: str
    power_source: str
    memory_ok: bool | None = None
    tick: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def detail(self) -> dict[str, float]:
        """The cost detail of contract 3: energy, ethics_risk, delay, opportunity_loss (ms-equivalent)."""
        return {
            "energy": self.energy,
            "ethics_risk": self.ethics_risk,
            "delay": self.delay,
            "opportunity_loss": self.opportunity_loss,
        }

    @property
    def cost(self) -> float:
        """energy + ethics_risk + delay + opportunity_loss."""
        return math.fsum(self.detail().values())


@dataclass
class Prediction:
    """A prediction logged before its op ran, completed by `record_actual` with the measured time."""

    id: str
    op: str
    path: str
    backend: str
    dtype: str
    size: int
    flops: float
    bytes: float
    predicted_ms: float
    cost: float
    beam_context: dict[str, Any]
    actual_ms: float | None = None
    warmup: bool = False

    @property
    def error(self) -> float | None:
        """|predicted − actual| / actual, once the actual is known."""
        if self.actual_ms is None:
            return None
        return abs(self.predicted_ms - self.actual_ms) / max(self.actual_ms, 1e-6)


class CodexCostEstimator:
    """Predicts each op's cost detail from models fitted to measured runs (see the module docstring).

    Parameters: `device` (`cpu` or `gpu`: where the wave path runs); `store` (a `BeamStore` whose
    `cost_calibration` table keeps the observations); `probe` (a `MachineProbe`; measured on this
    machine on first use when absent); `ethics_prior` (α0, β0); `xla` (False uses the FLOPs/bytes
    table instead of XLA's analysis for the scheduler's features). Thread-safe.
    """

    def __init__(
        self,
        device: str = "cpu",
        store: BeamStore | None = None,
        *,
        probe: MachineProbe | None = None,
        ethics_prior: tuple[float, float] = ETHICS_PRIOR,
        xla: bool = True,
    ) -> None:
        self.device = check_device(device)
        self.store = store
        self.xla = xla
        alpha, beta = ethics_prior
        if not (alpha > 0 and beta > 0):
            raise CodexValueError(f"`ethics_prior` needs α0 > 0 and β0 > 0, got `{ethics_prior}`.")
        self.ethics_prior = (float(alpha), float(beta))
        self._probe = probe
        self._lock = threading.RLock()
        self._obs: dict[tuple[str, str, str], deque[tuple[float, float, float]]] = {}
        self._added: dict[tuple[str, str, str], int] = {}
        self._models: dict[tuple[str, str, str], tuple[LinearModel, int]] = {}
        self._per_size: dict[tuple[str, str, str, int], int] = {}
        self._warm: dict[tuple[str, str, str, float, float], int] = {}
        self._pending_rows: list[dict[str, Any]] = []
        self._verdicts: dict[tuple[str, str], list[int]] = {}
        self._open: OrderedDict[str, Prediction] = OrderedDict()
        self._done: deque[Prediction] = deque(maxlen=PREDICTION_LOG)
        self._ids = itertools.count(1)
        self._session = f"{time.time_ns() & 0xFFFFFF:06x}"
        if store is not None:
            self._load_rows()

    # ------------------------------------------------------------------------------------- features

    def backend_label(self, path: str) -> str:
        """The calibration backend of a path: `jax:<device>` or `sympy:cpu`."""
        if path not in PATHS:
            raise CodexValueError(f"`{path}` is not a path{did_you_mean(path, PATHS)}; use `wave` or `symbolic`.")
        return f"jax:{self.device}" if path == "wave" else "sympy:cpu"

    def features(
        self,
        op: str,
        kernel: Any = None,
        example_args: Any = None,
        size: int | None = None,
        dtype: str = "float64",
    ) -> tuple[float, float]:
        """(FLOPs, bytes) of `op`: XLA's compiled cost analysis of `kernel(*example_args)` when given
        (cached per op, kernel, shapes and dtypes), else the table fallback over `size` points.

        Raises `CodexValueError` when neither a kernel with arguments nor a size is given.
        """
        if kernel is not None:
            if example_args is None:
                raise CodexValueError(f"`features` of `{op}` needs `example_args` with `kernel`; pass them.")
            counts = xla_features(op, kernel, tuple(example_args))
            if counts is not None:
                return counts
            if size is None:
                size = _points_of(example_args)
        if size is None:
            raise CodexValueError(f"`features` of `{op}` needs a `kernel` with `example_args` or a `size`.")
        return table_features(op, int(size), dtype)

    def symbolic_features(self, expr: Any, points: int) -> tuple[float, float]:
        """(ops, ops × points) of an expression put on `points` grid points."""
        import sympy

        ops = float(sympy.count_ops(expr, visual=False) + 1) if expr is not None else 1.0
        return ops, ops * max(int(points), 1)

    # ------------------------------------------------------------------------------------- estimate

    def estimate(
        self,
        op: str,
        path: str,
        context: Mapping[str, Any] | None = None,
        *,
        size: int | None = None,
        grid: Grid | None = None,
        dtype: str = "fp64",
        method: str = "fd2",
        components: int = 1,
        expr: Any = None,
        features: tuple[float, float] | None = None,
        container: str | None = None,
    ) -> Estimate:
        """The cost of running `op` on `path` ("wave" or "symbolic").

        `context` is `{memory, tick, metadata, queue_ms}`: bytes free (the estimate says whether the
        op's arrays fit), the scheduler tick and the caller's tags (echoed), and the predicted queue
        wait (the opportunity loss, 0 when absent). The work is `features` when given, else from
        `grid` (XLA per-point counts) or `size` points on the wave path, or from `expr` and the points
        on the symbolic path. `container` (default `metadata["container"]`) selects the veto record.
        The same inputs give the same estimate until the models change.
        """
        ctx = _check_context(context)
        backend = self.backend_label(path)
        label = canonical_dtype(dtype)
        points = int(size if size is not None else grid.size if grid is not None else 1)
        if features is not None:
            f1, f2, source = float(features[0]), float(features[1]), "given"
        elif path == "symbolic":
            (f1, f2), source = self.symbolic_features(expr, points), "symbolic"
        elif grid is not None and self.xla and size in (None, grid.size):
            f1, f2, source = grid_features(op, grid, label, method, components)
        else:
            (f1, f2), source = table_features(op, points, label, components), "table"
        model = self.model(op, backend, label)
        delay = model.predict(f1, f2)
        power = self.probe.power_for(PATHS[path])
        meta = dict(ctx.get("metadata") or {})
        who = container if container is not None else str(meta.get("container", "default"))
        p_veto = self.veto_probability(op, who)
        memory = ctx.get("memory")
        footprint = table_features(op, points, label, components)[1]
        return Estimate(
            op=op,
            path=path,
            backend=backend,
            dtype=label,
            size=points,
            flops=f1,
            bytes=f2,
            delay=delay,
            energy=power.ratio * delay,
            ethics_risk=p_veto * delay,
            opportunity_loss=float(ctx.get("queue_ms") or 0.0),
            veto_prob=p_veto,
            model=model.describe(),
            feature_source=source,
            power_source=power.source,
            memory_ok=None if memory is None else footprint <= float(memory),
            tick=ctx.get("tick"),
            metadata=meta,
        )

    @property
    def probe(self) -> MachineProbe:
        """This machine's measured prior and power (measured on first use)."""
        if self._probe is None:
            self._probe = probe_machine(self.device)
        return self._probe

    # ---------------------------------------------------------------------------------------- models

    def prior(self, backend: str) -> LinearModel:
        """The prior model of a backend label (`jax:cpu`, `sympy:cpu`, ...)."""
        a, b, c = self.probe.prior(backend.split(":")[0])
        return LinearModel(a, b, c)

    def model(self, op: str, backend: str, dtype: str) -> LinearModel:
        """The model that predicts (op, backend, dtype): its own fit, a pooled fit, or the prior."""
        with self._lock:
            for key in ((op, backend, dtype), (op, backend, _ANY), (_ANY, backend, _ANY)):
                fitted = self._fitted(key, backend)
                if fitted is not None:
                    return fitted
        return self.prior(backend)

    def _fitted(self, key: tuple[str, str, str], backend: str) -> LinearModel | None:
        rows = self._obs.get(key)
        if rows is None or len(rows) < MIN_OBSERVATIONS:
            return None
        added = self._added.get(key, 0)
        cached = self._models.get(key)
        if cached is not None and added - cached[1] < min(max(1, cached[1] // 4), 64):
            return cached[0]
        model = fit_nonnegative(list(rows), self.prior(backend))
        self._models[key] = (model, added)
        return model

    def coefficients(self) -> dict[tuple[str, str, str], tuple[float, float, float]]:
        """The current (a, b, c) per fitted key (`*` marks a pooled level)."""
        with self._lock:
            return {k: (m.a, m.b, m.c) for k, (m, _) in self._models.items()}

    def observe(
        self,
        op: str,
        backend: str,
        dtype: str,
        size: int,
        flops: float,
        nbytes: float,
        actual_ms: float,
        *,
        predicted_ms: float | None = None,
    ) -> None:
        """Add one measured run: kept for fitting and queued as a `cost_calibration` row."""
        label = canonical_dtype(dtype)
        with self._lock:
            per_size = (op, backend, label, int(size))
            if self._per_size.get(per_size, 0) >= ROWS_PER_SIZE:
                return
            self._per_size[per_size] = self._per_size.get(per_size, 0) + 1
            self._add(op, backend, label, float(flops), float(nbytes), float(actual_ms))
            row = {
                "op": op,
                "backend": backend,
                "dtype": label,
                "size": int(size),
                "flops": float(flops),
                "bytes": float(nbytes),
                "predicted_ms": predicted_ms,
                "actual_ms": float(actual_ms),
                "timestamp": utc_now_iso(),
            }
            self._pending_rows.append(row)
            full = len(self._pending_rows) >= FLUSH_ROWS
        if full:
            self.flush()

    def _add(self, op: str, backend: str, dtype: str, f1: float, f2: float, y: float) -> None:
        for key in ((op, backend, dtype), (op, backend, _ANY), (_ANY, backend, _ANY)):
            self._obs.setdefault(key, deque(maxlen=FIT_WINDOW)).append((f1, f2, y))
            self._added[key] = self._added.get(key, 0) + 1

    def flush(self) -> int:
        """Write the pending calibration rows to the store (if any); returns how many were written."""
        with self._lock:
            rows, self._pending_rows = self._pending_rows, []
        if self.store is None or not rows:
            return 0
        try:
            return self.store.persist_rows("cost_calibration", rows)
        except Exception:
            with self._lock:
                self._pending_rows[:0] = rows
            raise

    def refit(self) -> dict[tuple[str, str, str], tuple[float, float, float]]:
        """Refit every model: from the store's rows when there is a store, else from memory."""
        self.flush()
        with self._lock:
            if self.store is not None:
                self._obs.clear()
                self._added.clear()
                self._load_rows()
            self._models.clear()
            for key in list(self._obs):
                self._fitted(key, key[1])
        return self.coefficients()

    def _load_rows(self) -> None:
        assert self.store is not None
        for backend in (f"jax:{self.device}", "sympy:cpu"):
            for row in self.store.rows("cost_calibration", backend=backend):
                if row.get("actual_ms") is None or row.get("flops") is None or row.get("bytes") is None:
                    continue
                self._add(row["op"], backend, row["dtype"], row["flops"], row["bytes"], row["actual_ms"])

    # ------------------------------------------------------------------------------------- verdicts

    def record_verdict(self, op: str, container: str, vetoed: bool) -> None:
        """Count one SoulLaw verdict (veto or not) of `op` in `container`."""
        with self._lock:
            counts = self._verdicts.setdefault((op, container), [0, 0])
            counts[0 if vetoed else 1] += 1

    def record_verdicts(self, beams: Iterable[Any]) -> int:
        """Count the verdicts of vetted beams (BeamEvents or dicts: token, container_id, verdict, stage);
        schedule and error beams are skipped. Returns how many were counted."""
        n = 0
        for beam in beams:
            get = beam.get if isinstance(beam, Mapping) else lambda k, b=beam: getattr(b, k, None)
            verdict, stage = get("verdict"), get("stage")
            if verdict is None or stage in ("schedule", "error"):
                continue
            self.record_verdict(str(get("token")), str(get("container_id")), verdict == "veto")
            n += 1
        return n

    def veto_probability(self, op: str, container: str) -> float:
        """Posterior mean of P(veto | op, container) under Beta(α0 + vetoes, β0 + passes)."""
        alpha, beta = self.ethics_prior
        with self._lock:
            vetoes, passes = self._verdicts.get((op, container), (0, 0))
        return (alpha + vetoes) / (alpha + beta + vetoes + passes)

    # ---------------------------------------------------------------------------------- predictions

    def log_beam_prediction(self, op: str, path: str, estimate: Estimate, *, beam_context: Mapping[str, Any]) -> str:
        """Record `estimate` before `op` runs; returns the prediction id for `record_actual`."""
        if estimate.op != op or estimate.path != path:
            raise CodexValueError(
                f"The estimate is for `{estimate.op}` on `{estimate.path}`, not `{op}` on `{path}`; "
                "log the estimate of the op that runs."
            )
        pid = f"pred_{self._session}_{next(self._ids)}"
        record = Prediction(
            pid,
            op,
            path,
            estimate.backend,
            estimate.dtype,
            estimate.size,
            estimate.flops,
            estimate.bytes,
            estimate.delay,
            estimate.cost,
            dict(beam_context),
        )
        with self._lock:
            self._open[pid] = record
            while len(self._open) > PREDICTION_LOG:
                self._open.popitem(last=False)
        return pid

    def record_actual(self, handle: str, actual_ms: float) -> Prediction:
        """Complete a logged prediction with the measured milliseconds; the run feeds calibration
        (except the first `WARMUP_RUNS` of a wave op at one shape in this process: they compile)."""
        if not (isinstance(actual_ms, (int, float)) and math.isfinite(actual_ms) and actual_ms >= 0):
            raise CodexValueError(f"`actual_ms` must be a finite number ≥ 0, got `{actual_ms!r}`.")
        with self._lock:
            record = self._open.pop(handle, None)
            if record is None:
                raise CodexValueError(
                    f"`{handle}` is not a pending prediction (unknown, or already completed); pass the id "
                    "that `log_beam_prediction` returned, once."
                )
            record.actual_ms = float(actual_ms)
            self._done.append(record)
            if record.backend.startswith("jax:"):
                key = (record.op, record.backend, record.dtype, record.flops, record.bytes)
                seen = self._warm.get(key, 0)
                self._warm[key] = seen + 1
                record.warmup = seen < WARMUP_RUNS
        if record.warmup:
            return record
        self.observe(
            record.op,
            record.backend,
            record.dtype,
            record.size,
            record.flops,
            record.bytes,
            actual_ms,
            predicted_ms=record.predicted_ms,
        )
        return record

    def predictions(self, op: str | None = None, path: str | None = None) -> list[Prediction]:
        """Completed predictions (oldest first), optionally of one op and/or path."""
        with self._lock:
            done = list(self._done)
        return [p for p in done if (op is None or p.op == op) and (path is None or p.path == path)]

    def prediction_errors(
        self, op: str | None = None, path: str | None = None, *, include_warmup: bool = False
    ) -> list[float]:
        """|predicted − actual| / actual of the completed predictions (oldest first), warm-ups left out
        unless `include_warmup`."""
        return [p.error for p in self.predictions(op, path) if p.error is not None and (include_warmup or not p.warmup)]


def _check_context(context: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise CodexValueError(
            f"An estimate's context must be a mapping such as `{{'memory': ..., 'tick': ..., 'metadata': "
            f"...}}`, got a `{type(context).__name__}`."
        )
    for key in context:
        if key not in CONTEXT_KEYS:
            raise CodexValueError(
                f"`{key}` is not a context key{did_you_mean(str(key), CONTEXT_KEYS)}; use "
                + ", ".join(f"`{k}`" for k in CONTEXT_KEYS)
                + "."
            )
    return context


def _points_of(args: Any) -> int:
    import numpy as np

    return max((int(np.prod(np.shape(a))) for a in args), default=1)


_default: CodexCostEstimator | None = None
_default_lock = threading.Lock()


def default_estimator() -> CodexCostEstimator:
    """The process-wide estimator behind the module-level `log_beam_prediction` (CPU, no store)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CodexCostEstimator()
        return _default


def log_beam_prediction(
    op: str,
    path: str,
    estimate: Estimate,
    *,
    beam_context: Mapping[str, Any],
    estimator: CodexCostEstimator | None = None,
) -> str:
    """Record an op's prediction before it runs (the build plan's name); returns the prediction id.

    Complete it with `estimator.record_actual(id, actual_ms)`; `estimator` defaults to
    `default_estimator()`.
    """
    chosen = estimator or default_estimator()
    return chosen.log_beam_prediction(op, path, estimate, beam_context=beam_context)


def glyph_execution_payload(
    glyph: str, action: Any, source: str, estimate: Any, *, timestamp: float | None = None
) -> dict[str, Any]:
    """Contract 3 (`glyph_execution`) for a glyph that ran: cost = the sum of the detail, validated.

    `estimate` is an `Estimate`, a scheduler `Decision` or a detail mapping of the four terms. Raises
    `ContractError` when the payload does not validate.
    """
    from ..contracts import validate_payload

    detail = _detail_of(estimate)
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


def _detail_of(estimate: Any) -> dict[str, float]:
    """The four terms of an Estimate (`detail()`), a Decision (`detail`) or a mapping."""
    if isinstance(estimate, Mapping):
        items = estimate
    else:
        detail = getattr(estimate, "detail", None)
        if detail is None:
            raise CodexValueError(
                f"`estimate` must be an Estimate, a Decision or a mapping of the four cost terms, got a "
                f"`{type(estimate).__name__}`."
            )
        items = detail() if callable(detail) else detail
    return {str(k): float(v) for k, v in items.items()}
