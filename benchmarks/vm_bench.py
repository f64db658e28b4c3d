"""The scroll VM's hooks, measured in one run on this machine, on an N² heat loop:

- the same cell run plainly (its loop fused into one lax loop), under the instruction profiler (the loop
  op by op, every instruction timed) and under a debugger continued to the end (op by op, paused nowhere):
  whole-run wall time, best of `--repeats`, and each as a ratio to the plain run;
- the profiler's accounting: the instructions' summed time against the execute stage (same clock);
- the profile table of the last profiled run.

Prints markdown. Usage: `python benchmarks/vm_bench.py [--size 256] [--steps 100] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from typing import Any

SCROLL = """@grid x:0..1:{n}, y:0..1:{n}
u = exp(-((x - 0.5)^2 + (y - 0.5)^2) / 0.02)
⟲ {steps} {{ u = u + 0.00001*Δu }}
"""


def _best(fn: Callable[[int], Any], repeats: int) -> float:
    times = []
    for k in range(repeats):
        started = time.perf_counter()
        fn(k)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from codexlab.runtime import Lab

    code = SCROLL.format(n=args.size, steps=args.steps)
    with tempfile.TemporaryDirectory(prefix="codexlab-vm-bench-") as home:
        lab = Lab(home=home)
        lab.progress = False
        lab.run(code, "warm")
        lab.profile(code, "warm2")
        profiles: list[Any] = []

        def debugged(k: int) -> None:
            debugger = lab.debug(code, f"d{k}", stop_on_nonfinite=False)
            assert debugger.cont().reason == "finished"

        plain = _best(lambda k: lab.run(code, f"p{k}"), args.repeats)
        profiled = _best(lambda k: profiles.append(lab.profile(code, f"q{k}")), args.repeats)
        debug = _best(debugged, args.repeats)
    print(f"## VM hooks: {args.size}² heat loop, {args.steps} iterations, best of {args.repeats}\n")
    print("| run | wall ms | ratio to plain |\n|---|---:|---:|")
    for label, t in (("plain (fused loop)", plain), ("instruction profiler", profiled), ("debugger, cont", debug)):
        print(f"| {label} | {t * 1e3:.1f} | {t / plain:.2f} |")
    last = profiles[-1]
    print(
        f"\ninstructions {last.total_s * 1e3:.1f} ms of an execute stage of {last.execute_s * 1e3:.1f} ms "
        f"({last.total_s / last.execute_s:.1%})\n"
    )
    print("```\n" + last.table(limit=6) + "\n```")


if __name__ == "__main__":
    main()
