"""DNA mutation: a fusion or repair proposed by SPE, before and after, with its scores."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from codexlab.contracts._base import ContractModel, Part, register_kind
from codexlab.contracts._types import Probability
from codexlab.contracts.beam import to_utc_iso

__all__ = ["DnaMutation", "MutationMetadata", "MutationSide"]


class MutationSide(Part):
    """One side of a mutation: the glyph and, where known, its scroll text, template and op chain."""

    glyph: str = Field(min_length=1)
    scroll: str | None = Field(default=None, description="CodexLang text")
    template: str | None = Field(default=None, description="Photon template of a fused glyph")
    op_chain: list[str] | None = Field(default=None, description="the ops a fusion replaces")


class MutationMetadata(Part):
    """Why the mutation was made and how it is expected to do."""

    reason: Literal["fusion", "repair"]
    entropy_delta: float
    rewrite_success_prob: Probability
    container_id: str = Field(min_length=1)


@register_kind
class DnaMutation(ContractModel):
    """`{mutation_id, timestamp, original, mutated, metadata}`; ext `accepted`, `qscore_before/after`."""

    KIND = "dna_mutation"
    VERSION = 1

    mutation_id: str = Field(min_length=1)
    timestamp: str = Field(description="ISO 8601 UTC")
    original: MutationSide
    mutated: MutationSide
    metadata: MutationMetadata
    accepted: bool | None = Field(default=None, description="ext: kept (qscore improved) or rejected")
    qscore_before: Probability | None = Field(default=None, description="ext")
    qscore_after: Probability | None = Field(default=None, description="ext")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _normalize_timestamp(cls, value: Any) -> str:
        """Accept an aware datetime or an ISO string; store fixed-width UTC with a `Z`."""
        return to_utc_iso(value)
