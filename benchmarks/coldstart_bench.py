"""Cold start: the tour's first `%%codex` cell in a new Jupyter kernel, first ever vs later.

Each sample starts a fresh kernel (a new process, through jupyter_client), runs the tour's setup cell
(`%load_ext codexlab`, a throwaway `CODEXLAB_HOME`) and then times the first `%%codex` cell of
`notebooks/00_tour.ipynb` from execute request to reply, HUD included. "first ever" gives each kernel an
empty cache folder (`CODEXLAB_CACHE_DIR`: JAX compilation cache, Lark tables, κ, rule checks); "later"
reuses one that an earlier kernel filled. A floor from the same run: `import codexlab.runtime` in a fresh
process (jax, xarray, sympy, sqlalchemy), which every first cell pays. Then one warm-cache profile of the
same cell in a plain IPython shell says where the time goes. `%load_ext codexlab` starts importing the
runtime in the background (`codexlab.preload`): the warm-cache rows send the first cell at once with the
preload off and on, and after a reader's pause (`--pause`, 10 s) with it on.
Usage: `python benchmarks/coldstart_bench.py [--repeats N] [--pause S]`. Prints markdown; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "notebooks" / "00_tour.ipynb"


def tour_cells() -> tuple[str, str]:
    """(setup cell, first `%%codex` cell) of the tour."""
    cells = [c for c in json.loads(TOUR.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) for c in cells]
    return sources[0], next(s for s in sources if s.startswith("%%codex"))


def kernel_first_cell_ms(cache: Path, *, pause_s: float = 0.0, preload: bool = True) -> tuple[float, float]:
    """(setup cell ms, first %%codex cell ms) in a new kernel whose cache folder is `cache`; the first cell
    is sent `pause_s` after the setup cell's reply (a reader's pause), with or without the preload."""
    from jupyter_client.manager import KernelManager

    setup, first = tour_cells()
    env = {**os.environ, "CODEXLAB_CACHE_DIR": str(cache), "CODEXLAB_PRELOAD": "1" if preload else "0"}
    env.pop("CODEXLAB_HOME", None)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=tempfile.mkdtemp(prefix="cx-coldstart-"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        times = []
        for code in (setup, first):
            if code is first:
                time.sleep(pause_s)
            start = time.perf_counter()
            reply = kc.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
            times.append((time.perf_counter() - start) * 1e3)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"the cell failed in the kernel: {reply['content']}")
        return times[0], times[1]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def import_floor_ms() -> float:
    """`import codexlab.runtime` in a fresh process (the imports a first cell cannot skip)."""
    code = "import time; t = time.perf_counter(); import codexlab.runtime; print((time.perf_counter() - t) * 1e3)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


_PROFILE = """
import cProfile, os, sys, tempfile
os.environ["CODEXLAB_HOME"] = tempfile.mkdtemp(prefix="cx-coldstart-")
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("%load_ext codexlab")
cell = open(sys.argv[1], encoding="utf-8").read()
profile = cProfile.Profile()
profile.enable()
result = shell.run_cell(cell)
profile.disable()
profile.dump_stats(sys.argv[2])
assert result.error_in_exec is None, result.error_in_exec
"""

# (label, cProfile function-name fragments whose cumulative time is that bucket)
BUCKETS = [
    ("imports (first use of runtime, jax, xarray, sympy …)", ["codexlab/runtime/__init__.py:1(<module>)"]),
    ("JAX: tracing and lowering to HLO", ["pxla.py:954(lower_sharding_computation)"]),
    ("JAX: XLA compile or cache load", ["compiler.py:387(compile_or_get_cached)"]),
    ("exact forms put on the grid (SymPy → JAX)", ["ongrid.py:", "(exact_field)"]),
    ("Photon rule soundness checks", ["ruleset.py:", "(verify)"]),
    ("CodexLang parser tables", ["parser.py:", "(codexlang_parser)"]),
    ("vault snapshots (Zarr)", ["vault.py:", "(save)"]),
]


def profile_buckets(cache: Path, cell: str) -> tuple[float, list[tuple[str, float]]]:
    """The first cell's total ms in a warm-cache process, and the ms of each bucket (they may overlap)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, prof = Path(tmp) / "cell.txt", Path(tmp) / "cell.prof"
        src.write_text(cell, encoding="utf-8")
        env = {**os.environ, "CODEXLAB_CACHE_DIR": str(cache)}
        cmd = [sys.executable, "-c", _PROFILE, str(src), str(prof)]
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        stats = pstats.Stats(str(prof))
    table = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in table.values()) * 1e3
    rows = []
    for label, parts in BUCKETS:
        ms = max(
            (
                ct
                for (file, line, fn), (_, _, _, ct, _) in table.items()
                if all(p in f"{file}:{line}({fn})" for p in parts)
            ),
            default=0.0,
        )
        rows.append((label, ms * 1e3))
    return total, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pause", type=float, default=10.0, help="a reader's pause before the first cell (s)")
    args = parser.parse_args()
    load = os.getloadavg()
    warm = Path(tempfile.mkdtemp(prefix="cx-coldstart-cache-"))
    kernel_first_cell_ms(warm)  # fills the shared cache: every later kernel finds it warm
    first_ever, later, later_off, read, setups = [], [], [], [], []
    for _ in range(args.repeats):
        setup_ms, cell_ms = kernel_first_cell_ms(Path(tempfile.mkdtemp(prefix="cx-coldstart-empty-")))
        first_ever.append(cell_ms)
        setups.append(setup_ms)
        later.append(kernel_first_cell_ms(warm)[1])
        later_off.append(kernel_first_cell_ms(warm, preload=False)[1])
        read.append(kernel_first_cell_ms(warm, pause_s=args.pause)[1])
    floor = [import_floor_ms() for _ in range(args.repeats)]
    med = statistics.median
    print(f"## Cold start, the tour's first `%%codex` cell in a new kernel (load average {load[0]:.1f})\n")
    print(
        f"{args.repeats} kernels each, median (min … max) ms; setup cell (`%load_ext codexlab`): {med(setups):.0f} ms\n"
    )
    print("| caches | first `%%codex` cell | × import floor |")
    print("|---|---:|---:|")
    rows = (
        ("first ever (empty cache folder), sent at once", first_ever),
        ("later (warm caches), preload off, sent at once", later_off),
        ("later (warm caches), sent at once", later),
        (f"later (warm caches), sent {args.pause:g} s after the setup cell", read),
    )
    for label, xs in rows:
        print(f"| {label} | {med(xs):.0f} ({min(xs):.0f} … {max(xs):.0f}) | {med(xs) / med(floor):.2f} |")
    spread = f"{med(floor):.0f} ({min(floor):.0f} … {max(floor):.0f})"
    print(f"| floor: `import codexlab.runtime`, fresh process | {spread} | 1.00 |")
    print(f"\nlater ÷ first ever: {med(later) / med(first_ever):.2f}\n", flush=True)
    total, buckets = profile_buckets(warm, tour_cells()[1])
    print(f"### Where a warm-cache first cell spends its time (cProfile, one run: {total:.0f} ms with profiling)\n")
    print("| part | ms | share |")
    print("|---|---:|---:|")
    for label, ms in buckets:
        print(f"| {label} | {ms:.0f} | {ms / total:.0%} |")


if __name__ == "__main__":
    main()
