"""collapse_trace and soullaw_event: the records of the collapse-trace JSONL file."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from codexlab.contracts._base import ContractModel, Part, register_kind
from codexlab.contracts._types import BeamId, EpochSeconds, TextOrObject
from codexlab.errors import ContractError

__all__ = ["CollapseTrace", "DreamPack", "Hologram", "SignatureBlock", "SoulLawEvent", "load_trace_record"]


class SignatureBlock(Part):
    """Ids that resolve: the replay, the stored post-state, the QGlyph program (None where none exists)."""

    ghx_projection_id: str | None = Field(default=None, description="the run's replay id")
    vault_snapshot_id: str | None = Field(default=None, description="content hash of the stored post-state")
    qglyph_id: str | None = Field(default=None, description="hash of the QGlyph program")


class DreamPack(Part):
    """The scroll tree (Codex AST JSON), entropy before/after, and memory tags."""

    scroll_tree: dict[str, Any] = Field(default_factory=dict)
    entropy_state: dict[str, Any] = Field(default_factory=dict)
    memory_tags: list[str] = Field(default_factory=list)


class Hologram(Part):
    """What a replay needs: free-form GHX data, the trigger, the signature ids and the dream pack."""

    ghx_data: Any = None
    trigger_metadata: Any = None
    signature_block: SignatureBlock = Field(default_factory=SignatureBlock)
    dream_pack: DreamPack = Field(default_factory=DreamPack)


@register_kind
class CollapseTrace(ContractModel):
    """One collapse (a measurement or an ambiguous choice) and the hologram to replay it."""

    KIND = "collapse_trace"
    VERSION = 1

    type: Literal["collapse_trace"] = "collapse_trace"
    expression: str = Field(min_length=1)
    output: TextOrObject
    adapter: Literal["photon", "codex", "qwave"]
    identity: str = Field(min_length=1, description="user or agent")
    timestamp: EpochSeconds
    hologram: Hologram = Field(default_factory=Hologram)


@register_kind
class SoulLawEvent(ContractModel):
    """A SoulLaw verdict on one beam, appended to the collapse-trace file."""

    KIND = "soullaw_event"
    VERSION = 1

    type: Literal["soullaw_event"] = "soullaw_event"
    event: Literal["soullaw_pass", "soullaw_warn", "soullaw_veto"]
    law: str = Field(min_length=1)
    reason: str = ""
    beam_id: BeamId
    container_id: str = Field(min_length=1)
    timestamp: EpochSeconds

    @property
    def verdict(self) -> str:
        """`pass`, `warn` or `veto`."""
        return self.event.removeprefix("soullaw_")


def load_trace_record(data: Any) -> CollapseTrace | SoulLawEvent:
    """Read one line of the collapse-trace file by its `type` (collapse_trace or soullaw_event)."""
    from codexlab.contracts.registry import load_payload

    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "collapse_trace":
        return load_payload(CollapseTrace, data)
    if kind == "soullaw_event":
        return load_payload(SoulLawEvent, data)
    raise ContractError(
        f"A collapse-trace record should have `type` `collapse_trace` or `soullaw_event`, got `{kind!r}`; "
        "fix the record's `type`."
    )
