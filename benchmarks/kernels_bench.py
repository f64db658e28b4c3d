"""Differential kernels side by side: codexlab vs NumPy (np.roll), py-pde (numba operators) and findiff.

    .venv/bin/python benchmarks/kernels_bench.py [--sizes 512 2048] [--repeats 15] [--quick]

∇, Δ, □, ∇·, ∇× of 2-D periodic fields (□ on an (x, t) grid) in float32 and float64, all in one
process, one thread each: NUMBA_NUM_THREADS=1, OMP/BLAS threads 1, XLA's Eigen pool off, and the
process pinned to one CPU core (so no library can use more than one core, whatever its pools do).
Each repeat runs every contender once, interleaved, so machine noise spreads evenly; medians in ms.
The memory floor is the time to stream the op's inputs and outputs once at the measured `np.copyto`
bandwidth (512 MiB). Peak memory: the peak-RSS growth of one 2048² float64 Δ in a fresh subprocess
after a warm-up call (`/proc/self/clear_refs` resets the peak). Prints markdown tables; asserts nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()

import argparse  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

import codexlab.qwave  # noqa: E402,F401  (x64, accessor)
from codexlab.qwave import backends  # noqa: E402
from codexlab.qwave import kernels as K  # noqa: E402
from codexlab.qwave import operators as ops  # noqa: E402
from codexlab.qwave.fields import make_field  # noqa: E402
from codexlab.qwave.grid import Grid  # noqa: E402

OPS = ("grad", "lap", "dalembert", "div", "curl")
GLYPH = {"grad": "∇", "lap": "Δ", "dalembert": "□", "div": "∇·", "curl": "∇×"}
# Arrays of N² streamed per op: inputs + outputs.
STREAMS = {"grad": 3, "lap": 2, "dalembert": 2, "div": 3, "curl": 3}
L = 2 * np.pi


def pin_one_core() -> str:
    """Pin this process to one CPU so every library runs on one core."""
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    return "not pinned (no sched_setaffinity)"


def copy_bandwidth(mib: int = 512, repeats: int = 5) -> float:
    """Bytes per second of np.copyto over `mib` MiB (read + write counted)."""
    src = np.ones(mib * 2**20 // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return 2 * src.nbytes / float(np.median(times))


def block(x: Any) -> Any:
    return jax.block_until_ready(x)


def measure(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median ms per contender; two warm-up calls each, then interleaved repeats."""
    for fn in contenders.values():
        block(fn())
        block(fn())
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            block(fn())
            times[name].append(time.perf_counter() - t0)
    return {k: 1e3 * float(np.median(v)) for k, v in times.items()}


# ------------------------------------------------------------------------------ NumPy references


def np_d1(u: np.ndarray, axis: int, h: float) -> np.ndarray:
    return (np.roll(u, -1, axis) - np.roll(u, 1, axis)) * (0.5 / h)


def np_d2(u: np.ndarray, axis: int, h: float) -> np.ndarray:
    return ((np.roll(u, 1, axis) - 2 * u) + np.roll(u, -1, axis)) * (1.0 / h**2)


def numpy_ops(h: float) -> dict[str, Callable[..., Any]]:
    return {
        "grad": lambda u: np.stack([np_d1(u, 0, h), np_d1(u, 1, h)]),
        "lap": lambda u: np_d2(u, 0, h) + np_d2(u, 1, h),
        "dalembert": lambda u: np_d2(u, 1, h) - np_d2(u, 0, h),
        "div": lambda F: np_d1(F[0], 0, h) + np_d1(F[1], 1, h),
        "curl": lambda F: np_d1(F[1], 0, h) - np_d1(F[0], 1, h),
    }


def pypde_ops(n: int) -> dict[str, Callable[..., Any]]:
    """py-pde numba operators on a periodic CartesianGrid; 2-D curl and □ composed from d_dx/d_dy."""
    import pde

    g = pde.CartesianGrid([[0, L], [0, L]], [n, n], periodic=True)
    make = {
        name: g.make_operator(name, bc="periodic", backend="numba")
        for name in ("laplace", "gradient", "divergence", "d_dx", "d_dy", "d2_dx2", "d2_dy2")
    }
    return {
        "grad": make["gradient"],
        "lap": make["laplace"],
        "dalembert": lambda u: make["d2_dy2"](u) - make["d2_dx2"](u),
        "div": make["divergence"],
        "curl": lambda F: make["d_dx"](F[1]) - make["d_dy"](F[0]),
    }


