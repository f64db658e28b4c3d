"""The pattern engine through the Lab: motifs per container, a fusion glyph callable by name, mutations."""

from __future__ import annotations

import numpy as np
import polars as pl

from codexlab import Lab

# Fusion mines grid ops: `@method fd2` puts every field op on the grid (analytic cells run exact otherwise).
GRID = "@grid x:-1..1:64, y:-1..1:64\n@method fd2\nψ := gaussian(x, y, σ=0.2)\n"
CELL = "E = ∇ψ • ∇ψ + Δψ\n"


def _lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    lab.min_fusion_gain = 0.0  # keep any glyph found: the keep rule itself is tested apart
    lab.run(GRID, "f")
    return lab


def test_too_little_support_fuses_nothing(tmp_path) -> None:
    lab = _lab(tmp_path)
    lab.run(CELL, "f")
    assert lab.fuse("f") is None
    assert lab.mutations("f") == []


def test_a_frequent_chain_becomes_a_glyph_that_later_scrolls_call_by_name(tmp_path) -> None:
    lab = _lab(tmp_path)
    for _ in range(3):
        unfused = lab.run(CELL, "f").values["E"]
    glyph = lab.fuse("f")
    assert glyph is not None and glyph.support >= 3 and glyph.speedup is not None
    assert set(glyph.chain) == {"∇", "•", "+"}
    later = lab.run(f"L = Δψ\nE2 = {glyph.name}(ψ, L)\n", "f")
    fused = later.values["E2"]
    scale = float(np.max(np.abs(unfused.values)))
    assert float(np.max(np.abs(fused.values - unfused.values))) <= 1e-6 * scale
    beam = next(b for b in later.beams if b.token == glyph.name and b.stage == "wave")
    assert beam.result["path"] == "host"  # the glyph's own compiled kernel

    (mutation,) = lab.mutations("f")
    assert mutation.metadata.reason == "fusion" and mutation.mutated.glyph == glyph.name
    assert mutation.accepted is True
    revised = lab.kg.query("ASK { ?m prov:wasRevisionOf ?o ; prov:wasDerivedFrom ?o }")
    assert revised is True


def test_patterns_are_tables_and_each_call_appends_to_the_trace(tmp_path) -> None:
    lab = _lab(tmp_path)
    for _ in range(2):
        lab.run(CELL, "f")
    first = lab.patterns("f")
    grams = first["ngrams"]
    assert grams.height > 0 and grams["support"].max() >= 2
    lab.patterns("f")
    trace = tmp_path / "home" / "traces" / "patterns-f.jsonl"
    assert len(trace.read_text().splitlines()) == 2


def test_a_kept_glyph_becomes_a_sound_photon_rule_for_later_cells(tmp_path) -> None:
    lab = _lab(tmp_path)
    for _ in range(3):
        unfused = lab.run(CELL, "f").values["E"]
    glyph = lab.fuse("f")
    stats = lab.rules.stats()[f"fuse:{glyph.name}"]
    assert stats.passes >= 1 and stats.failures == 0
    later = lab.run("E4 = ∇ψ • ∇ψ + Δψ\n", "f")
    assert f"fuse:{glyph.name}" in [step.rule for step in later.derivations["E4"].steps]
    assert any(b.token == glyph.name for b in later.beams if b.stage in ("wave", "symbolic"))
    scale = float(np.max(np.abs(unfused.values)))
    assert float(np.max(np.abs(later.values["E4"].values - unfused.values))) <= 1e-6 * scale
    fresh = Lab(home=tmp_path / "other")
    assert fresh.rules is None  # another Lab keeps the default rules


def test_a_kept_glyph_is_saved_in_the_scroll_library(tmp_path) -> None:
    lab = _lab(tmp_path)
    for _ in range(3):
        lab.run(CELL, "f")
    glyph = lab.fuse("f")
    assert glyph.name in lab.library.list()
    text = lab.library.source(glyph.name)
    assert glyph.text in text and f"{glyph.name}(" in text


def test_attractors_of_a_fixed_point_and_a_three_cycle(tmp_path) -> None:
    lab = _lab(tmp_path)
    fixed = lab.run("s = 0.0\n⟲ 80 { s = 0.5*s + 0.5 }\n", "f")
    three = lab.run("a = 1.0\nb = 2.0\nc = 3.0\n⟲ 12 { tmp = a; a = b; b = c; c = tmp }\n", "f")
    (loop_fixed,) = [b for b in fixed.beams if b.stage == "loop" and "iterations" in b.result]
    (loop_three,) = [b for b in three.beams if b.stage == "loop" and "iterations" in b.result]
    assert loop_fixed.result["attractor"]["kind"] == "fixed_point"
    assert loop_three.result["attractor"]["kind"] == "cycle" and loop_three.result["attractor"]["period"] == 3
    cycles = lab.patterns("f")["attractors"].filter(pl.col("kind") == "cycle")
    assert 3 in cycles["period"].to_list()


def test_a_glyph_under_the_speedup_bar_is_dropped_recorded_and_not_retried(tmp_path) -> None:
    lab = _lab(tmp_path)
    lab.min_fusion_gain = float("inf")
    for _ in range(3):
        lab.run(CELL, "f")
    assert lab.fuse("f") is None
    (mutation,) = lab.mutations("f")
    assert mutation.metadata.reason == "fusion" and mutation.accepted is False
    assert lab.rules is None and mutation.mutated.glyph not in lab.library.list()
    assert lab.fuse("f") is None and len(lab.mutations("f")) == 1
