"""Beams for the store tests, and raw edits of a store's storage (what a tamperer would do)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from codexlab.contracts import BeamEvent, Stage, beam_hash
from codexlab.store import BeamStore, JSONLStore, SQLStore
from codexlab.store.anchors import Anchor
from codexlab.store.keys import ChainKey

BASE_SECONDS = 1_735_689_600  # 2025-01-01T00:00:00Z


def ts(i: int) -> str:
    """The i-th second after 2025-01-01, as the contract's ISO text."""
    minutes, seconds = divmod(i, 60)
    hours, minutes = divmod(minutes, 60)
    return f"2025-01-01T{hours:02d}:{minutes:02d}:{seconds:02d}.000000Z"


def beam(
    name: str,
    *,
    run: str = "run1",
    cell: str = "cell_001",
    stage: Stage = "wave",
    parents: Iterable[str] = (),
    eid: str | None = None,
    t: int = 0,
    container: str = "default_container",
    result: dict[str, Any] | None = None,
    drift: float | None = None,
    qscore: float | None = None,
    verdict: str | None = None,
) -> BeamEvent:
    """A valid beam `beam_<name>` with the given links and scores."""
    return BeamEvent(
        beam_id=f"beam_{name}",
        cell_id=cell,
        sheet_run_id=run,
        container_id=container,
        eid=eid,
        stage=stage,
        token="∇²",
        result={"n": t, "dtype": "float32"} if result is None else result,
        timestamp=ts(t),
        parents=[f"beam_{p}" for p in parents],
        drift=drift,
        qscore=qscore,
        verdict=verdict,
    )


def series(n: int, *, run: str = "run1", prefix: str = "b", start: int = 0, **kw: Any) -> list[BeamEvent]:
    """`n` beams of one run at consecutive seconds, each the child of the one before."""
    out = []
    for i in range(start, start + n):
        parents = [f"{prefix}{i - 1}"] if i > start else []
        out.append(beam(f"{prefix}{i}", run=run, parents=parents, t=i, **kw))
    return out


