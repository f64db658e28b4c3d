"""Beam store benchmark: persist rate against two sqlite3 floors (one big batch, and cell-sized batches
that each commit, where the per-call cost of sealing an anchor shows), eid replay, deep-chain ancestors.

Run: `.venv/bin/python benchmarks/store_bench.py [--n 200000]`. Every number is measured in this
run on this machine (shared machines are noisy: compare the ratios, not absolute times). Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _beams import chain, timestamp, wave_result

from codexlab.contracts import BeamEvent
from codexlab.store import SQLStore
from codexlab.store._codec import BEAM_COLUMNS
from codexlab.store.sql import SQLITE_PRAGMAS

EIDS = 200
CELLS = 64
FAKE_HASH = "0" * 64


def build_beams(n: int, run: str) -> list[BeamEvent]:
    """`n` validated beams of one run: each cell's beams form a parent chain, every beam has an eid."""
    beams: list[BeamEvent] = []
    last_in_cell: dict[int, str] = {}
    for i in range(n):
        cell = i % CELLS
        beam_id = f"beam_c{cell}_wave_{i:08d}"
        parent = last_in_cell.get(cell)
        beams.append(
            BeamEvent(
                beam_id=beam_id,
                cell_id=f"cell_{cell:03d}",
                sheet_run_id=run,
                container_id="bench",
                eid=f"eid::{run}::{i % EIDS:04x}",
                stage="wave",
                token="∇²",
                result=wave_result(i, backend="jax", precision="fp32"),
                timestamp=timestamp(i),
                parents=[parent] if parent else [],
            )
        )
        last_in_cell[cell] = beam_id
    return beams


def floor_connection(path: Path) -> sqlite3.Connection:
    """A raw sqlite3 connection to a fresh store file (same tables, indexes and pragmas as the store)."""
    store = SQLStore(f"sqlite:///{path}")
    store.ensure_tables()
    store.close()
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the store's own settings, so the floors differ from it only in code
        con.execute(pragma)
    return con


def floor_rows(beams: list[BeamEvent], serialize: Callable[[Any], str]) -> Any:
    """Beam rows as tuples in column order, JSON columns through `serialize`."""
    for seq, b in enumerate(beams, start=1):
        yield (
            b.beam_id,
            b.cell_id,
            b.sheet_run_id,
            b.container_id,
            b.eid,
            b.stage,
            b.token,
            serialize(b.result),
            b.timestamp,
            serialize(b.parents),
            FAKE_HASH,
            FAKE_HASH,
            b.source,
            None,
            None,
            None,
            seq,
            b.v,
        )


def time_floor(path: Path, rows: Any) -> float:
    con = floor_connection(path)
    sql = f"INSERT INTO beam_events ({', '.join(BEAM_COLUMNS)}) VALUES ({', '.join('?' * len(BEAM_COLUMNS))})"
    start = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    con.executemany(sql, rows)
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm the page cache and the compiled statements
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def bench_persist(beams: list[BeamEvent], base: Path, repeats: int) -> tuple[dict[str, float], SQLStore]:
    """Best seconds of each persist path, and the store the last repeat filled."""
    best = {"raw": float("inf"), "dumps": float("inf"), "store": float("inf")}
    pre = list(floor_rows(beams, json.dumps))
    store = None
    # Interleaved repeats, best of each: a shared machine's noise only ever slows a run down.
    for rep in range(repeats):
        best["raw"] = min(best["raw"], time_floor(base / f"raw{rep}.db", pre))
        best["dumps"] = min(best["dumps"], time_floor(base / f"dumps{rep}.db", floor_rows(beams, json.dumps)))
        if store is not None:
            store.close()
        store = SQLStore(f"sqlite:///{base / f'beams{rep}.db'}")
        store.ensure_tables()
        start = time.perf_counter()
        store.persist_beam_events(beams)
        best["store"] = min(best["store"], time.perf_counter() - start)
    assert store is not None
    problems = store.verify_chain("bench_run")
    if problems:
        raise SystemExit(f"the benchmark's chain does not verify: {problems[0]}")
    return best, store


def time_floor_batches(path: Path, batches: list[list[BeamEvent]]) -> float:
    """The floor of cell-sized persists: one sqlite3 transaction per batch, json.dumps per row."""
    con = floor_connection(path)
    sql = f"INSERT INTO beam_events ({', '.join(BEAM_COLUMNS)}) VALUES ({', '.join('?' * len(BEAM_COLUMNS))})"
    start = time.perf_counter()
    for batch in batches:
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, floor_rows(batch, json.dumps))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def bench_batches(beams: list[BeamEvent], base: Path, size: int, repeats: int) -> dict[str, float]:
    """Best seconds to persist `beams` as batches of `size`, each its own run and transaction (as cells are)."""
    batches = [
        [b.model_copy(update={"sheet_run_id": f"cell_run_{i:06d}"}) for b in beams[i : i + size]]
        for i in range(0, len(beams), size)
    ]
    best = {"floor": float("inf"), "store": float("inf")}
    for rep in range(repeats):
        best["floor"] = min(best["floor"], time_floor_batches(base / f"batch_floor{rep}.db", batches))
        store = SQLStore(f"sqlite:///{base / f'batch_store{rep}.db'}")
        store.ensure_tables()
        start = time.perf_counter()
        for batch in batches:
            store.persist_beam_events(batch)
        best["store"] = min(best["store"], time.perf_counter() - start)
        store.close()
    return best


