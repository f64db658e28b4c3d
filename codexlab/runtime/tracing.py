"""Collapse traces of a committed cell (contract 6): one per ⧖, per ambiguous Photon choice, and per
path choice whose exact form's size was within 10 % of `COST_THRESHOLD` (a near tie of the static rule).

Every id a trace carries resolves on the Lab that wrote it: `ghx_projection_id` with `lab.replay(id)`
(the run's beams), `vault_snapshot_id` with `lab.vault.load(id)` (the post-measurement state) and
`qglyph_id` with `lab.qglyph(id)` (the program of the collapsed expression).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..lang import ast
from ..lang.printer import to_text
from ..photon.printing import to_unicode
from ..qwave.measure import Measurement
from ..qwave.qglyph import to_qglyph
from ..sqi.collapse_trace import export_collapse_trace
from ..sqi.entropy import shannon_entropy
from .memory import CarrierMemory

if TYPE_CHECKING:
    from ..contracts import CollapseTrace
    from .lab import Lab
    from .machine import CellResult

__all__ = ["collapse_traces", "scroll_tree"]


def scroll_tree(tree: ast.Scroll) -> dict[str, Any]:
    """The scroll as JSON for a dream pack: each statement's kind, line and canonical text."""
    return {
        "statements": [
            {"kind": type(s).__name__, "line": s.line, "text": to_text(s).rstrip("\n")} for s in tree.statements
        ]
    }


def _entropy(value: Any) -> float | None:
    """Shannon entropy in nats of a field's |ψ|² (None for what has none, e.g. a pair)."""
    data = getattr(value, "data", value)
    if isinstance(data, xr.DataArray):
        h = shannon_entropy(data)
        return None if np.isnan(h) else h
    return None


def _user() -> str:
    from ..kg.mapping import default_user

    return default_user()


def collapse_traces(
    lab: Lab, result: CellResult, memory: CarrierMemory, run_id: str, tree: ast.Scroll
) -> list[CollapseTrace]:
    """Write the cell's collapse traces to `lab.trace_path` and the store; returns them."""
    written: list[CollapseTrace] = []
    export = functools.partial(  # what every trace of this cell shares
        export_collapse_trace,
        identity=_user(),
        ghx_projection_id=run_id,
        scroll_tree=scroll_tree(tree),
        memory_tags=sorted(memory.bindings),
        path=lab.trace_path,
        store=lab.store,
    )
    for name, held in result.values.items():
        value = getattr(held, "data", held)
        if not isinstance(value, Measurement):
            continue
        binding = memory.bindings.get(name)
        node = binding.node if binding is not None else None
        program_id = lab.register_program(to_qglyph(node)) if node is not None else None
        snapshot = lab.vault.save(value.post) if isinstance(value.post, xr.DataArray) else None
        operand = None
        if node is not None and node.args and node.args[0].op == "name":
            source = memory.bindings.get(node.args[0].value)
            operand = source.value if source is not None else None
        written.append(
            export(
                expression=to_unicode(node) if node is not None else f"⧖ → {name}",
                output={"name": name, "outcome": list(value.outcome), "probability": float(value.probability)},
                adapter="qwave",
                vault_snapshot_id=snapshot,
                qglyph_id=program_id,
                entropy_before=_entropy(operand),
                entropy_after=_entropy(value.post),
                trigger_metadata={
                    "kind": "measurement",
                    "mode": value.mode,
                    "sigma": value.sigma,
                    "key": value.key_hex,
                    "member": value.member,
                    "beam_id": binding.value.beam_id if binding is not None else None,
                },
            )
        )
    for target, derivation in result.derivations.items():
        for amb in derivation.ambiguities:
            program_id = lab.register_program(to_qglyph(derivation.result))
            written.append(
                export(
                    expression=to_unicode(derivation.input),
                    output={"name": target, "chosen": amb.chosen, "result": to_unicode(derivation.result)},
                    adapter="photon",
                    vault_snapshot_id=None,
                    qglyph_id=program_id,
                    entropy_before=None,
                    entropy_after=None,
                    trigger_metadata={"kind": "rule_choice", "rules": list(amb.rules), "path": list(amb.path)},
                )
            )
    bound = lab.plan_settings().size_bound
    for beam in result.beams:
        near = _near_bound(beam.result, bound) if beam.stage == "schedule" else None
        if near is None:
            continue
        written.append(
            export(
                expression=beam.token,
                output={"chosen": beam.result.get("path"), **near},
                adapter="codex",
                vault_snapshot_id=None,
                qglyph_id=None,
                entropy_before=None,
                entropy_after=None,
                trigger_metadata={
                    "kind": "scheduler_path",
                    "beam_id": beam.beam_id,
                    "reason": beam.result.get("reason"),
                },
            )
        )
    return written


#: An exact form whose size is within this fraction of `COST_THRESHOLD` makes the path choice ambiguous:
#: a slightly different expression (or bound) would take the other path.
AMBIGUOUS_MARGIN = 0.1


def _near_bound(decision: dict[str, Any], bound: int) -> dict[str, int] | None:
    """The exact form's size and the bound when they are within `AMBIGUOUS_MARGIN` of each other."""
    size = decision.get("exact_nodes")
    if size is None or bound <= 0:
        return None
    if abs(int(size) - bound) <= AMBIGUOUS_MARGIN * bound:
        return {"exact_nodes": int(size), "bound": bound}
    return None
