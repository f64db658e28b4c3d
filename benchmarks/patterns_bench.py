"""Pattern engine benchmark: motif mining over 100k stored beams, fused vs op-by-op time of discovered glyphs.

Run: `.venv/bin/python benchmarks/patterns_bench.py [--beams 100000] [--sizes 256 1024] [--repeats 15]`.
Every number is measured in this run on this machine (shared machines are noisy: compare the ratios, not
absolute times). Prints markdown tables; asserts nothing.

Mining: `--beams` synthetic BeamEvents shaped like a Lab's (sheet runs of an ingest cell `ψ := …` and
formula cells `E = ∇ψ • ∇ψ + Δψ`, `G = Δψ + ψ*ψ`, `H = ∂xψ * ∂yψ`, `B = Δ(Δψ)`, a few `⟲` loops with
attractors; schedule beams; ~3% of op beams vetoed, ~2% warned; eids shared by two cells of a run) are
persisted into a fresh SQLite store, then `mine_patterns(store, container)` is timed end to end (store
read included), beside its floors: `container_beams` alone (the read `mine_patterns` starts with) and a
raw `sqlite3` SELECT + `json.loads` of the same rows, and `op_ngrams` alone on the beams in memory.
Medians of `--mine-repeats` (3). Target: 100k beams mined in under 2 s.

Fusion: a real `Lab` on a 256² grid runs each formula cell `--cell-runs` times (3); then
`recombine_from_beams(container_beams(...), min_support=3)` on all the container's beams (it returns the
single most supported chain) and on each formula's beams (plus the ingest cell), so every cell's chain
gets its glyph. A Lab keeps a glyph by its static memory-traffic gain (`glyph.traffic_gain` ≥ 1.2×, from
the ops' specs — never by a timing); for each distinct glyph the bench reports that gain, the speedup the
glyph measured itself (`glyph.speedup`, a report), and an independent timing per `--sizes`:
`glyph.kernel(grid)(**inputs)` vs `run_op_by_op`, interleaved, two warm-up calls each, then the median of
`--repeats` (≥ 10). Target: every kept fusion at least 1.2× faster than op-by-op.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jax
import numpy as np

from codexlab import Lab
from codexlab.contracts import BeamEvent, new_beam_id, utc_now_iso
from codexlab.patterns import FusionGlyph, mine_patterns, op_ngrams, recombine_from_beams, run_op_by_op
from codexlab.patterns.fusion import sample_inputs
from codexlab.patterns.motifs import container_beams
from codexlab.qwave.bridge import compile_program
from codexlab.qwave.grid import Grid
from codexlab.store import open_store
from codexlab.store._codec import BEAM_COLUMNS

CONTAINER = "bench"
KEEP_AT = 1.2
MINE_TARGET_S = 2.0

# Formula cells: (stage, token, parent indices, result kind); index 0 is the run's ingest beam `ψ`,
# index i ≥ 1 the cell's i-th op beam. Per-op cost scales (ms) make `duration_ms` plausible.
FORMULAS: dict[str, list[tuple[str, str, list[int], str]]] = {
    "E": [
        ("wave", "∇", [0], "vector"),
        ("wave", "•", [1], "field"),
        ("symbolic", "Δ", [0], "field"),
        ("wave", "+", [2, 3], "field"),
    ],
    "G": [("wave", "Δ", [0], "field"), ("wave", "*", [0], "field"), ("wave", "+", [1, 2], "field")],
    "H": [("wave", "∂x", [0], "field"), ("wave", "∂y", [0], "field"), ("wave", "*", [1, 2], "field")],
    "B": [("wave", "Δ", [0], "field"), ("wave", "Δ", [1], "field")],
}
COST_MS = {"∇": 2.2, "•": 1.1, "Δ": 2.3, "+": 0.6, "*": 0.6, "∂x": 1.2, "∂y": 1.2}
CELLS_PER_RUN = 4
# Lab cells that ran at the given grid size (`∇·∇ψ` rewrites to `Δψ`, so G exercises the rewrite too).
LAB_CELLS = {
    "E": "E = ∇ψ • ∇ψ + Δψ",
    "G": "G = ∇·∇ψ + ψ*ψ",
    "H": "H = ∂xψ * ∂yψ + ψ",
    "B": "B = Δ(Δψ) - ψ",
}


# ------------------------------------------------------------------------------------------ mining


class _Clock:
    """Strictly increasing timestamps, 1 ms apart, from a fixed start."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def tick(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def _result(rng: random.Random, token: str, kind: str, size: int) -> dict[str, Any]:
    shape = [2, size, size] if kind == "vector" else [size, size]
    lo, hi = -rng.random(), 1.0 + rng.random()
    return {
        "kind": kind,
        "shape": shape,
        "dtype": "float64",
        "min": lo,
        "max": hi,
        "norm": 10 * hi,
        "backend": "jax",
        "duration_ms": COST_MS.get(token, 1.0) * rng.lognormvariate(0.0, 0.25),
    }


