"""The plan's virtual CPU, as researchers use it: the program a cell compiles to (`Lab.compile`), its
debugger (`Lab.debug`) and its instruction profiler (`Lab.profile`). The interpreter is the runtime's
one machine (`codexlab.runtime.machine`); this package only gathers its surfaces and the smoke run
`python -m codexlab.vcpu [FILE]`."""

from __future__ import annotations

from ..runtime.debugger import Debugger, Stop
from ..runtime.instruction_profiler import InstructionProfile, InstructionProfiler, copy_bandwidth, profile_cell
from ..runtime.program import Instruction, Program

__all__ = [
    "Program",
    "Instruction",
    "Debugger",
    "Stop",
    "InstructionProfile",
    "InstructionProfiler",
    "copy_bandwidth",
    "profile_cell",
]
