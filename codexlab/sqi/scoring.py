"""The SQI score of a beam and the SQI score events (contract 4).

qscore = stability · accuracy^0.5 · goal^0.3 · rewrite^0.2, where stability ∈ {0, 1} (finite, bounded
growth), accuracy = exp(−drift/τ) with τ = 0.1, goal = goal_match_score, rewrite = rewrite_success_prob.
qscore is deterministic for fixed inputs; the timing-based efficiency (predicted/actual ms) is reported
beside it, never inside it.

Scored stages: the value-producing ones (`SCORED_STAGES`: ingest, symbolic, wave, entangle, collapse,
loop). `error` beams and bookkeeping beams (schedule, rewrite, sqi, policy, fusion, repair, kg, cpu,
container) are skipped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from codexlab.contracts import SqiScore, rating_for
from codexlab.sqi._summary import as_float, beam_field, effective_growth_limit, summary_norm
from codexlab.sqi.drift import DriftReport
from codexlab.sqi.goals import GoalResult, goal_match_score

__all__ = [
    "DEFAULT_GROWTH_LIMIT",
    "EXPONENTS",
    "SCORED_STAGES",
    "TAU",
    "SqiResult",
    "accuracy",
    "process_beams",
    "qscore",
    "rating",
    "record_sqi_score_event",
    "cell_qscore",
    "rewrite_success_prob",
    "stability",
]

TAU = 0.1
DEFAULT_GROWTH_LIMIT = 1e6
#: The exponents of accuracy, goal match and rewrite success in qscore.
EXPONENTS: dict[str, float] = {"accuracy": 0.5, "goal": 0.3, "rewrite": 0.2}
SCORED_STAGES: frozenset[str] = frozenset({"ingest", "symbolic", "wave", "entangle", "collapse", "loop"})


def _counts(entry: Any) -> tuple[int, int]:
    """(passes, failures) of a `(passes, failures)` pair or a `RuleStats`."""
    if hasattr(entry, "passes") and hasattr(entry, "failures"):
        return int(entry.passes), int(entry.failures)
    passes, failures = entry
    return int(passes), int(failures)


def rewrite_success_prob(rule_names: Iterable[str], stats: Mapping[str, Any]) -> float:
    """Π over the derivation's rule uses of the Beta(1 + s, 1 + f) posterior mean (1 + s)/(2 + s + f).

    `stats` maps a rule name to `(passes, failures)` or a `RuleStats`. A name without stats (a
    normalization step such as `canonical-order`, not a rule) contributes 1, as in
    `RuleSet.success_prob`; a rule used twice counts twice. 1.0 for an empty derivation.
    """
    prob = 1.0
    for name in rule_names:
        if name in stats:
            passes, failures = _counts(stats[name])
            prob *= (1 + passes) / (2 + passes + failures)
    return prob


def _finite_summary(result: Mapping[str, Any]) -> bool:
    """Whether a beam summary says its value is finite (flag and min/max/norm/value numbers)."""
    if result.get("finite") is False:
        return False
    for key in ("min", "max", "norm"):
        number = as_float(result.get(key))
        if key in result and number is not None and not math.isfinite(number):
            return False
    if result.get("kind") == "string":
        return True
    value = result.get("value")
    parts = value if isinstance(value, list | tuple) else [value]
    return all(n is None or math.isfinite(n) for n in (as_float(p) for p in parts))


def stability(result_summary: Mapping[str, Any], inputs_max_norm: float | None = None, *, growth_limit: float) -> int:
    """1 when the value is finite and ‖out‖ ≤ growth_limit · max‖in‖, else 0.

    Pass the effective limit (for a derivative G = growth_limit · h^−order). Growth is not checked
    without input norms or when every input norm is 0 (no scale to bound against).
    """
    if not _finite_summary(result_summary):
        return 0
    out = summary_norm(result_summary)
    if out is None or inputs_max_norm is None or not math.isfinite(inputs_max_norm) or inputs_max_norm <= 0:
        return 1
    return 1 if out <= growth_limit * inputs_max_norm else 0


def accuracy(drift: float | None, tau: float = TAU) -> float:
    """exp(−drift/τ); 1 when no drift was measured, 0 for an infinite drift."""
    if drift is None:
        return 1.0
    if not math.isfinite(drift):
        return 0.0
    return math.exp(-drift / tau)


def qscore(stability: float, accuracy: float, goal: float = 1.0, rewrite: float = 1.0) -> float:
    """stability · accuracy^0.5 · goal^0.3 · rewrite^0.2."""
    return stability * accuracy ** EXPONENTS["accuracy"] * goal ** EXPONENTS["goal"] * rewrite ** EXPONENTS["rewrite"]


def rating(q: float) -> str:
    """≥.85 exceptional, ≥.65 strong, ≥.45 moderate, ≥.25 weak, else poor."""
    return rating_for(q)


@dataclass
class SqiResult:
    """What `process_beams` produced.

    updates: one `{beam_id, drift, qscore, efficiency}` per scored beam (drift None when not measured or
    not finite; efficiency = predicted_ms / duration_ms, None when either is missing).
    scores: the contract-4 events, in beam order. skipped: ids of beams that were not scored.
    details: beam id → the factors (stability, accuracy, goal, rewrite, entropy_delta, growth_limit,
    goal_detail), for a HUD that explains a score.
    """

    updates: list[dict[str, Any]] = field(default_factory=list)
    scores: list[SqiScore] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)


def _efficiency(result: Mapping[str, Any]) -> float | None:
    predicted, actual = as_float(result.get("predicted_ms")), as_float(result.get("duration_ms"))
    if predicted is None or actual is None or not (math.isfinite(predicted) and math.isfinite(actual)):
        return None
    return predicted / actual if actual > 0 and predicted > 0 else None


def _entropy_delta(beam_id: str, parents: Sequence[str], entropies: Mapping[str, float]) -> float:
    """H(output) − mean H(field parents); 0 without field parents or when an entropy is not finite (a NaN
    field, which stability already scores 0). A beam absent from `entropies` is not a field: H = 0."""
    inputs = [entropies[p] for p in parents if p in entropies]
    output = entropies.get(beam_id, 0.0)
    if not inputs or not all(math.isfinite(v) for v in [output, *inputs]):
        return 0.0
    return output - sum(inputs) / len(inputs)


def process_beams(
    beams: Sequence[Any],
    *,
    container_id: str | None = None,
    drift_reports: Mapping[str, DriftReport] | None = None,
    goals: Sequence[GoalResult] = (),
    rule_stats: Mapping[str, Any] | None = None,
    derivation_rules: Mapping[str, Sequence[str]] | None = None,
    input_entropies: Mapping[str, float] | None = None,
    input_norms: Mapping[str, float] | None = None,
    spacing: float | Sequence[float] | None = None,
    growth_limit: float = DEFAULT_GROWTH_LIMIT,
    tau: float = TAU,
    mutation_id: str | None = None,
    publish: Callable[[dict[str, Any]], Any] | None = None,
    store: Any = None,
) -> SqiResult:
    """Score each value-producing beam of a cell and emit its SQI score event.

    Parameters:
      beams — the cell's BeamEvents (or beam dicts), in order.
      container_id — the events' container (default: each beam's own).
      drift_reports — beam id → its DriftReport (drift = the largest component; none → accuracy 1).
      goals — the cell's evaluated Goal records (shared by every beam of the cell).
      rule_stats, derivation_rules — rule → (passes, failures) or RuleStats; beam id → the rule names of
        the derivation its statement went through (a beam absent here scores rewrite 1).
      input_entropies — beam id → H (nats) of that beam's value, for field values (`beam_entropies`);
        entropy_delta = H(beam) − mean H(parents listed here), 0 when none is.
      input_norms — beam id → norm, for parents outside `beams` (earlier cells); parents inside are read
        from their summaries.
      spacing — the grid spacing(s) h, which scales the growth limit of derivatives by h^−order.
      growth_limit, tau — the stability bound and τ of accuracy.
      publish, store — each score event is handed to `publish` (e.g. a metrics bus's `publish`) when
        given; with a `store`, all scores are persisted in one `sqi_scores` batch.
    Returns: an `SqiResult`.
    """
    drift_reports = drift_reports or {}
    rule_stats = rule_stats or {}
    derivation_rules = derivation_rules or {}
    entropies = input_entropies or {}
    goal, goal_detail = goal_match_score(goals)
    norms: dict[str, float] = dict(input_norms or {})
    out = SqiResult()
    for beam in beams:
        beam_id = str(beam_field(beam, "beam_id"))
        result = beam_field(beam, "result") or {}
        own = summary_norm(result)
        if own is not None:
            norms[beam_id] = own
        if beam_field(beam, "stage") not in SCORED_STAGES:
            out.skipped.append(beam_id)
            continue
        parents = list(beam_field(beam, "parents") or [])
        parent_norms = [norms[p] for p in parents if p in norms and math.isfinite(norms[p])]
        limit = effective_growth_limit(growth_limit, beam_field(beam, "token"), spacing)
        stable = stability(result, max(parent_norms) if parent_norms else None, growth_limit=limit)
        report = drift_reports.get(beam_id)
        drift = report.drift if report is not None else None
        acc = accuracy(drift, tau)
        rewrite = rewrite_success_prob(derivation_rules.get(beam_id, ()), rule_stats)
        q = qscore(stable, acc, goal, rewrite)
        delta = _entropy_delta(beam_id, parents, entropies)
        shown_drift = drift if drift is not None and math.isfinite(drift) else None
        score = SqiScore(
            timestamp=time.time(),
            mutation_id=mutation_id,
            container_id=container_id or str(beam_field(beam, "container_id") or "default_container"),
            goal_match_score=goal,
            rewrite_success_prob=rewrite,
            entropy_delta=delta,
            beam_id=beam_id,
            qscore=q,
            drift=shown_drift,
            rating=rating_for(q),
        )
        out.scores.append(score)
        out.updates.append({"beam_id": beam_id, "drift": shown_drift, "qscore": q, "efficiency": _efficiency(result)})
        out.details[beam_id] = {
            "stability": stable,
            "accuracy": acc,
            "goal": goal,
            "rewrite": rewrite,
            "entropy_delta": delta,
            "growth_limit": limit,
            "goal_detail": goal_detail,
            "location": report.location if report is not None else None,
        }
    if publish is not None:
        for score in out.scores:
            record_sqi_score_event(score, publish=publish)
    if store is not None and out.scores:
        store.persist_rows("sqi_scores", [_score_row(s) for s in out.scores])
    return out


def cell_qscore(scores: Iterable[SqiScore]) -> float | None:
    """The qscore of a cell: the mean over its scored beams (None when none was scored)."""
    values = [float(s.qscore) for s in scores if s.qscore is not None]
    return sum(values) / len(values) if values else None


def _score_row(score: SqiScore) -> dict[str, Any]:
    """An `sqi_scores` row: the table's columns are the contract's fields, one to one."""
    return {
        "v": score.v,
        "type": score.type,
        "timestamp": score.timestamp,
        "mutation_id": score.mutation_id,
        "container_id": score.container_id,
        "goal_match_score": score.goal_match_score,
        "rewrite_success_prob": score.rewrite_success_prob,
        "entropy_delta": score.entropy_delta,
        "beam_id": score.beam_id,
        "qscore": score.qscore,
        "drift": score.drift,
        "rating": score.rating,
    }


def record_sqi_score_event(
    score: SqiScore, *, publish: Callable[[dict[str, Any]], Any] | None = None, store: Any = None
) -> dict[str, Any]:
    """The SQI score event (contract 4, `type` "sqi_score"), handed to `publish` (a metrics bus's
    `publish`, so sqi needs no runtime) and, with a store, appended to `sqi_scores`. Returns the event."""
    event = score.model_dump()
    if publish is not None:
        publish(event)
    if store is not None:
        store.persist_rows("sqi_scores", [_score_row(score)])
    return event
