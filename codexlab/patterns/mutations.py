"""DNA mutations (contract 5): record a fusion or repair in the store, the KG and the metrics bus."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from codexlab.contracts import DnaMutation, SqiScore, rating_for
from codexlab.contracts.dna_mutation import MutationMetadata, MutationSide
from codexlab.sqi.scoring import record_sqi_score_event

__all__ = ["SideLike", "add_dna_mutation", "fusion_sides", "list_mutations", "repair_sides"]

SideLike = MutationSide | Mapping[str, Any] | str


def _side(side: SideLike) -> MutationSide:
    if isinstance(side, MutationSide):
        return side
    if isinstance(side, str):
        return MutationSide(glyph=side)
    return MutationSide(**dict(side))


def add_dna_mutation(
    original: SideLike,
    mutated: SideLike,
    reason: Literal["fusion", "repair"],
    *,
    container_id: str,
    entropy_delta: float,
    rewrite_success_prob: float,
    accepted: bool | None = None,
    qscore_before: float | None = None,
    qscore_after: float | None = None,
    goal_match_score: float = 1.0,
    store: Any = None,
    kg: Any = None,
    bus: Any = None,
    mutation_id: str | None = None,
) -> DnaMutation:
    """Validate a mutation and record it: `dna_mutations` row, KG revision, bus events.

    The bus gets `{type: "dna_mutation", ...}` and an SQI score event carrying the `mutation_id` (its
    qscore is `qscore_after`); with a store, the score is also appended to `sqi_scores`.
    """
    mutation = DnaMutation(
        mutation_id=mutation_id or f"mut_{uuid.uuid4().hex[:16]}",
        timestamp=datetime.now(UTC).isoformat(),
        original=_side(original),
        mutated=_side(mutated),
        metadata=MutationMetadata(
            reason=reason,
            entropy_delta=float(entropy_delta),
            rewrite_success_prob=float(rewrite_success_prob),
            container_id=container_id,
        ),
        accepted=accepted,
        qscore_before=qscore_before,
        qscore_after=qscore_after,
    )
    if store is not None:
        store.persist_rows("dna_mutations", [mutation])
    if kg is not None:
        kg.write_mutation(mutation)
    if bus is not None:
        bus.publish({"type": "dna_mutation", **mutation.model_dump(mode="json")})
    if bus is not None or store is not None:
        score = SqiScore(
            timestamp=time.time(),
            mutation_id=mutation.mutation_id,
            container_id=container_id,
            goal_match_score=goal_match_score,
            rewrite_success_prob=float(rewrite_success_prob),
            entropy_delta=float(entropy_delta),
            qscore=qscore_after,
            rating=rating_for(qscore_after) if qscore_after is not None else None,
        )
        record_sqi_score_event(score, publish=bus.publish if bus is not None else None, store=store)
    return mutation


def list_mutations(store: Any, container_id: str | None = None) -> list[DnaMutation]:
    """The stored mutations (of one container, or all), oldest first."""
    rows = store.rows("dna_mutations")
    out = [DnaMutation.model_validate(r) for r in rows]
    if container_id is not None:
        out = [m for m in out if m.metadata.container_id == container_id]
    return sorted(out, key=lambda m: m.timestamp)


def fusion_sides(glyph: Any) -> tuple[MutationSide, MutationSide]:
    """The (original, mutated) sides of a `FusionGlyph`: the op chain, then the fused glyph and template."""
    chain = list(glyph.chain)
    original = MutationSide(glyph=" → ".join(chain), op_chain=chain)
    mutated = MutationSide(glyph=glyph.name, template=glyph.text, op_chain=chain)
    return original, mutated


def repair_sides(candidate: Any, scroll_text: str, glyph: str = "cell") -> tuple[MutationSide, MutationSide]:
    """The (original, mutated) sides of a `RepairCandidate`: the scroll before and after the patch."""
    return (
        MutationSide(glyph=glyph, scroll=scroll_text),
        MutationSide(glyph=f"{glyph}:{candidate.kind}", scroll=candidate.patched_scroll),
    )
