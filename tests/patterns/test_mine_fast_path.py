"""`mine_patterns` reads `BeamStore.beam_index`: its tables equal the old path over BeamEvents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from codexlab.contracts import BeamEvent
from codexlab.patterns import attractors, entanglement_topology, mine_patterns, op_ngrams
from codexlab.patterns._beams import duration_ms, field, op_beams, op_chains
from codexlab.patterns.motifs import NGRAM_SCHEMA, topology_frame
from codexlab.store import BeamStore, JSONLStore, SQLStore
from codexlab.store.base import run_of_eid
from tests.patterns.conftest import energy_run


def _reference_ngrams(beams: list[Any], n: Sequence[int]) -> pl.DataFrame:
    """`op_ngrams` as it was before the fast path (recursive chains over BeamEvents)."""
    total = sum(duration_ms(b) for b in op_beams(beams))
    rows: list[dict[str, Any]] = []
    for size in n:
        paths: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
        members: dict[tuple[str, ...], dict[str, Any]] = defaultdict(dict)
        for chain in op_chains(beams, size):
            tokens = tuple(str(field(b, "token")) for b in chain)
            paths[tokens].add(tuple(field(b, "beam_id") for b in chain))
            members[tokens].update({field(b, "beam_id"): b for b in chain})
        for tokens, occurrences in paths.items():
            spent = sum(duration_ms(b) for b in members[tokens].values())
            rows.append(
                {
                    "n": size,
                    "ops": " → ".join(tokens),
                    "tokens": list(tokens),
                    "support": len(occurrences),
                    "runs": len({field(b, "sheet_run_id") for b in members[tokens].values()}),
                    "duration_ms": spent,
                    "time_share": spent / total if total > 0 else 0.0,
                }
            )
    frame = pl.DataFrame(rows, schema=NGRAM_SCHEMA)
    return frame.sort(["support", "time_share", "ops"], descending=[True, True, False])


def _reference_topology(emap: dict[str, list[str]]) -> pl.DataFrame:
    """Topology with the clique eids found by brute force over the whole map, as before."""
    topo = entanglement_topology(emap)
    for clique in topo["cliques"]:
        clique["eids"] = sorted(e for e, m in emap.items() if len(set(clique["cells"]) & set(m)) >= 2)
    return topology_frame(topo)


def _lab_like(beam: Callable[..., BeamEvent]) -> list[BeamEvent]:
    beams: list[BeamEvent] = []
    for i, run in enumerate(("r1", "r2", "r3", "r4")):
        beams += energy_run(beam, run, veto_dot=i == 2)
    psi = beams[0]
    beams.append(beam("r1", "wave", "Δ", [psi], verdict="warn", ms=0.3333333333333333))
    beams.append(beam("r1", "wave", "Δ", [beams[-1]], verdict=None, ms=2.0))
    beams.append(
        beam(
            "r2",
            "loop",
            "⟲",
            [psi],
            attractor={"kind": "fixed_point", "iteration": 7, "residual": 1e-9},
            names=["ψ"],
            ms=12.5,
        )
    )
    beams.append(beam("r2", "loop", "⟲", [psi], attractor={"kind": "cycle", "period": 2, "iteration": 4}))
    beams.append(beam("r3", "loop", "⟲", [psi], attractor=None))
    return beams


def _entangle(beams: list[BeamEvent]) -> list[BeamEvent]:
    """Give eids to a few beams (cells of different runs are separate: one cell per run in `energy_run`)."""
    out = []
    for i, b in enumerate(beams):
        eid = f"eid::{b.sheet_run_id}::{i % 3:08x}" if b.stage == "wave" else None
        cell = f"{b.cell_id}_{i % 4}"
        out.append(b.model_copy(update={"eid": eid, "cell_id": cell}))
    return out


@pytest.mark.parametrize("kind", ["sqlite", "jsonl"])
def test_mine_patterns_equals_the_beam_event_path(kind: str, tmp_path, beam) -> None:
    store: BeamStore = SQLStore(f"sqlite:///{tmp_path / 'b.db'}") if kind == "sqlite" else JSONLStore(tmp_path / "j")
    store.ensure_tables()
    beams = _entangle(_lab_like(beam))
    store.persist_beam_events(beams)
    events = [b for run in sorted({b.sheet_run_id for b in beams}) for b in store.beams_for_run(run)]
    events.sort(key=lambda b: (b.timestamp, b.beam_id))
    runs = {b.sheet_run_id for b in events}
    emap = {eid: cells for eid, cells in store.entanglement_map().items() if run_of_eid(eid) in runs}

    mined = mine_patterns(store, "demo")
    store.close()
    assert set(mined) == {"ngrams", "attractors", "topology"}
    assert mined["ngrams"].height > 0 and mined["attractors"].height == 2 and mined["topology"].height > 0
    assert_frame_equal(mined["ngrams"], _reference_ngrams(events, (2, 3)), check_exact=True)
    assert_frame_equal(mined["ngrams"], op_ngrams(events), check_exact=True)
    assert_frame_equal(mined["attractors"], attractors(events), check_exact=True)
    assert_frame_equal(mined["topology"], _reference_topology(emap), check_exact=True)


def test_op_ngrams_sizes_as_given(beam) -> None:
    beams = energy_run(beam, "r1") + energy_run(beam, "r2")
    for sizes in [(1,), (3, 2), (2, 2), (1, 2, 3, 4), (0, 2)]:
        expected = _reference_ngrams(beams, [s for s in sizes if s >= 1])
        assert_frame_equal(op_ngrams(beams, sizes), expected, check_exact=True)
    assert_frame_equal(op_ngrams(beams, 3), _reference_ngrams(beams, [3]), check_exact=True)
