"""Beam access shared by the pattern engine: approved op beams and their parent→child chains."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = ["APPROVED_VERDICTS", "OP_STAGES", "field", "op_beams", "op_chains", "duration_ms"]

#: The stages whose beams are executed operations.
OP_STAGES: frozenset[str] = frozenset({"wave", "symbolic"})
#: SoulLaw verdicts that let a beam reach SPE (a vetoed or unvetted beam never does).
APPROVED_VERDICTS: frozenset[str] = frozenset({"pass", "warn"})


def field(beam: Any, name: str, default: Any = None) -> Any:
    """One field of a beam given as a BeamEvent or as a store row (mapping)."""
    if isinstance(beam, dict | Mapping):  # `dict` first: the common case, without the ABC check
        value = beam.get(name, default)
    else:
        value = getattr(beam, name, default)
    return default if value is None else value


def duration_ms(beam: Any) -> float:
    """The beam's `result.duration_ms` (0 when absent or not a number).

    A `BeamStore.beam_index` row carries it already, as `duration_ms` (None when not a number).
    """
    if isinstance(beam, dict) and "duration_ms" in beam:
        value = beam["duration_ms"]
        return 0.0 if value is None else value
    value = field(beam, "result", {}).get("duration_ms")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def op_beams(beams: Iterable[Any]) -> list[Any]:
    """The approved op beams (stage wave/symbolic, verdict pass/warn), in the given order, ids unique."""
    seen: set[Any] = set()
    out: list[Any] = []
    for b in beams:
        if type(b) is dict:  # a store row or index row: skip `field`'s checks on the common path
            bid, stage, verdict = b.get("beam_id"), b.get("stage"), b.get("verdict")
        else:
            bid, stage, verdict = field(b, "beam_id"), field(b, "stage"), field(b, "verdict")
        if bid in seen or stage not in OP_STAGES or verdict not in APPROVED_VERDICTS:
            continue
        seen.add(bid)
        out.append(b)
    return out


def op_chains(beams: Sequence[Any], n: int) -> Iterator[tuple[Any, ...]]:
    """Every parent→child path of `n` approved op beams (each beam a parent of the next), oldest first.

    A path is yielded once; beams that are not approved op beams break a path, as SPE never sees them.
    """
    ops = op_beams(beams)
    by_id = {field(b, "beam_id"): b for b in ops}

    def up(beam: Any, length: int) -> Iterator[tuple[Any, ...]]:
        if length == 1:
            yield (beam,)
            return
        for pid in dict.fromkeys(field(beam, "parents", [])):
            parent = by_id.get(pid)
            if parent is not None:
                for path in up(parent, length - 1):
                    yield (*path, beam)

    for beam in ops:
        yield from up(beam, n)
