"""Single operators through the `.cx` accessor at 512² against py-pde's operator calls, in one run.

    python benchmarks/accessor_bench.py [--n 512] [--repeats 300]

What a user calls on a field they hold: `da.cx.lap()`, `da.cx.grad()`, `F.cx.div()` (DataArray in,
DataArray out: grid from the coordinates, kernel, result wrapped with coordinates and units) beside
py-pde's `field.laplace("periodic")`, `field.gradient("periodic")`, `vector.divergence("periodic")`
(field in, field out) and py-pde's bare compiled operator into a preallocated array (its floor), plus
codexlab's kernel alone on the NumPy values. Periodic, float64, one thread each; medians in ms after a
warm-up (compilation and backend measurement). Prints markdown; asserts that codexlab and py-pde agree.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

import codexlab  # noqa: F401  (registers `.cx`)
from codexlab.qwave import kernels as K


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    n = args.n
    x = np.linspace(-1.0, 1.0, n, endpoint=False)
    values = np.exp(-(x[:, None] ** 2 + 2 * x[None, :] ** 2) / 0.08)
    da = xr.DataArray(values, dims=("x", "y"), coords={"x": x, "y": x}, name="ψ")
    F = da.cx.grad()
    axes = K.axis_specs(da.cx.grid())
    rows: list[tuple[str, float, float | None, float | None, float | None]] = []
    try:
        import pde
    except ImportError:
        pde = None
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], str, str]] = [
        ("Δ", lambda: da.cx.lap(), lambda: K.lap(values, axes), "laplace", "scalar"),
        ("∇", lambda: da.cx.grad(), lambda: K.grad(values, axes), "gradient", "scalar"),
        ("∇·", lambda: F.cx.div(), lambda: K.div(F.values, axes), "divergence", "vector"),
    ]
    for glyph, cx_call, kernel_call, pde_op, kind in cases:
        cx = median_ms(cx_call, args.repeats)
        kern = median_ms(kernel_call, args.repeats)
        pde_field = pde_bare = None
        if pde is not None:
            grid = pde.CartesianGrid([[-1.0, 1.0], [-1.0, 1.0]], [n, n], periodic=True)
            field = pde.ScalarField(grid, values) if kind == "scalar" else pde.VectorField(grid, F.values)
            method = getattr(field, pde_op)
            got = np.asarray(method("periodic").data)
            assert np.allclose(got, np.asarray(cx_call().values), rtol=1e-9, atol=1e-9), f"{glyph} disagrees"
            pde_field = median_ms(lambda method=method: method("periodic"), args.repeats)
            op = grid.make_operator(pde_op, bc="periodic")
            out = np.empty_like(got)
            pde_bare = median_ms(lambda op=op, out=out, field=field: op(field.data, out=out), args.repeats)
        rows.append((glyph, cx, kern, pde_field, pde_bare))
    print(f"### Single ops at {n}², float64, medians of {args.repeats} (ms)\n")
    if pde is None:
        print("py-pde is not installed here: its columns are empty (`pip install py-pde`).\n")
    print("| op | `da.cx.…()` | codexlab kernel alone | py-pde field call | py-pde bare operator | cx ÷ py-pde field |")
    print("|---|---:|---:|---:|---:|---:|")
    for glyph, cx, kern, pf, pb in rows:
        show = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        ratio = "—" if pf is None else f"{cx / pf:.2f}"
        print(f"| {glyph} | {cx:.3f} | {show(kern)} | {show(pf)} | {show(pb)} | {ratio} |")


if __name__ == "__main__":
    main()
