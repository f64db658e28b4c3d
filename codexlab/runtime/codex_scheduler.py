"""The plan stage (the build plan's `codex_scheduler`): each op's path, decided by a pure function of the
expression, the grid, the directives and the flags — never of measured timings.

Per op node, after the rewrite stage:

- **exact** when every operand has an exact form, the op has an exact rule for these kinds, and the exact
  result has at most `size_bound` SymPy nodes (`COST_THRESHOLD`); a field stays a field (it is evaluated
  onto the grid, with the wall rule of `dispatch`);
- **grid** otherwise: the op's raw-array rule, fused with its neighbours into one jitted program where
  the precision allows (`FUSED` groups), or **host** for ops whose value is not one array (pairs,
  measurements, data sources, solvers);
- `@method exact` takes the exact path wherever an exact form exists (any size up to a hard cap);
  `@method fd2|fd4|spectral` puts every field op on the grid; `QWAVE_EXEC_ON=0` allows only the exact
  path and names the flag when a node has none.

Exact forms are computed here, within the bound (a refusal costs one bounded derivative, never
minutes): they are the exact path's values and the grid path's drift references. The cost estimate
(`CodexCostEstimator`) is reported by each op's `schedule` beam and decides nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy

from ..errors import BackendError, CodexError, ResourceError, located
from ..ops import OpSpec, OpTable
from ..photon import ir
from ..photon.printing import to_unicode
from ..photon.symbolic import NoSymbolicForm, to_sympy
from .analysis import RewrittenCell, RewrittenStatement
from .memory import CarrierMemory
from .program import Group, Leaf, LoopCode, Op, Program, Statement, check_iterations, nest_iterations

__all__ = [
    "PlanSettings",
    "plan_cell",
    "plan_expression",
    "sym_size",
    "sym_depth",
    "DEFAULT_SIZE_BOUND",
    "HARD_SIZE_LIMIT",
    "MAX_EXACT_DEPTH",
    "MAX_GROUP_OPS",
]

#: The default `COST_THRESHOLD`: exact results with more SymPy nodes than this run on the grid.
DEFAULT_SIZE_BOUND = 2000
#: Under `@method exact`, an exact form that grows past this many nodes is refused with a sentence.
HARD_SIZE_LIMIT = 50_000
#: The most grid ops fused into one compiled program (a deterministic cap on compile work).
MAX_GROUP_OPS = 8
#: Exact forms nested deeper than this are not differentiated (SymPy's chain rule recurses per level).
MAX_EXACT_DEPTH = 64
#: Precisions whose grid ops may fuse into one program (others run each op in its own format).
FUSED_PRECISIONS = frozenset({"fp64", "fp32", "fp16", "bf16"})
_FIELD_METHODS = ("fd2", "fd4", "spectral")


@dataclass(frozen=True)
class PlanSettings:
    """The flags and options the plan depends on (nothing else does)."""

    wave_on: bool = True
    size_bound: int = DEFAULT_SIZE_BOUND
    fuse: bool = True
    profile: bool = False


def sym_size(expr: Any, cap: int) -> int:
    """SymPy nodes of an exact value (matrices: the sum over entries), counted up to `cap` + 1."""
    items = list(expr) if isinstance(expr, sympy.MatrixBase) else [expr]
    count = 0
    for item in items:
        for _ in sympy.preorder_traversal(item):
            count += 1
            if count > cap:
                return count
    return count


def sym_depth(expr: Any, cap: int) -> int:
    """Nesting depth of an exact value (matrices: the deepest entry), counted up to `cap` + 1."""
    stack = [(item, 1) for item in (expr if isinstance(expr, sympy.MatrixBase) else [expr])]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > cap:
            return deepest
        stack.extend((arg, depth + 1) for arg in getattr(node, "args", ()))
    return deepest


def _key(n: ir.PNode) -> str:
    return str(n.value) if n.op == "call" else n.op


class _Planner:
    """Plans statements in order against a private copy of the container's memory (directives apply)."""

    def __init__(self, memory: CarrierMemory, settings: PlanSettings, table: OpTable) -> None:
        self.memory = memory
        self.settings = settings
        self.table = table
        self.exact: dict[str, Any] = {n: b.value.expr for n, b in memory.bindings.items()}
        self.counter = 0

    # ------------------------------------------------------------------------------------ statements

    def statement(self, rs: RewrittenStatement) -> Statement:
        stmt = rs.stmt
        index = self.counter
        self.counter += 1
        text = to_unicode(stmt) if not isinstance(stmt, ir.PRecord) else _record_text(stmt)
        line, column = rs.line or getattr(stmt, "line", 0), getattr(stmt, "column", 0)
        if isinstance(stmt, ir.PDirective):
            from ..lang import ast

            self.memory.apply_directive(ast.Directive(stmt.name, tuple(stmt.args), line=line))
            return Statement(index, "directive", text, source=stmt, line=line, column=column)
        if isinstance(stmt, ir.PRecord):
            return Statement(index, "record", text, source=stmt, line=line, column=column)
        if isinstance(stmt, ir.PLoop):
            return self.loop(rs, index, text, line, column)
        assert rs.target is not None and rs.expr is not None
        code = self.expression(rs.expr, rs.kinds, quiet=rs.defined, index=index)
        code.kind = "define" if rs.defined else "bind"
        code.text, code.target, code.also_underscore, code.source = text, rs.target, rs.also_underscore, stmt
        code.line, code.column = line, column
        code.rules = tuple(s.rule for s in rs.derivation.steps) if rs.derivation is not None else ()
        if rs.defined and code.exact is not None:  # a definition with an exact form runs no op
            code.ops, code.groups, code.leaves, code.order = [], [], [], []
        self.exact[rs.target] = code.exact
        if rs.also_underscore:
            self.exact["_"] = code.exact
        return code

    def loop(self, rs: RewrittenStatement, index: int, text: str, line: int, column: int) -> Statement:
        loop = rs.stmt
        assert isinstance(loop, ir.PLoop)
        count = bound = until = None
        if loop.count is not None:
            count = self.value(loop.count, rs.parts["count"])
        elif loop.max is not None:
            bound = self.value(loop.max, rs.parts["max"])
        for name in rs.loop_names:  # values computed in the loop are data in every iteration
            self.exact[name] = None
        body = [self.statement(b) for b in rs.body]
        for s in body:
            s.quiet = True
        if loop.until is not None:
            until = self.value(loop.until, rs.parts["until"])
        for part in (count, bound, until):  # the bound and the condition are on the loop's line
            if part is not None:
                part.line, part.column = line, column
        code = LoopCode(body, rs.loop_names, count, until, bound, loop)
        for name in rs.loop_names:
            self.exact[name] = None
        return Statement(index, "loop", text, loop=code, source=loop, quiet=False, line=line, column=column)

    def value(self, expr: ir.PNode, kinds: Mapping[str, str]) -> Statement:
        """A quiet expression (a loop bound or condition): planned like a statement, bound to nothing."""
        index = self.counter
        self.counter += 1
        code = self.expression(expr, kinds, quiet=True, index=index)
        code.kind, code.text = "value", to_unicode(expr)
        return code

    # ----------------------------------------------------------------------------------- expressions

    def expression(self, expr: ir.PNode, kinds: Mapping[str, str], *, quiet: bool, index: int) -> Statement:
        """Registers, paths and fused groups of one expression."""
        code = Statement(index, "bind", "", expr=expr, quiet=quiet, reads=expr.names())
        regs: dict[str, str] = {}
        values: dict[str, Any] = {}
        sizes: dict[str, int] = {}
        for n in ir.walk(expr):
            reg = f"r{len(regs)}"
            regs[n.id] = reg
            if n.is_leaf:
                kind = kinds.get(n.id, "data")
                code.leaves.append(Leaf(reg, n, kind))
                values[n.id] = self._leaf_exact(n)
                if values[n.id] is not None:
                    sizes[n.id] = sym_size(values[n.id], self.settings.size_bound * 4)
                continue
            op = self.op(n, kinds, regs, values, sizes)
            code.ops.append(op)
            values[n.id], sizes[n.id] = op.exact, op.size if op.size is not None else 0
        code.root = regs[expr.id]
        code.value_kind = kinds.get(expr.id, "field")
        code.exact = values[expr.id]
        code.groups, code.order = self.groups(code.ops)
        return code

    def _leaf_exact(self, n: ir.PNode) -> Any:
        from ..photon._calculus import COORDS, as_number

        if n.op == "num":
            return as_number(n.value)
        if n.op == "imag":
            return sympy.I
        if n.op == "coord":
            return COORDS[n.value]
        if n.op == "name":
            return self.exact.get(str(n.value))
        return None

    def op(
        self,
        n: ir.PNode,
        kinds: Mapping[str, str],
        regs: Mapping[str, str],
        values: Mapping[str, Any],
        sizes: Mapping[str, int],
    ) -> Op:
        key = _key(n)
        spec = self.table.get(key)
        kind = kinds.get(n.id, "data")
        operand_kinds = tuple(kinds.get(a.id, "data") for a in n.args)
        args = tuple(regs[a.id] for a in n.args)
        kwargs = tuple((k, regs[v.id]) for k, v in n.kwargs)
        exact, size = self.exact_form(n, spec, operand_kinds, values, sizes)
        path, reason = self.choose(spec, kind, operand_kinds, exact, size, n)
        return Op(regs[n.id], n, key, kind, path, args, kwargs, exact, size, reason)

    def exact_form(
        self,
        n: ir.PNode,
        spec: OpSpec,
        operand_kinds: tuple[str, ...],
        values: Mapping[str, Any],
        sizes: Mapping[str, int],
    ) -> tuple[Any, int | None]:
        """The exact value of one op from its operands' exact forms, and its size; (None, None) when it
        has none or it would exceed the bound (checked before differentiating a large operand)."""
        if spec.symbolic is None or spec.source:
            return None, None
        if spec.reduction and any(k != "number" for k in operand_kinds):
            return None, None  # a reduction of a field is a sum over the grid (SEMANTICS: ‖ψ‖² = Σ|ψ|²ΔA)
        children = n.children
        if any(values.get(c.id) is None for c in children) or any(c.op == "str" for c in children):
            return None, None
        # Exact forms are kept up to the default bound even when `COST_THRESHOLD` is lower: the grid path
        # then measures its drift against them.
        limit = HARD_SIZE_LIMIT if self.memory.method == "exact" else max(self.settings.size_bound, DEFAULT_SIZE_BOUND)
        if spec.order > 0 and any(sizes.get(c.id, 0) > limit for c in children):
            return None, None
        if spec.order > 0 and any(sym_depth(values[c.id], MAX_EXACT_DEPTH) > MAX_EXACT_DEPTH for c in children):
            if self.memory.method == "exact":
                raise ResourceError(
                    f"The operand of `{spec.key}` nests deeper than {MAX_EXACT_DEPTH} levels, too deep to "
                    "differentiate exactly; use `@method fd2` (or another grid method) for it."
                )
            return None, None
        env = {f"__a{i}": values[c.id] for i, c in enumerate(n.args)}
        env.update({f"__k_{k}": values[v.id] for k, v in n.kwargs})
        placeholder = ir.PNode(
            n.op,
            tuple(ir.PNode("name", (), f"__a{i}") for i in range(len(n.args))),
            n.value,
            tuple((k, ir.PNode("name", (), f"__k_{k}")) for k, _ in n.kwargs),
        )
        try:
            out = to_sympy(
                placeholder, env, coords=self.memory.grid.names, constants={"c": self.memory.wave_c}, table=self.table
            )
        except NoSymbolicForm:
            return None, None
        size = sym_size(out, limit)
        if size > limit:
            if self.memory.method == "exact":
                raise ResourceError(
                    f"The exact form of `{to_unicode(n)}` grows past {HARD_SIZE_LIMIT:,} nodes; "
                    "use `@method fd2` (or another grid method) for it."
                )
            return None, size
        return out, size

    def choose(
        self, spec: OpSpec, kind: str, operand_kinds: tuple[str, ...], exact: Any, size: int | None, n: ir.PNode
    ) -> tuple[str, str]:
        """(path, reason) for one op: a pure function of the op, its exact form, the grid and the flags."""
        grid_path = self.grid_path(spec, operand_kinds, bool(n.kwargs))
        method = self.memory.method
        if not self.settings.wave_on:
            if exact is not None:
                return "exact", "the grid path is off (`QWAVE_EXEC_ON=0`)"
            raise BackendError(
                f"`{to_unicode(n)}` has no exact form here and the grid path is off (`QWAVE_EXEC_ON=0`); set "
                "`QWAVE_EXEC_ON=1` (flag or environment) to run it on the grid."
            )
        small = size is not None and size <= self.settings.size_bound
        if exact is not None and (method == "exact" or kind in ("number", "bool") or method == "auto" and small):
            why = "@method exact" if method == "exact" else f"analytic, {size} nodes ≤ COST_THRESHOLD"
            return "exact", why
        if grid_path is None:
            if exact is not None:
                return "exact", f"the grid cannot run `{spec.key}` here{_why(spec)}; the exact path can"
            if size is not None:
                raise ResourceError(
                    f"The exact form of `{to_unicode(n)}` has more than {self.settings.size_bound:,} nodes and "
                    f"`{spec.key}` cannot run on this grid; raise `COST_THRESHOLD` or simplify it."
                )
            raise BackendError(f"`{to_unicode(n)}` cannot run on the grid `{self.memory.grid.describe()}`{_why(spec)}.")
        if method in _FIELD_METHODS:
            return grid_path, f"@method {method}"
        if size is not None and (exact is None or not small):
            return grid_path, f"exact form has {size} > {self.settings.size_bound} nodes (COST_THRESHOLD)"
        return grid_path, "no exact form: data or a grid-only op"

    def grid_path(self, spec: OpSpec, operand_kinds: tuple[str, ...], keywords: bool = False) -> str | None:
        """`grid` (a raw-array rule), `host` (a host kernel), or None when the grid cannot run it."""
        grid = self.memory.grid
        if spec.axis is not None and spec.axis not in grid.names:
            return None
        if spec.array is not None and spec.fusable_for(operand_kinds) and not keywords:
            return "grid"
        if spec.host is not None:
            return "host"
        return None

    def groups(self, ops: list[Op]) -> tuple[list[Group], list[tuple[str, Any]]]:
        """Grid ops into fused programs, and the order to run units in.

        A grid op's group is the number of non-grid ops (exact or host) that must run between it and
        the statement's inputs; a non-grid op runs just before the first group that needs it. So every
        group reads only values computed before it, and ops no non-grid op separates share a program.
        """
        fuse = (
            self.settings.fuse
            and not self.settings.profile
            and self.memory.precision in FUSED_PRECISIONS
            and self.memory.config.get("fuse", True) is not False
        )
        by_reg = {op.reg: op for op in ops}
        level: dict[str, int] = {}
        for op in ops:
            deps = [by_reg[a] for a in (*op.args, *(r for _, r in op.kwargs)) if a in by_reg]
            if op.path == "grid":
                level[op.reg] = max((level[d.reg] for d in deps), default=0)
            else:
                level[op.reg] = max((level[d.reg] + (1 if d.path == "grid" else 0) for d in deps), default=0)
        members: dict[int, list[str]] = {}
        for op in ops:
            if op.path == "grid":
                key = level[op.reg] if fuse else -1 - len(members)
                members.setdefault(key, []).append(op.reg)
        keys = sorted(members, key=lambda k: (level[members[k][0]], k if k >= 0 else -k))
        # A level longer than MAX_GROUP_OPS is cut into programs of that many ops, in op order (each reads
        # the earlier ones' registers): compiling one program grows faster than its op count.
        chunks = [members[k][i : i + MAX_GROUP_OPS] for k in keys for i in range(0, len(members[k]), MAX_GROUP_OPS)]
        groups = [Group(i, tuple(regs)) for i, regs in enumerate(chunks)]
        for g in groups:
            for reg in g.regs:
                by_reg[reg].group = g.index
        order: list[tuple[str, Any]] = []
        for g in groups:
            k = level[g.regs[0]]
            order += [
                ("op", op.reg) for op in ops if op.path != "grid" and level[op.reg] <= k and ("op", op.reg) not in order
            ]
            order.append(("group", g.index))
        order += [("op", op.reg) for op in ops if op.path != "grid" and ("op", op.reg) not in order]
        return groups, order


