"""Finding a payload model by kind, validating with readable errors, and upgrading old versions."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel, ValidationError

from codexlab.contracts._base import PAYLOAD_KINDS
from codexlab.errors import ContractError, did_you_mean

__all__ = [
    "Migration",
    "format_validation_error",
    "load_payload",
    "migrations_for",
    "model_for",
    "payload_kinds",
    "register_migration",
    "validate_payload",
]

M = TypeVar("M", bound=BaseModel)
Migration = Callable[[dict[str, Any]], dict[str, Any]]

_MIGRATIONS: dict[tuple[type[BaseModel], int], Migration] = {}
_MAX_ERRORS_SHOWN = 8


def payload_kinds() -> tuple[str, ...]:
    """The registered kind names, sorted (`beam_event`, `collapse_trace`, ...)."""
    _load_models()
    return tuple(sorted(PAYLOAD_KINDS))


def model_for(kind_or_model: str | type[M]) -> type[M]:
    """The model class for a kind name, or the class itself; unknown names get a did-you-mean."""
    if isinstance(kind_or_model, type) and issubclass(kind_or_model, BaseModel):
        return kind_or_model
    _load_models()
    if not isinstance(kind_or_model, str):
        raise ContractError(
            f"A payload kind should be a kind name or a model class, got `{kind_or_model!r}`; "
            f"use one of {_kind_list()}."
        )
    model = PAYLOAD_KINDS.get(kind_or_model)
    if model is None:
        hint = did_you_mean(kind_or_model, PAYLOAD_KINDS)
        raise ContractError(f"`{kind_or_model}` is not a payload kind{hint}; use one of {_kind_list()}.")
    return model  # type: ignore[return-value]


def register_migration(model: type[BaseModel], from_v: int) -> Callable[[Migration], Migration]:
    """Decorator: register `fn(dict) -> dict` upgrading a `model` payload from `from_v` to `from_v + 1`."""

    def decorate(fn: Migration) -> Migration:
        key = (model, from_v)
        if key in _MIGRATIONS and _MIGRATIONS[key] is not fn:
            raise ValueError(f"a migration of `{_kind_of(model)}` from v{from_v} is already registered")
        _MIGRATIONS[key] = fn
        return fn

    return decorate


def migrations_for(kind_or_model: str | type[BaseModel]) -> dict[int, Migration]:
    """The registered migrations of one model, keyed by the version they upgrade from."""
    model = model_for(kind_or_model)
    return {v: fn for (m, v), fn in sorted(_MIGRATIONS.items(), key=lambda kv: kv[0][1]) if m is model}


def validate_payload(kind_or_model: str | type[M], data: Any) -> M:
    """Validate `data` (a mapping or a model instance) against the current version of a contract."""
    model = model_for(kind_or_model)
    if isinstance(data, model):
        return data
    data = _parse_json_text(model, data)
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="python")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(model, exc) from None


def load_payload(kind_or_model: str | type[M], data: Any) -> M:
    """Validate `data`, first upgrading an older `v` through the registered migrations (absent `v` is 1)."""
    model = model_for(kind_or_model)
    if isinstance(data, model):
        return data
    data = _parse_json_text(model, data)
    current = getattr(model, "VERSION", 1)
    if isinstance(data, Mapping) and "v" in data:
        version = data["v"]
        if type(version) is int and version < current:
            data = _upgrade(model, dict(data), version, current)
    return validate_payload(model, data)


def _parse_json_text(model: type[BaseModel], data: Any) -> Any:
    """JSON text (str or bytes) is parsed first, so WebSocket messages and JSONL lines validate directly."""
    if not isinstance(data, str | bytes | bytearray):
        return data
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ContractError(f"`{_kind_of(model)}` payload is not valid JSON ({exc}); send a JSON object.") from None


def _upgrade(model: type[BaseModel], data: dict[str, Any], version: int, current: int) -> dict[str, Any]:
    """Apply migrations `version -> version + 1 -> ... -> current`, each one stamped with its new `v`."""
    kind = _kind_of(model)
    while version < current:
        fn = _MIGRATIONS.get((model, version))
        if fn is None:
            raise ContractError(
                f"`{kind}.v` is {version} and no migration from v{version} to v{version + 1} is registered; "
                f"register one with `@register_migration({model.__name__}, from_v={version})`."
            )
        try:
            data = dict(fn(dict(data)))
        except ContractError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise ContractError(
                f"`{kind}` v{version} payload could not be upgraded to v{version + 1}: {exc}; "
                "check the payload against the old contract in docs/contracts.md."
            ) from None
        version += 1
        data["v"] = version
    return data


def format_validation_error(model: type[BaseModel], exc: ValidationError) -> ContractError:
    """One ContractError whose message has one clause per pydantic error, joined by `; `."""
    kind = _kind_of(model)
    errors = exc.errors(include_url=False)
    clauses = [_clause(model, kind, err) for err in errors[:_MAX_ERRORS_SHOWN]]
    if len(errors) > _MAX_ERRORS_SHOWN:
        clauses.append(f"and {len(errors) - _MAX_ERRORS_SHOWN} more problems")
    message = "; ".join(dict.fromkeys(clauses))
    err = ContractError(message + ".")
    err.errors = [  # type: ignore[attr-defined]
        {"loc": tuple(e["loc"]), "type": e["type"], "msg": e["msg"]} for e in errors
    ]
    err.kind = kind  # type: ignore[attr-defined]
    return err


def _clause(model: type[BaseModel], kind: str, err: Mapping[str, Any]) -> str:
    """One sentence for one pydantic error: the field path in backticks, then the reason."""
    loc = tuple(err["loc"])
    etype = err["type"]
    path = _path(kind, loc)
    given = err.get("input")
    if etype == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        return f"{path} is not a known field{did_you_mean(str(loc[-1]), known)}"
    if etype == "missing":
        return f"{path} is required but missing"
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path} should be a dictionary, got {_show(given)}"
    if etype == "literal_error":
        options = re.findall(r"'((?:[^'\\]|\\.)*)'", err.get("ctx", {}).get("expected", ""))
        hint = did_you_mean(given, options) if isinstance(given, str) else ""
        choices = ", ".join(f"`{o}`" for o in options)
        return f"{path} should be one of {choices}, got {_show(given)}{hint}"
    if etype == "value_error":
        return f"{path} {_first_sentence(str(err['msg']).removeprefix('Value error, '))}"
    if etype == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        return f"{path} should match the pattern `{pattern}`, got {_show(given)}"
    reason = _first_sentence(str(err["msg"]))
    reason = re.sub(r"^(Input|List|String|Dictionary|Tuple|Set|Value) (?=should)", "", reason)
    reason = re.sub(r" after validation, not \d+", "", reason)
    reason = reason.replace("a valid dictionary", "a dictionary").replace("a valid integer", "an integer")
    reason = reason.replace("a valid ", "a ")
    reason = reason[:1].lower() + reason[1:]
    return f"{path} {reason}, got {_show(given)}"


def _first_sentence(text: str) -> str:
    """The text up to its first period-space, without a trailing period."""
    head = text.split(". ", 1)[0]
    return head.rstrip(".")


def _show(value: Any) -> str:
    """A short repr of an offending value in backticks."""
    try:
        text = repr(value)
    except ValueError:
        text = f"<{type(value).__name__}>"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"`{text.replace('`', chr(39))}`"


def _path(kind: str, loc: tuple[Any, ...]) -> str:
    """`kind.a.b[0]` in backticks, with non-identifier keys in brackets."""
    out = kind
    suffix = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            suffix = " key"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return f"`{out}`{suffix}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the nested model reached by `loc`, for did-you-mean on unknown keys."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _nested_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel) and not issubclass(current, RootModel):
        return list(current.model_fields)
    return []


def _nested_model(annotation: Any) -> Any:
    """The first BaseModel class inside an annotation (through Optional, list, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return None
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _kind_of(model: type[BaseModel]) -> str:
    """The kind name of a model, or its class name for models that are not payload kinds."""
    return getattr(model, "KIND", "") or model.__name__


def _kind_list() -> str:
    return ", ".join(f"`{k}`" for k in sorted(PAYLOAD_KINDS))


def _load_models() -> None:
    """Import every payload module so the registry is complete even when used directly."""
    import codexlab.contracts  # noqa: F401
