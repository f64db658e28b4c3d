"""What every beam store offers (SQL or JSONL): the public API and the logic the backends share."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, overload

import polars as pl
import sqlalchemy as sa

from codexlab.contracts import BeamEvent, EntanglementLink, beam_hash, load_payload
from codexlab.errors import CodexValueError, ContractError, StoreError, did_you_mean
from codexlab.store._codec import chain_view, json_text, payload_row, to_beams
from codexlab.store.schema import JSON_COLUMNS, PAYLOAD_TABLES, resolve_table

__all__ = ["BeamStore", "Direction", "check_links", "check_unique", "more_of_batch", "run_of_eid"]

Direction = Literal["ancestors", "descendants"]
_DIRECTIONS: tuple[str, ...] = ("ancestors", "descendants")


class BeamStore(abc.ABC):
    """A beam store: beams with their hash chain, lineage, entanglements and the payload tables."""

    url: str

    # -- schema ------------------------------------------------------------------------------------

    @abc.abstractmethod
    def ensure_tables(self) -> None:
        """Create the tables or upgrade them to the current schema (idempotent)."""

    @abc.abstractmethod
    def schema_version(self) -> str:
        """The schema revision this store is at (`0002` today)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store's handles; a later `open_store` opens it again."""

    # -- beams -------------------------------------------------------------------------------------

    def persist_beam_events(self, beams: Iterable[BeamEvent | Mapping[str, Any]]) -> list[BeamEvent]:
        """Validate, chain and write a batch of beams with their lineage edges and entanglements.

        Each beam is linked after the previous beam of its `sheet_run_id` (from this batch or the
        store): `prev_hash` and `hash` are filled in. Everything is written in one transaction.

        Returns:
            The beams as stored, with `prev_hash` and `hash` set.
        Raises:
            StoreError: a beam is invalid, its id is taken, or the backend failed; nothing was written.
        """
        batch = to_beams(beams)
        if not batch:
            return []
        return self._persist(batch)

    @abc.abstractmethod
    def _persist(self, beams: list[BeamEvent]) -> list[BeamEvent]:
        """Chain and write validated beams atomically."""

    @abc.abstractmethod
    def update_beam_scores(self, updates: Iterable[Mapping[str, Any]]) -> int:
        """Attach `drift`, `qscore` and `verdict` to stored beams (outside the hash chain).

        Each update is `{"beam_id": ..., "drift": ..., "qscore": ..., "verdict": ...}`; keys left out
        keep their stored value. All updates apply or none (an unknown beam raises `StoreError`).

        Returns:
            The number of beams updated.
        """

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
        """Problems in the hash chain of one run or of every run; empty when intact.

        Recomputes each beam's hash in persist order: an edited beam breaks its own hash, a
        missing or reordered beam breaks the link to its predecessor. One problem per broken run
        (its first broken link). Scores (`drift`, `qscore`, `verdict`) are outside the chain.
        """
        runs = [sheet_run_id] if sheet_run_id is not None else self._run_ids()
        problems: list[str] = []
        for run in runs:
            problem = _first_break(run, self._chain_rows(run))
            if problem:
                problems.append(problem)
        return problems

    @abc.abstractmethod
    def _chain_rows(self, sheet_run_id: str) -> Iterator[dict[str, Any]]:
        """A run's stored rows in `seq` order (every beam column, JSON decoded)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


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


def _first_break(run: str, rows: Iterable[Mapping[str, Any]]) -> str | None:
    """The first broken link of a run's chain, described, or None."""
    prev_hash: str | None = None
    prev_seq = 0
    prev_id: str | None = None
    for row in rows:
        beam_id, seq = row["beam_id"], row["seq"]
        if row["hash"] is None or beam_hash(chain_view(row), row["prev_hash"]) != row["hash"]:
            return (
                f"run `{run}`: beam `{beam_id}` (seq {seq}) was edited after it was stored: its content "
                "no longer matches its hash."
            )
        if row["prev_hash"] != prev_hash:
            where = f"does not follow `{prev_id}` (seq {prev_seq})" if prev_id else "should start the run"
            if seq != prev_seq + 1:
                return (
                    f"run `{run}`: beam `{beam_id}` (seq {seq}) {where}: {seq - prev_seq - 1} beam(s) are "
                    "missing before it."
                )
            return (
                f"run `{run}`: beam `{beam_id}` (seq {seq}) {where}: a beam before it is missing or the "
                "beams were reordered."
            )
        prev_hash, prev_seq, prev_id = row["hash"], seq, beam_id
    return None


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


def run_of_eid(eid: str) -> str:
    """The run an entanglement id belongs to: `eid::<run>::<hash>`."""
    return eid.split("::")[1]


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
