"""The QFC envelope: HUD and WebSocket updates from one container, tagged by payload kind."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, field_validator

from codexlab.contracts._base import ContractModel, register_kind
from codexlab.contracts.ids import CONTAINER_SOURCE_PATTERN, is_printable_id
from codexlab.errors import did_you_mean

__all__ = ["QFC_PAYLOAD_KINDS", "QfcPayloadKind", "QfcUpdate"]

QfcPayloadKind = Literal[
    "qpu_cell_update",
    "qpu_sheet_metrics",
    "qpu_precision_profile",
    "qpu_beam_lineage",
    "qpu_entanglement_map",
    "qpu_beam_timeline",
]
QFC_PAYLOAD_KINDS: tuple[str, ...] = get_args(QfcPayloadKind)

_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": list(QFC_PAYLOAD_KINDS), "type": "string"}},
}


@register_kind
class QfcUpdate(ContractModel):
    """`{type: "qfc_update", source: "container::<id>", payload: {kind: ..., ...}}`."""

    KIND = "qfc_update"
    VERSION = 1

    type: Literal["qfc_update"] = "qfc_update"
    source: str = Field(pattern=CONTAINER_SOURCE_PATTERN, description="`container::<id>`, any printable id")
    payload: dict[str, Any] = Field(json_schema_extra=_PAYLOAD_SCHEMA)

    @field_validator("source")
    @classmethod
    def _source_is_printable(cls, value: str) -> str:
        """The container id after `container::` is printable text (spaces allowed, no control characters)."""
        if not is_printable_id(value.removeprefix("container::")):
            raise ValueError(f"should be `container::` and a printable container id, got `{value!r}`")
        return value

    @field_validator("payload")
    @classmethod
    def _payload_has_kind(cls, value: dict[str, Any]) -> dict[str, Any]:
        """The body is free-form, but its `kind` must be one of the six QFC payload kinds."""
        kind = value.get("kind")
        if kind not in QFC_PAYLOAD_KINDS:
            hint = did_you_mean(kind, QFC_PAYLOAD_KINDS) if isinstance(kind, str) else ""
            options = ", ".join(f"`{k}`" for k in QFC_PAYLOAD_KINDS)
            raise ValueError(f"has `kind` `{kind!r}`{hint}; use one of {options}")
        return value

    @property
    def kind(self) -> str:
        """The payload kind."""
        return str(self.payload["kind"])

    @property
    def container_id(self) -> str:
        """The container id from `source`."""
        return self.source.removeprefix("container::")
