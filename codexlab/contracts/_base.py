"""Shared base of the payload models: strict validation, the `v` version field, the kind registry."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

__all__ = ["ContractModel", "Part", "PAYLOAD_KINDS", "register_kind"]


def _init_or_contract_error(self: BaseModel, data: dict[str, Any]) -> None:
    """Run pydantic's __init__, raising the same ContractError as `validate_payload` on bad input."""
    from codexlab.contracts.registry import format_validation_error

    try:
        BaseModel.__init__(self, **data)
    except ValidationError as exc:
        raise format_validation_error(type(self), exc) from None


PAYLOAD_KINDS: dict[str, type[BaseModel]] = {}


def register_kind(cls: type[BaseModel]) -> type[BaseModel]:
    """Class decorator: make a payload model reachable by its `KIND` name (`beam_event`, ...)."""
    kind = cls.KIND  # type: ignore[attr-defined]
    if kind in PAYLOAD_KINDS and PAYLOAD_KINDS[kind] is not cls:
        raise ValueError(f"payload kind `{kind}` is registered twice")
    PAYLOAD_KINDS[kind] = cls
    return cls


class Part(BaseModel):
    """A nested part of a payload: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False, ser_json_inf_nan="strings")

    def __init__(self, **data: Any) -> None:
        _init_or_contract_error(self, data)

    # Marks this __init__ as a plain keyword constructor (as pydantic's RootModel does), so nested
    # validation keeps using pydantic's own path instead of calling it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class ContractModel(BaseModel):
    """A top-level payload: strict, unknown keys rejected, immutable, with a version `v`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False, ser_json_inf_nan="strings")

    def __init__(self, **data: Any) -> None:
        _init_or_contract_error(self, data)

    # Marks this __init__ as a plain keyword constructor (as pydantic's RootModel does), so nested
    # validation keeps using pydantic's own path instead of calling it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    v: int = 1

    @field_validator("v")
    @classmethod
    def _current_version(cls, value: int) -> int:
        """Reject other versions here; `load_payload` upgrades older ones through migrations."""
        if value > cls.VERSION:
            raise ValueError(f"is {value}, newer than this codexlab reads (up to {cls.VERSION}); upgrade codexlab")
        if value < cls.VERSION:
            raise ValueError(
                f"is {value}, older than the current version {cls.VERSION}; read it with `load_payload`, "
                "which applies the registered migrations"
            )
        return value

    def evolve(self, **changes: Any) -> Self:
        """Return a validated copy with `changes` applied (the models are frozen)."""
        from codexlab.contracts.registry import validate_payload

        data = self.model_dump(mode="python")
        data.update(changes)
        return validate_payload(type(self), data)
