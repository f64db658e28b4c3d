"""Fused QGlyph execution vs op-by-op dispatch, and a fused `⟲` loop vs a Python loop of jitted steps.

    .venv/bin/python benchmarks/fusion_bench.py [--sizes 256 512 1024] [--repeats 15] [--steps 100]

Cell `∇ψ • ∇ψ + Δψ` on 2-D periodic N² float64 grids:
- op-by-op: `kernels.grad`, `kernels.dot`, `kernels.lap`, then `+`, each call dispatched on its own
  and its result materialized (what the executor's wave path does per op, without the beams);
- op-by-op, • unrolled: the same with one jitted `g[0]*g[0] + g[1]*g[1]` for `kernels.dot` (whose
  `jnp.sum(axis=0)` is slow on the CPU), so the fusion gain is not just that one kernel;
- fused keep=all: one jitted program returning every intermediate (one beam per op stays possible);
- fused keep=outputs: one jitted program returning the result only.
Loop `⟲ S { ψ = ψ + 0.001*Δψ }` (explicit heat steps): a Python loop of one jitted step per
iteration vs `compile_loop` (one `lax.fori_loop`), without and with the in-loop attractor search, and
with live progress reported from inside the loop (what a cell under a following HUD runs).

Each repeat runs every contender once, interleaved, so machine noise spreads evenly; after a warm-up
(compilation) the table shows medians in ms and speedups (baseline median / contender median).
Prints markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import codexlab.qwave  # noqa: F401  (enables float64)
from codexlab.photon.ir import PNode, name, node, num
from codexlab.qwave import kernels as K
from codexlab.qwave.bridge import compile_loop, compile_program
from codexlab.qwave.grid import Grid

PSI = name("ψ")
CELL = node("+", node("•", node("∇", PSI), node("∇", PSI)), node("Δ", PSI))
HEAT: list[tuple[str, PNode]] = [("ψ", node("+", PSI, node("*", num(0.001), node("Δ", PSI))))]


def grid_of(n: int) -> Grid:
    """A periodic n² grid on [−4, 4)², where 0.001·Δ steps are stable (h² ≫ 0.004)."""
    return Grid.from_spec([("x", -4.0, 4.0, n), ("y", -4.0, 4.0, n)])


def field(grid: Grid) -> jax.Array:
    X, Y = grid.mesh()
    return jnp.asarray(np.exp(-(X**2 + 2 * Y**2)))


def interleaved(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median ms per contender; two warm-up calls each, then `repeats` interleaved rounds."""
    for fn in contenders.values():
        jax.block_until_ready(fn())
        jax.block_until_ready(fn())
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for key, fn in contenders.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[key].append(time.perf_counter() - start)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def cell_contenders(grid: Grid) -> dict[str, Callable[[], Any]]:
    axes = K.axis_specs(grid)
    psi = field(grid)
    fused_all = compile_program(CELL, grid, keep="all")
    fused_out = compile_program(CELL, grid, keep="outputs")
    inputs = {"ψ": psi}

    def op_by_op() -> Any:
        g = jax.block_until_ready(K.grad(psi, axes))
        d = jax.block_until_ready(K.dot(g, g))
        lap = jax.block_until_ready(K.lap(psi, axes))
        return d + lap

    dot2 = jax.jit(lambda g: g[0] * g[0] + g[1] * g[1])

    def op_by_op_unrolled() -> Any:
        g = jax.block_until_ready(K.grad(psi, axes))
        d = jax.block_until_ready(dot2(g))
        lap = jax.block_until_ready(K.lap(psi, axes))
        return d + lap

    reference = np.asarray(op_by_op())
    for compiled in (fused_all, fused_out):
        out = np.asarray(compiled.run(inputs).outputs["_"])
        assert np.allclose(out, reference, rtol=1e-12, atol=1e-12 * np.abs(reference).max())
    return {
        "op": op_by_op,
        "op_unrolled": op_by_op_unrolled,
        "fused_all": lambda: fused_all(inputs),
        "fused_out": lambda: fused_out(inputs),
    }


def loop_contenders(grid: Grid, steps: int) -> dict[str, Callable[[], Any]]:
    axes = K.axis_specs(grid)
    psi = field(grid)
    step = jax.jit(lambda p: p + 0.001 * K.lap(p, axes, backend="jax"))

    def python_loop() -> Any:
        p = psi
        for _ in range(steps):
            p = step(p)
        return p

    plain = compile_loop(HEAT, ["ψ"], grid, count=steps, track=False)
    tracked = compile_loop(HEAT, ["ψ"], grid, count=steps, track=True)
    reference = np.asarray(python_loop())
    assert np.allclose(np.asarray(plain({"ψ": psi}).values["ψ"]), reference, rtol=1e-12, atol=1e-14)
    return {
        "python": python_loop,
        "fori": lambda: plain({"ψ": psi}).values["ψ"],
        "fori_tracked": lambda: tracked({"ψ": psi}).values["ψ"],
        # what a HUD-watched cell runs: the same loop reporting to a progress sink every steps/10 iterations
        "fori_watched": lambda: tracked({"ψ": psi}, progress=lambda done: None).values["ψ"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--loop-sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    repeats = max(args.repeats, 10)
    device = jax.devices()[0]
    cpu = platform.processor() or platform.machine()
    print(f"device: {device.platform} ({device.device_kind}), jax {jax.__version__}, host {cpu}")
    print(f"medians of {repeats} interleaved runs after warm-up, float64\n")

    print("### Cell `∇ψ • ∇ψ + Δψ`\n")
    print(
        "| grid | op-by-op ms | op-by-op (• unrolled) ms | fused keep=all ms | fused keep=outputs ms "
        "| ×all | ×outputs | ×outputs vs unrolled |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        t = interleaved(cell_contenders(grid_of(n)), repeats)
        print(
            f"| {n}² | {t['op']:.3f} | {t['op_unrolled']:.3f} | {t['fused_all']:.3f} | {t['fused_out']:.3f} "
            f"| {t['op'] / t['fused_all']:.2f} | {t['op'] / t['fused_out']:.2f} "
            f"| {t['op_unrolled'] / t['fused_out']:.2f} |"
        )

    print(f"\n### Loop `⟲ {args.steps} {{ ψ = ψ + 0.001*Δψ }}`\n")
    print(
        "| grid | Python loop, jitted steps ms | fori_loop ms | fori_loop + attractors ms "
        "| + live progress ms | × | ×tracked | progress overhead |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in args.loop_sizes:
        t = interleaved(loop_contenders(grid_of(n), args.steps), repeats)
        print(
            f"| {n}² | {t['python']:.2f} | {t['fori']:.2f} | {t['fori_tracked']:.2f} | {t['fori_watched']:.2f} "
            f"| {t['python'] / t['fori']:.2f} | {t['python'] / t['fori_tracked']:.2f} "
            f"| {100 * (t['fori_watched'] / t['fori_tracked'] - 1):+.1f}% |"
        )


if __name__ == "__main__":
    main()
