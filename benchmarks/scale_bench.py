"""Scale-out costs, measured in one run on this machine:

- a sweep of 32 points of a 256² heat scroll, serial (one local thread) vs two local threads vs a
  `LocalCluster` of two worker processes: wall time and parallel efficiency T_serial / (2 · T_parallel);
- per-point overhead of a sweep point beside a bare Dask task running the same JAX update (`_scale_task`)
  on the same two workers, in the same run;
- the Laplacian of an 8192² float64 field chunked (2048² chunks, `map_overlap`, Dask's threads) vs in memory.

Prints markdown tables. Usage: `python benchmarks/scale_bench.py [--points-per-axis 8 4] [--size 256]
[--steps 200] [--field 8192] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

HERE = Path(__file__).resolve().parent
T = TypeVar("T")

SCROLL = """@grid x:-1..1:{n}, y:-1..1:{n}, bc=dirichlet
u := gaussian(x, y, σ=s)
⟲ {steps} {{ u = u + dt*Δu }}
m = ‖u‖
"""


def _params(per_axis: tuple[int, int]) -> dict[str, list[float]]:
    return {
        "s": [round(0.1 + 0.02 * i, 4) for i in range(per_axis[0])],
        "dt": [round(1e-6 * (j + 1), 9) for j in range(per_axis[1])],
    }


def _timed(fn: Callable[..., T], *args: Any, **kw: Any) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - start, out


def bench_sweeps(args: argparse.Namespace, home: Path) -> list[tuple[str, float, float, str]]:
    """Rows (label, wall s, s per point, note) for serial, 2 threads, 2 workers, bare tasks."""
    from distributed import Client

    from codexlab.runtime import Lab
    from codexlab.scale import local_cluster

    sys.path.insert(0, str(HERE))
    import _scale_task

    scroll = SCROLL.format(n=args.size, steps=args.steps)
    params = _params(tuple(args.points_per_axis))
    count = len(params["s"]) * len(params["dt"])
    lab = Lab(home=home)
    lab.progress = False
    warm = {"s": params["s"][:2], "dt": params["dt"][:2]}
    lab.sweep(scroll, warm, threads=1)  # compile in this process
    serial, ds = _timed(lab.sweep, scroll, params, threads=1)
    threads, _ = _timed(lab.sweep, scroll, params, threads=2)
    _scale_task.heat_point(params["s"][0], params["dt"][0], args.size, args.steps)  # compile
    bare_serial, _ = _timed(
        lambda: [_scale_task.heat_point(s, dt, args.size, args.steps) for s in params["s"] for dt in params["dt"]]
    )
    rows = [
        (f"sweep, serial (1 thread), {count} points", serial, serial / count, "commit included"),
        ("sweep, 2 local threads", threads, threads / count, f"efficiency {serial / (2 * threads):.2f}"),
        ("bare JAX function, serial, same points", bare_serial, bare_serial / count, "no pipeline"),
    ]
    cluster = local_cluster(2, dashboard_address=None)
    with Client(cluster) as client:
        client.upload_file(str(HERE / "_scale_task.py"))
        lab.sweep(scroll, {"s": params["s"][:2], "dt": params["dt"][:2]}, client)  # compile on both workers
        dask2, dsd = _timed(lab.sweep, scroll, params, client)
        assert np.array_equal(dsd.u.values, ds.u.values), "the workers' fields differ from the serial ones"
        points = [(s, dt) for s in params["s"] for dt in params["dt"]]

        def bare() -> list[float]:
            futures = [
                client.submit(_scale_task.heat_point, s, dt, args.size, args.steps, pure=False) for s, dt in points
            ]
            return client.gather(futures)

        bare()  # compile on both workers
        bare_dask, _ = _timed(bare)
    cluster.close()
    rows += [
        ("sweep, LocalCluster 2 workers", dask2, dask2 / count, f"efficiency {serial / (2 * dask2):.2f}"),
        (
            "bare Dask task, 2 workers, same points",
            bare_dask,
            bare_dask / count,
            f"efficiency {bare_serial / (2 * bare_dask):.2f}",
        ),
        (
            "per-point overhead on the cluster (worker-s)",
            2 * (dask2 - bare_dask) / count,
            float("nan"),
            "2·(sweep − bare)/points",
        ),
        (
            "per-point overhead in process (s)",
            (serial - bare_serial) / count,
            float("nan"),
            "(serial sweep − bare)/points",
        ),
    ]
    return rows


def bench_chunked(args: argparse.Namespace) -> list[tuple[str, float, str]]:
    """Rows (label, median s, note) for the in-memory and the chunked Laplacian of one big field."""
    import dask

    from codexlab.qwave.fields import make_field
    from codexlab.qwave.grid import Grid

    n = args.field
    grid = Grid.from_spec([("x", 0.0, 1.0, n), ("y", 0.0, 1.0, n)], "dirichlet")
    f = make_field(np.random.default_rng(0).standard_normal((n, n)), grid, name="f", with_id=False)
    chunked = f.chunk({"x": args.chunk, "y": args.chunk})
    eager_times, lazy_times = [], []
    f.isel(x=slice(0, 2 * args.chunk), y=slice(0, 2 * args.chunk)).chunk(args.chunk).cx.lap().compute()  # compile
    for _ in range(args.repeats):
        t, eager = _timed(lambda: f.cx.lap().values)
        eager_times.append(t)
        del eager
        with dask.config.set(scheduler="threads", num_workers=2):
            t, lazy = _timed(lambda: chunked.cx.lap().values)
        lazy_times.append(t)
        del lazy
    eager = f.cx.lap().values
    with dask.config.set(scheduler="threads", num_workers=2):
        lazy = chunked.cx.lap().values
    scale = float(np.max(np.abs(eager)))
    diff = float(np.max(np.abs(lazy - eager))) / scale
    differ = int(np.count_nonzero(lazy != eager))
    e, c = statistics.median(eager_times), statistics.median(lazy_times)
    chunks = (n // args.chunk) ** 2
    return [
        (f"in memory, {n}² float64", e, "one jitted kernel"),
        (f"chunked, {chunks} chunks of {args.chunk}², 2 threads", c, f"{c / e:.2f}× the in-memory time"),
        ("chunked vs in memory", diff, f"max |Δ| / max |Δf|; {differ} of {n * n} points differ in their last bits"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points-per-axis", type=int, nargs=2, default=[8, 4])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--field", type=int, default=8192)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sweeps = bench_sweeps(args, Path(tmp) / "home")
    print(f"\n### Sweep of a {args.size}² heat scroll ({args.steps} steps per point)\n")
    print("| measurement | wall s | s per point | note |\n|---|---:|---:|---|")
    for label, wall, per, note in sweeps:
        per_text = "" if per != per else f"{per:.3f}"
        print(f"| {label} | {wall:.3f} | {per_text} | {note} |")
    chunked = bench_chunked(args)
    print(f"\n### Laplacian of a {args.field}² field (median of {args.repeats})\n")
    print("| measurement | value | note |\n|---|---:|---|")
    for label, value, note in chunked:
        print(f"| {label} | {value:.3g} | {note} |")


if __name__ == "__main__":
    main()
