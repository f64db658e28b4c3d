"""The instruction profiler: where a cell's execution time goes, per instruction of its program.

A hook of the one machine (`Machine.on_instruction`): the time from one instruction's hook call to the
next is that instruction's (vetting and beam recording included: they are part of what it costs), so
the instructions' times add up to the machine's run. Work per execution comes from the op's spec
(`CodexCostEstimator.work`: FLOPs and bytes per point), achieved GB/s is set beside the machine's copy
bandwidth (a NumPy copy, measured once per process). Timings are reports: nothing decides on them.
Under the hook loops run op by op, as the debugger sees them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .cost import CodexCostEstimator
from .dispatch import op_extent
from .program import Instruction, Op, Place, Statement

if TYPE_CHECKING:
    from .lab import Lab
    from .machine import Machine
    from .run import Run
    from .values import Value

__all__ = ["InstructionStats", "InstructionProfile", "InstructionProfiler", "copy_bandwidth", "profile_cell"]


@functools.cache
def copy_bandwidth() -> float:
    """This machine's memory bandwidth in bytes/s: the best of five NumPy copies of 32 MiB (read + write)."""
    src = np.ones(4 << 20)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * src.nbytes / best


@dataclass
class InstructionStats:
    """One instruction's totals over the run."""

    instruction: Instruction
    count: int = 0
    seconds: float = 0.0
    flops: float = 0.0
    bytes: float = 0.0

    @property
    def mean_s(self) -> float:
        return self.seconds / self.count if self.count else 0.0

    @property
    def gb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e9 if self.seconds > 0 else 0.0


@dataclass
class InstructionProfile:
    """A run's per-instruction profile: `stats` by address, the machine's time and the execute stage's."""

    stats: dict[int, InstructionStats] = field(default_factory=dict)
    #: Seconds from the first instruction to the machine's halt (the sum of the instructions' times).
    machine_s: float = 0.0
    #: Seconds of the pipeline's execute stage (the same clock; includes setting the machine up).
    execute_s: float = 0.0
    run: Run | None = None

    @property
    def total_s(self) -> float:
        return sum(s.seconds for s in self.stats.values())

    def rows(self) -> list[dict[str, Any]]:
        """One dict per instruction, slowest first (as the table prints them)."""
        copy = copy_bandwidth() / 1e9
        out = []
        for s in sorted(self.stats.values(), key=lambda s: -s.seconds):
            ins = s.instruction
            out.append(
                {
                    "ip": ins.ip,
                    "line": ins.line,
                    "opcode": ins.opcode,
                    "instruction": ins.operation,
                    "count": s.count,
                    "total_ms": s.seconds * 1e3,
                    "mean_us": s.mean_s * 1e6,
                    "mflop": s.flops / 1e6,
                    "mbytes": s.bytes / 1e6,
                    "gb_per_s": s.gb_per_s,
                    "copy_gb_per_s": copy,
                }
            )
        return out

    def table(self, limit: int | None = None) -> str:
        """The profile as text, like `%prun`: slowest instructions first."""
        rows = self.rows()[:limit]
        copy = copy_bandwidth() / 1e9
        head = (
            f"{sum(s.count for s in self.stats.values())} instructions executed in {self.total_s * 1e3:.3f} ms "
            f"(execute stage {self.execute_s * 1e3:.3f} ms); NumPy copy bandwidth {copy:.1f} GB/s"
        )
        cols = f"{'ip':>5} {'line':>4} {'opcode':<9}{'count':>7} {'total ms':>10} {'mean µs':>10} "
        cols += f"{'MFLOP':>9} {'MB':>9} {'GB/s':>7} {'% copy':>6}  instruction"
        lines = [head, "", cols]
        for r in rows:
            share = 100 * r["gb_per_s"] / copy if copy else 0.0
            lines.append(
                f"{r['ip']:>5} {r['line']:>4} {r['opcode']:<9}{r['count']:>7} {r['total_ms']:>10.3f} "
                f"{r['mean_us']:>10.1f} {r['mflop']:>9.3f} {r['mbytes']:>9.3f} {r['gb_per_s']:>7.2f} "
                f"{share:>6.1f}  {r['instruction']}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


class InstructionProfiler:
    """The hook that fills an `InstructionProfile` (pass `profiler.hook` as `on_instruction`)."""

    def __init__(self) -> None:
        self.profile = InstructionProfile()
        self._pending: InstructionStats | None = None
        self._since = 0.0
        self._first = 0.0
        self.run_id: str | None = None

    def hook(self, machine: Machine, code: Statement | None, at: Place, registers: Mapping[str, Value] | None) -> None:
        now = time.perf_counter()
        if self.run_id is None:
            self.run_id, self._first = machine.run_id, now
        if self._pending is not None:
            self._pending.seconds += now - self._since
        if code is None or machine.program is None:  # the halt: the machine's last instruction ran
            self._pending = None
            self.profile.machine_s = now - self._first
            return
        ins = machine.program.locate(code.index, at)
        if ins is None:  # a place outside the program (a goal's evaluation): its time stays with the last
            self._since = now
            return
        stats = self.profile.stats.get(ins.ip)
        if stats is None:
            stats = self.profile.stats[ins.ip] = InstructionStats(ins)
        stats.count += 1
        flops, nbytes = _work(machine, code, at)
        stats.flops += flops
        stats.bytes += nbytes
        self._pending = stats
        self._since = time.perf_counter()


def _work(machine: Machine, code: Statement, at: Place) -> tuple[float, float]:
    """FLOPs and bytes of the op (or fused group's ops) at `at`, from their specs; 0 for other instructions."""
    if at[0] == "op":
        ops = [o for o in code.ops if o.reg == at[1]]
    elif at[0] == "group":
        ops = [o for o in code.ops if o.group == at[1]]
    else:
        return 0.0, 0.0
    regs = code.registers()
    flops = nbytes = 0.0
    for op in ops:
        f, b = _op_work(machine, op, [regs[a].kind for a in op.args])
        flops, nbytes = flops + f, nbytes + b
    return flops, nbytes


def _op_work(machine: Machine, op: Op, operand_kinds: list[str]) -> tuple[float, float]:
    points, components = op_extent(machine.memory.grid, op.kind, operand_kinds)
    return CodexCostEstimator.work(op.key, op.path, points, components, op.size)


def profile_cell(
    lab: Lab,
    code: str,
    container: str | None = None,
    *,
    cell_id: str | None = None,
    profile: bool | None = None,
    source: str = "codex",
) -> InstructionProfile:
    """Run a cell (a normal, committed run) under the instruction profiler; its profile, `run` attached."""
    profiler = InstructionProfiler()
    execute: list[float] = []

    def on_metric(event: dict[str, Any]) -> None:
        if event.get("name") == "execute" and event.get("run_id") == profiler.run_id:
            execute.append(float(event["duration_ms"]) / 1e3)

    unsubscribe = lab.bus.subscribe(on_metric, {"execution_metrics"})
    try:
        result = lab.run(code, container, cell_id=cell_id, profile=profile, source=source, on_instruction=profiler.hook)
    finally:
        unsubscribe()
    found = profiler.profile
    found.run = result
    found.execute_s = execute[0] if execute else 0.0
    return found