def findiff_ops(h: float) -> dict[str, Callable[..., Any]]:
    import findiff

    dx, dy = findiff.Diff(0, h, periodic=True), findiff.Diff(1, h, periodic=True)
    lap, box = dx**2 + dy**2, dy**2 - dx**2
    return {
        "grad": lambda u: np.stack([dx(u), dy(u)]),
        "lap": lap,
        "dalembert": box,
        "div": lambda F: dx(F[0]) + dy(F[1]),
        "curl": lambda F: dx(F[1]) - dy(F[0]),
    }


# -------------------------------------------------------------------------------------- codexlab


def grids(n: int) -> tuple[Grid, Grid]:
    return (
        Grid.from_spec([("x", 0, L, n), ("y", 0, L, n)]),
        Grid.from_spec([("x", 0, L, n), ("t", 0, L, n)]),
    )


def codexlab_ops(n: int, backend: str | None) -> dict[str, Callable[..., Any]]:
    g, gt = grids(n)
    ax, axt = K.axis_specs(g), K.axis_specs(gt)
    numba_ok = backend != "numba"
    out: dict[str, Callable[..., Any]] = {
        "lap": lambda u: K.lap(u, ax, backend=backend),
        "dalembert": lambda u: K.dalembert(u, axt, backend=backend),
    }
    if numba_ok:
        out.update(
            grad=lambda u: K.grad(u, ax, backend=backend),
            div=lambda F: K.div(F, ax, backend=backend),
            curl=lambda F: K.curl(F, ax, backend=backend),
        )
    return out


