"""Sheets (the virtual QPU): parallel cells and recomputing only what changed.

Measures, in one run on this machine:
- a sheet of 16 independent 512² cells (each sets its own grid, so no cell waits for another), run
  with `jobs=2` against `jobs=1` in fresh homes (cache off), best of N alternating runs after a warm-up:
  the speedup and the parallel efficiency (speedup / 2) on the machine's 2 cores — beside a peer
  measured in the same run: the same 16 smoothing loops as one jitted JAX function each, on 1 and 2
  threads, i.e. the parallelism the shared machine offers right now;
- a 50-cell sheet (a 256² setup cell and 49 cells that read it) run whole, then run again after
  editing one leaf cell: only the edited cell runs, the 49 others are reused from the cache.
Prints markdown tables. Usage: `python benchmarks/sheet_bench.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def independent_sheet(cells: int = 16, n: int = 512, steps: int = 40) -> str:
    """`cells` cells with no edges: each sets its grid, draws a field and smooths it in a ⟲ loop."""
    body = []
    for k in range(cells):
        body.append(
            f"# %% c{k}\n@grid x:-1..1:{n}, y:-1..1:{n}\nu{k} := random(seed={k + 1})\n"
            f"⟲ {steps} {{ u{k} = u{k} + 0.000001*Δu{k} }}\nE{k} = ‖u{k}‖\n"
        )
    return "\n".join(body)


def star_sheet(leaves: int = 49, n: int = 256, edit: int | None = None) -> str:
    """A setup cell and `leaves` cells that read it; `edit` changes one leaf's constant."""
    cells = [f"# %% base\n@grid x:-1..1:{n}, y:-1..1:{n}\nb := random(seed=1)\nL = Δb\n"]
    for k in range(leaves):
        factor = k + 1 + (0.5 if k == edit else 0)
        cells.append(f"# %% leaf{k}\nv{k} = L * {factor} + b\nn{k} = ‖v{k}‖\n")
    return "\n".join(cells)


def bench_peer(repeats: int, cells: int = 16, n: int = 512, steps: int = 40) -> dict[int, list[float]]:
    """Wall seconds of `cells` hand-written jitted smoothing loops (periodic 5-point Laplacian) on 1 and
    2 threads: the floor of what threads can gain here, whatever codexlab does around its kernels."""
    from concurrent.futures import ThreadPoolExecutor

    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    h2 = (2.0 / n) ** 2

    @jax.jit
    def smooth(u: Any) -> Any:
        def step(_: Any, v: Any) -> Any:
            lap = (jnp.roll(v, 1, 0) + jnp.roll(v, -1, 0) + jnp.roll(v, 1, 1) + jnp.roll(v, -1, 1) - 4 * v) / h2
            return v + 0.000001 * lap

        return jax.lax.fori_loop(0, steps, step, u)

    fields = [np.random.default_rng(k).standard_normal((n, n)) for k in range(cells)]
    smooth(fields[0]).block_until_ready()
    walls: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeats):
        for jobs in (1, 2) if r % 2 == 0 else (2, 1):
            t0 = time.perf_counter()
            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(lambda u: smooth(u).block_until_ready(), fields))
            walls[jobs].append(time.perf_counter() - t0)
    return walls


def _lab(home: Path) -> Any:
    from codexlab.runtime import Lab

    lab = Lab(home=home)
    lab.progress = False
    return lab


def bench_parallel(root: Path, repeats: int) -> dict[int, list[float]]:
    """Wall seconds of the 16-cell sheet at jobs 1 and 2, each in a fresh home, alternating."""
    sheet = independent_sheet()
    _lab(root / "warm").run_sheet(independent_sheet(cells=2), jobs=2, cache=False)  # compile the kernels once
    walls: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeats):
        for jobs in (1, 2) if r % 2 == 0 else (2, 1):
            lab = _lab(root / f"par_{jobs}_{r}")
            t0 = time.perf_counter()
            result = lab.run_sheet(sheet, jobs=jobs, cache=False)
            walls[jobs].append(time.perf_counter() - t0)
            assert len(result.ran) == 16
    return walls


def bench_edit(root: Path, repeats: int) -> tuple[list[float], list[float], list[int]]:
    """(whole-run seconds, rerun-after-edit seconds, cells that ran on the rerun) per repeat."""
    _lab(root / "warm_star").run_sheet(star_sheet(leaves=2), cache=False)
    whole, edited, ran = [], [], []
    for r in range(repeats):
        lab = _lab(root / f"star_{r}")
        t0 = time.perf_counter()
        lab.run_sheet(star_sheet())
        whole.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = lab.run_sheet(star_sheet(edit=48))
        edited.append(time.perf_counter() - t0)
        ran.append(len(result.ran))
        assert result.ran == ["leaf48"] and len(result.reused) == 49
    return whole, edited, ran


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="codexlab-sheet-bench-") as tmp:
        root = Path(tmp)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        walls = bench_parallel(root, args.repeats)
        peer = bench_peer(args.repeats)
        speedup = min(walls[1]) / min(walls[2])
        print(f"## 16 independent 512² cells (40-step ⟲ each), best of {args.repeats} (load average {load})\n")
        print("| what | jobs | best s | median s | speedup | parallel efficiency |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, runs in (("codexlab sheet", walls), ("peer: jitted JAX loops on threads", peer)):
            for jobs in (1, 2):
                best, med = min(runs[jobs]), sorted(runs[jobs])[len(runs[jobs]) // 2]
                sp = min(runs[1]) / best
                print(f"| {label} | {jobs} | {best:.2f} | {med:.2f} | {sp:.2f}× | {sp / jobs:.0%} |")
        whole, edited, ran = bench_edit(root, args.repeats)
        print(f"\n## 50-cell sheet (256²), whole run vs rerun after editing one leaf, best of {args.repeats}\n")
        print("| run | best s | median s | cells run |")
        print("|---|---:|---:|---:|")
        print(f"| whole sheet, empty cache | {min(whole):.2f} | {sorted(whole)[len(whole) // 2]:.2f} | 50 |")
        print(f"| after editing one leaf | {min(edited):.2f} | {sorted(edited)[len(edited) // 2]:.2f} | {ran[0]} |")
        share, faster = min(edited) / min(whole), min(whole) / min(edited)
        print(f"\nrerun after an edit takes {share:.1%} of the whole run ({faster:.1f}× faster)")
        peer_speedup = min(peer[1]) / min(peer[2])
        print(f"parallel speedup with 2 jobs: {speedup:.2f}× ({speedup / 2:.0%}); the peer's: {peer_speedup:.2f}×")


if __name__ == "__main__":
    main()
