"""What every beam store offers (SQL or JSONL): the public API and the logic the backends share."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import polars as pl
import sqlalchemy as sa

from codexlab.contracts import BeamEvent, EntanglementLink, load_payload, run_of_eid
from codexlab.errors import CodexValueError, ContractError, StoreError, did_you_mean
from codexlab.store._codec import _to_iso, json_text, payload_row, to_beams
from codexlab.store.anchors import Anchor, ChainReport, RunCheck, anchor_chain_problems
from codexlab.store.keys import ChainKey, HeadWitness, load_chain_key
from codexlab.store.schema import JSON_COLUMNS, PAYLOAD_TABLES, resolve_table

__all__ = ["BeamStore", "CellCommit", "Direction", "check_links", "check_unique", "more_of_batch", "run_of_eid"]

Direction = Literal["ancestors", "descendants"]
_DIRECTIONS: tuple[str, ...] = ("ancestors", "descendants")


@dataclass(frozen=True)
class CellCommit:
    """What `persist_cell` did: the run, its beams as stored, and whether this call wrote them."""

    run_id: str
    beams: list[BeamEvent]
    written: bool


class BeamStore(abc.ABC):
    """A beam store: beams with their hash chain, lineage, entanglements and the payload tables."""

    url: str

    # -- schema ------------------------------------------------------------------------------------

    @abc.abstractmethod
    def ensure_tables(self) -> None:
        """Create the tables or upgrade them to the current schema (idempotent)."""

    @abc.abstractmethod
    def schema_version(self) -> str:
        """The schema revision this store is at (`0004` today)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store's handles; a later `open_store` opens it again."""

    # -- beams -------------------------------------------------------------------------------------

    def persist_beam_events(self, beams: Iterable[BeamEvent | Mapping[str, Any]]) -> list[BeamEvent]:
        """Validate, chain, seal and write a batch of beams with their lineage edges and entanglements.

        Each beam is linked after the previous beam of its `sheet_run_id` (from this batch or the
        store): `prev_hash` and `hash` are filled in; the hash covers the beam's content and its scores
        (`drift`, `qscore`, `verdict`), which are fixed from then on. Each run of the batch gets an anchor
        (its beam count and terminal hash, sealed with the chain key). Everything is written in one
        transaction.

        Returns:
            The beams as stored, with `prev_hash` and `hash` set.
        Raises:
            StoreError: a beam is invalid, its id is taken, or the backend failed; nothing was written.
            CodexConfigError: the chain key cannot be loaded (see `codexlab.store.keys`).
        """
        batch = to_beams(beams)
        if not batch:
            return []
        key = self.chain_key()
        stored, anchors = self._persist(batch, key)
        if anchors:
            self.witness().advance(anchors[-1].seq, anchors[-1].mac)
        return stored

    @abc.abstractmethod
    def _persist(self, beams: list[BeamEvent], key: ChainKey) -> tuple[list[BeamEvent], list[Anchor]]:
        """Chain, seal and write validated beams atomically; the beams as stored and the new anchors."""

    def persist_cell(
        self,
        beams: Iterable[BeamEvent | Mapping[str, Any]],
        *,
        links: Iterable[Any] = (),
        rows: Mapping[str, Iterable[Any]] | None = None,
    ) -> CellCommit:
        """Commit one cell's run — its beams, their entanglement links and its payload rows (`sqi_scores`,
        `collapse_traces`, `metrics`, ...) — in one transaction, at most once per run.

        The beams must all belong to one `sheet_run_id`. When that run already has beams stored (a cell
        committed before, e.g. by a worker that died before reporting it), nothing is written and the
        stored beams come back with `written=False`, so committing a retried cell twice is harmless.

        Raises:
            StoreError: a beam, link or row is invalid, the beams span several runs, or the backend
                failed; nothing was written. (The JSONL store writes under one lock but file by file: a
                crash midway keeps the beams and can lose the links and rows after them.)
        """
        batch = to_beams(beams)
        runs = sorted({b.sheet_run_id for b in batch})
        if len(runs) != 1:
            raise StoreError(
                f"`persist_cell` commits one run, got beams of {len(runs)} runs "
                f"({', '.join(f'`{r}`' for r in runs[:3])}); nothing was written; commit each run on its own."
            )
        records = check_links(links)
        batch_ids = {b.beam_id for b in batch}
        strays = [r.beam_id for r in records if r.beam_id not in batch_ids]
        if strays:
            raise StoreError(
                f"Entanglement link of beam `{strays[0]}` is not for a beam of this cell{more_of_batch(strays)}; "
                "nothing was written; pass the links of the cell's own beams."
            )
        payloads = {
            resolve_table(name, among=PAYLOAD_TABLES).name: [payload_row(name, item, i) for i, item in enumerate(items)]
            for name, items in (rows or {}).items()
        }
        commit, anchors = self._persist_cell(
            runs[0], batch, records, {k: v for k, v in payloads.items() if v}, self.chain_key()
        )
        if anchors:
            self.witness().advance(anchors[-1].seq, anchors[-1].mac)
        return commit

    @abc.abstractmethod
    def _persist_cell(
        self,
        run_id: str,
        beams: list[BeamEvent],
        links: list[EntanglementLink],
        rows: dict[str, list[dict[str, Any]]],
        key: ChainKey,
    ) -> tuple[CellCommit, list[Anchor]]:
        """Chain, seal and write a validated cell atomically, unless its run is stored already (see
        `persist_cell`); what was done and the new anchors."""

    # -- the chain key -------------------------------------------------------------------------------

    key_home: Path | None
    _chain_key: ChainKey | None = None

    def chain_key(self) -> ChainKey:
        """The key that seals this store's anchors (`$CODEXLAB_CHAIN_KEY` or `<key_home>/keys/chain.key`),
        loaded once per store object."""
        if self._chain_key is None:
            self._chain_key = load_chain_key(self.key_home)
        return self._chain_key

    def witness(self) -> HeadWitness:
        """Where this home remembers the newest anchor it saw in this store."""
        return HeadWitness.for_store(self.key_home, self._identity())

    def _identity(self) -> str:
        """What names this store for its head witness: its URL (and schema, where it has one)."""
        return self.url

    def _refuse_if_witnessed(self) -> None:
        """Before sealing an unanchored store as found: refuse one this home saw sealed already, since
        its anchors were then removed, and sealing it again would bless whatever was done to it."""
        witness = self.witness()
        head = witness.read()
        if head is not None:
            raise StoreError(
                f"The store at `{self.url}` has no anchors, but this home saw it sealed up to anchor #{head[0]} "
                f"(`{witness.path}`): its anchors were removed, by tampering or a schema downgrade. Restore it "
                f"from a backup; to seal it as it is now instead, delete `{witness.path}` and open it again."
            )

    @abc.abstractmethod
    def get_beam(self, beam_id: str) -> BeamEvent | None:
        """The stored beam with this id, or None."""

    @abc.abstractmethod
    def beams_for_run(self, sheet_run_id: str) -> list[BeamEvent]:
        """Every beam of a run, in the order it was persisted."""

    @abc.abstractmethod
    def get_lineage_for_cell(self, cell_id: str) -> list[BeamEvent]:
        """A cell's beams and all their ancestors, in time order."""

    @overload
    def lineage(
        self,
        beam_id: str,
        direction: Direction = ...,
        depth: int | None = ...,
        ids_only: Literal[False] = ...,
    ) -> list[BeamEvent]: ...

    @overload
    def lineage(
        self, beam_id: str, direction: Direction = ..., depth: int | None = ..., *, ids_only: Literal[True]
    ) -> list[str]: ...

    @overload
    def lineage(
        self, beam_id: str, direction: Direction = ..., depth: int | None = ..., *, ids_only: bool
    ) -> list[BeamEvent] | list[str]: ...

    def lineage(
        self,
        beam_id: str,
        direction: Direction = "ancestors",
        depth: int | None = None,
        ids_only: bool = False,
    ) -> list[BeamEvent] | list[str]:
        """The ancestors (or descendants) of a beam, without the beam itself.

        Args:
            beam_id: a stored beam.
            direction: `ancestors` (what it was computed from) or `descendants` (what used it).
            depth: how many generations to follow; None follows them all.
            ids_only: return ids, nearest generation first, instead of BeamEvents in time order.
        Raises:
            StoreError: no beam has this id.
            CodexValueError: a bad `direction` or `depth`.
        """
        if direction not in _DIRECTIONS:
            raise CodexValueError(
                f"`direction` should be `ancestors` or `descendants`, got `{direction}`"
                f"{did_you_mean(str(direction), _DIRECTIONS)}; pick one of the two."
            )
        if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
            raise CodexValueError(f"`depth` should be a whole number >= 0 or None, got `{depth!r}`; fix it.")
        if not self._has_beam(beam_id):
            raise StoreError(f"No beam `{beam_id}` in the store at `{self.url}`; check the id (`run.beams`).")
        if depth == 0:
            return []
        if depth is None:
            ids = self._closure_ids(beam_id, direction)
        else:
            ids = self._levels(beam_id, direction, depth)
        ids = [i for i in ids if i != beam_id]
        if ids_only:
            return ids
        return self._beams_in_time_order(ids)

    def _levels(self, beam_id: str, direction: Direction, depth: int) -> list[str]:
        """Breadth-first ids up to `depth` generations, one query per generation (dedup by `seen`)."""
        seen = {beam_id}
        frontier = [beam_id]
        found: list[str] = []
        for _ in range(depth):
            step = [i for i in self._neighbours(frontier, direction) if i not in seen]
            step = list(dict.fromkeys(step))
            if not step:
                break
            seen.update(step)
            found.extend(step)
            frontier = step
        return found

    @abc.abstractmethod
    def _has_beam(self, beam_id: str) -> bool:
        """Whether a beam with this id is stored."""

    @abc.abstractmethod
    def _closure_ids(self, beam_id: str, direction: Direction) -> list[str]:
        """All ids reachable from `beam_id` along lineage edges, nearest first."""

    @abc.abstractmethod
    def _neighbours(self, ids: list[str], direction: Direction) -> list[str]:
        """Parents (ancestors) or children (descendants) of the given ids."""

    @abc.abstractmethod
    def _beams_in_time_order(self, ids: list[str]) -> list[BeamEvent]:
        """The stored beams among `ids`, ordered by timestamp (then run order)."""

    @abc.abstractmethod
    def beam_index(self, container_id: str) -> list[dict[str, Any]]:
        """A light index of a container's beams for mining, in the order of `rows("beams", ...)`.

        One dict per beam with `beam_id`, `sheet_run_id`, `cell_id`, `stage`, `token`, `verdict`
        (None when unscored), `parents` (list of ids), `eid` (None when unentangled), `duration_ms`
        (`result.duration_ms` as a float when it is a JSON number, else None) and, for `loop` beams
        only, `result` (the whole decoded result: attractor, names). Other results are not read or
        decoded, which is what makes this several times cheaper than the full rows.
        """

    # -- replay ------------------------------------------------------------------------------------

    def ghost_replay_for_eid(self, eid: str, limit: int = 10, container_id: str | None = None) -> list[BeamEvent]:
        """The newest `limit` beams of an entanglement id, oldest first (empty when none match)."""
        return self._newest("eid", eid, _positive(limit, "limit"), container_id)

    def replay(self, ref: str, n: int = 10, container_id: str | None = None) -> list[BeamEvent]:
        """The newest `n` beams of an entanglement id (`eid::...`) or of a run (its GHX id), oldest first.

        Raises:
            StoreError: `ref` names no stored entanglement or run.
        """
        n = _positive(n, "n")
        by = "eid" if ref.startswith("eid::") else "sheet_run_id"
        beams = self._newest(by, ref, n, container_id)
        if beams or (container_id is not None and self._newest(by, ref, 1, None)):
            return beams
        if by == "eid":
            raise StoreError(f"No stored beam carries the entanglement id `{ref}`; check the id (`run.beams`).")
        runs = self._run_ids()
        raise StoreError(
            f"`{ref}` is neither an entanglement id (`eid::<run>::<hash>`) nor a stored run"
            f"{did_you_mean(ref, runs)}; pass `run.ghx_id` or an eid from `run.beams`."
        )

    @abc.abstractmethod
    def _newest(self, by: str, key: str, n: int, container_id: str | None) -> list[BeamEvent]:
        """The newest `n` beams whose column `by` equals `key`, oldest first."""

    @abc.abstractmethod
    def _run_ids(self) -> list[str]:
        """Every stored `sheet_run_id`."""

    # -- runs ----------------------------------------------------------------------------------------

    def runs(
        self,
        container_id: str | None = None,
        *,
        since: str | float | None = None,
        until: str | float | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """One summary per stored run, newest first (what a service lists).

        Each is `{run_id, container_id, cell_id, started, ended, beams, errors, vetoes}`: `started` and
        `ended` are the ISO timestamps of the run's first and last beam, `errors` its `error` beams (1 for
        a failed run), `vetoes` its vetoed beams. `since` and `until` (ISO 8601 or epoch seconds) keep the
        runs that started in [since, until).

        Raises:
            CodexValueError: a bad `limit`, `since` or `until`.
        """
        bounds = _bound(since, "since"), _bound(until, "until")
        return self._run_summaries(container_id, *bounds, _positive(limit, "limit"))

    @abc.abstractmethod
    def _run_summaries(
        self, container_id: str | None, since: str | None, until: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """The summaries of `runs`, with the bounds already normalized to the store's ISO form."""

    # -- entanglement ------------------------------------------------------------------------------

    @abc.abstractmethod
    def entanglement_map(self, sheet_run_id: str | None = None) -> dict[str, list[str]]:
        """`{eid: [cell_id, ...]}` (contract 2) for one run or all; eids by creation, cells sorted."""

    @abc.abstractmethod
    def persist_entanglement_links(self, links: Iterable[Any]) -> int:
        """Store EntanglementLink records (role, Schmidt rank, entropy) of stored beams; returns the count."""

    # -- payload tables ------------------------------------------------------------------------------

    def persist_rows(self, table_name: str, rows: Iterable[Any]) -> int:
        """Append records to a payload table (`sqi_scores`, `dna_mutations`, `collapse_traces`,
        `cost_calibration`, `metrics`) in one transaction; returns the count."""
        table = resolve_table(table_name, among=PAYLOAD_TABLES)
        records = [payload_row(table.name, item, index) for index, item in enumerate(rows)]
        if not records:
            return 0
        self.ensure_tables()
        self._persist_rows(table, records)
        return len(records)

    @abc.abstractmethod
    def _persist_rows(self, table: Any, records: list[dict[str, Any]]) -> None:
        """Write validated payload rows of one table in one transaction (unique natural keys checked)."""

    def rows(self, table_name: str, **filters: Any) -> list[dict[str, Any]]:
        """The rows of any table whose columns equal `filters`, in insertion order.

        NULL columns and the internal `id` are left out, so a payload row validates as its contract.
        """
        table = resolve_table(table_name)
        _check_filters(table, filters)
        return [_public(table, row) for row in self._select(table, filters)]

    @abc.abstractmethod
    def _select(self, table: sa.Table, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Rows of `table` matching `filters` exactly, in insertion order, JSON decoded."""

    def frame(self, table_name: str) -> pl.DataFrame:
        """A polars DataFrame of a table (`beams` is `beam_events`).

        JSON columns come as JSON text (`pl.col(c).str.json_decode()`), except `parents`, a list of ids.
        """
        table = resolve_table(table_name)
        schema = _polars_schema(table)
        json_cols = JSON_COLUMNS[table.name] - {"parents"}
        columns: dict[str, list[Any]] = {name: [] for name in schema}
        for row in self._select(table, {}):
            for name, values in columns.items():
                value = row.get(name)
                values.append(json_text(value) if name in json_cols and value is not None else value)
        return pl.DataFrame(columns, schema=schema)

    # -- integrity -----------------------------------------------------------------------------------

    def verify_chain(self, sheet_run_id: str | None = None) -> list[str]:
        """Problems in the beams and anchors of one run or of every run; empty when intact.

        See `verify`; this is its list of problems.
        """
        return self.verify(sheet_run_id).problems

    def verify(self, sheet_run_id: str | None = None) -> ChainReport:
        """Check the store: every beam's hash (content and scores), each run's chain against its anchors,
        the anchor chain and its seals (with the chain key), and the head witness of this home.

        An edited beam breaks its hash; missing or reordered beams break the run's chain; a run edited and
        re-hashed no longer matches its sealed anchor; a deleted tail falls short of the anchor's count; a
        deleted run leaves anchors without beams or a hole in the anchor chain; the newest runs deleted
        with their anchors fall short of the head witness. One problem per broken run (its first).

        Raises:
            StoreError: `sheet_run_id` names no stored run (nor any anchored one).
        """
        with self._verifying():
            return self._verify(sheet_run_id)

    @contextlib.contextmanager
    def _verifying(self) -> Iterator[None]:
        """Held for the length of one `verify` (a backend may read its storage once for it)."""
        yield

    def _verify(self, sheet_run_id: str | None) -> ChainReport:
        key = self.chain_key()
        anchors = self._anchors()
        head = self.witness().read()
        report = ChainReport(key_id=key.key_id, key_source=key.source, witnessed=head is not None)
        report.anchors = len(anchors)
        report.problems += anchor_chain_problems(key, anchors, head)
        by_run: dict[str, list[Anchor]] = {}
        for anchor in anchors:
            by_run.setdefault(anchor.sheet_run_id, []).append(anchor)
        stored = self._run_ids()
        if sheet_run_id is not None:
            if sheet_run_id not in by_run and sheet_run_id not in stored:
                raise StoreError(
                    f"No run `{sheet_run_id}` in the store at `{self.url}`{did_you_mean(sheet_run_id, stored)}; "
                    "pass a `run.run_id` (`codexlab verify` without `--run` checks every run)."
                )
            runs = [sheet_run_id]
        else:
            runs = sorted(set(stored) | set(by_run))
        for run in runs:
            check = RunCheck(run, by_run.get(run, []))
            rows = _counted(self._chain_rows(run), report)
            problem = check.problem(rows)
            report.runs += 1
            report.legacy_runs += check.legacy_count > 0
            if problem:
                report.problems.append(problem)
                report.broken_runs[run] = problem
        return report

    @abc.abstractmethod
    def _chain_rows(self, sheet_run_id: str) -> Iterator[dict[str, Any]]:
        """A run's stored rows in `seq` order (every beam column, JSON decoded), read from storage afresh."""

    @abc.abstractmethod
    def _anchors(self) -> list[Anchor]:
        """Every anchor in `seq` order, read from storage afresh (a malformed row raises `StoreError`)."""

    def anchors(self, after: int = 0) -> list[Anchor]:
        """The anchors newer than anchor number `after`, oldest first: the runs committed since then
        (the knowledge graph's export queue)."""
        return [a for a in self._anchors() if a.seq > after]

    def run_ids(self) -> list[str]:
        """Every run that has beams in the store, sorted."""
        return self._run_ids()

    @property
    def identity(self) -> str:
        """A name of this store that stays the same across processes (its URL, and schema if any)."""
        return self._identity()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def _bound(value: str | float | None, name: str) -> str | None:
    """A time bound as the store's ISO 8601 UTC text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return str(_to_iso(value))
        except (ValueError, OverflowError, OSError):
            pass
    raise CodexValueError(
        f"`{name}` should be an ISO 8601 time (`2025-01-01T00:00:00Z`) or epoch seconds, got `{value!r}`; fix it."
    )


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CodexValueError(f"`{name}` should be a whole number >= 1, got `{value!r}`; fix it.")
    return value


def _check_filters(table: sa.Table, filters: Mapping[str, Any]) -> None:
    names = [c.name for c in table.columns]
    for key in filters:
        if key not in table.c:
            raise StoreError(
                f"`{table.name}` has no column `{key}`{did_you_mean(key, names)}; filter on one of "
                + ", ".join(f"`{n}`" for n in names)
                + "."
            )
        if key in JSON_COLUMNS[table.name]:
            raise StoreError(
                f"`{table.name}.{key}` holds JSON and cannot be an equality filter; filter on another "
                "column and look inside the rows in Python."
            )


def _public(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row without NULLs and without the surrogate `id` of the payload tables."""
    skip_id = table.name in PAYLOAD_TABLES and "id" in table.c and table.c.id.autoincrement is True
    return {k: v for k, v in row.items() if v is not None and not (skip_id and k == "id")}


def _polars_schema(table: sa.Table) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {}
    for column in table.columns:
        if column.name == "parents":
            schema[column.name] = pl.List(pl.String)
        elif isinstance(column.type, sa.JSON | sa.String):
            schema[column.name] = pl.String()
        elif isinstance(column.type, sa.Boolean):
            schema[column.name] = pl.Boolean()
        elif isinstance(column.type, sa.Integer):
            schema[column.name] = pl.Int64()
        else:
            schema[column.name] = pl.Float64()
    return schema


def _counted(rows: Iterable[dict[str, Any]], report: ChainReport) -> Iterator[dict[str, Any]]:
    """`rows`, counting them into `report.beams` on the way."""
    for row in rows:
        report.beams += 1
        yield row


def check_links(items: Iterable[Any]) -> list[EntanglementLink]:
    """Validate EntanglementLink records (models or dicts); a bad one raises `StoreError`."""
    links: list[EntanglementLink] = []
    for index, item in enumerate(items):
        try:
            links.append(load_payload(EntanglementLink, item))
        except ContractError as err:
            name = item.get("beam_id", f"#{index}") if isinstance(item, Mapping) else f"#{index}"
            raise StoreError(
                f"Entanglement link {index} (beam `{name}`) is not valid: {err.message} Nothing was written."
            ) from err
    return links


def more_of_batch(ids: list[str]) -> str:
    """` (and N more of this batch)` when several ids are at fault, else nothing."""
    return f" (and {len(ids) - 1} more of this batch)" if len(ids) > 1 else ""


def check_unique(table_name: str, key: str, records: list[dict[str, Any]], stored: Iterable[Any]) -> None:
    """Refuse records whose natural key is already stored or repeats within the batch."""
    seen = set(stored)
    for record in records:
        if record[key] in seen:
            raise StoreError(
                f"`{table_name}` already has `{key}` `{record[key]}`; nothing was written; give each record its own id."
            )
        seen.add(record[key])
