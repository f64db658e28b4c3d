"""The plan of a cell as a program of instructions — what the executor runs, the debugger steps and the
profiler times (the plan's "virtual CPU": one interpreter, not two).

A cell is a list of `Statement`s; a statement holds its instructions. Values live in registers
(`r0`, `r1`, …), one per distinct node of the statement's expression. Instructions:

- `LOAD r ← name` (a container value), `CONST r ← literal` (a number, a coordinate, `i`, a string);
- `EXACT r ← glyph(r…)`: the exact SymPy value (evaluated onto the grid as a field when it is one);
- `GRID r ← glyph(r…)`: one op's raw-array rule (alone, or as a member of a `FUSED` group);
- `FUSED {r…}`: a group of grid ops compiled into one jitted program;
- `HOST r ← glyph(r…)`: ops whose value is not one array (pairs, measurements, data sources, solvers);
- `DEFINE name` / `BIND name ← r`: vet, then bind (a definition keeps its exact form);
- `LOOP` (with its body statements), `DIRECTIVE`, `RECORD`.

`str(program)` prints it like `dis`: the statement's line and text, then one instruction per line.
Each instruction has an address (`ip`) and a place (`at`): where the machine's instruction hook stops
for it (`Program.locate`), so the debugger and the profiler name the instruction the machine is at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import ResourceError
from ..photon import ir
from ..sqi.soullaw_config import DEFAULT_THRESHOLDS

__all__ = ["Op", "Leaf", "Group", "Statement", "LoopCode", "Program", "Instruction", "Place", "field_arrays"]

#: Where in a statement the machine is: `("stmt",)` (a directive, record or loop statement starts),
#: `("leaf", reg)`, `("op", reg)`, `("group", index)` (a fused group), `("bind",)` (its value is about
#: to be vetted and bound), `("end",)` (a loop iteration ends).
Place = tuple[Any, ...]


@dataclass
class Leaf:
    """A register filled from a leaf: a container name (`LOAD`) or a literal/coordinate (`CONST`)."""

    reg: str
    node: ir.PNode
    kind: str

    @property
    def opcode(self) -> str:
        return "LOAD" if self.node.op == "name" else "CONST"


@dataclass
class Op:
    """One planned op: its register, node, spec key, kind, path and operand registers.

    `path` is `exact`, `grid` or `host`; `exact` the SymPy value where one exists within the size bound
    (the path's value on `exact`, the drift reference on `grid`); `reason` says why this path.
    """

    reg: str
    node: ir.PNode
    key: str
    kind: str
    path: str
    args: tuple[str, ...]
    kwargs: tuple[tuple[str, str], ...] = ()
    exact: Any = None
    size: int | None = None
    reason: str = ""
    group: int | None = None

    @property
    def opcode(self) -> str:
        return {"exact": "EXACT", "grid": "GRID", "host": "HOST"}[self.path]

    @property
    def token(self) -> str:
        """The glyph or function name, as its beams show it."""
        return self.key


@dataclass
class Group:
    """Grid ops compiled into one program (a group of one is a single op)."""

    index: int
    regs: tuple[str, ...]


#: Run-time limits: points of one grid, and iterations of a loop nest (nested counts multiply); they start
#: at SoulLaw's defaults, which a container's policy may lower further.
LIMITS = {
    "grid_points": int(DEFAULT_THRESHOLDS["max_grid_points"]),
    "loop_iterations": int(DEFAULT_THRESHOLDS["max_loop_iterations"]),
}


def check_iterations(total: int) -> None:
    """Refuse a loop (nest) that would run its innermost body `total` times, past the limit."""
    if total > LIMITS["loop_iterations"]:
        raise ResourceError(
            f"The loop asks for {total:,} iterations (nested loops multiply), over the limit of "
            f"{LIMITS['loop_iterations']:,}; bound it lower."
        )


def field_arrays(code: Statement, ndim: int) -> int:
    """The most grid-sized arrays one op of the statement holds at once — its operands' and its result's
    components (a vector has `ndim`, a tensor `ndim²`) — and at least the 4 of a field op with temporaries."""
    components = {"field": 1, "vector": ndim, "tensor": ndim * ndim}
    kinds = {leaf.reg: leaf.kind for leaf in code.leaves} | {op.reg: op.kind for op in code.ops}
    need = [components.get(op.kind, 0) + sum(components.get(kinds.get(a, ""), 0) for a in op.args) for op in code.ops]
    return max([4, *need])


def nest_iterations(code: Statement) -> int:
    """How often the innermost bodies of a loop nest run, from its literal bounds (exact ints, never
    wrapping); a bound known only at run time counts as 1 here and is checked when it is known."""
    if code.loop is None:
        return 0
    bound = code.loop.count or code.loop.bound
    exact = bound.exact if bound is not None else None
    n = int(exact) if exact is not None and getattr(exact, "is_Integer", False) and exact >= 0 else 1
    return n * max(1, sum(nest_iterations(s) for s in code.loop.body))


@dataclass
class LoopCode:
    """A `⟲` loop: its bound (count, or until-condition and max), body statements and assigned names."""

    body: list[Statement]
    names: tuple[str, ...]
    count: Statement | None = None
    until: Statement | None = None
    bound: Statement | None = None
    node: ir.PLoop | None = None


@dataclass
class Statement:
    """One statement's code. `kind` is bind, define, directive, loop or record; `quiet` statements make
    no op beams (definitions evaluated on data, loop bodies, bounds and conditions)."""

    index: int
    kind: str
    text: str
    line: int = 0
    column: int = 0
    target: str | None = None
    also_underscore: bool = False
    expr: ir.PNode | None = None
    leaves: list[Leaf] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    #: The order units run in: `("op", reg)` for an exact or host op, `("group", index)` for a group.
    order: list[tuple[str, Any]] = field(default_factory=list)
    root: str | None = None
    #: The kind of the statement's value (`number`, `field`, `vector`, ...), as the rewrite stage inferred it.
    value_kind: str = "field"
    exact: Any = None
    quiet: bool = False
    reads: frozenset[str] = frozenset()
    rules: tuple[str, ...] = ()
    loop: LoopCode | None = None
    source: ir.PStatement | None = None

    def registers(self) -> dict[str, Leaf | Op]:
        """Register name → what fills it."""
        out: dict[str, Leaf | Op] = {leaf.reg: leaf for leaf in self.leaves}
        out.update({op.reg: op for op in self.ops})
        return out


@dataclass(frozen=True)
class Instruction:
    """One line of the flat listing: its address, statement, opcode, text, line and place (`Place`)."""

    ip: int
    statement: int
    opcode: str
    text: str
    line: int
    at: Place = ()

    @property
    def operation(self) -> str:
        """The text without the planner's note (`# why this path`)."""
        return self.text.split("    #")[0]


@dataclass
class Program:
    """A cell's plan: statements in order (see the module doc)."""

    statements: list[Statement]

    def instructions(self) -> Iterator[Instruction]:
        """Every instruction, loop bodies inline, numbered from 0."""
        counter = iter(range(1 << 30))
        yield from _flatten(self.statements, counter)

    def __str__(self) -> str:
        lines: list[str] = []
        current = -1
        for ins in self.instructions():
            if ins.statement != current:
                current = ins.statement
                stmt = _find(self.statements, current)
                where = f"line {stmt.line}" if stmt is not None and stmt.line else "     "
                lines.append(f"{where:>8}  {stmt.text if stmt is not None else ''}")
            lines.append(f"{ins.ip:>8}  {ins.opcode:<9}{ins.text}")
        return "\n".join(lines)

    def __len__(self) -> int:
        return sum(1 for _ in self.instructions())

    def locate(self, statement: int, at: Place) -> Instruction | None:
        """The instruction the machine is at when its hook reports `statement` and `at` (None for a
        place outside the program, e.g. a goal's quiet evaluation)."""
        index = self.__dict__.get("_places")
        if index is None:
            index = {(ins.statement, ins.at): ins for ins in self.instructions()}
            self.__dict__["_places"] = index
        return index.get((statement, at))


def _find(statements: list[Statement], index: int) -> Statement | None:
    for s in statements:
        if s.index == index:
            return s
        if s.loop is not None:
            inner = [x for x in (s.loop.count, s.loop.bound, s.loop.until) if x is not None] + s.loop.body
            hit = _find(inner, index)
            if hit is not None:
                return hit
    return None


def _operand_text(op: Op) -> str:
    kw = "".join(f", {k}={r}" for k, r in op.kwargs)
    return f"{op.reg} ← {op.key}({', '.join(op.args)}{kw})"


def _flatten(statements: list[Statement], counter: Iterator[int]) -> Iterator[Instruction]:
    for s in statements:

        def emit(opcode: str, text: str, at: Place, stmt: Statement = s) -> Instruction:
            return Instruction(next(counter), stmt.index, opcode, text, stmt.line, at)

        if s.kind == "directive":
            yield emit("DIRECTIVE", s.text, ("stmt",))
            continue
        if s.kind == "record":
            yield emit("RECORD", s.text, ("stmt",))
            continue
        if s.kind == "loop" and s.loop is not None:
            yield emit("LOOP", f"{', '.join(s.loop.names)} ← body × bound", ("stmt",))
            for part in (s.loop.count, s.loop.bound):
                if part is not None:
                    yield from _flatten([part], counter)
            yield from _flatten(s.loop.body, counter)
            if s.loop.until is not None:
                yield from _flatten([s.loop.until], counter)
            yield emit("ENDLOOP", "", ("end",))
            continue
        for leaf in s.leaves:
            value = leaf.node.value if leaf.node.op != "imag" else "i"
            yield emit(leaf.opcode, f"{leaf.reg} ← {value}", ("leaf", leaf.reg))
        grouped: dict[int, list[Op]] = {}
        for op in s.ops:
            if op.group is not None:
                grouped.setdefault(op.group, []).append(op)
        seen: set[int] = set()
        for op in s.ops:
            if op.group is not None and len(grouped[op.group]) > 1:
                if op.group not in seen:
                    seen.add(op.group)
                    members = "; ".join(_operand_text(o) for o in grouped[op.group])
                    yield emit("FUSED", f"{{{members}}}", ("group", op.group))
                continue
            note = f"    # {op.reason}" if op.reason else ""
            yield emit(op.opcode, _operand_text(op) + note, ("op", op.reg))
        if s.kind == "define":
            yield emit("DEFINE", f"{s.target} ← {s.root or 'exact form'}", ("bind",))
        elif s.kind == "bind" and s.target is not None:
            yield emit("BIND", f"{s.target} ← {s.root}", ("bind",))
        elif s.kind == "value":
            yield emit("RESULT", f"{s.root}", ("bind",))
