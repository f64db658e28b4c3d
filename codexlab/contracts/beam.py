"""BeamEvent: the persisted record of one executed operation, with lineage and a run hash chain."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, get_args

from pydantic import Field, field_validator

from codexlab.contracts._base import ContractModel, register_kind
from codexlab.contracts._types import BEAM_ID_PATTERN, EID_PATTERN
from codexlab.contracts.ids import escape_part
from codexlab.contracts.registry import register_migration

__all__ = [
    "BeamEvent",
    "CHAINED_FIELDS",
    "EID_PATTERN",
    "HASH_PATTERN",
    "HASH_SCHEME",
    "HASH_SCHEMES",
    "LEGACY_CHAINED_FIELDS",
    "ResultSummary",
    "STAGES",
    "Stage",
    "beam_hash",
    "canonical_json",
    "chain_beams",
    "new_beam_id",
    "to_utc_iso",
    "utc_now_iso",
    "verify_chain",
]

Stage = Literal[
    "ingest",
    "rewrite",
    "schedule",
    "symbolic",
    "wave",
    "entangle",
    "collapse",
    "loop",
    "sqi",
    "policy",
    "fusion",
    "repair",
    "kg",
    "cpu",
    "container",
    "cached",
    "error",
]
STAGES: tuple[str, ...] = get_args(Stage)

HASH_PATTERN = r"^[0-9a-f]{64}$"

# The fields the first stores chained (hash scheme 1): the scores were attached later, outside the chain.
LEGACY_CHAINED_FIELDS: tuple[str, ...] = (
    "v",
    "beam_id",
    "cell_id",
    "sheet_run_id",
    "container_id",
    "eid",
    "stage",
    "token",
    "result",
    "timestamp",
    "parents",
    "source",
)

# Hash scheme 2 (current): everything that decides a beam's approval is chained with its content, so a
# changed verdict, qscore or drift breaks the beam's hash like an edited result does.
CHAINED_FIELDS: tuple[str, ...] = (*LEGACY_CHAINED_FIELDS, "drift", "qscore", "verdict")

#: Hash scheme number → the fields `beam_hash` covers. Stores verify beams written before scheme 2
#: (see `codexlab.store`) with scheme 1.
HASH_SCHEMES: dict[int, tuple[str, ...]] = {1: LEGACY_CHAINED_FIELDS, 2: CHAINED_FIELDS}
HASH_SCHEME = 2


class ResultSummary(TypedDict, total=False):
    """The usual keys of `BeamEvent.result`; each op fills the ones that apply (the dict stays open)."""

    shape: list[int]
    dtype: str
    min: float
    max: float
    norm: float
    checksum: str
    vault_ref: str
    path: str
    backend: str
    precision: str
    duration_ms: float


def utc_now_iso() -> str:
    """The current time as the contracts' ISO 8601 UTC string (`2025-01-01T00:00:00.123456Z`)."""
    return _format_utc(datetime.now(UTC))


