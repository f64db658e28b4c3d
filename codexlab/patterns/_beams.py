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
    if isinstance(beam, Mapping):
        value = beam.get(name, default)
    else:
        value = getattr(beam, name, default)
    return default if value is None else value


def duration_ms(beam: Any) -> float:
    """The beam's `result.duration_ms` (0 when absent or not a number)."""
    value = field(beam, "result", {}).get("duration_ms")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def op_beams(beams: Iterable[Any]) -> list[Any]:
    """The approved op beams (stage wave/symbolic, verdict pass/warn), in the given order, ids unique."""
    seen: set[str] = set()
    out: list[Any] = []
    for b in beams:
        bid = field(b, "beam_id")
        if bid in seen or field(b, "stage") not in OP_STAGES or field(b, "verdict") not in APPROVED_VERDICTS:
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
