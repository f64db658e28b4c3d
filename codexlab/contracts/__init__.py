"""The versioned payload contracts (pydantic models), their validation, migrations and JSON Schemas."""

from __future__ import annotations

from codexlab.contracts._base import ContractModel, Part
from codexlab.contracts._types import BEAM_ID_PATTERN, EID_PATTERN
from codexlab.contracts.beam import (
    CHAINED_FIELDS,
    HASH_PATTERN,
    HASH_SCHEME,
    HASH_SCHEMES,
    LEGACY_CHAINED_FIELDS,
    STAGES,
    BeamEvent,
    ResultSummary,
    Stage,
    beam_hash,
    canonical_json,
    chain_beams,
    new_beam_id,
    to_utc_iso,
    utc_now_iso,
    verify_chain,
)
from codexlab.contracts.collapse_trace import (
    CollapseTrace,
    DreamPack,
    Hologram,
    SignatureBlock,
    SoulLawEvent,
    load_trace_record,
)
from codexlab.contracts.dna_mutation import DnaMutation, MutationMetadata, MutationSide
from codexlab.contracts.entanglement import EntanglementLink, EntanglementMap
from codexlab.contracts.glyph_execution import CostDetail, GlyphExecution, GlyphExecutionPayload
from codexlab.contracts.ids import check_container_id, eid_for, escape_part, run_of_eid, unescape_part
from codexlab.contracts.qfc import QFC_PAYLOAD_KINDS, QfcPayloadKind, QfcUpdate
from codexlab.contracts.registry import (
    load_payload,
    migrations_for,
    model_for,
    payload_kinds,
    register_migration,
    validate_payload,
)
from codexlab.contracts.schemas import export_schemas, schema_for, schemas_are_current
from codexlab.contracts.sqi_score import RATING_FLOORS, Rating, SqiScore, rating_for

CodexCollapseTrace = CollapseTrace

__all__ = [
    "BEAM_ID_PATTERN",
    "BeamEvent",
    "CHAINED_FIELDS",
    "CodexCollapseTrace",
    "CollapseTrace",
    "ContractModel",
    "CostDetail",
    "DnaMutation",
    "DreamPack",
    "EID_PATTERN",
    "EntanglementLink",
    "EntanglementMap",
    "GlyphExecution",
    "GlyphExecutionPayload",
    "HASH_PATTERN",
    "HASH_SCHEME",
    "HASH_SCHEMES",
    "LEGACY_CHAINED_FIELDS",
    "Hologram",
    "MutationMetadata",
    "MutationSide",
    "Part",
    "QFC_PAYLOAD_KINDS",
    "QfcPayloadKind",
    "QfcUpdate",
    "RATING_FLOORS",
    "Rating",
    "ResultSummary",
    "STAGES",
    "SignatureBlock",
    "SoulLawEvent",
    "SqiScore",
    "Stage",
    "beam_hash",
    "canonical_json",
    "chain_beams",
    "check_container_id",
    "eid_for",
    "escape_part",
    "export_schemas",
    "load_payload",
    "load_trace_record",
    "migrations_for",
    "model_for",
    "new_beam_id",
    "payload_kinds",
    "rating_for",
    "register_migration",
    "run_of_eid",
    "schema_for",
    "schemas_are_current",
    "to_utc_iso",
    "unescape_part",
    "utc_now_iso",
    "validate_payload",
    "verify_chain",
]