def to_utc_iso(value: datetime | str) -> str:
    """Normalize an aware datetime or ISO 8601 string to UTC with microseconds and a `Z` suffix."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"should be an ISO 8601 time such as `2025-01-01T00:00:00Z`, got `{value!r}`") from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise ValueError(f"should be an ISO 8601 UTC string or an aware datetime, got `{value!r}`")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"has no time zone, got `{value!s}`; add `Z` (UTC) or an offset such as `+02:00`")
    try:
        return _format_utc(parsed.astimezone(UTC))
    except OverflowError:
        raise ValueError(f"is outside the representable UTC range, got `{value!s}`") from None


def _format_utc(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_beam_id(cell_id: str, stage: str, ts: datetime | str | None = None) -> str:
    """A fresh beam id `beam_<cell>_<stage>_<ts>_<8 hex>`; the random suffix keeps ids unique.

    The cell part is escaped (`escape_part`: spaces, `:`, `%` and unprintable characters percent-encoded),
    so any printable cell id gives a valid beam id.
    """
    moment = datetime.now(UTC) if ts is None else datetime.fromisoformat(to_utc_iso(ts))
    stamp = moment.strftime("%Y%m%dT%H%M%S%fZ")
    return f"beam_{escape_part(cell_id)}_{stage}_{stamp}_{secrets.token_hex(4)}"


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, UTF-8 text); never fails on odd values."""
    return json.dumps(_jsonable(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _jsonable(obj: Any) -> Any:
    """Plain JSON values: non-finite floats as strings, arrays as lists, models dumped, the rest `str`."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        if math.isnan(obj):
            return "NaN"
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
        return float(obj)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, set | frozenset):
        items = [_jsonable(v) for v in obj]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    if isinstance(obj, datetime):
        return to_utc_iso(obj) if obj.tzinfo is not None else obj.isoformat()
    if isinstance(obj, bytes | bytearray):
        return obj.hex()
    if hasattr(obj, "model_dump"):
        return _jsonable(obj.model_dump(mode="python"))
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    return str(obj)


@register_kind
class BeamEvent(ContractModel):
    """One executed operation: what ran (stage, token), on what (parents), what came out (result)."""

    KIND = "beam_event"
    VERSION = 1

    beam_id: str = Field(pattern=BEAM_ID_PATTERN, description="`beam_<cell>_<stage>_<ts>_<suffix>`")
    cell_id: str = Field(min_length=1)
    sheet_run_id: str = Field(min_length=1)
    container_id: str = Field(default="default_container", min_length=1)
    eid: str | None = Field(default=None, pattern=EID_PATTERN, description="entanglement id")
    stage: Stage
    token: str = Field(min_length=1, description="the glyph or opcode that ran")
    result: dict[str, Any] = Field(default_factory=dict, description="op-specific summary (ResultSummary)")
    timestamp: str = Field(description="ISO 8601 UTC, e.g. `2025-01-01T00:00:00.000000Z`")
    parents: list[str] = Field(default_factory=list, description="ext: beam ids of the values used")
    prev_hash: str | None = Field(default=None, pattern=HASH_PATTERN, description="ext: previous chain hash")
    hash: str | None = Field(default=None, pattern=HASH_PATTERN, description="ext: this beam's chain hash")
    source: str = Field(default="codex", min_length=1, description="ext: codex, photon, cpu, ...")
    drift: float | None = Field(default=None, ge=0, description="ext: relative L2 drift")
    qscore: float | None = Field(default=None, ge=0, le=1, description="ext: SQI quality score")
    verdict: str | None = Field(default=None, description="ext: SoulLaw verdict (pass, warn, veto)")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _normalize_timestamp(cls, value: Any) -> str:
        """Accept an aware datetime or an ISO string; store fixed-width UTC with a `Z`."""
        return to_utc_iso(value)

    @field_validator("parents")
    @classmethod
    def _parents_are_beam_ids(cls, value: list[str]) -> list[str]:
        """Parents are beam ids, each once."""
        for parent in value:
            if not parent.startswith("beam_"):
                raise ValueError(f"should hold beam ids starting with `beam_`, got `{parent!r}`")
        if len(set(value)) != len(value):
            raise ValueError("should list each parent beam once")
        return value

    def with_chain(self, prev_hash: str | None) -> BeamEvent:
        """A copy linked into the run's hash chain: `prev_hash` set and `hash` computed."""
        return self.evolve(prev_hash=prev_hash, hash=beam_hash(self, prev_hash))

    @property
    def hash_ok(self) -> bool:
        """Whether `hash` matches the chained fields and `prev_hash` (False when unset)."""
        return self.hash is not None and self.hash == beam_hash(self, self.prev_hash)


def beam_hash(beam: BeamEvent | Mapping[str, Any], prev_hash: str | None, *, scheme: int = HASH_SCHEME) -> str:
    """SHA-256 hex of the canonical JSON of the chained fields plus `prev_hash`.

    `scheme` picks the chained fields (`HASH_SCHEMES`): 2, the default, includes the scores; 1 is how
    beams stored before scores were chained were hashed.
    """
    names = HASH_SCHEMES.get(scheme)
    if names is None:
        raise ValueError(f"`scheme` should be one of {sorted(HASH_SCHEMES)}, got `{scheme!r}`")
    if isinstance(beam, Mapping):
        fields = {name: beam.get(name) for name in names}
    else:
        fields = {name: getattr(beam, name) for name in names}
    fields["prev_hash"] = prev_hash
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def chain_beams(beams: Iterable[BeamEvent], prev_hash: str | None = None) -> list[BeamEvent]:
    """Link beams in order into a hash chain starting after `prev_hash`."""
    out: list[BeamEvent] = []
    for beam in beams:
        linked = beam.with_chain(prev_hash)
        out.append(linked)
        prev_hash = linked.hash
    return out


def verify_chain(beams: Iterable[BeamEvent], prev_hash: str | None = None) -> list[str]:
    """The ids of beams whose link or hash is broken, in order (empty when the chain is intact)."""
    broken: list[str] = []
    for beam in beams:
        if beam.prev_hash != prev_hash or not beam.hash_ok:
            broken.append(beam.beam_id)
        prev_hash = beam.hash
    return broken


@register_migration(BeamEvent, from_v=0)
def _beam_event_v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v0 had `ts` (epoch seconds or ISO text) and one optional `parent_beam_id`; v1 has
    `timestamp` (ISO UTC) and a `parents` list."""
    if "ts" in data:
        ts = data.pop("ts")
        if isinstance(ts, int | float) and not isinstance(ts, bool):
            ts = _format_utc(datetime.fromtimestamp(ts, UTC))
        data.setdefault("timestamp", ts)
    parent = data.pop("parent_beam_id", None)
    if "parents" not in data:
        data["parents"] = [parent] if parent else []
    return data
