"""The entanglement map (eid -> member cells) and the per-member link records (ext)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, RootModel, ValidationError, model_validator
from pydantic_core import PydanticUndefined

from codexlab.contracts._base import ContractModel, register_kind
from codexlab.contracts._types import EID_PATTERN, BeamId, Eid
from codexlab.contracts.registry import format_validation_error

__all__ = ["EntanglementLink", "EntanglementMap"]

_ENTROPY_SLACK = 1e-9

CellIds = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


def _map_schema(schema: dict[str, Any]) -> None:
    """Describe the map as eid-keyed members plus the optional version key `v`."""
    members = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
    schema.pop("propertyNames", None)
    schema["properties"] = {"v": {"type": "integer", "const": 1, "default": 1}}
    schema["patternProperties"] = {EID_PATTERN: members}
    schema["additionalProperties"] = False


@register_kind
class EntanglementMap(RootModel[dict[Eid, CellIds]]):
    """`{"eid::<run>::<hash>": ["cell_001", "cell_007"]}`; an optional key `v` carries the version."""

    model_config = ConfigDict(
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        ser_json_inf_nan="strings",
        json_schema_extra=_map_schema,
    )

    KIND: ClassVar[str] = "entanglement_map"
    VERSION: ClassVar[int] = 1

    def __init__(self, root: Any = PydanticUndefined, **data: Any) -> None:
        try:
            super().__init__(root, **data)
        except ValidationError as exc:
            raise format_validation_error(type(self), exc) from None

    # A plain constructor (as pydantic's RootModel marks its own), so nested validation does not call it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @model_validator(mode="before")
    @classmethod
    def _strip_version(cls, data: Any) -> Any:
        """Drop the version key `v` after checking it; the rest are eids."""
        if isinstance(data, dict) and "v" in data:
            version = data["v"]
            if type(version) is not int or version != cls.VERSION:
                raise ValueError(
                    f"has `v` = `{version!r}`, but this codexlab reads version {cls.VERSION}; "
                    "older maps are read with `load_payload`"
                )
            data = {k: val for k, val in data.items() if k != "v"}
        return data

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def __getitem__(self, eid: str) -> list[str]:
        return self.root[eid]

    def __len__(self) -> int:
        return len(self.root)

    def eids(self) -> list[str]:
        """The entanglement ids, in insertion order."""
        return list(self.root)


@register_kind
class EntanglementLink(ContractModel):
    """(ext) One member of an entanglement: which beam, which side, and how entangled the pair is."""

    KIND = "entanglement_link"
    VERSION = 1

    eid: Eid
    beam_id: BeamId
    role: Literal["A", "B"]
    schmidt_rank: int = Field(ge=1, description="number of nonzero Schmidt coefficients")
    entropy_bits: float = Field(ge=0, description="entanglement entropy in bits, at most log2(schmidt_rank)")
    cell_id: str = Field(min_length=1)

    @model_validator(mode="after")
    def _entropy_bounded_by_rank(self) -> EntanglementLink:
        """Von Neumann entropy of a rank-r Schmidt decomposition is at most log2(r) bits."""
        bound = math.log2(self.schmidt_rank)
        if self.entropy_bits > bound + _ENTROPY_SLACK * max(1.0, bound):
            raise ValueError(
                f"`entropy_bits` {self.entropy_bits} exceeds log2(schmidt_rank) = {bound:.6g}; "
                "a rank-r state carries at most log2(r) bits"
            )
        return self
