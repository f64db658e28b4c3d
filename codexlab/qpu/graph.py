"""The dependency graph of a sheet: which cell defines each name, which cells each cell waits for, and an
order to run them in (topological, ties broken by file order), with cycles and double definitions refused.

A name has one defining cell per sheet (as in a dataflow notebook), so any order that respects the
edges gives the same values. Directives are positional: a cell inherits each persistent directive from
the nearest cell above it that sets it, else from the container.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import CodexError, SheetError
from ..lang.deps import UNDERSCORE, CellDeps, analyze
from .sheet import Cell, Sheet

__all__ = ["SheetGraph", "analyze_sheet", "build_graph", "Edge"]


@dataclass(frozen=True)
class Edge:
    """`child` waits for `parent` because it reads `what` from it (a name, or `@grid` for a directive)."""

    parent: str
    child: str
    what: str


@dataclass
class SheetGraph:
    """Cells, what each reads and writes, the edges between them and the order they run in."""

    sheet: Sheet
    deps: dict[str, CellDeps]
    #: name → the cell that defines it (pair names a measurement changes included)
    definer: dict[str, str]
    #: cell → {name or `@kind` it reads → the cell it comes from}
    sources: dict[str, dict[str, str]]
    #: cell → pair names it changes by measuring a member of a pair held in the container
    pair_writes: dict[str, frozenset[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @property
    def edges(self) -> list[Edge]:
        """Every edge, in run order of the child."""
        return [Edge(p, c, what) for c in self.order for what, p in self.sources[c].items()]

    def parents(self, cell: str) -> set[str]:
        """The cells `cell` waits for."""
        return set(self.sources[cell].values())

    def children(self) -> dict[str, list[str]]:
        """cell → the cells that wait for it, in run order."""
        out: dict[str, list[str]] = {c: [] for c in self.order}
        for c in self.order:
            for p in dict.fromkeys(self.sources[c].values()):
                out[p].append(c)
        return out

    def writes(self, cell: str) -> frozenset[str]:
        """The names `cell` binds, pair names its measurements change included."""
        return self.deps[cell].writes | self.pair_writes.get(cell, frozenset())

    def downstream(self, cells: set[str]) -> set[str]:
        """`cells` and every cell that depends on them, directly or not."""
        kids = self.children()
        out, stack = set(cells), list(cells)
        while stack:
            for k in kids[stack.pop()]:
                if k not in out:
                    out.add(k)
                    stack.append(k)
        return out


def _analyze(cell: Cell) -> CellDeps:
    try:
        return analyze(cell.code)
    except CodexError as err:
        line = cell.file_line(err.line)
        where = f"line {line}" if line is not None else f"line {err.line} of the cell" if err.line else "the cell"
        raise SheetError(f"Cell {cell.where} does not parse at {where}: {err.message}", line=line) from err


def analyze_sheet(sheet: Sheet) -> dict[str, CellDeps]:
    """What each cell reads and writes (raises `SheetError` naming a cell that does not parse)."""
    return {c.id: _analyze(c) for c in sheet.cells}


def _define(definer: dict[str, str], name: str, cell: str, sheet: Sheet, why: str = "") -> None:
    other = definer.get(name)
    if other is not None and other != cell:
        raise SheetError(
            f"`{name}` is defined by two cells, {sheet[other].where} and {sheet[cell].where}{why}; a sheet gives "
            "each name one defining cell, so rename one of them or merge the two cells."
        )
    definer[name] = cell


def build_graph(
    sheet: Sheet,
    members: Mapping[str, tuple[str, str]] | None = None,
    *,
    deps: Mapping[str, CellDeps] | None = None,
) -> SheetGraph:
    """The graph of `sheet`; `members` is the container's pair membership (member → (pair, role)) and
    `deps` the cells' analysis when the caller has it already.

    Raises `SheetError` naming both cells for a name defined by two cells or a dependency cycle, and for
    a cell that reads `_` (private to each cell) before binding it.
    """
    members = members or {}
    deps = dict(deps) if deps is not None else analyze_sheet(sheet)
    definer: dict[str, str] = {}
    entangler: dict[str, str] = {}
    for cid, d in deps.items():
        if UNDERSCORE in d.reads:
            raise SheetError(
                f"Cell {sheet[cid].where} reads `_` before binding it; in a sheet `_` belongs to each cell, so "
                "name the value you need (`… -> name`) in the cell that makes it."
            )
        for name in sorted(d.writes):
            _define(definer, name, cid, sheet)
        for member in d.entangles:
            entangler.setdefault(member, cid)
    pair_writes: dict[str, frozenset[str]] = {}
    pair_reads: dict[str, set[str]] = {}
    for cid, d in deps.items():
        changed: set[str] = set()
        for member in sorted(d.measures):
            maker = entangler.get(member)
            if maker is not None and maker != cid:
                pair = deps[maker].entangles[member]
                raise SheetError(
                    f"Cell {sheet[cid].where} measures `{member}`, a member of the pair `{pair}` that cell "
                    f"{sheet[maker].where} makes; a measurement changes the pair, so measure `{member}` in "
                    f"{sheet[maker].where} itself."
                )
            if member in members:
                changed.add(members[member][0])
        for pair in sorted(changed):
            _define(definer, pair, cid, sheet, f" (`{cid}` changes the pair `{pair}` by measuring one of its members)")
        pair_writes[cid] = frozenset(changed)
        pair_reads[cid] = changed
    sources: dict[str, dict[str, str]] = {}
    last_setter: dict[str, str] = {}
    for cell in sheet.cells:
        d = deps[cell.id]
        src: dict[str, str] = {}
        for name in sorted(d.reads | pair_reads[cell.id]):
            maker = definer.get(name)
            if maker is not None and maker != cell.id:
                src[name] = maker
        for kind in d.inherits:
            if kind in last_setter:
                src[f"@{kind}"] = last_setter[kind]
        for kind in d.sets:
            last_setter[kind] = cell.id
        sources[cell.id] = src
    graph = SheetGraph(sheet, deps, definer, sources, pair_writes)
    graph.order = _order(graph)
    return graph


def _order(graph: SheetGraph) -> list[str]:
    """Kahn's algorithm, the ready cell earliest in the file first; a leftover cell is on a cycle."""
    position = {cid: k for k, cid in enumerate(graph.sheet.ids)}
    waiting = {c: len(set(s.values())) for c, s in graph.sources.items()}
    kids: dict[str, list[str]] = {c: [] for c in position}
    for c, s in graph.sources.items():
        for p in set(s.values()):
            kids[p].append(c)
    ready = [(position[c], c) for c, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, cell = heapq.heappop(ready)
        order.append(cell)
        for k in kids[cell]:
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(ready, (position[k], k))
    if len(order) < len(position):
        raise _cycle_error(graph, [c for c in graph.sheet.ids if waiting[c] > 0])
    return order


def _cycle_error(graph: SheetGraph, stuck: list[str]) -> SheetError:
    """A `SheetError` that names the cells of one cycle and the names that tie them."""
    path: list[str] = []
    cell = stuck[0]
    while cell not in path:
        path.append(cell)
        cell = next(p for p in graph.sources[cell].values() if p in stuck)
    cycle = path[path.index(cell) :]
    cycle.reverse()  # parents first: a → b means b reads from a
    first = min(range(len(cycle)), key=lambda k: graph.sheet.ids.index(cycle[k]))
    cycle = cycle[first:] + cycle[:first]  # start at the cell highest in the file
    links = []
    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        what = sorted(w for w, p in graph.sources[b].items() if p == a)
        links.append(f"{graph.sheet[b].where} reads `{what[0]}` from `{a}`")
    cells = (
        " and ".join(graph.sheet[c].where for c in cycle)
        if len(cycle) == 2
        else ", ".join(graph.sheet[c].where for c in cycle)
    )
    return SheetError(
        f"Cells {cells} depend on each other ({'; '.join(links)}); a sheet runs each cell once, so move one "
        "definition into the other cell or give it a new name."
    )
