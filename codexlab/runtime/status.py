"""Container status for `lab.status`: CLOSED, OPEN or DRIFTING from each cell's drift and gaps.

Each committed cell leaves a `DriftReport` (the discretization drift of its approved beams and the
gaps of its unmet goals); a failed cell leaves a failed-op or missing-dependency gap. A cell that runs
again replaces its earlier report, so fixing a cell closes its gaps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..contracts import BeamEvent
from ..errors import CodexNameError
from ..sqi.drift import DriftComponent, DriftReport, Gap, combine_reports, container_status
from ..sqi.goals import unmet_goal_gaps

__all__ = ["ContainerReport", "cell_report", "failed_cell_report", "summarize"]

_UNKNOWN = re.compile(r"`([^`]+)` is not defined")

#: Drift at or under this is CLOSED (relative L2), unless the container's thresholds say otherwise.
DEFAULT_TOL = 1e-2


@dataclass(frozen=True)
class ContainerReport:
    """What `lab.status(container)` returns: the status, the largest drift and every gap with its weight."""

    container_id: str
    status: str
    drift: float | None
    gap_weight: float
    gaps: tuple[dict[str, Any], ...]
    cells: int

    def __str__(self) -> str:
        drift = "n/a" if self.drift is None else f"{self.drift:.3g}"
        lines = [
            f"{self.container_id}: {self.status} (drift {drift}, gap weight {self.gap_weight:g}, {self.cells} cells)"
        ]
        lines += [f"  {g['kind']} ({g['weight']:g}): {g['detail']}" for g in self.gaps]
        return "\n".join(lines)


def cell_report(beams: list[BeamEvent], goals: list[Any], statements: int, vetoed: Sequence[Any] = ()) -> DriftReport:
    """A committed cell's report: the drift of its approved value beams, its unmet goals, and one failed-op
    gap per vetoed name (a veto is a value the cell could not give)."""
    components = tuple(
        DriftComponent("discretization", float(b.drift)) for b in beams if b.drift is not None and b.verdict != "veto"
    )
    gaps = unmet_goal_gaps(goals) if goals else []
    gaps += [Gap.failed_op(v.name, f"vetoed by `{v.law}`: {v.reason}") for v in vetoed]
    if statements == 0:
        gaps.append(Gap.empty_cell())
    return DriftReport(components, tuple(gaps))


def failed_cell_report(err: BaseException) -> DriftReport:
    """A failed cell's report: one gap naming what was missing or what failed."""
    found = _UNKNOWN.search(str(err)) if isinstance(err, CodexNameError) else None
    if found:
        return DriftReport((), (Gap.missing_dependency([found.group(1)]),))
    return DriftReport((), (Gap.failed_op(type(err).__name__, getattr(err, "message", str(err))),))


def summarize(container_id: str, reports: list[DriftReport], tol: float = DEFAULT_TOL) -> ContainerReport:
    """Combine a container's cell reports into its status."""
    total = combine_reports(reports)
    return ContainerReport(
        container_id=container_id,
        status=container_status(total, tol),
        drift=total.drift,
        gap_weight=total.gap_weight,
        gaps=tuple(g.as_dict() for g in total.gaps),
        cells=len(reports),
    )
