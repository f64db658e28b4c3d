"""The cell's trace (the build plan's `codex_trace`): what ran and why, in order, each event naming the beam
it is about, so the run's trace and its beams read together.

Kinds (`TRACE_KINDS`):

- `glyph` — an op ran: its glyph, path and measured milliseconds (the op beam);
- `prediction` — the cost model's predicted milliseconds for that op (the schedule beam); a report, it
  decides nothing;
- `rewrite` — a Photon step that changes a differential operator (∇·∇f → Δf, linearity of Δ);
- `simplify` — a Photon step of algebra only (constant folding, `x + 0`, canonical order);
- `contradiction` — something the cell claimed did not hold: a Goal the final values miss;
- `replay` — stored beams were replayed (`lab.replay`);
- `warning` — a loop that stopped early, a stage that failed after the commit.

`log_codex_trace` appends a run's events to `<home>/traces/codex_trace.jsonl` (one fsync'd write).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import CodexValueError, did_you_mean
from ..ops import find_spec
from ..photon import ir
from ..sqi._jsonl import append_jsonl

__all__ = ["TRACE_KINDS", "trace_event", "step_kind", "log_codex_trace", "TRACE_FILE"]

TRACE_KINDS = ("glyph", "prediction", "rewrite", "simplify", "contradiction", "replay", "warning")
#: Where `log_codex_trace` writes, under a home's `traces/` folder.
TRACE_FILE = "codex_trace.jsonl"


def trace_event(kind: str, **fields: Any) -> dict[str, Any]:
    """One trace event of a known kind (a `CodexValueError` names the kinds otherwise)."""
    if kind not in TRACE_KINDS:
        raise CodexValueError(
            f"`{kind}` is not a trace kind{did_you_mean(kind, TRACE_KINDS)}; use one of {', '.join(TRACE_KINDS)}."
        )
    return {"kind": kind, **fields}


def step_kind(local_before: ir.PNode, local_after: ir.PNode) -> str:
    """`rewrite` when the step changes the differential operators of the subterm (those whose spec has an
    order: ∇·∇ → Δ, Δ spread over a sum), else `simplify` (algebra on numbers and fields)."""
    return "rewrite" if _differentials(local_before) != _differentials(local_after) else "simplify"


def _differentials(node: ir.PNode) -> Counter[str]:
    out: Counter[str] = Counter()
    for n in ir.walk(node):
        spec = find_spec(n.op)
        if spec is not None and spec.order > 0:
            out[n.op] += 1
    return out


def log_codex_trace(
    events: Iterable[Mapping[str, Any]],
    *,
    home: str | os.PathLike[str],
    run_id: str | None = None,
    cell_id: str | None = None,
    container_id: str | None = None,
) -> Path:
    """Append trace events to `<home>/traces/codex_trace.jsonl`, each with the run, cell and container."""
    ids = {k: v for k, v in (("run_id", run_id), ("cell_id", cell_id), ("container_id", container_id)) if v}
    records = [{"event": "codex_trace", **ids, **dict(e)} for e in events]
    return append_jsonl(Path(home) / "traces" / TRACE_FILE, records)