def _verdict(rng: random.Random) -> str:
    roll = rng.random()
    return "veto" if roll < 0.03 else "warn" if roll < 0.05 else "pass"


def build_beams(n: int, seed: int = 11, size: int = 256) -> list[BeamEvent]:
    """At least-`n`-then-trimmed validated beams over many sheet runs of one container (see the module doc)."""
    rng = random.Random(seed)
    clock = _Clock()
    beams: list[BeamEvent] = []

    def add(run: str, cell: str, stage: str, token: str, parents: list[str], **extra: Any) -> str:
        ts = clock.tick()
        beam = BeamEvent(
            beam_id=new_beam_id(cell, stage, ts),
            cell_id=cell,
            sheet_run_id=run,
            container_id=CONTAINER,
            stage=stage,
            token=token,
            timestamp=ts,
            parents=parents,
            source="codex",
            **extra,
        )
        beams.append(beam)
        return beam.beam_id

    index = 0
    while len(beams) < n:
        run = f"{rng.getrandbits(64):016x}"
        index += 1
        ingest_cell = f"cell_{index:06d}_{run[:6]}"
        add(run, ingest_cell, "schedule", "cell", [])
        psi = add(run, ingest_cell, "ingest", ":=", [], result=_result(rng, ":=", "field", size), verdict="pass")
        eid = f"eid::{run}::{rng.getrandbits(32):08x}" if rng.random() < 0.5 else None
        entangled = set(rng.sample(range(CELLS_PER_RUN), 2)) if eid else set()
        for slot in range(CELLS_PER_RUN):
            index += 1
            cell = f"cell_{index:06d}_{run[:6]}"
            add(run, cell, "schedule", "cell", [])
            if rng.random() < 0.05:  # a heat loop that settled on a fixed point
                result = {
                    "kind": "loop",
                    "names": ["ψ"],
                    "duration_ms": 40 * rng.random(),
                    "attractor": {
                        "kind": "fixed_point",
                        "iteration": rng.randrange(5, 500),
                        "residual": 1e-9 * rng.random(),
                    },
                }
                add(run, cell, "loop", "⟲", [psi], result=result, verdict="pass")
                continue
            ids = [psi]
            ops = FORMULAS[rng.choice(sorted(FORMULAS))]
            for i, (stage, token, parents, kind) in enumerate(ops):
                last = i == len(ops) - 1
                ids.append(
                    add(
                        run,
                        cell,
                        stage,
                        token,
                        [ids[p] for p in dict.fromkeys(parents)],
                        result=_result(rng, token, kind, size),
                        verdict=_verdict(rng),
                        eid=eid if last and slot in entangled else None,
                    )
                )
    return beams[:n]