def bench_queries(store: SQLStore, db: Path, depth: int, replays: int) -> dict[str, float]:
    """Median ms of replay and deep ancestors, through the store and as raw sqlite3 (the floors)."""
    raw = sqlite3.connect(db, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        raw.execute(pragma)
    eid = f"eid::bench_run::{7:04x}"
    newest = (
        f"SELECT {', '.join(BEAM_COLUMNS)} FROM beam_events WHERE eid = ? ORDER BY timestamp DESC, seq DESC LIMIT 50"
    )

    def raw_replay() -> list[dict[str, Any]]:
        rows = [dict(zip(BEAM_COLUMNS, r, strict=True)) for r in raw.execute(newest, (eid,)).fetchall()]
        for row in rows:
            row["result"], row["parents"] = json.loads(row["result"]), json.loads(row["parents"])
        return rows[::-1]

    out = {
        "replay": median_ms(lambda: store.ghost_replay_for_eid(eid, limit=50), replays),
        "replay_raw": median_ms(raw_replay, replays),
    }
    assert [b.beam_id for b in store.ghost_replay_for_eid(eid, limit=50)] == [r["beam_id"] for r in raw_replay()]

    deep = chain(depth, "chain_run")
    for start_at in range(0, len(deep), 50_000):
        store.persist_beam_events(deep[start_at : start_at + 50_000])
    tip = deep[-1].beam_id
    cte = (
        "WITH RECURSIVE reach(id) AS (SELECT parent_id FROM lineage_edges WHERE child_id = ? UNION "
        "SELECT e.parent_id FROM lineage_edges AS e JOIN reach ON e.child_id = reach.id) SELECT id FROM reach"
    )
    out["ancestors"] = median_ms(lambda: store.lineage(tip, ids_only=True), 7)
    out["ancestors_raw"] = median_ms(lambda: raw.execute(cte, (tip,)).fetchall(), 7)
    assert len(store.lineage(tip, ids_only=True)) == len(raw.execute(cte, (tip,)).fetchall()) == depth - 1
    raw.close()
    return out


def report(
    n: int,
    depth: int,
    repeats: int,
    best: dict[str, float],
    ms: dict[str, float],
    batched: dict[str, float],
    batch_n: int,
    size: int,
) -> None:
    rate = {name: n / secs for name, secs in best.items()}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n## Beam store, SQLite (WAL), {n} beams in one batch, best of {repeats} (load average {load})\n")
    print("| path | rows/s | × json.dumps floor |")
    print("|---|---:|---:|")
    print(f"| sqlite3 executemany, pre-serialized (floor) | {rate['raw']:,.0f} | {rate['raw'] / rate['dumps']:.2f} |")
    print(f"| sqlite3 executemany + json.dumps per row (floor) | {rate['dumps']:,.0f} | 1.00 |")
    print(
        f"| `persist_beam_events` (validate, hash chain, beams + lineage edges + entanglements) | "
        f"{rate['store']:,.0f} | {rate['store'] / rate['dumps']:.2f} (target ≥ 0.50) |"
    )
    floor_rate, store_rate = batch_n / batched["floor"], batch_n / batched["store"]
    print(f"\n{batch_n} beams in batches of {size}, each batch its own run and transaction (as cells persist):\n")
    print("| path | rows/s | batches/s | × floor |")
    print("|---|---:|---:|---:|")
    print(
        f"| sqlite3 BEGIN IMMEDIATE + executemany + json.dumps + COMMIT per batch (floor) | {floor_rate:,.0f} | "
        f"{floor_rate / size:,.0f} | 1.00 |"
    )
    print(
        f"| `persist_beam_events` per batch (hash chain, anchor sealed, head witness) | {store_rate:,.0f} | "
        f"{store_rate / size:,.0f} | {store_rate / floor_rate:.2f} |"
    )
    print("\n| query | median ms | raw sqlite3 (floor) | target |")
    print("|---|---:|---:|---:|")
    print(
        f"| `ghost_replay_for_eid` newest 50 of one eid among {EIDS} ({n // EIDS} beams each) | "
        f"{ms['replay']:.2f} | {ms['replay_raw']:.2f} | < 2 |"
    )
    print(
        f"| `lineage(ids_only=True)` ancestors of the tip of a {depth}-deep chain | "
        f"{ms['ancestors']:.1f} | {ms['ancestors_raw']:.1f} | < 150 |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="beams to persist (default 200000)")
    parser.add_argument("--depth", type=int, default=100_000, help="ancestors chain depth (default 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="persist repeats, best kept (default 3)")
    parser.add_argument("--replays", type=int, default=500, help="repeats of the replay query (default 500)")
    parser.add_argument("--batched", type=int, default=20_000, help="beams persisted in small batches (default 20000)")
    parser.add_argument("--batch-size", type=int, default=10, help="beams per small batch (default 10)")
    args = parser.parse_args()

    beams = build_beams(args.n, "bench_run")
    gc.collect()
    gc.freeze()  # the inputs live throughout: keep the collector from rescanning them in every path timed
    with tempfile.TemporaryDirectory() as tmp:
        best, store = bench_persist(beams, Path(tmp), args.repeats)
        ms = bench_queries(store, Path(tmp) / f"beams{args.repeats - 1}.db", args.depth, args.replays)
        store.close()
        batched = bench_batches(beams[: args.batched], Path(tmp), args.batch_size, args.repeats)
    report(args.n, args.depth, args.repeats, best, ms, batched, min(args.batched, args.n), args.batch_size)


if __name__ == "__main__":
    main()