def _why(spec: OpSpec) -> str:
    if spec.axis is not None:
        return f" (`{spec.key}` needs a `{spec.axis}` axis, or an exact form in `{spec.axis}`)"
    return ""


def _record_text(stmt: ir.PRecord) -> str:
    return f"⟦ {stmt.type} | {stmt.tag} ⟧"


def plan_cell(cell: RewrittenCell, memory: CarrierMemory, settings: PlanSettings, *, table: OpTable) -> Program:
    """The plan stage: the program of a rewritten cell against (a copy of) the container's memory.

    Raises `BackendError` (a node with no path under the flags), `ResourceError` (an exact form past the
    hard cap under `@method exact`), `CodexError`s from exact rules (located at their statement).
    """
    planner = _Planner(dataclasses.replace(memory.snapshot()), settings, table)
    statements = []
    for rs in cell.statements:
        try:
            statements.append(planner.statement(rs))
        except CodexError as err:
            raise err.at(rs.line or getattr(rs.stmt, "line", 0), getattr(rs.stmt, "column", 0)) from None
        except Exception as err:  # noqa: BLE001 - only CodexErrors leave the planner, located at their statement
            raise located(err, rs.line or getattr(rs.stmt, "line", 0), getattr(rs.stmt, "column", 0)) from err
        _check_loop_nest(statements[-1])
    return Program(statements)


def _check_loop_nest(code: Statement) -> None:
    """Refuse a loop nest whose literal bounds multiply past the limit, before anything runs."""
    try:
        check_iterations(nest_iterations(code))
    except ResourceError as err:
        raise err.at(code.line, code.column) from None


def plan_expression(
    expr: ir.PNode,
    kinds: Mapping[str, str],
    memory: CarrierMemory,
    settings: PlanSettings,
    *,
    table: OpTable,
) -> Statement:
    """A quiet plan of one expression (goals, conditions) against the memory as it is now."""
    return _Planner(memory, settings, table).expression(expr, kinds, quiet=True, index=-1)
