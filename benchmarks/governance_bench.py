"""Governance overhead: the same 10k-beam workload through `Lab.run` with SQI + SoulLaw on and off.

    .venv/bin/python benchmarks/governance_bench.py [--cells 25] [--statements 100] [--n 128] [--repeats 3]

Each cell assigns `statements` values `vK = Δu + c` (c cycles through 2..8) on an n² grid (4 beams each: two schedule
beams, the Δ and the + op beams), so 25 × 100 gives 10,000 beams. "off" replaces the Lab's
governance with none (no drift against the exact form, no qscore, no laws) inside this script only;
users cannot switch SoulLaw off. Both configurations run interleaved, best and median of `repeats`
after a warm-up cell. Prints a markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from codexlab import Lab


def _lab(home: Path, governed: bool) -> Lab:
    lab = Lab(home=home)
    if not governed:
        lab._governance = lambda memory: None  # type: ignore[method-assign]
    return lab


def _workload(lab: Lab, cells: int, statements: int, n: int) -> tuple[float, int]:
    lab.run(f"@grid x:-1..1:{n}, y:-1..1:{n}\nu := gaussian(x, y, σ=0.2)\n", "bench")
    lab.run("warm = Δu + 1\n", "bench")
    beams = 0
    started = time.perf_counter()
    for c in range(cells):
        body = "\n".join(f"v{k} = Δu + {(c + k) % 7 + 2}" for k in range(statements))
        beams += len(lab.run(body + "\n", "bench").beams)
    return time.perf_counter() - started, beams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=25)
    parser.add_argument("--statements", type=int, default=100)
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    counts: dict[bool, int] = {}
    for _ in range(args.repeats):
        for governed in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                seconds, beams = _workload(_lab(Path(tmp), governed), args.cells, args.statements, args.n)
            times[governed].append(seconds)
            counts[governed] = beams
    off, on = min(times[False]), min(times[True])
    print(f"## Governance on vs off: {counts[True]:,} beams in {args.cells} cells, {args.n}² grid")
    print()
    print("| configuration | best s | median s | beams/s (best) |")
    print("|---|---:|---:|---:|")
    for label, governed in (("governance off (no SQI, no SoulLaw)", False), ("governance on", True)):
        best, med = min(times[governed]), statistics.median(times[governed])
        print(f"| {label} | {best:.2f} | {med:.2f} | {counts[governed] / best:,.0f} |")
    print()
    print(f"Overhead of governance: {on / off - 1:+.1%} (best), target < +30%.")


if __name__ == "__main__":
    main()
