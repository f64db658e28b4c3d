"""codexlab.kg: the PROV-O knowledge graph of approved beams (Oxigraph on disk), SPARQL and export.

The graph is a projection of the beam store: `export_after_commit` writes a committed run and drains the
runs other processes left pending; `rebuild` makes it again from the store.
"""

from __future__ import annotations

from codexlab.kg import kg_writer
from codexlab.kg.cli import kg_export_cli, kg_query_cli
from codexlab.kg.kg_writer import write_beams, write_mutation, write_scores
from codexlab.kg.mapping import beams_to_quads, is_approved, mutation_quads
from codexlab.kg.store import EXPORT_FORMATS, KnowledgeGraph, kg_path, open_kg
from codexlab.kg.sync import ExportOutcome, RebuildReport, drain_pending, export_after_commit, export_run, rebuild
from codexlab.kg.vocab import CX_NS, ID_NS, PREFIXES

__all__ = [
    "CX_NS",
    "EXPORT_FORMATS",
    "ExportOutcome",
    "ID_NS",
    "KnowledgeGraph",
    "PREFIXES",
    "RebuildReport",
    "beams_to_quads",
    "drain_pending",
    "export_after_commit",
    "export_run",
    "is_approved",
    "kg_export_cli",
    "kg_path",
    "kg_query_cli",
    "kg_writer",
    "mutation_quads",
    "open_kg",
    "rebuild",
    "write_beams",
    "write_mutation",
    "write_scores",
]
