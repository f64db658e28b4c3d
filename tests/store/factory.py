"""Beams for the store tests, and raw edits of a store's storage (what a tamperer would do)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from codexlab.contracts import BeamEvent, Stage
from codexlab.store import BeamStore, JSONLStore, SQLStore

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
) -> BeamEvent:
    """A valid beam `beam_<name>` with the given links."""
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
    )


def series(n: int, *, run: str = "run1", prefix: str = "b", start: int = 0, **kw: Any) -> list[BeamEvent]:
    """`n` beams of one run at consecutive seconds, each the child of the one before."""
    out = []
    for i in range(start, start + n):
        parents = [f"{prefix}{i - 1}"] if i > start else []
        out.append(beam(f"{prefix}{i}", run=run, parents=parents, t=i, **kw))
    return out


class Storage:
    """Counts and edits the rows of a store directly, bypassing its API."""

    def __init__(self, store: BeamStore) -> None:
        self.store = store

    def count(self, table: str) -> int:
        if isinstance(self.store, SQLStore):
            with self.store.engine.connect() as conn:
                return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
        assert isinstance(self.store, JSONLStore)
        if table == "lineage_edges":
            return sum(len(r["parents"]) for r in self._records("beam_events"))
        if table == "entanglements":
            return len({r["eid"] for r in self._records("beam_events") if r.get("eid")})
        return len(self._records(table))

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in ("beam_events", "lineage_edges", "entanglements")}

    def edit_result(self, beam_id: str, result: dict[str, Any]) -> None:
        if isinstance(self.store, SQLStore):
            cast = "CAST(:r AS json)" if self.store.engine.dialect.name == "postgresql" else ":r"
            self._sql(f"UPDATE beam_events SET result = {cast} WHERE beam_id = :b", r=json.dumps(result), b=beam_id)
        else:
            self._rewrite(lambda r: {**r, "result": result} if r["beam_id"] == beam_id else r)

    def delete(self, beam_id: str) -> None:
        if isinstance(self.store, SQLStore):
            self._sql("DELETE FROM beam_events WHERE beam_id = :b", b=beam_id)
        else:
            self._rewrite(lambda r: None if r["beam_id"] == beam_id else r)

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
            seq = {r["beam_id"]: r["seq"] for r in self._records("beam_events")}
            swapped = {a: seq[b], b: seq[a]}
            self._rewrite(lambda r: {**r, "seq": swapped[r["beam_id"]]} if r["beam_id"] in swapped else r)

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

    def _rewrite(self, edit: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        path = self._path("beam_events")
        kept = [r for r in (edit(r) for r in self._records("beam_events")) if r is not None]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
