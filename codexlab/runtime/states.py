"""Entangled pairs and measurements in a running cell: eids, member links, and `⧖` of a pair member.

`a ↔ b` (and `a ⊗ b` of states) makes a pair value whose eid is derived from the op, the statement and
the step (stable across runs); both operands that are names become its members (roles A and B). `⧖a`
on a member samples from the pair's marginal, conditions the pair (Kraus on A, re-orthogonalized), and
rebinds the pair — after the measurement record passes the vet stage with the rest of its statement.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..contracts import BeamEvent
from .memory import Binding
from .program import Op
from .values import Value

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["States"]


class States:
    """Pair and measurement bookkeeping of one cell run."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        #: Pair rebinds waiting for their measurement's statement to pass the vet stage.
        self.pending: dict[str, tuple[Binding, dict[str, str]]] = {}

    def tag_pair(self, op: Op, value: Value) -> None:
        """Give a new pair its eid and record which names are its members."""
        m = self.machine
        h = hashlib.blake2b(f"{op.node.id}:{m.stmt_hash}:{m.step}".encode(), digest_size=8).hexdigest()
        eid = f"eid::{m.run_id}::{h}"
        value.meta["eid"] = eid
        try:
            value.data.eid = eid
        except AttributeError:
            pass
        value.meta["members"] = [
            (str(c.value), role) for c, role in zip(op.node.args, ("A", "B"), strict=False) if c.op == "name"
        ]
        if eid not in m.result.eids:
            m.result.eids.append(eid)

    def link_members(self, value: Value, beam: BeamEvent) -> None:
        """Entanglement link records (contract 2 ext) for a pair's members."""
        m = self.machine
        pair = value.data
        for member, role in value.meta.get("members", ()):
            b = m.memory.bindings.get(member)
            m.result.links.append(
                {
                    "eid": value.meta["eid"],
                    "beam_id": b.value.beam_id if b is not None and b.value.beam_id else beam.beam_id,
                    "cell_id": m.cell_id,
                    "role": role,
                    "schmidt_rank": int(pair.schmidt_rank),
                    "entropy_bits": float(pair.entropy_bits),
                }
            )

    def measure_member(self, op: Op, member: str, operand: Value, kw: Mapping[str, Any]) -> Value:
        """`⧖a` on a pair member: the record; the conditioned pair is rebound once the statement passes."""
        from ..qwave import measure, prng

        m = self.machine
        pair_name, role = m.memory.members[member]
        pair_binding = m.memory.get(pair_name)
        key = prng.derive_key(m.memory.seed, m.stmt_hash, m.step)
        started = time.perf_counter()
        record, new_pair = measure.measure_pair(
            pair_binding.value.data, member=role, key=key, mode=str(kw["mode"]), resolution=kw["resolution"]
        )
        eid = pair_binding.value.meta.get("eid")
        try:
            new_pair.eid = eid
        except AttributeError:
            pass
        value = Value(
            "measurement",
            data=record,
            path="grid",
            meta={
                "eid": eid,
                "member": member,
                "role": role,
                "entropy_bits_after": float(new_pair.entropy_bits),
                "measure_ms": (time.perf_counter() - started) * 1e3,
            },
        )
        pair_value = Value("pair", data=new_pair, path="grid", meta=dict(pair_binding.value.meta))
        members = {n: r for n, (p, r) in m.memory.members.items() if p == pair_name}
        self.pending[pair_name] = (Binding(pair_name, pair_value, pair_binding.node, pair_binding.defined), members)
        value.meta["pair"] = pair_name
        value.meta["pair_beam"] = pair_binding.value.beam_id
        return value

    def commit(self, measurement: Value) -> None:
        """After the measurement's statement passed: rebind the conditioned pair (same members)."""
        pair_name = measurement.meta.get("pair")
        if pair_name is None or pair_name not in self.pending:
            return
        binding, members = self.pending.pop(pair_name)
        binding.value.beam_id = measurement.beam_id or binding.value.beam_id
        m = self.machine
        m.memory.bindings[pair_name] = binding
        for name, role in members.items():
            m.memory.members[name] = (pair_name, role)
        m.result.values[pair_name] = binding.value

    def discard(self) -> None:
        """A vetoed statement: the pair stays as it was."""
        self.pending.clear()
