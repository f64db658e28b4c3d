"""Knowledge graph benchmark: `write_beams` against a raw `bulk_extend` floor, batch sizes, lineage, export.

Run: `.venv/bin/python benchmarks/kg_bench.py [--beams 10000]`. Every number is measured in this run
on this machine (shared machines are noisy: compare the ratios, not absolute times). Prints markdown
tables. The floor is pyoxigraph's `bulk_extend` of the very quads `write_beams` produces, built
beforehand, into a fresh on-disk store; `write_beams` pays for the PROV-O mapping on top of it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _beams import chain, timestamp, wave_result
from pyoxigraph import Quad, Store

from codexlab.contracts import BeamEvent
from codexlab.kg import KnowledgeGraph
from codexlab.kg.mapping import beams_to_quads
from codexlab.kg.store import BULK_THRESHOLD
from codexlab.kg.vocab import value_iri

CELLS = 64
RUNS = 10
USER = "bench"


def build_beams(n: int, seed: int = 7) -> list[BeamEvent]:
    """`n` validated beams over `RUNS` sheet runs: chains per cell, some joins, pairs, scores, vetoes."""
    rng = random.Random(seed)
    beams: list[BeamEvent] = []
    last_in_cell: dict[int, str] = {}
    for i in range(n):
        cell = i % CELLS
        run = f"bench_run_{i * RUNS // n:02d}"
        parents = [last_in_cell[cell]] if cell in last_in_cell else []
        if i > CELLS and rng.random() < 0.3:
            other = beams[rng.randrange(i - CELLS, i)].beam_id
            if other not in parents:
                parents.append(other)
        beam = BeamEvent(
            beam_id=f"beam_c{cell}_wave_{i:08d}",
            cell_id=f"cell_{cell:03d}",
            sheet_run_id=run,
            container_id="bench",
            eid=f"eid::{run}::{i % 200:04x}" if i % 5 == 0 else None,
            stage="ingest" if not parents else "wave",
            token="∇²",
            result=wave_result(i, vault_ref=f"snap_{i:012x}"),
            timestamp=timestamp(i),
            parents=parents,
            qscore=0.9 if i % 2 == 0 else None,
            drift=0.01 if i % 2 == 0 else None,
            verdict="veto" if i % 97 == 96 else "pass",
        )
        beams.append(beam)
        if beam.verdict != "veto":
            last_in_cell[cell] = beam.beam_id
    return beams


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeats)) * 1e3


def write_rates(beams: list[BeamEvent], base: Path, repeats: int) -> tuple[dict[str, list[float]], int]:
    """Seconds of each repeat (interleaved) for mapping only, the raw floor, and `write_beams`."""
    quads = beams_to_quads(beams, user=USER)
    times: dict[str, list[float]] = {"map": [], "floor": [], "write": []}
    for rep in range(repeats):
        times["map"].append(timed(lambda: beams_to_quads(beams, user=USER)))
        floor_store = Store(str(base / f"floor{rep}"))
        times["floor"].append(timed(lambda s=floor_store: s.bulk_extend(quads)))
        del floor_store
        kg = KnowledgeGraph(base / f"kg{rep}", user=USER)
        times["write"].append(timed(lambda g=kg: g.write_beams(beams)))
        if len(kg) != len(set(quads)):
            raise SystemExit(f"write_beams stored {len(kg)} quads, the floor {len(set(quads))}")
        kg.close()
    return times, len(quads)


def batch_sweep(quads: list[Quad], base: Path, sizes: list[int], total: int) -> list[tuple[int, float, float]]:
    """Per call ms of `extend` and `bulk_extend` for batches of each size, over the first `total` quads."""
    rows = []
    for size in sizes:
        batches = [quads[i : i + size] for i in range(0, min(total, len(quads)), size)]
        per_call = {}
        for method in ("extend", "bulk_extend"):
            store = Store(str(base / f"sweep_{method}_{size}"))
            add = getattr(store, method)
            per_call[method] = timed(lambda a=add, bs=batches: [a(b) for b in bs]) / len(batches) * 1e3
            del store, add
        rows.append((size, per_call["extend"], per_call["bulk_extend"]))
    return rows


def cell_batches(beams: list[BeamEvent], base: Path, per_cell: int) -> tuple[float, float]:
    """Seconds to write the beams one cell-sized batch at a time: `write_beams` and raw `extend`."""
    groups = [beams[i : i + per_cell] for i in range(0, len(beams), per_cell)]
    prebuilt = [beams_to_quads(g, user=USER) for g in groups]
    store = Store(str(base / "cells_floor"))
    floor = timed(lambda s=store: [s.extend(q) for q in prebuilt])
    del store
    kg = KnowledgeGraph(base / "cells_kg", user=USER)
    write = timed(lambda: [kg.write_beams(g) for g in groups])
    kg.close()
    return floor, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beams", type=int, default=10_000, help="beams to write (default 10000)")
    parser.add_argument("--depth", type=int, default=10_000, help="lineage chain depth (default 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="write repeats, best kept (default 3)")
    parser.add_argument("--queries", type=int, default=20, help="repeats of each query (default 20)")
    args = parser.parse_args()

    beams = build_beams(args.beams)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        times, n = write_rates(beams, base, args.repeats)
        quads = beams_to_quads(beams, user=USER)
        sweep = batch_sweep(quads, base, [1_000, 5_000, 10_000, 20_000, 60_000], total=120_000)
        cells_floor, cells_write = cell_batches(beams, base, per_cell=25)

        kg = KnowledgeGraph(base / "kg0", user=USER)
        turtle_ms = median_ms(lambda: kg.export("turtle"), 3)
        nquads_ms = median_ms(lambda: kg.export("nquads"), 3)
        kg.close()

        deep = chain(args.depth)
        chain_kg = KnowledgeGraph(base / "chain", user=USER)
        chain_kg.write_beams(deep)
        tip = value_iri(deep[-1].beam_id).value
        raw_sparql = f"SELECT ?a WHERE {{ <{tip}> prov:wasDerivedFrom+ ?a }}"
        if len(chain_kg.lineage_query(deep[-1].beam_id)) != args.depth - 1:
            raise SystemExit("lineage_query missed ancestors of the chain")
        raw_ms = median_ms(lambda: chain_kg.query(raw_sparql), args.queries)
        lineage_ms = median_ms(lambda: chain_kg.lineage_query(deep[-1].beam_id), args.queries)
        chain_kg.close()

    best = {k: min(v) for k, v in times.items()}
    mid = {k: statistics.median(v) for k, v in times.items()}
    print(f"## Knowledge graph writes: {args.beams} beams, {n} quads, on disk ({args.repeats} repeats)\n")
    print("| path | best s | median s | quads/s (best) | floor/path (best) | floor/path (median) |")
    print("|---|---|---|---|---|---|")
    for key, label in (
        ("floor", "raw `bulk_extend` of pre-built quads (floor)"),
        ("write", "`write_beams` (mapping + write)"),
        ("map", "mapping alone (`beams_to_quads`)"),
    ):
        ratios = f"{best['floor'] / best[key]:.2f} | {mid['floor'] / mid[key]:.2f}" if key != "map" else " | "
        print(f"| {label} | {best[key]:.2f} | {mid[key]:.2f} | {n / best[key]:,.0f} | {ratios} |")
    print(f"| per-cell batches of 25 beams: raw `extend` | {cells_floor:.2f} | | {n / cells_floor:,.0f} | | |")
    print(
        f"| per-cell batches of 25 beams: `write_beams` | {cells_write:.2f} | | {n / cells_write:,.0f} | "
        f"{cells_floor / cells_write:.2f} (vs raw extend) | |"
    )
    ratio = mid["floor"] / mid["write"]
    print(
        f"\nTarget: `write_beams` ≥ 1/3 of the floor's rate — {'met' if ratio >= 1 / 3 else 'NOT met'} "
        f"(median ratio {ratio:.2f}).\n"
    )
    print(f"## One store call per batch: ms per call (`BULK_THRESHOLD` = {BULK_THRESHOLD} quads)\n")
    print("| quads per call | `extend` | `bulk_extend` | faster |")
    print("|---|---|---|---|")
    for size, ext, bulk in sweep:
        print(f"| {size:,} | {ext:.1f} | {bulk:.1f} | {'extend' if ext < bulk else 'bulk_extend'} |")
    print("\n## Queries and export (median)\n")
    print("| what | ms |")
    print("|---|---|")
    print(f"| `wasDerivedFrom+` over a {args.depth} chain, raw SPARQL | {raw_ms:.1f} |")
    print(f"| `lineage_query` (ASK, then the path ordered by time) over the same chain | {lineage_ms:.1f} |")
    print(f"| Turtle export of the union ({n} quads) | {turtle_ms:.0f} |")
    print(f"| N-Quads export ({n} quads) | {nquads_ms:.0f} |")


if __name__ == "__main__":
    main()
