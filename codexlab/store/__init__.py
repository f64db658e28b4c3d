"""The beam store: beams with their run hash chain, lineage, replay, entanglements and payload tables.

Tamper-evident: each beam's hash covers its content and scores and links to the previous beam of its
run; each persist seals the runs it touched with an anchor (HMAC under a key kept outside the store,
`codexlab.store.keys`); `verify` finds edited, re-hashed, reordered or deleted beams and deleted runs.

Backends: SQLite (embedded, the default at `$CODEXLAB_HOME/beams.db`), PostgreSQL
(`postgresql+psycopg://...`, e.g. from `$CODEXLAB_DB_URL`) and JSONL (`jsonl:///dir`, dev mode).
`open_store` picks one by URL and shares handles per process. Every operation is a method of the
store; the functions below are the build plan's names for them, taking the store first (a store, a
URL or path, or None for the default store).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal, overload

import polars as pl

from codexlab.contracts import BeamEvent
from codexlab.store.anchors import ChainReport
from codexlab.store.base import BeamStore, Direction
from codexlab.store.handles import open_store, resolve_url
from codexlab.store.jsonl import JSONLStore
from codexlab.store.schema import HEAD_REVISION, METADATA, TABLES
from codexlab.store.sql import SQLStore

__all__ = [
    "HEAD_REVISION",
    "METADATA",
    "TABLES",
    "BeamStore",
    "ChainReport",
    "JSONLStore",
    "SQLStore",
    "StoreLike",
    "beams_for_run",
    "ensure_tables",
    "entanglement_map",
    "frame",
    "get_beam",
    "get_lineage_for_cell",
    "ghost_replay_for_eid",
    "lineage",
    "open_store",
    "persist_beam_events",
    "persist_entanglement_links",
    "persist_rows",
    "replay",
    "resolve_url",
    "rows",
    "schema_version",
    "verify",
    "verify_chain",
]

StoreLike = BeamStore | str | os.PathLike[str] | None


def _store(store: StoreLike) -> BeamStore:
    """A store object from a store, a URL or path, or None (the default store)."""
    return store if isinstance(store, BeamStore) else open_store(store)


def ensure_tables(store: StoreLike = None) -> BeamStore:
    """Create the tables or upgrade them to the current schema; returns the store."""
    handle = _store(store)
    handle.ensure_tables()
    return handle


def schema_version(store: StoreLike = None) -> str:
    """The schema revision of a store."""
    return _store(store).schema_version()


def persist_beam_events(store: StoreLike, beams: Iterable[BeamEvent | Mapping[str, Any]]) -> list[BeamEvent]:
    """Validate, hash-chain and write beams with lineage and entanglements in one transaction."""
    return _store(store).persist_beam_events(beams)


def get_beam(store: StoreLike, beam_id: str) -> BeamEvent | None:
    """The stored beam with this id, or None."""
    return _store(store).get_beam(beam_id)


def beams_for_run(store: StoreLike, sheet_run_id: str) -> list[BeamEvent]:
    """A run's beams in persist order."""
    return _store(store).beams_for_run(sheet_run_id)


def get_lineage_for_cell(store: StoreLike, cell_id: str) -> list[BeamEvent]:
    """A cell's beams and all their ancestors, in time order."""
    return _store(store).get_lineage_for_cell(cell_id)


@overload
def lineage(
    store: StoreLike,
    beam_id: str,
    direction: Direction = ...,
    depth: int | None = ...,
    ids_only: Literal[False] = ...,
) -> list[BeamEvent]: ...


@overload
def lineage(
    store: StoreLike,
    beam_id: str,
    direction: Direction = ...,
    depth: int | None = ...,
    *,
    ids_only: Literal[True],
) -> list[str]: ...


@overload
def lineage(
    store: StoreLike, beam_id: str, direction: Direction = ..., depth: int | None = ..., *, ids_only: bool
) -> list[BeamEvent] | list[str]: ...


def lineage(
    store: StoreLike,
    beam_id: str,
    direction: Direction = "ancestors",
    depth: int | None = None,
    ids_only: bool = False,
) -> list[BeamEvent] | list[str]:
    """Ancestors or descendants of a beam (BeamEvents in time order, or ids nearest first)."""
    handle = _store(store)
    if ids_only:
        return handle.lineage(beam_id, direction=direction, depth=depth, ids_only=True)
    return handle.lineage(beam_id, direction=direction, depth=depth)


def ghost_replay_for_eid(
    store: StoreLike, eid: str, limit: int = 10, container_id: str | None = None
) -> list[BeamEvent]:
    """The newest `limit` beams of an entanglement id, oldest first."""
    return _store(store).ghost_replay_for_eid(eid, limit=limit, container_id=container_id)


def replay(store: StoreLike, ref: str, n: int = 10, container_id: str | None = None) -> list[BeamEvent]:
    """The newest `n` beams of an eid or of a run (its GHX id), oldest first."""
    return _store(store).replay(ref, n=n, container_id=container_id)


def entanglement_map(store: StoreLike = None, sheet_run_id: str | None = None) -> dict[str, list[str]]:
    """`{eid: [cell_id, ...]}` for one run or all."""
    return _store(store).entanglement_map(sheet_run_id)


def persist_entanglement_links(store: StoreLike, links: Iterable[Any]) -> int:
    """Store EntanglementLink records for stored beams; returns the count."""
    return _store(store).persist_entanglement_links(links)


def persist_rows(store: StoreLike, table_name: str, records: Iterable[Any]) -> int:
    """Append validated records to a payload table in one transaction; returns the count."""
    return _store(store).persist_rows(table_name, records)


def rows(store: StoreLike, table_name: str, **filters: Any) -> list[dict[str, Any]]:
    """Rows of a table matching `filters` (column == value)."""
    return _store(store).rows(table_name, **filters)


def frame(store: StoreLike, table_name: str) -> pl.DataFrame:
    """A table as a polars DataFrame (`beams` is `beam_events`)."""
    return _store(store).frame(table_name)


def verify_chain(store: StoreLike = None, sheet_run_id: str | None = None) -> list[str]:
    """Problems in the beams, runs and anchors of the store (empty when intact)."""
    return _store(store).verify_chain(sheet_run_id)


def verify(store: StoreLike = None, sheet_run_id: str | None = None) -> ChainReport:
    """The full integrity report of a store (problems, and what was checked)."""
    return _store(store).verify(sheet_run_id)
