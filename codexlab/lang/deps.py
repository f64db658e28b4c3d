"""What a cell reads and writes, from its parsed AST: the names, the directives and the data files.

A cell *reads* a name it uses before binding it itself (walking its statements in order, a loop's
body before its condition) and *writes* every name it binds. Directives that persist in a container
(`@grid @precision @seed @wave @method`) are state too: a cell inherits each one it does not set at its
top. `a ↔ b` makes `a` and `b` members of the bound pair, and `⧖a` on a member changes that pair, so
both are recorded for the sheet's graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..ops import GLOBAL, OpTable
from . import ast
from .parser import parse

__all__ = ["CellDeps", "analyze", "DIRECTIVE_STATE", "UNDERSCORE"]

#: Directives whose setting holds for later cells of the container (`@container` picks the container).
DIRECTIVE_STATE = ("grid", "precision", "seed", "wave", "method")
#: The name a bare expression binds; private to each cell of a sheet.
UNDERSCORE = "_"
_PAIR_OPS = ("↔", "⊗")
_MEASURE = "⧖"


@dataclass(frozen=True)
class CellDeps:
    """The state a cell reads and writes."""

    #: Names used before the cell binds them (from other cells or the container).
    reads: frozenset[str] = frozenset()
    #: The same names in the order the cell first reads them.
    read_order: tuple[str, ...] = ()
    #: Names the cell binds (`_` excluded: it is private to the cell).
    writes: frozenset[str] = frozenset()
    #: Directive kinds the cell sets anywhere (`grid`, `precision`, ...).
    sets: frozenset[str] = frozenset()
    #: Directive kinds the cell inherits (those it does not set before its first other statement).
    inherits: frozenset[str] = frozenset(DIRECTIVE_STATE)
    #: `@container NAME` of the cell, if any.
    container: str | None = None
    #: Member name → the name of the pair a `↔`/`⊗` of the cell binds it into.
    entangles: dict[str, str] = field(default_factory=dict)
    #: Names measured with `⧖` that the cell did not entangle itself (members of another cell's pair?).
    measures: frozenset[str] = frozenset()
    #: String paths of the cell's `load("…")` calls.
    loads: tuple[str, ...] = ()
    #: Whether the cell binds `_` (a bare expression or `a -> name`).
    underscore: bool = False


class _Walker:
    """Walks statements in order, tracking what is bound so far."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.reads: dict[str, None] = {}
        self.writes: set[str] = set()
        self.entangles: dict[str, str] = {}
        self.measures: set[str] = set()
        self.loads: list[str] = []
        self.underscore = False

    def use(self, expr: ast.Expr) -> None:
        for node in _nodes(expr):
            if isinstance(node, ast.Name) and node.id not in ast.RESERVED_NAMES and node.id not in self.bound:
                self.reads.setdefault(node.id)
            elif isinstance(node, ast.Call) and node.func == "load" and node.args:
                first = node.args[0]
                if isinstance(first, ast.String):
                    self.loads.append(first.value)
            target = _measured(node)
            # A name bound earlier in the cell is no pair member here (binding drops membership), and one
            # the cell entangled itself is its own pair: only other cells' pairs matter to the sheet.
            if target is not None and target not in self.bound and target not in self.entangles:
                self.measures.add(target)

    def bind(self, name: str, expr: ast.Expr | None) -> None:
        if name == UNDERSCORE:
            self.underscore = True
        else:
            self.writes.add(name)
        self.bound.add(name)
        if expr is not None:
            for node in _nodes(expr):
                if isinstance(node, ast.Binary) and node.op in _PAIR_OPS:
                    for side in (node.left, node.right):
                        if isinstance(side, ast.Name) and side.id not in ast.RESERVED_NAMES:
                            self.entangles[side.id] = name

    def statement(self, stmt: ast.Statement) -> None:
        if isinstance(stmt, (ast.Definition, ast.Assignment)):
            self.use(stmt.value)
            self.bind(stmt.name, stmt.value)
        elif isinstance(stmt, ast.ExprStmt):
            self.expression(stmt.value)
        elif isinstance(stmt, ast.Loop):
            for part in (stmt.count, stmt.max):
                if part is not None:
                    self.use(part)
            for inner in stmt.body:
                self.statement(inner)
            if stmt.until is not None:
                self.use(stmt.until)
        elif isinstance(stmt, ast.GlyphRecord) and stmt.type == "Goal" and isinstance(stmt.value, ast.Binary):
            self.use(stmt.value)

    def expression(self, expr: ast.Expr) -> None:
        """A bare expression binds `_`; `a -> name` binds `name` too, `a -> f` pipes into a function."""
        if isinstance(expr, ast.Binary) and expr.op == "->":
            self.use(expr.left)
            right = expr.right
            if isinstance(right, ast.Name) and not is_function(right.id):
                self.bind(right.id, expr.left)
            elif not isinstance(right, ast.Name):
                self.use(right)
        else:
            self.use(expr)
        self.bind(UNDERSCORE, expr)


def _nodes(expr: ast.Expr) -> Iterator[ast.Expr]:
    """Every node of an expression (iteratively: trees may be deep)."""
    stack: list[ast.Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.Unary, ast.Norm, ast.Density)):
            stack.append(node.operand)
        elif isinstance(node, ast.Binary):
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.Interfere):
            stack.extend((node.phase, node.right, node.left))
        elif isinstance(node, ast.Call):
            stack.extend(k.value for k in reversed(node.kwargs))
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.Vector):
            stack.extend(reversed(node.items))


def _measured(node: ast.Expr) -> str | None:
    """The name `⧖name` / `⧖(name, …)` measures, if this node is such a measurement."""
    if isinstance(node, ast.Unary) and node.op == _MEASURE and isinstance(node.operand, ast.Name):
        return node.operand.id
    if isinstance(node, ast.Call) and node.func in (_MEASURE, "collapse") and node.args:
        first = node.args[0]
        if isinstance(first, ast.Name):
            return first.id
    return None


def is_function(name: str, table: OpTable = GLOBAL) -> bool:
    """Whether `a -> name` pipes into a builtin or glyph (rather than binding `name`): it has an op spec
    (a Lab's `table` adds its fusion glyphs)."""
    return name in table


def analyze(code: str | ast.Scroll) -> CellDeps:
    """The names, directives and files a cell's code (or parsed scroll) reads and writes (raises
    `CodexSyntaxError`)."""
    tree = parse(code) if isinstance(code, str) else code
    walker = _Walker()
    sets: set[str] = set()
    top: set[str] = set()
    container = None
    leading = True
    for stmt in tree.statements:
        if isinstance(stmt, ast.Directive):
            if stmt.name in DIRECTIVE_STATE:
                sets.add(stmt.name)
                if leading:
                    top.add(stmt.name)
            elif stmt.name == "container" and stmt.args and isinstance(stmt.args[0], ast.Word):
                container = str(stmt.args[0].value)
            continue
        leading = False
        walker.statement(stmt)
    return CellDeps(
        reads=frozenset(walker.reads),
        read_order=tuple(walker.reads),
        writes=frozenset(walker.writes),
        sets=frozenset(sets),
        inherits=frozenset(k for k in DIRECTIVE_STATE if k not in top),
        container=container,
        entangles=dict(walker.entangles),
        measures=frozenset(walker.measures),
        loads=tuple(dict.fromkeys(walker.loads)),
        underscore=walker.underscore,
    )
