"""The plan's `kg_writer.write_*`: write payloads into a home's knowledge graph in one call each.

Without `kg=`, the graph of `home` (default `$CODEXLAB_HOME`) is opened and stays open, shared with
every later `KnowledgeGraph` on it in this process (opening costs tens of milliseconds).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from codexlab.kg.mapping import BeamLike, MutationLike, ScoreLike
from codexlab.kg.store import KnowledgeGraph, open_kg

__all__ = ["write_beams", "write_mutation", "write_scores"]

Home = str | os.PathLike[str] | None


def _graph(kg: KnowledgeGraph | None, home: Home) -> KnowledgeGraph:
    return kg if kg is not None else open_kg(home)


def write_beams(
    beams: Iterable[BeamLike],
    scores: Iterable[ScoreLike] | Mapping[str, ScoreLike] | None = None,
    *,
    kg: KnowledgeGraph | None = None,
    home: Home = None,
) -> int:
    """Write approved beams (and their scores) to `kg`, else to `<home>/kg`; returns the quads written."""
    return _graph(kg, home).write_beams(beams, scores)


def write_mutation(mutation: MutationLike, *, kg: KnowledgeGraph | None = None, home: Home = None) -> int:
    """Write one DNA mutation (`prov:wasRevisionOf` + `prov:wasDerivedFrom`); returns the quads written."""
    return _graph(kg, home).write_mutation(mutation)


def write_scores(scores: Iterable[ScoreLike], *, kg: KnowledgeGraph | None = None, home: Home = None) -> int:
    """Write SQI score events onto entities already in the graph; returns the quads written."""
    return _graph(kg, home).write_scores(scores)
