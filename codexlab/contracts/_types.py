"""Field types shared by several payloads: ids with fixed shapes, epoch seconds, text-or-object values."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

__all__ = ["BeamId", "EID_PATTERN", "BEAM_ID_PATTERN", "Eid", "EpochSeconds", "Probability", "TextOrObject"]

EID_PATTERN = r"^eid::[^:\s]+::[^:\s]+$"
BEAM_ID_PATTERN = r"^beam_\S+$"

Eid = Annotated[str, Field(pattern=EID_PATTERN, description="entanglement id `eid::<run>::<hash>`")]
BeamId = Annotated[str, Field(pattern=BEAM_ID_PATTERN, description="a beam id `beam_...`")]
EpochSeconds = Annotated[float, Field(ge=0, description="seconds since 1970-01-01 UTC")]
Probability = Annotated[float, Field(ge=0, le=1)]


def _text_or_object(value: Any) -> str | dict[str, Any]:
    """Accept a string or a JSON object with string keys, nothing else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return value
    raise ValueError(f"should be a string or a JSON object, got `{value!r}`"[:200])


TextOrObject = Annotated[
    Any,
    AfterValidator(_text_or_object),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "object"}]}),
]