def persist(beams: list[BeamEvent], db: Path, batch: int = 10_000) -> tuple[Any, float]:
    """A fresh SQLite store holding `beams` (persisted in batches), and the seconds that took."""
    store = open_store("sqlite:///" + str(db))
    store.ensure_tables()
    start = time.perf_counter()
    for at in range(0, len(beams), batch):
        store.persist_beam_events(beams[at : at + batch])
    return store, time.perf_counter() - start


def raw_read(db: Path) -> Callable[[], list[dict[str, Any]]]:
    """The floor: one raw sqlite3 SELECT of the container's beam rows, JSON columns decoded."""
    con = sqlite3.connect(db, isolation_level=None)
    sql = f"SELECT {', '.join(BEAM_COLUMNS)} FROM beam_events WHERE container_id = ? ORDER BY seq"

    def read() -> list[dict[str, Any]]:
        rows = [dict(zip(BEAM_COLUMNS, r, strict=True)) for r in con.execute(sql, (CONTAINER,))]
        for row in rows:
            row["result"], row["parents"] = json.loads(row["result"]), json.loads(row["parents"])
        return rows

    return read


def median_s(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median seconds of `repeats` calls (no warm-up: the store's file is already in the page cache)."""
    samples, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), out


def bench_mining(n: int, repeats: int) -> None:
    t0 = time.perf_counter()
    beams = build_beams(n)
    built = time.perf_counter() - t0
    gc.collect()
    gc.freeze()  # the inputs live throughout: keep the collector from rescanning them in every path timed
    runs = len({b.sheet_run_id for b in beams})
    cells = len({b.cell_id for b in beams})
    ops = sum(b.stage in ("wave", "symbolic") for b in beams)
    vetoed = sum(b.verdict == "veto" for b in beams)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "beams.db"
        store, persisted = persist(beams, db)
        floor = raw_read(db)
        floor()  # page cache warm for every contender alike
        t_raw, rows = median_s(floor, repeats)
        t_read, read = median_s(lambda: container_beams(store, CONTAINER), repeats)
        t_ngram, ngrams = median_s(lambda: op_ngrams(read), repeats)
        t_mine, mined = median_s(lambda: mine_patterns(store, CONTAINER), repeats)
        store.close()
    gc.unfreeze()
    assert len(rows) == len(read) == n  # the benchmark's own sanity, not a timing assertion
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n## Motif mining, {n:,} beams in SQLite (load average {load}, {utc_now_iso()})\n")
    print(
        f"{runs:,} sheet runs, {cells:,} cells, {ops:,} op beams ({vetoed:,} vetoed); built in {built:.1f} s, "
        f"persisted in {persisted:.1f} s ({n / persisted:,.0f} rows/s). Medians of {repeats}.\n"
    )
    print("| step | median s | beams/s | × raw floor | share of `mine_patterns` |")
    print("|---|---:|---:|---:|---:|")
    table = [
        ("raw sqlite3 SELECT + json.loads of the container's rows (floor)", t_raw),
        ("`container_beams(store, container)` (the read `mine_patterns` starts with)", t_read),
        ("`op_ngrams(beams)` (n = 2, 3; beams in memory)", t_ngram),
        ("`mine_patterns(store, container)` end to end", t_mine),
    ]
    for label, secs in table:
        print(f"| {label} | {secs:.3f} | {n / secs:,.0f} | {secs / t_raw:.1f} | {secs / t_mine:.0%} |")
    own = t_mine - t_read
    verdict = "met" if t_mine < MINE_TARGET_S else "NOT met"
    rest = f"{own:.2f} s" if own > 0 else "within the noise of the read"
    print(
        f"\nTarget `mine_patterns` on {n:,} beams < {MINE_TARGET_S:.0f} s: **{verdict}** ({t_mine:.2f} s; the read "
        f"alone is {t_read:.2f} s, `op_ngrams` alone {t_ngram:.2f} s; `mine_patterns` − read: {rest})."
    )
    top = mined["ngrams"].head(6)
    print("\nTop n-grams mined (sanity):\n")
    print("| n | ops | support | runs | time share |")
    print("|---:|---|---:|---:|---:|")
    for row in top.iter_rows(named=True):
        print(f"| {row['n']} | {row['ops']} | {row['support']:,} | {row['runs']:,} | {row['time_share']:.1%} |")
    print(
        f"\n{mined['attractors'].height:,} attractor rows, {mined['topology'].height:,} topology rows; "
        f"`op_ngrams` alone found {ngrams.height:,} distinct n-grams."
    )


# ------------------------------------------------------------------------------------------ fusion


def grid_of(n: int) -> Grid:
    """The grid `recombine_from_beams` measures on: [-1, 1]² with n points per axis."""
    return Grid.from_spec([("x", -1.0, 1.0, n), ("y", -1.0, 1.0, n)])


def discover(size: int, cell_runs: int) -> tuple[list[tuple[str, FusionGlyph]], float, int]:
    """Glyphs found in a Lab's beams (all beams, then each formula's), with the Lab's time and beam count."""
    found: dict[str, tuple[str, FusionGlyph]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(home=tmp)
        lab.progress = False
        start = time.perf_counter()
        setup = lab.run(f"@grid x:-1..1:{size}, y:-1..1:{size}\nψ := gaussian(x, y, σ=0.2)")
        cells: dict[str, set[str]] = {k: set() for k in LAB_CELLS}
        for _ in range(cell_runs):
            for key, code in LAB_CELLS.items():
                cells[key].add(lab.run(code).beams[0].cell_id)
        ran = time.perf_counter() - start
        cid = setup.beams[0].container_id
        beams = container_beams(lab.store, cid)
        ingest = {b.cell_id for b in setup.beams}
        pools = [("all beams", beams)] + [
            (f"cell {key} only", [b for b in beams if b["cell_id"] in cells[key] | ingest]) for key in LAB_CELLS
        ]
        for label, pool in pools:
            for glyph in recombine_from_beams(pool, min_support=3):
                found.setdefault(glyph.name, (label, glyph))
        lab.store.close()
    return list(found.values()), ran, len(beams)


def time_glyph(glyph: FusionGlyph, n: int, repeats: int) -> dict[str, float]:
    """Median ms of the fused kernel and of op-by-op dispatch on an n² grid, interleaved, after warm-up."""
    grid = grid_of(n)
    inputs = sample_inputs(glyph.input_kinds, grid)
    fused = glyph.kernel(grid)
    program = compile_program(glyph.program, grid, method="fd2", keep="outputs")
    contenders: dict[str, Callable[[], Any]] = {
        "fused": lambda: fused(**inputs),
        "program": lambda: program(inputs),
        "op": lambda: run_op_by_op(glyph.program, grid, inputs),
    }
    for fn in contenders.values():
        for _ in range(2):
            jax.block_until_ready(fn())
    a, b = np.asarray(contenders["fused"]()), np.asarray(contenders["op"]())
    error = float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for key, fn in contenders.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[key].append((time.perf_counter() - start) * 1e3)
    ms = {k: statistics.median(v) for k, v in times.items()}
    return {**ms, "ratio": ms["op"] / ms["fused"], "ratio_program": ms["op"] / ms["program"], "error": error}


def kept(ratio: float | None) -> str:
    if ratio is None:
        return "unmeasured"
    return "kept" if ratio >= KEEP_AT else "**dropped**"


def bench_fusion(sizes: list[int], repeats: int, cell_runs: int) -> None:
    device = jax.devices()[0]
    glyphs, ran, count = discover(256, cell_runs)
    print(f"\n## Fusion glyphs from a Lab's beams (256² grid; device {device.platform}, host {platform.machine()})\n")
    cells = ", ".join(f"`{c}`" for c in LAB_CELLS.values())
    print(
        f"Cells {cells}, {cell_runs} runs each: {count} beams in {ran:.1f} s. `recombine_from_beams` returns the "
        f"top chain of the beams it is given: run on all beams and on each cell's beams, {len(glyphs)} distinct "
        f"glyph(s).\n"
    )
    print(
        "| glyph | found in | chain | template | support | own measure on | fused ms | op-by-op ms | measured × "
        "| traffic × | kept (traffic ≥ 1.2×) |"
    )
    print("|---|---|---|---|---:|---|---:|---:|---:|---:|---|")
    for label, g in glyphs:
        shape = "×".join(map(str, g.measured_on)) if g.measured_on else "–"
        fused_ms = g.timings_ms.get("fused_ms", float("nan"))
        op_ms = g.timings_ms.get("op_by_op_ms", float("nan"))
        ratio = f"{g.speedup:.2f}" if g.speedup is not None else "–"
        print(
            f"| `{g.name}` | {label} | {' → '.join(g.chain)} | `{g.text}` | {g.support} | {shape} | {fused_ms:.3f} "
            f"| {op_ms:.3f} | {ratio} | {g.traffic_gain:.2f} | {kept(g.traffic_gain)} |"
        )
    print(
        f"\nIndependent timing: `glyph.kernel(grid)(**inputs)` (fused kernel, DataArray out) vs `run_op_by_op`, and "
        f"the glyph's program compiled directly (`compile_program(..., keep='outputs')(inputs)`, what "
        f"`measure_speedup` times) as the peer without the `kernel` wrapper; medians of {repeats} interleaved "
        f"after 2 warm-ups each, float64; error = max |fused − op-by-op| / max |op-by-op|.\n"
    )
    print(
        "| glyph | chain | grid | `kernel` ms | program ms | op-by-op ms | × `kernel` | × program | error "
        "| verdict (`kernel` ≥ 1.2×) | verdict (program) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    verdicts: list[bool] = []
    direct: list[bool] = []
    for _, g in glyphs:
        for n in sizes:
            t = time_glyph(g, n, repeats)
            verdicts.append(t["ratio"] >= KEEP_AT)
            direct.append(t["ratio_program"] >= KEEP_AT)
            print(
                f"| `{g.name}` | {' → '.join(g.chain)} | {n}² | {t['fused']:.3f} | {t['program']:.3f} | {t['op']:.3f} "
                f"| {t['ratio']:.2f} | {t['ratio_program']:.2f} | {t['error']:.1e} | {kept(t['ratio'])} "
                f"| {kept(t['ratio_program'])} |"
            )
    own = sum(g.traffic_gain >= KEEP_AT for _, g in glyphs)
    faster = sum(g.speedup is not None and g.speedup >= KEEP_AT for _, g in glyphs)
    print(
        f"\nBy the static traffic rule {own} of {len(glyphs)} are kept ({faster} measured ≥ {KEEP_AT}× faster in "
        f"their own timing); by the independent timing "
        f"{sum(verdicts)} of {len(verdicts)} (glyph, grid) pairs reach {KEEP_AT}× through `glyph.kernel`, "
        f"{sum(direct)} of {len(direct)} as the directly compiled program."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beams", type=int, default=100_000, help="beams to mine (default 100000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024], help="grids to time glyphs on")
    parser.add_argument("--repeats", type=int, default=15, help="fused/op-by-op timing repeats (≥ 10, default 15)")
    parser.add_argument("--mine-repeats", type=int, default=3, help="mining repeats, median kept (default 3)")
    parser.add_argument("--cell-runs", type=int, default=3, help="runs of each Lab cell (≥ 3, default 3)")
    parser.add_argument("--skip-mining", action="store_true", help="only the fusion part")
    parser.add_argument("--skip-fusion", action="store_true", help="only the mining part")
    args = parser.parse_args()
    if not args.skip_mining:
        bench_mining(args.beams, max(1, args.mine_repeats))
    if not args.skip_fusion:
        bench_fusion(args.sizes, max(10, args.repeats), max(3, args.cell_runs))


if __name__ == "__main__":
    main()
