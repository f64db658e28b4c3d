"""Beams, scores and mutations for the knowledge-graph tests, and an independent lineage in Python."""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from codexlab.contracts import BeamEvent, DnaMutation, SqiScore, Stage, new_beam_id, to_utc_iso

BASE = datetime(2025, 1, 1, tzinfo=UTC)
_TICK = itertools.count()


def make_beam(
    cell: str = "cell_001",
    stage: Stage = "wave",
    *,
    run: str = "run_a",
    parents: Iterable[str] = (),
    **fields: Any,
) -> BeamEvent:
    """A valid beam with a fresh id; each call is one millisecond later than the one before."""
    moment = BASE + timedelta(milliseconds=next(_TICK))
    fields.setdefault("token", "Δ")
    fields.setdefault("result", {"shape": [8, 8], "dtype": "float64", "norm": 1.5})
    return BeamEvent(
        beam_id=new_beam_id(cell, stage, moment),
        cell_id=cell,
        sheet_run_id=run,
        stage=stage,
        timestamp=to_utc_iso(moment),
        parents=list(parents),
        **fields,
    )


def chain(n: int, *, run: str = "run_chain") -> list[BeamEvent]:
    """`n` beams, each derived from the one before (the first is an ingest beam)."""
    out = [make_beam("cell_000", "ingest", run=run)]
    for i in range(1, n):
        out.append(make_beam(f"cell_{i:03d}", "wave", run=run, parents=[out[-1].beam_id]))
    return out


def random_dag(n: int, seed: int, *, run: str = "run_dag", max_parents: int = 3) -> list[BeamEvent]:
    """`n` beams in topological order, each with up to `max_parents` earlier parents (shared ancestors)."""
    rng = random.Random(seed)
    out: list[BeamEvent] = []
    for i in range(n):
        k = 0 if i == 0 else rng.randint(1, min(max_parents, i))
        parents = [out[j].beam_id for j in sorted(rng.sample(range(i), k))]
        out.append(make_beam(f"cell_{i:03d}", "ingest" if not parents else "wave", run=run, parents=parents))
    return out


def ancestors(beams: Iterable[BeamEvent], beam_id: str) -> set[str]:
    """Every ancestor of `beam_id` by breadth-first search over `parents` (the reference lineage)."""
    parents: Mapping[str, list[str]] = {b.beam_id: b.parents for b in beams}
    seen: set[str] = set()
    queue = deque(parents.get(beam_id, []))
    while queue:
        current = queue.popleft()
        if current in seen:
            continue
        seen.add(current)
        queue.extend(parents.get(current, []))
    return seen


def make_score(beam_id: str | None, qscore: float, *, drift: float = 0.02, **fields: Any) -> SqiScore:
    """An SQI score event for a beam (or, with `mutation_id=`, for a mutation)."""
    return SqiScore(
        timestamp=1_735_689_600.5,
        container_id="default_container",
        goal_match_score=1.0,
        rewrite_success_prob=0.9,
        entropy_delta=-0.25,
        beam_id=beam_id,
        qscore=qscore,
        drift=drift,
        **fields,
    )


def make_mutation(mutation_id: str = "mut_0001", *, accepted: bool | None = True) -> DnaMutation:
    """A fusion mutation of `∇·∇` into `Δ`."""
    return DnaMutation(
        mutation_id=mutation_id,
        timestamp="2025-01-01T00:00:00Z",
        original={"glyph": "∇·∇", "op_chain": ["grad", "div"]},
        mutated={"glyph": "Δ", "template": "lap(f)"},
        metadata={
            "reason": "fusion",
            "entropy_delta": 0.0,
            "rewrite_success_prob": 0.95,
            "container_id": "default_container",
        },
        accepted=accepted,
        qscore_before=0.6,
        qscore_after=0.8,
    )
