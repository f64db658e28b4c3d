"""Pipeline overhead: parse → rewrite → schedule → execute → score/vet → persist, per cell.

Measures, in one run on this machine:
- a trivial 64² cell, cold (first run: imports, JIT) and warm (median of repeats), against the
  kernel time inside it — the difference is the pipeline's overhead;
- a 1024² Laplacian cell: kernel time vs the whole pipeline;
- a 1024² cell `E = ∇ψ • ∇ψ + Δψ` fused (one jitted program) vs the same ops dispatched one by one
  (`fuse=False`): whole cell and kernel time, medians of warm repeats, with the ratio; and the cell's
  kernels alone (its compiled program called directly, interleaved with the fused cell): the whole
  cell ÷ that is what the per-op bookkeeping costs.
Prints a markdown table. Usage: `python benchmarks/pipeline_bench.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def _kernel_ms(run: object, token: str) -> float:
    return sum(
        float(b.result.get("duration_ms", 0.0))
        for b in run.beams  # type: ignore[attr-defined]
        if b.token == token and b.stage in ("wave", "symbolic")
    )


FUSED_CELL = "E = ∇ψ • ∇ψ + Δψ"


def _fused_kernel_ms(run: object) -> float:
    """The kernel time of a cell: the fused calls' time (once each), else the ops' own times."""
    fused: dict[str, float] = {}
    total = 0.0
    for b in run.beams:  # type: ignore[attr-defined]
        if b.stage != "wave":
            continue
        if b.result.get("fused"):
            fused[b.result["qglyph_id"]] = float(b.result["fused_ms"])
        else:
            total += float(b.result.get("duration_ms", 0.0))
    return total + sum(fused.values())


def bench_fusion(home: Path, repeats: int) -> list[tuple[str, float, str]]:
    """The fused-cell row: the same 1024² cell with fusion on and off, warm medians and their ratio."""
    import jax

    from codexlab.photon.ir import name, node
    from codexlab.qwave.bridge import compile_program
    from codexlab.runtime import Lab

    setup = "@grid x:-1..1:1024, y:-1..1:1024\nψ := gaussian(x, y, σ=0.2)\n"
    medians: dict[bool, tuple[float, float]] = {}
    alone: list[float] = []
    for fuse in (True, False):
        lab = Lab(home=home / f"fuse_{fuse}", flags={"COST_THRESHOLD": 0.0})
        lab.configure(None, fuse=fuse)
        run = lab.run(setup + FUSED_CELL)
        assert any(b.result.get("fused") for b in run.beams) is fuse
        psi = {"ψ": lab.memory().get("ψ").value.data.values}
        cell = node("+", node("•", node("∇", name("ψ")), node("∇", name("ψ"))), node("Δ", name("ψ")))
        program = compile_program(cell, lab.memory().grid, keep="all")  # the cell's kernels, nothing else
        jax.block_until_ready(program(psi))
        totals, kernels = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run = lab.run(FUSED_CELL)
            totals.append((time.perf_counter() - t0) * 1e3)
            kernels.append(_fused_kernel_ms(run))
            if fuse:
                t0 = time.perf_counter()
                jax.block_until_ready(program(psi))
                alone.append((time.perf_counter() - t0) * 1e3)
        medians[fuse] = statistics.median(totals), statistics.median(kernels)
    (fused_total, fused_kernel), (plain_total, plain_kernel) = medians[True], medians[False]
    kernels_alone = statistics.median(alone)
    return [
        (
            "the same cell's kernels alone: its compiled program called directly (median, interleaved)",
            kernels_alone,
            f"whole fused cell ÷ kernels alone: {fused_total / kernels_alone:.2f}× (target ≤ 2×)",
        ),
        (
            f"1024² cell `{FUSED_CELL}`, fused (median of {repeats})",
            fused_total,
            f"kernel {fused_kernel:.2f} ms",
        ),
        (
            f"1024² cell `{FUSED_CELL}`, ops one by one (median of {repeats})",
            plain_total,
            f"kernel {plain_kernel:.2f} ms",
        ),
        (
            "fused vs one by one: kernel speed-up",
            plain_kernel / fused_kernel,
            f"× (target ≥ 1.5×); whole cell {plain_total / fused_total:.2f}×",
        ),
    ]


def bench(repeats: int) -> list[tuple[str, float, str]]:
    from codexlab.runtime import Lab

    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(home=Path(tmp) / "home", flags={"COST_THRESHOLD": 0.0})
        setup = "@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\n"
        started = time.perf_counter()
        lab.run(setup + "L = Δψ")
        rows.append(("trivial 64² cell, cold (first run)", (time.perf_counter() - started) * 1e3, ""))
        totals, kernels = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run = lab.run("L = Δψ")
            totals.append((time.perf_counter() - t0) * 1e3)
            kernels.append(_kernel_ms(run, "Δ"))
        warm, kern = statistics.median(totals), statistics.median(kernels)
        rows.append(("trivial 64² cell, warm (median)", warm, f"kernel {kern:.2f} ms"))
        rows.append(("pipeline overhead per trivial cell", warm - kern, "target < 30 ms"))

        lab.run("@grid x:-1..1:1024, y:-1..1:1024\nφ := gaussian(x, y, σ=0.2)\nK = Δφ")
        totals, kernels = [], []
        for _ in range(max(3, repeats // 3)):
            t0 = time.perf_counter()
            run = lab.run("K = Δφ")
            totals.append((time.perf_counter() - t0) * 1e3)
            kernels.append(_kernel_ms(run, "Δ"))
        total, kern = statistics.median(totals), statistics.median(kernels)
        rows.append(("1024² Δ cell, whole pipeline (median)", total, f"kernel {kern:.2f} ms ({kern / total:.0%})"))
        rows.extend(bench_fusion(Path(tmp), max(10, repeats)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rows = bench(args.repeats)
    print("| measurement | ms (or ×) | note |")
    print("|---|---:|---|")
    for name, ms, note in rows:
        print(f"| {name} | {ms:.2f} | {note} |")


if __name__ == "__main__":
    main()