def inputs(n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """A smooth field and a vector field, as codexlab stores them (aligned, via make_field)."""
    g, _ = grids(n)
    X, Y = g.mesh()
    u = make_field((np.sin(X) * np.cos(2 * Y)).astype(dtype), g).values
    F = make_field(np.stack([np.sin(Y), np.cos(X) * np.sin(Y)]).astype(dtype), g).values
    return u, F


def run_tables(sizes: list[int], repeats: int, bandwidth: float) -> list[dict[str, Any]]:
    """Every op, size and dtype on the CPU: codexlab (selected, JAX, numba, DataArray API) and peers."""
    rows = []
    for n in sizes:
        h = L / n
        peers = {"numpy": numpy_ops(h), "py-pde": pypde_ops(n), "findiff": findiff_ops(h)}
        mine = {
            "codexlab": codexlab_ops(n, None),
            "cx-jax": codexlab_ops(n, "jax"),
            "cx-numba": codexlab_ops(n, "numba"),
        }
        for dtype in (np.float32, np.float64):
            u, F = inputs(n, dtype)
            field = make_field(u, grids(n)[0])
            for op in OPS:
                arg = F if op in ("div", "curl") else u
                contenders = {}
                for name, table in {**mine, **peers}.items():
                    if op in table:
                        contenders[name] = functools.partial(table[op], arg)
                if op == "lap":
                    contenders["cx-DataArray"] = functools.partial(ops.lap, field)
                ms = measure(contenders, repeats)
                floor = 1e3 * STREAMS[op] * np.dtype(dtype).itemsize * n * n / bandwidth
                row = {"op": op, "n": n, "dtype": np.dtype(dtype).name, "floor": floor, "ms": ms}
                print_row(row)
                rows.append(row)
    return rows


def device_bandwidth(mib: int = 512, repeats: int = 10) -> float:
    """Bytes per second of a jitted `2·x` over `mib` MiB on the JAX device (read + write)."""
    x = jax.device_put(np.ones(mib * 2**20 // 8))
    double = jax.jit(lambda a: a * 2)
    ms = measure({"copy": lambda: double(x)}, repeats)["copy"]
    return 2 * x.nbytes / (ms / 1e3)


def run_device_tables(sizes: list[int], repeats: int, bandwidth: float) -> None:
    """codexlab's JAX kernels on an accelerator, inputs already on the device."""
    print("| op | N² | dtype | floor | codexlab | cx/floor |\n|---|---|---|---|---|---|")
    for n in sizes:
        table = codexlab_ops(n, None)
        for dtype in (np.float32, np.float64):
            u, F = (jax.device_put(a) for a in inputs(n, dtype))
            for op in OPS:
                arg = F if op in ("div", "curl") else u
                ms = measure({"cx": functools.partial(table[op], arg)}, repeats)["cx"]
                floor = 1e3 * STREAMS[op] * np.dtype(dtype).itemsize * n * n / bandwidth
                name = np.dtype(dtype).name
                print(f"| {GLYPH[op]} | {n}² | {name} | {fmt(floor)} | {fmt(ms)} | {ms / floor:.2f} |")


#: The backend `backends.select` picked, per (op, dtype, n), recorded as the calls are made.
_PICKS: dict[tuple[str, str, int], str] = {}
_select = backends.select


def _recording_select(op: str, u: Any, axes: Any, method: str, backend: str | None = None, **kw: Any) -> Any:
    chosen = _select(op, u, axes, method, backend, **kw)
    _PICKS[(op, str(u.dtype), int(np.shape(u)[-1]))] = chosen.name
    return chosen


backends.select = _recording_select  # the bench reports the picks; the rule is untouched


def chosen_backends() -> dict[tuple[str, str, int], str]:
    """Which backend the selection rule picked, per (op, dtype, n)."""
    return dict(_PICKS)


def fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


COLUMNS = ["codexlab", "cx-jax", "cx-numba", "cx-DataArray", "numpy", "py-pde", "findiff"]


def print_header() -> None:
    print("| op | N² | dtype | floor | " + " | ".join(COLUMNS) + " | cx/floor | cx/py-pde | cx picks |")
    print("|---|---|---|---|" + "---|" * len(COLUMNS) + "---|---|---|", flush=True)


def print_row(r: dict[str, Any]) -> None:
    """One table row, printed as soon as it is measured."""
    ms = r["ms"]
    cx, pp = ms["codexlab"], ms.get("py-pde")
    pick = chosen_backends().get((r["op"], r["dtype"], r["n"]), "jax")
    cells = [fmt(ms.get(c)) for c in COLUMNS]
    ratio = f"{cx / pp:.2f}" if pp else "—"
    print(
        f"| {GLYPH[r['op']]} | {r['n']}² | {r['dtype']} | {fmt(r['floor'])} | "
        + " | ".join(cells)
        + f" | {cx / r['floor']:.2f} | {ratio} | {pick} |",
        flush=True,
    )


# ---------------------------------------------------------------------------------- peak memory


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_child(which: str) -> None:
    """In a fresh process: warm up one 2048² float64 Δ, then print the peak-RSS growth of one more."""
    n = 2048
    u, _ = inputs(n, np.float64)
    g, _ = grids(n)
    ax = K.axis_specs(g)
    fns: dict[str, Callable[[], Any]] = {
        "codexlab": lambda: K.lap(u, ax),
        "cx-jax": lambda: K.lap(u, ax, backend="jax"),
        "cx-numba": lambda: K.lap(u, ax, backend="numba"),
        "numpy": lambda: numpy_ops(L / n)["lap"](u),
        "py-pde": (lambda op: lambda: op(u))(pypde_ops(n)["lap"]),
        "findiff": (lambda op: lambda: op(u))(findiff_ops(L / n)["lap"]),
    }
    fn = fns[which]
    for _ in range(2):
        block(fn())
    gc.collect()
    base = _rss_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    out = block(fn())
    peak = _rss_kib("VmHWM")
    growth, out_mib = (peak - base) / 1024, np.asarray(out).nbytes / 2**20
    print(json.dumps({"which": which, "growth_mib": growth, "out_mib": out_mib}))


def peak_memory() -> list[dict[str, Any]]:
    results = []
    for which in ("codexlab", "cx-jax", "cx-numba", "numpy", "py-pde", "findiff"):
        proc = subprocess.run(
            [sys.executable, __file__, "--peak-child", which], capture_output=True, text=True, check=False
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            results.append({"which": which, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(lines[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--peak-child", default=None)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    pinned = pin_one_core()
    if args.peak_child:
        peak_child(args.peak_child)
        return
    if jax.default_backend() != "cpu":
        bw = device_bandwidth()
        print(f"device: {jax.devices()[0].device_kind}; copy bandwidth {bw / 1e9:.0f} GB/s; medians in ms\n")
        run_device_tables(args.sizes, args.repeats, bw)
        return
    bw = copy_bandwidth()
    print(
        f"device: {jax.default_backend()}, {pinned}, numba threads {os.environ['NUMBA_NUM_THREADS']}, "
        f"XLA_FLAGS={os.environ['XLA_FLAGS']!r}"
    )
    print(f"copy bandwidth (np.copyto 512 MiB): {bw / 1e9:.1f} GB/s; repeats {args.repeats}, medians in ms\n")
    print_header()
    run_tables(args.sizes, args.repeats, bw)
    if not args.no_memory:
        print("\nPeak-RSS growth of one 2048² float64 Δ after warm-up (field 32 MiB, target < 128 MiB):\n")
        print("| contender | growth MiB | output MiB |\n|---|---|---|")
        for r in peak_memory():
            if "error" in r:
                print(f"| {r['which']} | error: {r['error']} | — |")
            else:
                print(f"| {r['which']} | {r['growth_mib']:.1f} | {r['out_mib']:.0f} |")


if __name__ == "__main__":
    main()
