"""glyph_execution: the WebSocket message sent when a glyph runs, with its cost breakdown."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from codexlab.contracts._base import ContractModel, Part, register_kind
from codexlab.contracts._types import EpochSeconds, TextOrObject

__all__ = ["CostDetail", "GlyphExecution", "GlyphExecutionPayload"]


class CostDetail(Part):
    """Cost terms in milliseconds-equivalent, so they add up to `cost` (see SEMANTICS.md)."""

    energy: float = Field(ge=0, description="predicted joules / reference power, as ms")
    ethics_risk: float = Field(ge=0, description="P(SoulLaw veto) x delay, the work expected to be wasted")
    delay: float = Field(ge=0, description="predicted run time, ms")
    opportunity_loss: float = Field(ge=0, description="predicted queue wait, ms")

    @property
    def total(self) -> float:
        """The sum of the four terms."""
        return math.fsum((self.energy, self.ethics_risk, self.delay, self.opportunity_loss))


class GlyphExecutionPayload(Part):
    """What ran, what it returned, who asked, when, and what it cost."""

    glyph: str = Field(min_length=1)
    action: TextOrObject = Field(description="result text or object")
    source: str = Field(min_length=1, description="photon, codex, user, ...")
    timestamp: EpochSeconds
    cost: float = Field(ge=0, description="energy + ethics_risk + delay + opportunity_loss")
    detail: CostDetail

    @model_validator(mode="after")
    def _cost_is_sum_of_detail(self) -> GlyphExecutionPayload:
        """`cost` must equal the sum of the detail terms (relative and absolute tolerance 1e-9)."""
        total = self.detail.total
        if not math.isclose(self.cost, total, rel_tol=1e-9, abs_tol=1e-9):
            raise ValueError(
                f"`cost` {self.cost!r} is not the sum of `detail` ({total!r} = energy + ethics_risk + "
                "delay + opportunity_loss); send the sum as `cost`"
            )
        return self


@register_kind
class GlyphExecution(ContractModel):
    """`{type: "glyph_execution", payload: {...}}` as sent to WebSocket subscribers."""

    KIND = "glyph_execution"
    VERSION = 1

    type: Literal["glyph_execution"] = "glyph_execution"
    payload: GlyphExecutionPayload
