"""Governance inside a cell: score each statement's beams (SQI) and vet them (SoulLaw, fail-closed).

Scoring and vetting run per statement, before its name is bound, so a vetoed value is never bound
and the statements that use it are not computed. Score events and verdict records are published
once the cell has committed (`Lab.run`), so a failed cell leaves only its error beam.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..contracts import BeamEvent
from ..errors import ResourceError
from ..qwave.grid import Grid
from ..sqi import (
    DriftReport,
    SoulLawConfig,
    Verdict,
    beam_entropies,
    check_resources,
    discretization_drift,
    process_beams,
    verdict_of,
    vet,
)
from ..sqi.scoring import SCORED_STAGES

__all__ = ["Governance", "StatementVerdict"]


@dataclass
class StatementVerdict:
    """The outcome of governing one statement: the scored beams, the verdicts, and the veto if any."""

    beams: list[BeamEvent]
    verdicts: list[Verdict] = field(default_factory=list)
    scores: list[Any] = field(default_factory=list)
    veto: Verdict | None = None


class Governance:
    """SQI scoring and SoulLaw vetting of a cell's statements, with the container's policy."""

    def __init__(
        self,
        config: SoulLawConfig,
        *,
        rule_stats: Callable[[Sequence[str]], Mapping[str, Any]],
        data_roots: Sequence[Any] = (),
        qkd_on: bool = False,
        container: Mapping[str, Any] | None = None,
        entropy_cache: dict[str, float] | None = None,
    ) -> None:
        self.config = config
        #: Beam id → entropy of its value; a beam's value never changes, so a Lab shares one cache.
        self.entropy_cache = entropy_cache if entropy_cache is not None else {}
        self.rule_stats = rule_stats
        self.data_roots = tuple(data_roots)
        self.qkd_on = qkd_on
        self.container = dict(container or {})

    def _entropies(self, values: Mapping[str, Any]) -> dict[str, float]:
        """`beam_entropies`, computed once per beam."""
        missing = {bid: v for bid, v in values.items() if bid not in self.entropy_cache}
        self.entropy_cache.update(beam_entropies(missing))
        return {bid: self.entropy_cache[bid] for bid in values if bid in self.entropy_cache}

    # ------------------------------------------------------------------------------- before running

    def check_resources(self, *, grid: Grid | None = None, loop_iterations: int | None = None, arrays: int = 4) -> None:
        """Refuse a request over the limits before anything is allocated (the resource law): the grid's
        points, and `arrays` complex grid-sized arrays held at once (by default a field and a few
        temporaries; `program.field_arrays` counts a statement's), in exact integers."""
        points = grid.size if grid is not None else None
        est_bytes = points * 16 * arrays if points is not None else None
        verdicts = check_resources(points, est_bytes, loop_iterations, self.config.thresholds)
        if verdict_of(verdicts) == "veto":
            first = next(v for v in verdicts if v.outcome == "veto")
            raise ResourceError(f"SoulLaw `{first.law}` refused the request before running: {first.reason}.")

    def consent_refusal(self, glyph: str) -> str | None:
        """Why `⧖` may not run in this container (it requires consent that was not granted), or None."""
        if glyph != "⧖" or not self.container.get("requires_consent"):
            return None
        if self.container.get("consent_granted") is True:
            return None
        return "this container requires consent before `⧖`; set `consent_granted` in its config"

    # ------------------------------------------------------------------------------------ drift

    def drift_report(self, value: Any, exact: Any, grid: Grid, terms: Sequence[Any] | None) -> DriftReport | None:
        """Discretization drift of a grid value against its exact form (≤ 4096 sampled points), scaled by
        the norms of the op's exact `terms` (SEMANTICS)."""
        if exact is None or not isinstance(value, xr.DataArray):
            return None
        try:
            component = discretization_drift(value, exact, grid, terms=terms or ())
        except Exception:  # noqa: BLE001 - an exact form that will not evaluate gives no drift, not a failure
            return None
        return DriftReport((component,))

    # ------------------------------------------------------------------------------ per statement

    def statement(
        self,
        beams: list[BeamEvent],
        *,
        name: str,
        grid: Grid,
        drift_reports: Mapping[str, DriftReport],
        rules: Sequence[str],
        prior_norms: Mapping[str, float],
        values: Mapping[str, Any],
        extra_context: Mapping[str, Mapping[str, Any]] | None = None,
        goals: Sequence[Any] = (),
    ) -> StatementVerdict:
        """Score and vet one statement's beams; the first veto (if any) stops the statement."""
        scored_ids = [b.beam_id for b in beams if b.stage in SCORED_STAGES]
        stats = self.rule_stats(rules) if rules else {}
        sqi = process_beams(
            beams,
            drift_reports=drift_reports,
            rule_stats=stats,
            derivation_rules={bid: list(rules) for bid in scored_ids},
            input_entropies=self._entropies(values),
            input_norms=prior_norms,
            spacing=grid.spacing,
            growth_limit=float(self.config.thresholds.get("growth_limit", 1e6)),
            goals=goals,
        )
        updates = {u["beam_id"]: u for u in sqi.updates}
        out = StatementVerdict(beams=[], scores=list(sqi.scores))
        norms = dict(prior_norms)
        for beam in beams:
            u = updates.get(beam.beam_id)
            if u is not None:
                beam = beam.evolve(drift=_finite_or_none(u["drift"]), qscore=u["qscore"])
            if beam.stage in SCORED_STAGES and out.veto is None:
                context = self._context(beam, name, grid, norms, (extra_context or {}).get(beam.beam_id, {}))
                verdicts = vet(beam, context, config=self.config)
                outcome = verdict_of(verdicts)
                beam = beam.evolve(verdict=outcome)
                out.verdicts.extend(verdicts)
                if outcome == "veto":
                    out.veto = next(v for v in verdicts if v.outcome == "veto")
            norm = beam.result.get("norm")
            if isinstance(norm, (int, float)):
                norms[beam.beam_id] = float(norm)
            out.beams.append(beam)
        return out

    def _context(
        self, beam: BeamEvent, name: str, grid: Grid, norms: Mapping[str, float], extra: Mapping[str, Any]
    ) -> dict[str, Any]:
        result = beam.result
        state_norm = None
        if beam.token in ("⊕", "⊖") and isinstance(result.get("norm"), (int, float)):
            state_norm = float(result["norm"])
        return {
            "name": result.get("name", name),
            "input_norms": [norms[p] for p in beam.parents if p in norms],
            "spacing": grid.spacing,
            "state_norm": state_norm,
            "precision": result.get("precision"),
            "data_roots": self.data_roots,
            "requires_consent": bool(self.container.get("requires_consent")),
            "consent_granted": self.container.get("consent_granted") is True,
            "container_id": beam.container_id,
            "qscore": beam.qscore,
            "qkd_on": self.qkd_on,
            "grid_points": grid.size,
            **extra,
        }


def _finite_or_none(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None
