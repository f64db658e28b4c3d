"""Beams to rows and back: JSON text, validation of what comes in, and the per-run hash chain."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from codexlab.contracts import CHAINED_FIELDS, BeamEvent, beam_hash, canonical_json, load_payload, to_utc_iso
from codexlab.errors import ContractError, StoreError, did_you_mean
from codexlab.store.schema import TABLES, beam_events

__all__ = [
    "BEAM_COLUMNS",
    "Batch",
    "Tail",
    "beam_from_row",
    "chain_fields",
    "json_text",
    "link_batch",
    "payload_row",
    "to_beams",
]

BEAM_COLUMNS: tuple[str, ...] = tuple(c.name for c in beam_events.columns)

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode


def json_text(value: Any, *, str_keys: bool = False) -> str:
    """JSON text of `value` exactly as `canonical_json` writes it; a fast path for plain JSON values.

    The store keeps this canonical text, so what it reads back hashes to what was written: the
    canonical form turns NaN into `"NaN"`, arrays into lists and so on, once and for all.
    `str_keys=True` promises that a top-level dict has string keys (a validated `result`).
    """
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError):
        return canonical_json(value)
    # `json` and `canonical_json` differ only on dicts with non-string keys: no `{` beyond a
    # top-level dict known to have string keys means there are none (a `{` inside a string only
    # sends the value down the slower check).
    braces = text.count("{")
    if braces == 0 or (braces == 1 and str_keys) or _str_keys_only(value):
        return text
    return canonical_json(value)


def _str_keys_only(value: Any) -> bool:
    """Whether every dict inside `value` has string keys (the one case where `json` and
    `canonical_json` would disagree: `json` sorts and spells other keys its own way)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                return False
            if isinstance(item, dict | list | tuple) and not _str_keys_only(item):
                return False
        return True
    if isinstance(value, list | tuple):
        return all(_str_keys_only(item) for item in value if isinstance(item, dict | list | tuple))
    return True


def _parents_text(parents: list[str]) -> str:
    return "[" + ",".join(map(encode_basestring, parents)) + "]"


def _chain_texts(fields: Mapping[str, Any], prev_hash: str | None) -> tuple[str, str, str]:
    """(result JSON, parents JSON, chain hash) of a beam's field values linked after `prev_hash`."""
    result_text = json_text(fields["result"], str_keys=True)
    parents_text = _parents_text(fields["parents"])
    if _FAST_HASH_OK:
        return result_text, parents_text, _hand_built_hash(fields, prev_hash, result_text, parents_text)
    return result_text, parents_text, beam_hash(fields, prev_hash)


