"""A debugger for scrolls: the machine runs the cell in a thread and its instruction hook pauses it.

`lab.debug(code)` returns a `Debugger`. It steps by instruction (`step`) or by line (`next_line`),
continues to a breakpoint (`cont`; a line number or an instruction address) and stops on the first
non-finite value, naming the instruction that made it. While it is paused, `current`, `line`,
`iteration` and `registers` (xarray DataArrays) show where the machine is. There is one interpreter:
the debugger is a hook of `Machine`, so loops run op by op and every iteration's instructions are
visited.

The store: a debug run is a normal `Lab.run`. Run to the end, it commits like any run (the `Run` is in
`debugger.run`); abandoned (`abort`, or leaving a `with` block before the end), it is a cancelled run:
the container's memory is as before and the store holds its one `error` beam, nothing else. While the
debugger is paused it holds the container: another cell run there is refused with a message saying so.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import sympy
import xarray as xr

from ..errors import CodexCancelled, CodexError, CodexValueError
from .dispatch import on_grid
from .program import Instruction, Place, Program, Statement
from .values import Value

if TYPE_CHECKING:
    from .lab import Lab
    from .machine import Machine
    from .run import Run

__all__ = ["Debugger", "Stop"]


@dataclass(frozen=True)
class Stop:
    """Why and where the debugger stopped: `reason` is step, line, breakpoint, nonfinite, finished or
    error; `instruction` the one about to run (None once finished); `detail` a sentence for people."""

    reason: str
    instruction: Instruction | None
    iteration: int = 0
    detail: str = ""


@dataclass
class _Command:
    mode: str  # step, line, continue, abort


class Debugger:
    """Step a cell's program; see the module doc. Use as a context manager to abort on leaving."""

    def __init__(
        self,
        lab: Lab,
        code: str,
        container: str | None = None,
        *,
        breakpoints: Iterable[int] = (),
        instructions: Iterable[int] = (),
        stop_on_nonfinite: bool = True,
    ) -> None:
        self.lab = lab
        self.code = code
        self.container = container
        #: The program as compiled now (the listing); the run plans it again, against the same memory.
        self.program: Program = lab.compile(code, container)
        #: Line breakpoints: stop when the machine enters one of these lines.
        self.breakpoints: set[int] = {int(b) for b in breakpoints}
        #: Instruction breakpoints: stop before the instruction at one of these addresses.
        self.instructions: set[int] = {int(i) for i in instructions}
        self.stop_on_nonfinite = stop_on_nonfinite
        self.stop: Stop | None = None
        self.run: Run | None = None
        self.error: CodexError | None = None
        self._machine: Machine | None = None
        self._code: Statement | None = None
        self._regs: Mapping[str, Value] = {}
        self._checked: set[tuple[str, int]] = set()
        self._last: Instruction | None = None
        self._mode = "step"
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._to_machine: queue.Queue[_Command] = queue.Queue()
        self._to_user: queue.Queue[Stop] = queue.Queue()
        self._container_id: str | None = None

    # ---------------------------------------------------------------------------------- commands

    def step(self) -> Stop:
        """Run to the next instruction (the first one, if nothing ran yet)."""
        return self._resume("step")

    def next_line(self) -> Stop:
        """Run to the next line, or to the same line entered again (a loop's next iteration)."""
        return self._resume("line")

    def cont(self) -> Stop:
        """Run to the next breakpoint, the first non-finite value, or the end."""
        return self._resume("continue")

    def break_at(self, line: int | None = None, ip: int | None = None) -> None:
        """Add a line breakpoint and/or an instruction breakpoint."""
        if line is not None:
            self.breakpoints.add(int(line))
        if ip is not None:
            self.instructions.add(int(ip))

    def abort(self) -> None:
        """Abandon the run: it ends as a cancelled run (memory as before, one `error` beam)."""
        if self._thread is None or self.finished:
            return
        self._cancel.set()
        self._to_machine.put(_Command("abort"))
        self._thread.join()
        self.lab.paused.pop(self._container_id or "", None)
        self.stop = self._to_user.get()

    @property
    def finished(self) -> bool:
        return self.stop is not None and self.stop.reason in ("finished", "error")

    def __enter__(self) -> Debugger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    # ------------------------------------------------------------------------------------- views

    @property
    def current(self) -> Instruction | None:
        """The instruction about to run (None before the first step and once finished)."""
        return self.stop.instruction if self.stop is not None else None

    @property
    def run_id(self) -> str | None:
        """The debug run's id, once it has started."""
        return self._machine.run_id if self._machine is not None else None

    @property
    def line(self) -> int | None:
        return self.current.line if self.current is not None else None

    @property
    def iteration(self) -> int:
        """The iteration of the innermost loop the machine is in (0 outside loops)."""
        return self.stop.iteration if self.stop is not None else 0

    @property
    def registers(self) -> dict[str, xr.DataArray]:
        """The current statement's registers that hold arrays or numbers, as DataArrays named by register."""
        out: dict[str, xr.DataArray] = {}
        if self.finished or self._machine is None:
            return out
        grid = self._machine.memory.grid
        for reg, value in self._regs.items():
            data = value.data
            if data is None and value.expr is not None:
                data = on_grid(replace(value, meta=dict(value.meta)), grid, {})
            if isinstance(data, xr.DataArray):
                out[reg] = data.rename(reg)
            elif isinstance(data, int | float | complex | np.number) and not isinstance(data, bool):
                out[reg] = xr.DataArray(np.asarray(data), name=reg)
        return out

    def listing(self) -> str:
        """The program like `dis`, the current instruction marked with `→`."""
        here = self.current.ip if self.current is not None else None
        lines = []
        for text in str(self._program()).splitlines():
            head = text[:8].strip()
            mark = "→" if here is not None and head.isdigit() and int(head) == here else " "
            lines.append(f"{mark} {text}")
        return "\n".join(lines)

    def _program(self) -> Program:
        if self._machine is not None and self._machine.program is not None:
            return self._machine.program
        return self.program

    # ------------------------------------------------------------------------------ user's side

    def _resume(self, mode: str) -> Stop:
        if self.finished:
            assert self.stop is not None
            return self.stop
        if self._thread is None:
            self._mode = mode
            self._thread = threading.Thread(target=self._main, name="codexlab-debugger", daemon=True)
            self._thread.start()
        else:
            self.lab.paused.pop(self._container_id or "", None)
            self._to_machine.put(_Command(mode))
        self.stop = self._to_user.get()
        if not self.finished and self._container_id is not None:
            self.lab.paused[self._container_id] = "a debugger is paused in it (`lab.debug`)"
        return self.stop

    def _main(self) -> None:
        stop = Stop("error", None, 0, "the debug run ended without a result")
        try:
            self.run = self.lab.run(self.code, self.container, cancel=self._cancel, on_instruction=self._hook)
            stop = Stop("finished", None, 0, f"run `{self.run.run_id}` committed")
        except CodexCancelled as err:
            self.error = err
            stop = Stop("error", None, 0, "abandoned: a cancelled run (memory as before, one error beam)")
        except CodexError as err:
            self.error = err
            stop = Stop("error", None, 0, str(err))
        finally:  # the user's side always hears how the run ended, whatever ended it
            self._to_user.put(stop)

    # --------------------------------------------------------------------------- machine's side

    def _hook(self, machine: Machine, code: Statement | None, at: Place, registers: Mapping[str, Value] | None) -> None:
        self._machine = machine
        self._container_id = machine.memory.container_id
        if code is None or machine.program is None:
            return
        ins = machine.program.locate(code.index, at)
        if ins is None:
            return
        if code is not self._code or (registers is not None and registers is not self._regs and at[0] != "bind"):
            self._code, self._regs, self._checked = code, {}, set()
        if registers is not None:
            self._regs = registers if at[0] != "bind" else {**self._regs, **registers}
        bad = self._nonfinite(machine.program, code) if self.stop_on_nonfinite else None
        stop = self._decide(ins, bad, machine.step)
        self._last = ins
        if stop is None:
            return
        self._to_user.put(stop)
        command = self._to_machine.get()
        self._mode = command.mode

    def _decide(self, ins: Instruction, bad: str | None, iteration: int) -> Stop | None:
        if bad is not None:
            return Stop("nonfinite", ins, iteration, bad)
        entered = self._last is None or ins.line != self._last.line or ins.ip <= self._last.ip
        if self._mode == "step":
            return Stop("step", ins, iteration)
        if self._mode == "line" and entered:
            return Stop("line", ins, iteration)
        if ins.ip in self.instructions or (entered and ins.line in self.breakpoints):
            return Stop("breakpoint", ins, iteration, f"breakpoint at line {ins.line}, instruction {ins.ip}")
        return None

    def _nonfinite(self, program: Program, code: Statement) -> str | None:
        """A sentence naming the instruction whose new register holds NaN or Inf, if one does."""
        for reg, value in self._regs.items():
            key = (reg, id(value))
            if key in self._checked:
                continue
            self._checked.add(key)
            if _finite(value):
                continue
            maker = code.registers().get(reg)
            group = getattr(maker, "group", None)
            members = [o for o in code.ops if group is not None and o.group == group]
            place: Place = (
                ("group", group) if len(members) > 1 else (("leaf", reg) if maker in code.leaves else ("op", reg))
            )
            ins = program.locate(code.index, place)
            where = f"instruction {ins.ip} `{ins.opcode} {ins.operation}`" if ins is not None else f"register {reg}"
            return f"{reg} is not finite (NaN or Inf): made by {where} on line {code.line}"
        return None


def _finite(value: Value) -> bool:
    data = value.data
    if data is None:
        expr = value.expr
        return expr is None or not getattr(expr, "has", lambda *_: False)(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)
    if isinstance(data, xr.DataArray):
        return bool(np.isfinite(data.values).all()) if np.issubdtype(data.dtype, np.number) else True
    if isinstance(data, bool):
        return True
    if isinstance(data, int | float | complex | np.number):
        return math.isfinite(abs(complex(data)))
    return True


def check_not_paused(lab: Lab, container: str) -> None:
    """Refuse a cell in a container a paused debugger holds (it would wait for the debugger forever)."""
    why = lab.paused.get(container)
    if why is not None:
        raise CodexValueError(
            f"Container `{container}` is busy: {why}; step it to the end or call `abort()` on it first."
        )
