"""What flows between the cells of a sheet: each cell runs against a private carrier memory holding only
the state it reads, and its outputs are merged back into the container in run order.

A private memory carries the container's id, config and extras, the directive state the cell inherits,
the bindings (or veto records) of the names it reads with the norms of their beams, and the pairs a
measurement of a member needs. Nothing else, so two cells never touch the same memory.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import SheetError
from ..lang.deps import DIRECTIVE_STATE, UNDERSCORE
from ..runtime.memory import Binding, CarrierMemory
from .graph import SheetGraph

__all__ = ["cell_memory", "merge_cell", "merge_directives", "Watch", "DIRECTIVE_FIELDS", "directive_state"]

#: Directive kind → the CarrierMemory field it sets.
DIRECTIVE_FIELDS = {"grid": "grid", "precision": "precision", "seed": "seed", "wave": "wave_c", "method": "method"}


def directive_state(memory: CarrierMemory) -> dict[str, object]:
    """The persistent directive state of a memory, by directive kind."""
    return {kind: getattr(memory, DIRECTIVE_FIELDS[kind]) for kind in DIRECTIVE_STATE}


def _copy_name(target: CarrierMemory, source: CarrierMemory, name: str) -> None:
    binding = source.bindings.get(name)
    if binding is not None:
        target.bindings[name] = binding
        beam = binding.value.beam_id
        if beam is not None and beam in source.norms:
            target.norms[beam] = source.norms[beam]
    elif name in source.vetoed:
        target.vetoed[name] = source.vetoed[name]


def cell_memory(
    graph: SheetGraph, cell: str, base: CarrierMemory, outputs: Mapping[str, CarrierMemory]
) -> CarrierMemory:
    """The private memory `cell` runs against: its reads from the cells that define them (their finished
    memories in `outputs`) or from `base` (the container when the sheet started)."""
    sources = graph.sources[cell]
    deps = graph.deps[cell]
    memory = CarrierMemory(base.container_id, config=copy.deepcopy(base.config), extras=dict(base.extras))
    for kind in DIRECTIVE_STATE:
        origin = sources.get(f"@{kind}")
        field_name = DIRECTIVE_FIELDS[kind]
        setattr(memory, field_name, getattr(outputs[origin] if origin else base, field_name))
    pairs = graph.pair_writes.get(cell, frozenset())
    for name in sorted(deps.reads | pairs):
        origin = sources.get(name)
        _copy_name(memory, outputs[origin] if origin else base, name)
    for member, (pair, role) in base.members.items():
        if pair in pairs and pair in memory.bindings:
            memory.members[member] = (pair, role)
            if member not in memory.bindings:
                _copy_name(memory, base, member)
    return memory


@dataclass(frozen=True)
class Watch:
    """A private memory as it was handed to a cell: what changed afterwards is what the cell wrote."""

    bindings: dict[str, Binding]
    vetoed: frozenset[str]
    members: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, memory: CarrierMemory) -> Watch:
        return cls(dict(memory.bindings), frozenset(memory.vetoed), dict(memory.members))

    def changed(self, memory: CarrierMemory) -> set[str]:
        """Names bound, rebound, unbound or vetoed since the watch began."""
        names = {n for n, b in memory.bindings.items() if self.bindings.get(n) is not b}
        names |= set(self.bindings) - set(memory.bindings)
        names |= set(memory.vetoed) - self.vetoed
        return names

    def check(self, graph: SheetGraph, cell: str, memory: CarrierMemory) -> None:
        """Fail closed when a cell changed a name the sheet's analysis did not expect it to write."""
        allowed = graph.writes(cell) | {UNDERSCORE}
        extra = sorted(self.changed(memory) - allowed)
        moved = sorted(
            m
            for m, link in memory.members.items()
            if self.members.get(m) != link and m not in graph.deps[cell].entangles
        )
        if extra or moved:
            names = ", ".join(f"`{n}`" for n in extra + moved)
            raise SheetError(
                f"Cell {graph.sheet[cell].where} changed {names}, which its code does not bind; the sheet "
                "cannot order it safely, so bind those names in that cell explicitly or run it with `Lab.run`."
            )


def merge_cell(container: CarrierMemory, graph: SheetGraph, cell: str, memory: CarrierMemory) -> None:
    """Fold a finished cell's outputs into the container: its names (bound or vetoed), its pairs'
    membership and the norms of its beams (directives: `merge_directives`)."""
    for name in sorted(graph.writes(cell) | {UNDERSCORE}):
        if name in memory.bindings:
            container.bind(memory.bindings[name])
        elif name in memory.vetoed:
            container.veto(memory.vetoed[name])
    for member in graph.deps[cell].entangles:
        if member in memory.members:
            container.members[member] = memory.members[member]
    for pair in graph.pair_writes.get(cell, frozenset()):
        container.members.update({m: link for m, link in memory.members.items() if link[0] == pair})
    container.norms.update(memory.norms)


def merge_directives(container: CarrierMemory, graph: SheetGraph, outputs: Mapping[str, CarrierMemory]) -> None:
    """Each persistent directive as the last cell in file order that set it (and finished) left it."""
    for cell in graph.sheet.ids:
        if cell in outputs:
            for kind in graph.deps[cell].sets:
                field_name = DIRECTIVE_FIELDS[kind]
                setattr(container, field_name, getattr(outputs[cell], field_name))
