"""The SQL beam store: SQLite (embedded, WAL) or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from codexlab.contracts import BeamEvent, utc_now_iso
from codexlab.errors import CodexConfigError, StoreError
from codexlab.store._codec import BEAM_COLUMNS, Tail, beam_from_row, json_text, link_batch
from codexlab.store.anchors import ANCHOR_COLUMNS, Anchor, seal
from codexlab.store.base import BeamStore, CellCommit, Direction, check_links, check_unique, run_of_eid
from codexlab.store.base import more_of_batch as _more
from codexlab.store.keys import ChainKey, default_home
from codexlab.store.migrate import current_revision, ensure_schema
from codexlab.store.schema import (
    NATURAL_KEYS,
    ROW_ORDER,
    TABLES,
    UNANCHORED_REVISIONS,
    beam_events,
    entanglement_members,
    entanglements,
    lineage_edges,
    run_anchors,
)

__all__ = ["SQLITE_PRAGMAS", "SQLStore"]

_WRITE = "codexlab_write"
_CHUNK = 2000
# `beam_index` columns read as stored (`parents` last: it is decoded).
_INDEX_COLUMNS = ("beam_id", "sheet_run_id", "cell_id", "stage", "token", "verdict", "eid", "parents")
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Every SQLite connection: WAL (readers never block the writer), NORMAL sync (durable at each
# checkpoint, safe in WAL), a 5 s wait on a busy writer, and 64 MiB of page cache, because a large
# batch touches every index page of the beam tables (the default 2 MiB halves the insert rate at
# 200k beams); temp b-trees (the recursive CTE's de-duplication) stay in memory.
SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
)
_MIGRATION_LOCK = 0x636F646578  # any fixed 64-bit key: serializes schema upgrades across processes
_CHAIN_LOCK = 0x636F646579  # serializes writers: the anchors form one chain across all runs


class SQLStore(BeamStore):
    """Beams in a SQL database: `sqlite:///path/beams.db` or `postgresql+psycopg://user@host/db`.

    `schema=` (PostgreSQL) keeps the tables in their own schema, so tests or tenants can share a
    database. `home` is where the chain key lives (`<home>/keys/`): by default the folder of a SQLite
    file, else `$CODEXLAB_HOME` or `./.codexlab`. Writes are one transaction each; on SQLite they take
    the write lock up front (`BEGIN IMMEDIATE`), on PostgreSQL an advisory lock, so concurrent writers
    cannot fork a run's hash chain or the anchor chain.
    """

    def __init__(self, url: str, *, schema: str | None = None, home: str | os.PathLike[str] | None = None) -> None:
        parsed = sa.make_url(url)
        self.url = parsed.render_as_string(hide_password=True)
        self.schema = schema
        self.closed = False
        self._directory: Path | None = None
        self.key_home = Path(home).expanduser().resolve() if home is not None else None
        if parsed.get_backend_name() == "sqlite":
            if schema is not None:
                raise CodexConfigError(f"`schema={schema!r}` applies to PostgreSQL only; drop it for SQLite.")
            if parsed.database not in (None, "", ":memory:"):
                self._directory = Path(parsed.database).expanduser().resolve().parent
                self.key_home = self.key_home or self._directory
            self.engine = _sqlite_engine(parsed)
        elif parsed.get_backend_name() == "postgresql":
            if schema is not None and not _SCHEMA_NAME.match(schema):
                raise CodexConfigError(f"`schema={schema!r}` is not a plain SQL name; use letters, digits and `_`.")
            self.key_home = self.key_home or default_home().expanduser().resolve()
            self.engine = _postgres_engine(parsed, schema)
        else:
            raise CodexConfigError(
                f"`{self.url}` is not a SQLite or PostgreSQL URL; use `sqlite:///path/beams.db` or "
                "`postgresql+psycopg://user@host/db`."
            )
        self._pg = self.engine.dialect.name == "postgresql"
        self._writer = self.engine.execution_options(**{_WRITE: True})
        self._ready = False
        self._lock = threading.Lock()
        self._insert_sql: dict[tuple[str, tuple[str, ...], bool], str] = {}
        self._prepared: dict[tuple[Any, ...], tuple[str, tuple[str, ...], dict[str, Any]]] = {}
        self._head_sql: str | None = None

    # -- schema ------------------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if self._directory is not None:
                self._directory.mkdir(parents=True, exist_ok=True)
            with self._guard("create or upgrade the tables"), self._writer.begin() as conn:
                if self._pg:
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                    if self.schema is not None:
                        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                before = ensure_schema(conn)
                if before in UNANCHORED_REVISIONS:
                    self._adopt_legacy(conn)
            if before is None:
                self.witness().reset()  # a store created just now: no anchor of it can be missing
            self._ready = True

    def _adopt_legacy(self, conn: sa.Connection) -> None:
        """Seal each run of a store written before anchors, as found (in the upgrade's transaction)."""
        self._refuse_if_witnessed()
        b = beam_events.c
        newest = sa.select(b.sheet_run_id, sa.func.max(b.seq).label("top")).group_by(b.sheet_run_id).subquery()
        query = (
            sa.select(b.sheet_run_id, b.seq, b.hash)
            .join(newest, (b.sheet_run_id == newest.c.sheet_run_id) & (b.seq == newest.c.top))
            .order_by(b.sheet_run_id)
        )
        ends = {run: (digest, seq) for run, seq, digest in conn.execute(query)}
        if ends:
            anchors = seal(self.chain_key(), None, ends, kind="legacy")
            self._bulk(conn, run_anchors, ANCHOR_COLUMNS, [a.row() for a in anchors])

    def schema_version(self) -> str:
        self.ensure_tables()
        with self._guard("read the schema revision"), self.engine.connect() as conn:
            revision = current_revision(conn)
        return revision or ""

    def close(self) -> None:
        self.engine.dispose()
        self.closed = True

    # -- writes ------------------------------------------------------------------------------------

    def _persist(self, beams: list[BeamEvent], key: ChainKey) -> tuple[list[BeamEvent], list[Anchor]]:
        self.ensure_tables()
        runs = sorted({b.sheet_run_id for b in beams})
        try:
            with self._writer.begin() as conn:
                self._lock_chain(conn)
                stored, anchors = self._write_beams(conn, beams, {run: self._tail(conn, run) for run in runs}, key)
        except sa.exc.SQLAlchemyError as err:
            raise self._beams_error(err, beams) from err
        return stored, anchors

    def _lock_chain(self, conn: sa.Connection) -> None:
        """PostgreSQL: hold the anchor chain's advisory lock until commit (SQLite's `BEGIN IMMEDIATE`
        already serializes writers), so concurrent writers cannot fork a run's hash chain or the anchors."""
        if self._pg:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_CHAIN_LOCK)))

    def _write_beams(
        self, conn: sa.Connection, beams: list[BeamEvent], tails: dict[str, Tail | None], key: ChainKey
    ) -> tuple[list[BeamEvent], list[Anchor]]:
        """Chain beams after their runs' tails, insert them with their edges and entanglements, and seal
        an anchor per run."""
        batch = link_batch(beams, tails)
        self._bulk(conn, beam_events, BEAM_COLUMNS, batch.beam_rows)
        self._bulk(conn, lineage_edges, ("child_id", "parent_id"), batch.edge_rows)
        self._bulk(conn, entanglements, ("eid", "sheet_run_id", "created"), batch.entanglement_rows, True)
        anchors = seal(key, self._head(conn), batch.ends)
        self._bulk(conn, run_anchors, ANCHOR_COLUMNS, [a.row() for a in anchors])
        return batch.beams, anchors

    def _persist_cell(
        self,
        run_id: str,
        beams: list[BeamEvent],
        links: list[Any],
        rows: dict[str, list[dict[str, Any]]],
        key: ChainKey,
    ) -> tuple[CellCommit, list[Anchor]]:
        self.ensure_tables()
        try:
            with self._writer.begin() as conn:
                self._lock_chain(conn)
                if self._tail(conn, run_id) is not None:
                    query = sa.select(beam_events).where(beam_events.c.sheet_run_id == run_id)
                    stored = [beam_from_row(r) for r in conn.execute(query.order_by(beam_events.c.seq)).mappings()]
                    return CellCommit(run_id, stored, written=False), []
                written, anchors = self._write_beams(conn, beams, {run_id: None}, key)
                if links:
                    self._write_links(conn, links, utc_now_iso())
                for name, records in rows.items():
                    table = TABLES[name]
                    columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
                    conn.execute(table.insert(), [{c: r.get(c) for c in columns} for r in records])
        except sa.exc.SQLAlchemyError as err:
            raise self._beams_error(err, beams) from err
        return CellCommit(run_id, written, written=True), anchors

    def _beams_error(self, err: sa.exc.SQLAlchemyError, beams: list[BeamEvent]) -> StoreError:
        """The `StoreError` for a failed beam write, naming a taken id when that was the cause."""
        if isinstance(err, sa.exc.IntegrityError):
            taken = self._existing_ids([b.beam_id for b in beams])
            if taken:
                return StoreError(
                    f"Beam `{taken[0]}` is already stored{_more(taken)}; nothing was written; persist each "
                    "beam once, with a fresh id (`new_beam_id`)."
                )
            return StoreError(
                f"The batch of {len(beams)} beam(s) starting at `{beams[0].beam_id}` broke a uniqueness rule "
                f"({_reason(err)}); nothing was written; another writer may share the run, retry."
            )
        return StoreError(
            f"Could not write the batch of {len(beams)} beam(s) starting at `{beams[0].beam_id}` to "
            f"`{self.url}`: {_reason(err)}; nothing was written."
        )

    def _head(self, conn: sa.Connection) -> Anchor | None:
        """The newest anchor (the one the next anchor chains to), or None in a store without anchors.

        Its SQL is compiled once: it runs inside every persist.
        """
        if self._head_sql is None:
            query = sa.select(*(run_anchors.c[n] for n in ANCHOR_COLUMNS)).order_by(run_anchors.c.seq.desc()).limit(1)
            self._head_sql = str(query.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        row = conn.exec_driver_sql(self._head_sql).first()
        return None if row is None else Anchor.from_row(dict(zip(ANCHOR_COLUMNS, row, strict=True)))

    def _tail(self, conn: sa.Connection, run: str) -> Tail | None:
        row = conn.execute(
            sa.select(beam_events.c.hash, beam_events.c.seq)
            .where(beam_events.c.sheet_run_id == run)
            .order_by(beam_events.c.seq.desc())
            .limit(1)
        ).first()
        return None if row is None else Tail(row.hash, row.seq)

    def _bulk(
        self,
        conn: sa.Connection,
        table: sa.Table,
        columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        ignore_conflicts: bool = False,
    ) -> None:
        """executemany of pre-built rows with SQL that Core compiled once (JSON already serialized).

        Core's per-row parameter processing costs more than the rows themselves here, so the
        compiled statement goes straight to the driver.
        """
        if not rows:
            return
        key = (table.name, columns, ignore_conflicts)
        sql = self._insert_sql.get(key)
        if sql is None:
            stmt = (pg_insert if self._pg else sqlite_insert)(table)
            if ignore_conflicts:
                stmt = stmt.on_conflict_do_nothing()
            compiled = stmt.compile(dialect=self.engine.dialect, column_keys=list(columns))
            if compiled.positional and tuple(compiled.positiontup or ()) != columns:
                raise StoreError(f"The compiled insert into `{table.name}` does not list its columns in order.")
            sql = self._insert_sql[key] = str(compiled)
        if self.engine.dialect.positional:
            conn.exec_driver_sql(sql, rows)
        else:
            conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])

    def persist_entanglement_links(self, links: Iterable[Any]) -> int:
        records = check_links(links)
        if not records:
            return 0
        self.ensure_tables()
        now = utc_now_iso()
        with self._guard("write entanglement links"), self._writer.begin() as conn:
            found = set(self._ids_in(conn, [r.beam_id for r in records]))
            for record in records:
                if record.beam_id not in found:
                    raise StoreError(
                        f"Entanglement link `{record.eid}` names beam `{record.beam_id}`, which is not "
                        "stored; "
                        "nothing was written; persist the beam before its links."
                    )
            self._write_links(conn, records, now)
        return len(records)

    def _write_links(self, conn: sa.Connection, records: list[Any], now: str) -> None:
        """Insert (or update) entanglement members and their entanglements."""
        ent_rows = [(e, run_of_eid(e), now) for e in dict.fromkeys(r.eid for r in records)]
        self._bulk(conn, entanglements, ("eid", "sheet_run_id", "created"), ent_rows, True)
        insert = pg_insert if self._pg else sqlite_insert
        stmt = insert(entanglement_members)
        stmt = stmt.on_conflict_do_update(
            index_elements=["eid", "beam_id"],
            set_={c: stmt.excluded[c] for c in ("cell_id", "role", "schmidt_rank", "entropy_bits")},
        )
        conn.execute(
            stmt,
            [
                {
                    "eid": r.eid,
                    "beam_id": r.beam_id,
                    "cell_id": r.cell_id,
                    "role": r.role,
                    "schmidt_rank": r.schmidt_rank,
                    "entropy_bits": r.entropy_bits,
                }
                for r in records
            ],
        )

    def _persist_rows(self, table: Any, records: list[dict[str, Any]]) -> None:
        columns = [c.name for c in table.columns if not (c.primary_key and c.autoincrement is True)]
        params = [{c: r.get(c) for c in columns} for r in records]
        key = NATURAL_KEYS.get(table.name)
        try:
            with self._writer.begin() as conn:
                if key is not None:
                    wanted = [r[key] for r in params]
                    stored = [
                        found
                        for chunk in _chunks(wanted)
                        for found in conn.execute(sa.select(table.c[key]).where(table.c[key].in_(chunk))).scalars()
                    ]
                    check_unique(table.name, key, params, stored)
                conn.execute(table.insert(), params)
        except sa.exc.IntegrityError as err:
            raise StoreError(
                f"A row for `{table.name}` repeats a stored key ({_reason(err)}); nothing was written; "
                "give each record its own id."
            ) from err
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(
                f"Could not write {len(params)} row(s) to `{table.name}`: {_reason(err)}; nothing was written."
            ) from err

    # -- reads -------------------------------------------------------------------------------------

    def get_beam(self, beam_id: str) -> BeamEvent | None:
        row = self._one(sa.select(beam_events).where(beam_events.c.beam_id == beam_id))
        return None if row is None else beam_from_row(row)

    def beams_for_run(self, sheet_run_id: str) -> list[BeamEvent]:
        query = sa.select(beam_events).where(beam_events.c.sheet_run_id == sheet_run_id)
        return [beam_from_row(r) for r in self._all(query.order_by(beam_events.c.seq))]

    def get_lineage_for_cell(self, cell_id: str) -> list[BeamEvent]:
        seed = sa.select(beam_events.c.beam_id.label("id")).where(beam_events.c.cell_id == cell_id)
        reach = _reach(seed, "ancestors")
        query = sa.select(beam_events).join(reach, beam_events.c.beam_id == reach.c.id)
        return [beam_from_row(r) for r in self._all(query.order_by(*_time_order()))]

    def _has_beam(self, beam_id: str) -> bool:
        return self._one(sa.select(beam_events.c.beam_id).where(beam_events.c.beam_id == beam_id)) is not None

    def _closure_ids(self, beam_id: str, direction: Direction) -> list[str]:
        """One recursive query over the edges."""

        def build() -> sa.Select[Any]:
            src, dst = _ends(lineage_edges, direction)
            reach = _reach(sa.select(dst.label("id")).where(src == sa.bindparam("start")), direction)
            return sa.select(reach.c.id)

        return [row[0] for row in self._raw(("reach", direction), build, start=beam_id)]

    def _neighbours(self, ids: list[str], direction: Direction) -> list[str]:
        self.ensure_tables()
        src, dst = _ends(lineage_edges, direction)
        out: list[str] = []
        with self._guard("follow the lineage"), self.engine.connect() as conn:
            for chunk in _chunks(ids):
                out.extend(conn.execute(sa.select(dst).where(src.in_(chunk))).scalars())
        return out

    def _beams_in_time_order(self, ids: list[str]) -> list[BeamEvent]:
        self.ensure_tables()
        rows: list[sa.RowMapping] = []
        with self._guard("read beams"), self.engine.connect() as conn:
            for chunk in _chunks(ids):
                rows.extend(conn.execute(sa.select(beam_events).where(beam_events.c.beam_id.in_(chunk))).mappings())
        rows.sort(key=lambda r: (r["timestamp"], r["seq"], r["beam_id"]))
        return [beam_from_row(r) for r in rows]

    def _newest(self, by: str, key: str, n: int, container_id: str | None) -> list[BeamEvent]:
        """The replay query (the GHX player's hot path): SQL compiled once per shape, rows fetched
        straight from the driver; the index on (eid, timestamp, seq) or (sheet_run_id, seq) serves
        the order, so only `n` rows are read."""

        def build() -> sa.Select[Any]:
            c = beam_events.c
            query = sa.select(*(c[name] for name in BEAM_COLUMNS)).where(c[by] == sa.bindparam("key"))
            if container_id is not None:
                query = query.where(c.container_id == sa.bindparam("container"))
            order = (c.timestamp.desc(), c.seq.desc()) if by == "eid" else (c.seq.desc(),)
            return query.order_by(*order).limit(sa.bindparam("n"))

        rows = self._raw(("newest", by, container_id is not None), build, key=key, container=container_id, n=n)
        return [beam_from_row(_decoded(dict(zip(BEAM_COLUMNS, row, strict=True)))) for row in reversed(rows)]

    def _raw(self, shape: tuple[Any, ...], build: Callable[[], sa.Select[Any]], **values: Any) -> list[Any]:
        """Rows of a query compiled once per `shape`, fetched from the driver's cursor (no Row objects:
        the hot paths read up to 100k ids)."""
        self.ensure_tables()
        prepared = self._prepared.get(shape)
        if prepared is None:
            compiled = build().compile(dialect=self.engine.dialect)
            names = tuple(compiled.positiontup or ()) if compiled.positional else ()
            prepared = self._prepared[shape] = (str(compiled), names, dict(compiled.params))
        sql, names, defaults = prepared
        args = {**defaults, **values}
        params: Any = tuple(args[name] for name in names) if names else args
        with self._guard("read the store"), self.engine.connect() as conn:
            return list(conn.exec_driver_sql(sql, params).cursor.fetchall())

    def beam_index(self, container_id: str) -> list[dict[str, Any]]:
        """One SELECT of the index columns; `result.duration_ms` is cut out of the JSON in SQL as its
        written text (so it converts exactly as `json.loads` would), and only `loop` results come whole."""
        c = beam_events.c
        if self._pg:
            duration = (
                "CASE WHEN json_typeof(beam_events.result -> 'duration_ms') = 'number' "
                "THEN beam_events.result ->> 'duration_ms' END"
            )
        else:
            duration = (
                "CASE WHEN json_type(beam_events.result, '$.duration_ms') IN ('integer', 'real') "
                "THEN beam_events.result -> '$.duration_ms' END"
            )

        def build() -> sa.Select[Any]:
            return (
                sa.select(
                    *(c[name] for name in _INDEX_COLUMNS),
                    sa.literal_column(duration).label("duration_ms"),
                    sa.case((c.stage == "loop", c.result)).label("result"),
                )
                .where(c.container_id == sa.bindparam("container"))
                .order_by(*_time_order())
            )

        out: list[dict[str, Any]] = []
        for beam_id, run, cell, stage, token, verdict, eid, parents, duration_text, result in self._raw(
            ("index",), build, container=container_id
        ):
            row = {
                "beam_id": beam_id,
                "sheet_run_id": run,
                "cell_id": cell,
                "stage": stage,
                "token": token,
                "verdict": verdict,
                "eid": eid,
                "parents": _id_list(parents) if isinstance(parents, str) else parents,
                "duration_ms": None if duration_text is None else float(duration_text),
            }
            if result is not None:
                row["result"] = json.loads(result) if isinstance(result, str) else result
            out.append(row)
        return out

    def _run_summaries(
        self, container_id: str | None, since: str | None, until: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """One GROUP BY over the run's beams (the container index serves a container filter)."""
        c = beam_events.c
        started = sa.func.min(c.timestamp)
        query = sa.select(
            c.sheet_run_id.label("run_id"),
            sa.func.max(c.container_id).label("container_id"),
            sa.func.max(c.cell_id).label("cell_id"),
            started.label("started"),
            sa.func.max(c.timestamp).label("ended"),
            sa.func.count().label("beams"),
            sa.func.sum(sa.case((c.stage == "error", 1), else_=0)).label("errors"),
            sa.func.sum(sa.case((c.verdict == "veto", 1), else_=0)).label("vetoes"),
        )
        if container_id is not None:
            query = query.where(c.container_id == container_id)
        query = query.group_by(c.sheet_run_id)
        if since is not None:
            query = query.having(started >= since)
        if until is not None:
            query = query.having(started < until)
        query = query.order_by(started.desc(), c.sheet_run_id.desc()).limit(limit)
        return [
            {**row, "beams": int(row["beams"]), "errors": int(row["errors"]), "vetoes": int(row["vetoes"])}
            for row in self._all(query)
        ]

    def _run_ids(self) -> list[str]:
        self.ensure_tables()
        query = sa.select(beam_events.c.sheet_run_id).distinct().order_by(beam_events.c.sheet_run_id)
        with self._guard("list runs"), self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def entanglement_map(self, sheet_run_id: str | None = None) -> dict[str, list[str]]:
        b, m, e = beam_events, entanglement_members, entanglements
        from_beams = sa.select(b.c.eid, b.c.cell_id).where(b.c.eid.is_not(None))
        if sheet_run_id is not None:
            from_beams = from_beams.where(b.c.sheet_run_id == sheet_run_id)
        cells = sa.union(from_beams, sa.select(m.c.eid, m.c.cell_id)).subquery("cells")
        query = sa.select(e.c.created, e.c.eid, cells.c.cell_id).join(cells, cells.c.eid == e.c.eid)
        if sheet_run_id is not None:
            query = query.where(e.c.sheet_run_id == sheet_run_id)
        out: dict[str, list[str]] = {}
        for row in self._all(query.order_by(e.c.created, e.c.eid, cells.c.cell_id)):
            out.setdefault(row["eid"], []).append(row["cell_id"])
        return out

    def _select(self, table: sa.Table, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        query = sa.select(table)
        for key, value in filters.items():
            query = query.where(table.c[key].is_(None) if value is None else table.c[key] == value)
        query = query.order_by(*(table.c[name] for name in ROW_ORDER[table.name]))
        yield from self._stream(query)

    def _chain_rows(self, sheet_run_id: str) -> Iterator[dict[str, Any]]:
        query = sa.select(beam_events).where(beam_events.c.sheet_run_id == sheet_run_id)
        yield from self._stream(query.order_by(beam_events.c.seq))

    def _anchors(self) -> list[Anchor]:
        return self.anchors(0)

    def anchors(self, after: int = 0) -> list[Anchor]:
        anchors = []
        query = sa.select(run_anchors).where(run_anchors.c.seq > after).order_by(run_anchors.c.seq)
        for row in self._stream(query):
            try:
                anchors.append(Anchor.from_row(row))
            except (KeyError, TypeError, ValueError) as err:
                raise StoreError(
                    f"Anchor row {row.get('seq')!r} of `{self.url}` is malformed ({err}): the store was edited; "
                    "restore it from a backup."
                ) from err
        return anchors

    def _identity(self) -> str:
        return self.url if self.schema is None else f"{self.url}#schema={self.schema}"

    # -- helpers -----------------------------------------------------------------------------------

    def _existing_ids(self, ids: list[str]) -> list[str]:
        self.ensure_tables()
        with self._guard("read beam ids"), self.engine.connect() as conn:
            found = set(self._ids_in(conn, ids))
        return [i for i in ids if i in found]

    @staticmethod
    def _ids_in(conn: sa.Connection, ids: Sequence[str]) -> list[str]:
        out: list[str] = []
        for chunk in _chunks(list(ids)):
            query = sa.select(beam_events.c.beam_id).where(beam_events.c.beam_id.in_(chunk))
            out.extend(conn.execute(query).scalars())
        return out

    def _one(self, query: sa.Select[Any]) -> sa.RowMapping | None:
        self.ensure_tables()
        with self._guard("read the store"), self.engine.connect() as conn:
            return conn.execute(query).mappings().first()

    def _all(self, query: sa.Select[Any]) -> list[sa.RowMapping]:
        self.ensure_tables()
        with self._guard("read the store"), self.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def _stream(self, query: sa.Select[Any]) -> Iterator[dict[str, Any]]:
        self.ensure_tables()
        with self._guard("read the store"), self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=5000).execute(query).mappings():
                yield dict(row)

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn a database failure into a `StoreError` that says what was being done, and where."""
        try:
            yield
        except sa.exc.SQLAlchemyError as err:
            raise StoreError(f"Could not {action} in `{self.url}`: {_reason(err)}.") from err


def _ends(table: sa.FromClause, direction: Direction) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """(from, to) columns of a lineage edge: child to parent for ancestors, parent to child otherwise."""
    if direction == "ancestors":
        return table.c.child_id, table.c.parent_id
    return table.c.parent_id, table.c.child_id


def _reach(seed: sa.Select[Any], direction: Direction) -> sa.CTE:
    """Recursive CTE of ids reachable from `seed`: it carries the id alone, and UNION de-duplicates,
    so each beam is expanded once however many paths lead to it."""
    reach = seed.cte("reach", recursive=True)
    edge = lineage_edges.alias("edge")
    src, dst = _ends(edge, direction)
    return reach.union(sa.select(dst).join(reach, src == reach.c.id))


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """JSON columns as values: SQLite hands back their text, psycopg already decodes them."""
    for name in ("result", "parents"):
        if isinstance(row[name], str):
            row[name] = json.loads(row[name])
    return row


def _id_list(text: str) -> list[str]:
    """A JSON list of strings as stored (`["a","b"]`): split directly when no escape or space can be
    in the way (a `"` inside an id is always escaped), else `json.loads`."""
    if text == "[]":
        return []
    if "\\" not in text and text.startswith('["') and text.endswith('"]'):
        parts = text[2:-2].split('","')
        if text.count('"') == 2 * len(parts):
            return parts
    return json.loads(text)


def _time_order() -> tuple[sa.ColumnElement[Any], ...]:
    c = beam_events.c
    return (c.timestamp, c.seq, c.beam_id)


def _chunks(ids: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _reason(err: sa.exc.SQLAlchemyError) -> str:
    """The driver's own message, first line only."""
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    """SQLite in WAL mode; transactions begun explicitly so that writes can take the lock up front."""
    engine = sa.create_engine(url, json_serializer=json_text)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below run the transactions
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


def _postgres_engine(url: sa.URL, schema: str | None) -> sa.Engine:
    """PostgreSQL through psycopg 3; with `schema`, every connection works in that schema alone."""
    engine = sa.create_engine(url, json_serializer=json_text, pool_pre_ping=True)
    if schema is not None:

        @event.listens_for(engine, "connect", insert=True)
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET SESSION search_path TO "{schema}"')
            dbapi_connection.autocommit = autocommit

    return engine
