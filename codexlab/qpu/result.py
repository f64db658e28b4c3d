"""`SheetRun`: what `execute_sheet` returns — per cell whether it ran or was reused, the values, beams
and timings, and the sheet metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..contracts import BeamEvent
from ..runtime.run import Run, describe_value

__all__ = ["CellOutcome", "SheetRun", "CellStatus"]

CellStatus = Literal["ran", "cached", "failed", "not run"]


@dataclass
class CellOutcome:
    """One cell of a sheet run: its status, what it read and wrote, its run or reused result, timings."""

    cell_id: str
    status: CellStatus
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    #: The `Run` when the cell ran (None when reused, failed or not run).
    run: Run | None = None
    #: Values the cell bound (fields as DataArrays), as `Run.values` holds them.
    values: dict[str, Any] = field(default_factory=dict)
    #: Its beams: the run's, or the `cached` beams that link to the reused ones.
    beams: list[BeamEvent] = field(default_factory=list)
    #: The cache key (None when caching was off).
    key: str | None = None
    #: The run whose result was reused (cached cells).
    reused_run_id: str | None = None
    #: Start and end, ms after the sheet started.
    start_ms: float = 0.0
    end_ms: float = 0.0
    error: str | None = None

    @property
    def duration_ms(self) -> float:
        """How long the cell took (running it, or checking and reusing its cached result)."""
        return self.end_ms - self.start_ms

    @property
    def run_id(self) -> str | None:
        """The id of the run that made the cell's beams (its own, or the cached beams' run)."""
        if self.run is not None:
            return self.run.run_id
        return self.beams[0].sheet_run_id if self.beams else None


@dataclass
class SheetRun:
    """The result of a sheet: cells in file order, values by name, beams, metrics and ids that resolve."""

    sheet_run_id: str
    sheet: str
    container_id: str
    jobs: int
    cells: dict[str, CellOutcome]
    #: The order the cells were started in (a topological order, file order among ready cells).
    order: list[str]
    values: dict[str, Any] = field(default_factory=dict)
    #: The `qpu_sheet_metrics` payload (wall time, sum of cell times, critical path, ...).
    metrics: dict[str, Any] = field(default_factory=dict)
    qfc_id: str | None = None

    @property
    def ran(self) -> list[str]:
        """Cells that ran, in start order."""
        return [c for c in self.order if c in self.cells and self.cells[c].status == "ran"]

    @property
    def reused(self) -> list[str]:
        """Cells whose cached result was reused, in start order."""
        return [c for c in self.order if c in self.cells and self.cells[c].status == "cached"]

    @property
    def beams(self) -> list[BeamEvent]:
        """Every beam of the sheet run, cell by cell in start order."""
        return [b for c in self.order if c in self.cells for b in self.cells[c].beams]

    @property
    def wall_ms(self) -> float:
        """Wall time of the cells' execution."""
        return float(self.metrics.get("wall_ms", 0.0))

    def summary(self) -> str:
        """A readable multi-line summary (what the CLI prints)."""
        m = self.metrics
        lines = [
            f"sheet {self.sheet} · {len(self.cells)} cells · container {self.container_id} · jobs {self.jobs}",
        ]
        for cid, o in self.cells.items():
            extra = f" (reused run {o.reused_run_id})" if o.reused_run_id else ""
            writes = f"  writes {', '.join(o.writes)}" if o.writes else ""
            lines.append(f"  [{o.status:7s}] {cid:16s} {o.duration_ms:9.1f} ms{writes}{extra}")
        lines.append("values:")
        lines.extend(f"  {name} = {describe_value(v)}" for name, v in self.values.items())
        lines.append(
            f"beams: {len(self.beams)} ({len(self.ran)} cells ran, {len(self.reused)} reused)"
            f" · wall {m.get('wall_ms', 0):.1f} ms vs {m.get('cells_ms', 0):.1f} ms of cell time"
            f" ({m.get('speedup', 0):.2f}×)"
        )
        path = " → ".join(m.get("critical_path", []))
        lines.append(f"critical path: {path} ({m.get('critical_path_ms', 0):.1f} ms)")
        lines.append(f"sheet run id: {self.sheet_run_id}")
        if self.qfc_id:
            lines.append(f"QFC id: {self.qfc_id}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<SheetRun {self.sheet_run_id}: {len(self.cells)} cells, {len(self.ran)} ran, "
            f"{len(self.reused)} reused, {len(self.values)} values>"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self) if cycle else self.summary())
