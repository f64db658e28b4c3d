"""SPE, the pattern engine: motifs of beams, fusion glyphs, repairs from drift, DNA mutations."""

from __future__ import annotations

from codexlab.patterns.fusion import FusionGlyph, measure_speedup, recombine_from_beams, run_op_by_op
from codexlab.patterns.motifs import attractors, entanglement_topology, mine_patterns, op_ngrams
from codexlab.patterns.mutations import add_dna_mutation, fusion_sides, list_mutations, repair_sides
from codexlab.patterns.repair import CellSettings, RepairCandidate, repair_from_drift
from codexlab.patterns.trace import read_trace, record_trace

__all__ = [
    "FusionGlyph",
    "RepairCandidate",
    "add_dna_mutation",
    "attractors",
    "entanglement_topology",
    "fusion_sides",
    "list_mutations",
    "measure_speedup",
    "mine_patterns",
    "op_ngrams",
    "read_trace",
    "record_trace",
    "recombine_from_beams",
    "repair_from_drift",
    "CellSettings",
    "repair_sides",
    "run_op_by_op",
]