def _hand_built_hash(fields: Mapping[str, Any], prev_hash: str | None, result_text: str, parents_text: str) -> str:
    """`beam_hash` from the texts the store writes anyway: the canonical JSON of the chained fields
    (sorted keys, no spaces) assembled by hand around the already-serialized result."""
    eb = encode_basestring
    eid = fields["eid"]
    text = (
        f'{{"beam_id":{eb(fields["beam_id"])},"cell_id":{eb(fields["cell_id"])},'
        f'"container_id":{eb(fields["container_id"])},"drift":{_scalar(fields["drift"])},'
        f'"eid":{"null" if eid is None else eb(eid)},'
        f'"parents":{parents_text},"prev_hash":{"null" if prev_hash is None else eb(prev_hash)},'
        f'"qscore":{_scalar(fields["qscore"])},'
        f'"result":{result_text},"sheet_run_id":{eb(fields["sheet_run_id"])},"source":{eb(fields["source"])},'
        f'"stage":{eb(fields["stage"])},"timestamp":{eb(fields["timestamp"])},"token":{eb(fields["token"])},'
        f'"v":{int(fields["v"])},"verdict":{"null" if fields["verdict"] is None else eb(fields["verdict"])}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _scalar(value: float | None) -> str:
    """JSON of a score as `json` writes it (a finite float's repr; the contract refuses NaN and bools)."""
    return "null" if value is None else repr(value)


# The chained fields `_hand_built_hash` spells out; a contract with other fields falls back to `beam_hash`.
_HAND_BUILT_FIELDS = frozenset(
    (
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
    )
    + ("parents", "source", "drift", "qscore", "verdict")
)


def _fast_hash_agrees() -> bool:
    """Whether the hand-built hash still matches the contract's `beam_hash` (fields and format)."""
    if set(CHAINED_FIELDS) != _HAND_BUILT_FIELDS:
        return False
    samples = [
        BeamEvent(
            beam_id="beam_c1_wave_x",
            cell_id="c1",
            sheet_run_id="r1",
            stage="wave",
            token="∇²",
            timestamp="2025-01-01T00:00:00Z",
            result={"b": [1, 2.5, None], "a": {"é": True}},
        ),
        BeamEvent(
            beam_id="beam_c2_entangle_y",
            cell_id="c2",
            sheet_run_id="r1",
            container_id="k",
            stage="entangle",
            token='"↔"',
            timestamp="2025-01-01T00:00:01Z",
            eid="eid::r1::ab",
            parents=["beam_c1_wave_x"],
            source="qwave",
            drift=0.125,
            qscore=1.0,
            verdict="veto",
        ),
        BeamEvent(
            beam_id="beam_c3_sqi_z",
            cell_id="c3",
            sheet_run_id="r1",
            stage="sqi",
            token="q",
            timestamp="2025-01-01T00:00:02Z",
            drift=1e-300,
            qscore=0.3333333333333333,
            verdict='pa"ss',
        ),
    ]
    prev = "0" * 64
    for sample in samples:
        fields = dict(sample)
        texts = json_text(sample.result, str_keys=True), _parents_text(sample.parents)
        for p in (None, prev):
            if _hand_built_hash(fields, p, *texts) != beam_hash(sample, p):
                return False
    return True


_FAST_HASH_OK = _fast_hash_agrees()


def chain_fields(beam: BeamEvent, prev_hash: str | None) -> tuple[str, str]:
    """The stored result text and the chain hash of `beam` linked after `prev_hash`."""
    result_text, _, digest = _chain_texts(dict(beam), prev_hash)
    return result_text, digest


def _linked_copy(beam: BeamEvent, prev_hash: str | None, digest: str) -> BeamEvent:
    """`beam.model_copy(update={"prev_hash": ..., "hash": ...})` without its generic overhead
    (the values are the chain's own, already valid); used only while it matches `model_copy`."""
    linked = object.__new__(BeamEvent)
    values = beam.__dict__.copy()
    values["prev_hash"] = prev_hash
    values["hash"] = digest
    object.__setattr__(linked, "__dict__", values)
    object.__setattr__(linked, "__pydantic_fields_set__", beam.__pydantic_fields_set__ | _CHAIN_FIELDS_SET)
    object.__setattr__(linked, "__pydantic_extra__", None)
    object.__setattr__(linked, "__pydantic_private__", None)
    return linked


_CHAIN_FIELDS_SET = frozenset({"prev_hash", "hash"})


def _linked_copy_agrees() -> bool:
    sample = BeamEvent(
        beam_id="beam_c1_wave_x",
        cell_id="c1",
        sheet_run_id="r1",
        stage="wave",
        token="t",
        timestamp="2025-01-01T00:00:00Z",
    )
    digest = "f" * 64
    fast = _linked_copy(sample, None, digest)
    slow = sample.model_copy(update={"prev_hash": None, "hash": digest})
    try:
        return (
            fast == slow
            and fast.model_fields_set == slow.model_fields_set
            and fast.model_dump() == slow.model_dump()
            and set(sample.__dict__) == set(BeamEvent.model_fields)
        )
    except Exception:  # noqa: BLE001 - any surprise from pydantic internals means: use model_copy
        return False


_LINKED_COPY_OK = _linked_copy_agrees()


def to_beams(items: Iterable[BeamEvent | Mapping[str, Any]]) -> list[BeamEvent]:
    """Validate a batch of beams (models or dicts); a bad one raises `StoreError` naming it."""
    beams: list[BeamEvent] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if isinstance(item, BeamEvent):
            beam = item
        elif isinstance(item, Mapping):
            try:
                beam = load_payload(BeamEvent, item)
            except ContractError as err:
                name = item.get("beam_id", f"#{index}")
                raise StoreError(
                    f"Beam `{name}` (item {index} of the batch) is not a valid BeamEvent: {err.message} "
                    "Nothing was written; fix that beam and persist the batch again."
                ) from err
        else:
            raise StoreError(
                f"Item {index} of the batch is a `{type(item).__name__}`, not a BeamEvent or a dict; "
                "nothing was written; pass BeamEvent objects or their dicts."
            )
        if beam.beam_id in seen:
            raise StoreError(
                f"Beam `{beam.beam_id}` appears twice in the batch (again at item {index}); nothing was "
                "written; give each beam its own id (`new_beam_id`)."
            )
        seen.add(beam.beam_id)
        beams.append(beam)
    return beams


@dataclass(frozen=True)
class Tail:
    """The last stored beam of a run: its chain hash and its sequence number."""

    hash: str | None
    seq: int


@dataclass
class Batch:
    """The rows one `persist_beam_events` call writes, built before anything is written."""

    beams: list[BeamEvent] = field(default_factory=list)
    beam_rows: list[tuple[Any, ...]] = field(default_factory=list)
    #: Each run of the batch, in order of first appearance: (hash, seq) of its newest beam.
    ends: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    edge_rows: list[tuple[str, str]] = field(default_factory=list)
    entanglement_rows: list[tuple[str, str, str]] = field(default_factory=list)


def link_batch(beams: list[BeamEvent], tails: Mapping[str, Tail | None]) -> Batch:
    """Chain each beam after the previous one of its run (from the batch or the store) and build rows.

    Rows follow `BEAM_COLUMNS`; `seq` counts a run's beams from 1 in the order they were persisted.
    """
    # Building a batch allocates a few objects per beam and frees none: the cyclic collector would
    # rescan the growing batch over and over (a third of the time), so it pauses until the batch is built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _link(beams, tails)
    finally:
        if collecting:
            gc.enable()


def _link(beams: list[BeamEvent], tails: Mapping[str, Tail | None]) -> Batch:
    batch = Batch()
    last = {run: (tail.hash, tail.seq) for run, tail in tails.items() if tail is not None}
    seen_eids: set[str] = set()
    add_row, add_beam, add_edge = batch.beam_rows.append, batch.beams.append, batch.edge_rows.append
    for beam in beams:
        f = beam.__dict__ if _LINKED_COPY_OK else dict(beam)
        beam_id, run, eid = f["beam_id"], f["sheet_run_id"], f["eid"]
        prev_hash, seq = last.get(run, (None, 0))
        seq += 1
        result_text, parents_text, digest = _chain_texts(f, prev_hash)
        last[run] = (digest, seq)
        if _LINKED_COPY_OK:
            add_beam(_linked_copy(beam, prev_hash, digest))
        else:
            add_beam(beam.model_copy(update={"prev_hash": prev_hash, "hash": digest}))
        add_row((
            beam_id, f["cell_id"], run, f["container_id"], eid, f["stage"], f["token"], result_text,
            f["timestamp"], parents_text, prev_hash, digest, f["source"], f["drift"], f["qscore"],
            f["verdict"], seq, f["v"],
        ))  # fmt: skip
        for parent in f["parents"]:
            add_edge((beam_id, parent))
        if eid is not None and eid not in seen_eids:
            seen_eids.add(eid)
            batch.entanglement_rows.append((eid, run, f["timestamp"]))
    batch.ends = {run: last[run] for run in dict.fromkeys(beam.sheet_run_id for beam in beams)}
    return batch


def beam_from_row(row: Mapping[Any, Any]) -> BeamEvent:
    """A BeamEvent from a stored row (the extra `seq` column dropped; older `v` upgraded)."""
    data = {name: row[name] for name in BEAM_COLUMNS if name != "seq"}
    if data["v"] == BeamEvent.VERSION:
        with contextlib.suppress(ValidationError):
            return BeamEvent.model_validate(data)
    try:
        return load_payload(BeamEvent, data)
    except ContractError as err:
        raise StoreError(
            f"Stored beam `{data['beam_id']}` no longer validates: {err.message} Someone edited the store; "
            "run `verify_chain` to see what else changed."
        ) from err


def _to_epoch(value: Any) -> Any:
    """Epoch seconds from an ISO 8601 string; numbers pass through."""
    if isinstance(value, str | datetime):
        return datetime.fromisoformat(to_utc_iso(value)).timestamp()
    return value


def _to_iso(value: Any) -> Any:
    """ISO 8601 UTC text from epoch seconds or a datetime; strings pass through normalized."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return to_utc_iso(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str | datetime):
        return to_utc_iso(value)
    return value


def payload_row(table_name: str, item: Any, index: int) -> dict[str, Any]:
    """One record for a payload table: a model is dumped, keys must be columns, JSON is canonical."""
    table = TABLES[table_name]
    data = item.model_dump(mode="python") if isinstance(item, BaseModel) else item
    if not isinstance(data, Mapping):
        raise StoreError(
            f"Row {index} for `{table_name}` is a `{type(item).__name__}`, not a dict or a contract model; "
            "pass dicts whose keys are the table's columns."
        )
    columns = {c.name: c for c in table.columns if not (c.primary_key and c.autoincrement is True)}
    row: dict[str, Any] = {}
    for key, value in data.items():
        column = columns.get(key)
        if column is None:
            listing = ", ".join(f"`{c}`" for c in columns)
            raise StoreError(
                f"Row {index} for `{table_name}` has an unknown column `{key}`"
                f"{did_you_mean(str(key), columns)}; "
                f"the columns are {listing}."
            )
        row[key] = _column_value(table_name, key, column, value, index)
    if "v" in columns:
        row.setdefault("v", 1)
    missing = [name for name, c in columns.items() if not c.nullable and row.get(name) is None]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        raise StoreError(f"Row {index} for `{table_name}` is missing {names}; nothing was written; add them.")
    return row


def _column_value(table_name: str, key: str, column: Any, value: Any, index: int) -> Any:
    """Coerce one value to its column: timestamps to the column's form, JSON to canonical values."""
    if value is None:
        return None
    try:
        if key == "timestamp":
            return _to_epoch(value) if column.type.python_type is float else _to_iso(value)
        if isinstance(column.type, sa.JSON):
            return json.loads(json_text(value))
    except (TypeError, ValueError) as err:
        raise StoreError(
            f"Row {index} for `{table_name}` has a bad `{key}` `{value!r}`: {err}; nothing was written."
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise StoreError(
            f"Row {index} for `{table_name}` has a non-finite `{key}` ({value!r}); nothing was written; "
            "store a finite number or None."
        )
    return value
