"""`⟲` loops against hand-written loops: periodic heat equation, explicit Euler, the same update everywhere.

    python benchmarks/loops_bench.py [--repeats 5] [--cases 256:1000 1024:100]

Each case is `u ← u + dt·Δu` (5-point Laplacian, periodic, float64) from the same Gaussian, run by:
- NumPy: `np.roll` per step;
- py-pde: its numba-compiled explicit Euler stepper (`pde.DiffusionPDE` on a periodic `CartesianGrid`), if
  py-pde is installed (else the row says so);
- hand-written JAX: one jitted `lax.fori_loop`, two stencils — `jnp.roll`, and `jnp.pad(wrap)` + slices
  — and the faster of the two is the reference (on the CPU the best one differs by size);
- codexlab: the cell `u = ψ` + `⟲ S { u = u + dt*Δu }` through `Lab.run` (whole cell: parse, plan, the
  fused loop, beams, vet, persist), the loop's own time from its beam, and the same loop with attractor
  tracking asked for (`track_attractors=True`) where it is not on by default.
After a warm-up (compilation) every contender runs once per round, interleaved; medians of the rounds.
The final fields must agree (`np.allclose`), else the script fails. Prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from codexlab.runtime import Lab


def numpy_loop(u0: np.ndarray, k: float, steps: int) -> np.ndarray:
    u = u0.copy()
    for _ in range(steps):
        lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
        u = u + k * lap
    return u


def jax_roll(k: float, steps: int) -> Callable[[Any], Any]:
    def step(_: Any, u: Any) -> Any:
        lap = jnp.roll(u, 1, 0) + jnp.roll(u, -1, 0) + jnp.roll(u, 1, 1) + jnp.roll(u, -1, 1) - 4 * u
        return u + k * lap

    return jax.jit(lambda u: jax.lax.fori_loop(0, steps, step, u))


def jax_pad(k: float, steps: int) -> Callable[[Any], Any]:
    def step(_: Any, u: Any) -> Any:
        p = jnp.pad(u, 1, mode="wrap")
        lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u
        return u + k * lap

    return jax.jit(lambda u: jax.lax.fori_loop(0, steps, step, u))


def pypde_solver(u0: np.ndarray, h: float, dt: float, steps: int) -> Callable[[], np.ndarray] | str:
    """py-pde's explicit solver on the same grid, or why there is none."""
    try:
        import pde
    except ImportError:
        return "py-pde is not installed in this environment (`pip install py-pde`)"
    n = u0.shape[0]
    grid = pde.CartesianGrid([[0, n * h], [0, n * h]], [n, n], periodic=True)
    state = pde.ScalarField(grid, u0)
    eq = pde.DiffusionPDE(diffusivity=1.0)

    def run() -> np.ndarray:
        out = eq.solve(state, t_range=steps * dt, dt=dt, solver="euler", tracker=None, adaptive=False)
        return np.asarray(out.data)

    return run


def bench_case(n: int, steps: int, repeats: int) -> tuple[list[tuple[str, float, str]], float]:
    """Rows (name, median ms, note) for one grid size and step count; returns the JAX reference ms too."""
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(home=Path(tmp) / "home", flags={"COST_THRESHOLD": 0.0})
        lab.run(f"@grid x:-1..1:{n}, y:-1..1:{n}\nψ := gaussian(x, y, σ=0.2)")
        grid = lab.memory().grid
        h = float(grid.spacing[0])
        dt = 0.2 * h * h
        k = dt / (h * h)
        u0 = np.asarray(lab.memory().get("ψ").value.data.values, dtype=np.float64)
        cell = f"u = ψ\n⟲ {steps} {{ u = u + {dt!r}*Δu }}"
        tracked_lab = Lab(home=Path(tmp) / "tracked", flags={"COST_THRESHOLD": 0.0})
        tracked_lab.run(f"@grid x:-1..1:{n}, y:-1..1:{n}\nψ := gaussian(x, y, σ=0.2)")
        tracked_lab.configure(None, track_attractors=True)
        untracked_lab = Lab(home=Path(tmp) / "untracked", flags={"COST_THRESHOLD": 0.0})
        untracked_lab.run(f"@grid x:-1..1:{n}, y:-1..1:{n}\nψ := gaussian(x, y, σ=0.2)")
        untracked_lab.configure(None, track_attractors=False)

        loop_ms: dict[str, list[float]] = {"default": [], "tracked": [], "untracked": []}
        finals: dict[str, np.ndarray] = {}

        def codexlab_run(which: str, target: Lab) -> Callable[[], Any]:
            def run() -> Any:
                result = target.run(cell)
                beam = next(b for b in result.beams if b.stage == "loop" and "iterations" in b.result)
                assert beam.result["fused"], beam.result.get("why_not")
                loop_ms[which].append(float(beam.result["duration_ms"]))
                finals[which] = np.asarray(result.values["u"].values)
                return finals[which]

            return run

        ju0 = jnp.asarray(u0)
        roll, pad = jax_roll(k, steps), jax_pad(k, steps)
        contenders: dict[str, Callable[[], Any]] = {
            "NumPy `np.roll`": lambda: numpy_loop(u0, k, steps),
            "JAX `fori_loop`, `jnp.roll`": lambda: roll(ju0).block_until_ready(),
            "JAX `fori_loop`, `jnp.pad(wrap)` + slices": lambda: pad(ju0).block_until_ready(),
            "codexlab `Lab.run` (default)": codexlab_run("default", lab),
            "codexlab, tracking off": codexlab_run("untracked", untracked_lab),
            "codexlab, tracking asked for": codexlab_run("tracked", tracked_lab),
        }
        pypde = pypde_solver(u0, h, dt, steps)
        if not isinstance(pypde, str):
            contenders["py-pde Euler `solve` (numba)"] = pypde
        results: dict[str, Any] = {name: fn() for name, fn in contenders.items()}  # warm-up, and the finals
        for fn in contenders.values():
            fn()
        for values in loop_ms.values():
            values.clear()
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(repeats):
            for name, fn in contenders.items():
                started = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - started) * 1e3)
        reference = np.asarray(results["NumPy `np.roll`"])
        for name, out in results.items():
            assert np.allclose(np.asarray(out), reference, rtol=1e-9, atol=1e-12), f"{name} disagrees with NumPy"
        med = {name: statistics.median(v) for name, v in times.items()}
        best_jax = min(med["JAX `fori_loop`, `jnp.roll`"], med["JAX `fori_loop`, `jnp.pad(wrap)` + slices"])
        rows = [(name, ms, "") for name, ms in med.items()]
        rows.append(("codexlab: the loop beam's own time (default)", statistics.median(loop_ms["default"]), ""))
        if isinstance(pypde, str):
            rows.append(("py-pde", float("nan"), pypde))
        else:
            rows[-2:-1] = []
            rows.append(("py-pde Euler `solve` (numba)", med["py-pde Euler `solve` (numba)"], "compiles per call"))
        return rows, best_jax


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=["256:1000", "1024:100"])
    args = parser.parse_args()
    for case in args.cases:
        n, steps = (int(p) for p in case.split(":"))
        rows, best = bench_case(n, steps, args.repeats)
        print(f"\n### {n}², {steps} steps (medians of {args.repeats}, all final fields agree)\n")
        print("| contender | ms | × best hand-written JAX | note |")
        print("|---|---:|---:|---|")
        for name, ms, note in rows:
            ratio = "" if ms != ms else f"{ms / best:.2f}"
            shown = "—" if ms != ms else f"{ms:.1f}"
            print(f"| {name} | {shown} | {ratio} | {note} |")


if __name__ == "__main__":
    main()