class Storage:
    """Counts and edits the rows of a store directly, bypassing its API (what a tamperer would do)."""

    def __init__(self, store: BeamStore) -> None:
        self.store = store

    # -- counting ------------------------------------------------------------------------------------

    def count(self, table: str) -> int:
        if isinstance(self.store, SQLStore):
            with self.store.engine.connect() as conn:
                return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        beams = [r for r in self._lines() if "beam_id" in r]
        if table == "beam_events":
            return len(beams)
        if table == "lineage_edges":
            return sum(len(r["parents"]) for r in beams)
        if table == "entanglements":
            return len({r["eid"] for r in beams if r.get("eid")})
        if table == "run_anchors":
            return sum(len(r["anchors"]) for r in self._lines() if "anchors" in r)
        return len(self._records(table))

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in ("beam_events", "lineage_edges", "entanglements", "run_anchors")}

    # -- raw rows --------------------------------------------------------------------------------------

    def beam_rows(self, run: str) -> list[dict[str, Any]]:
        """A run's stored beam rows in seq order (JSON columns decoded)."""
        if isinstance(self.store, SQLStore):
            with self.store.engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT * FROM beam_events WHERE sheet_run_id = :r ORDER BY seq"), {"r": run}
                ).mappings()
                out = [dict(r) for r in rows]
            for row in out:
                for name in ("result", "parents"):
                    if isinstance(row[name], str):
                        row[name] = json.loads(row[name])
            return out
        return sorted((r for r in self._lines() if r.get("sheet_run_id") == run and "beam_id" in r), key=_seq)

    def anchor_rows(self) -> list[dict[str, Any]]:
        if isinstance(self.store, SQLStore):
            with self.store.engine.connect() as conn:
                return [dict(r) for r in conn.execute(sa.text("SELECT * FROM run_anchors ORDER BY seq")).mappings()]
        return [a for r in self._lines() if "anchors" in r for a in r["anchors"]]

    def update_beam(self, beam_id: str, **columns: Any) -> None:
        """Set columns of one stored beam as they are, without re-hashing anything."""
        if isinstance(self.store, SQLStore):
            pg = self.store.engine.dialect.name == "postgresql"
            sets, params = [], {"b": beam_id}
            for name, value in columns.items():
                if name in ("result", "parents"):
                    sets.append(f"{name} = CAST(:{name} AS json)" if pg else f"{name} = :{name}")
                    params[name] = json.dumps(value)
                else:
                    sets.append(f"{name} = :{name}")
                    params[name] = value
            self._sql(f"UPDATE beam_events SET {', '.join(sets)} WHERE beam_id = :b", **params)
        else:
            self._rewrite(lambda r: {**r, **columns} if r.get("beam_id") == beam_id else r)

    def update_anchor(self, seq: int, **columns: Any) -> None:
        if isinstance(self.store, SQLStore):
            sets = ", ".join(f"{name} = :{name}" for name in columns)
            self._sql(f"UPDATE run_anchors SET {sets} WHERE seq = :s", s=seq, **columns)
        else:

            def edit(record: dict[str, Any]) -> dict[str, Any]:
                if "anchors" in record:
                    record = {
                        **record,
                        "anchors": [{**a, **columns} if a["seq"] == seq else a for a in record["anchors"]],
                    }
                return record

            self._rewrite(edit)

    # -- tampering ---------------------------------------------------------------------------------------

    def edit_result(self, beam_id: str, result: dict[str, Any]) -> None:
        self.update_beam(beam_id, result=result)

    def delete(self, beam_id: str) -> None:
        if isinstance(self.store, SQLStore):
            self._sql("DELETE FROM beam_events WHERE beam_id = :b", b=beam_id)
        else:
            self._rewrite(lambda r: None if r.get("beam_id") == beam_id else r)

    def delete_run(self, run: str, *, anchors: bool) -> None:
        """Delete every beam of a run, and with `anchors` its anchors too."""
        if isinstance(self.store, SQLStore):
            self._sql("DELETE FROM beam_events WHERE sheet_run_id = :r", r=run)
            if anchors:
                self._sql("DELETE FROM run_anchors WHERE sheet_run_id = :r", r=run)
            return

        def edit(record: dict[str, Any]) -> dict[str, Any] | None:
            if record.get("sheet_run_id") == run and "beam_id" in record:
                return None
            if anchors and "anchors" in record:
                kept = [a for a in record["anchors"] if a["sheet_run_id"] != run]
                return {**record, "anchors": kept} if kept else None
            return record

        self._rewrite(edit)

    def swap_seq(self, a: str, b: str) -> None:
        if isinstance(self.store, SQLStore):
            with self.store.engine.begin() as conn:
                seq: dict[str, int] = dict(
                    conn.execute(
                        sa.text("SELECT beam_id, seq FROM beam_events WHERE beam_id IN (:a, :b)"),
                        {"a": a, "b": b},
                    ).all()
                )
                for beam_id, value in ((a, -1), (b, seq[a]), (a, seq[b])):
                    conn.execute(
                        sa.text("UPDATE beam_events SET seq = :s WHERE beam_id = :id"),
                        {"s": value, "id": beam_id},
                    )
        else:
            seq = {r["beam_id"]: r["seq"] for r in self._lines() if "beam_id" in r}
            swapped = {a: seq[b], b: seq[a]}
            self._rewrite(lambda r: {**r, "seq": swapped[r["beam_id"]]} if r.get("beam_id") in swapped else r)

    def rehash_run(self, run: str, *, fix_anchors: bool, key: ChainKey | None) -> None:
        """Re-hash a run's beams after an edit, as a tamperer would; with `fix_anchors` also set its anchors'
        terminal hashes and re-seal every anchor from the run's first one on with `key` (None: no seals)."""
        prev: str | None = None
        hashes: dict[int, str] = {}
        for row in self.beam_rows(run):
            digest = beam_hash(row, prev)
            self.update_beam(row["beam_id"], prev_hash=prev, hash=digest)
            hashes[row["seq"]] = prev = digest
        if not fix_anchors:
            return
        anchors = self.anchor_rows()
        first = min(a["seq"] for a in anchors if a["sheet_run_id"] == run)
        prev_mac = next((a["mac"] for a in anchors if a["seq"] == first - 1), None)
        for row in anchors:
            if row["seq"] < first:
                continue
            changes: dict[str, Any] = {}
            if row["sheet_run_id"] == run:
                changes["terminal_hash"] = hashes[row["beam_count"]]
            if key is not None:
                anchor = Anchor.from_row({**row, **changes, "prev_mac": prev_mac})
                changes["prev_mac"] = prev_mac
                changes["mac"] = prev_mac = key.mac(anchor.message())
            if changes:
                self.update_anchor(row["seq"], **changes)

    # -- plumbing ----------------------------------------------------------------------------------------

    def _sql(self, statement: str, **params: Any) -> None:
        assert isinstance(self.store, SQLStore)
        with self.store.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def _path(self, table: str) -> Path:
        assert isinstance(self.store, JSONLStore)
        return self.store.path / f"{table}.jsonl"

    def _records(self, table: str) -> list[dict[str, Any]]:
        path = self._path(table)
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def _lines(self) -> list[dict[str, Any]]:
        return self._records("beam_events")

    def _rewrite(self, edit: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Edit the beam file line by line; each commit line then counts the beam lines kept before it."""
        out: list[dict[str, Any]] = []
        pending = 0
        for record in self._lines():
            edited = edit(record)
            if edited is None:
                continue
            if "anchors" in edited:
                edited = {**edited, "lines": pending}
                pending = 0
            else:
                pending += 1
            out.append(edited)
        path = self._path("beam_events")
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")


def _seq(row: dict[str, Any]) -> int:
    return int(row["seq"])
