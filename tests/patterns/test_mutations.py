"""DNA mutations land in a real SQLite store, a real knowledge graph and on the bus."""

from __future__ import annotations

from typing import Any

from codexlab.contracts import DnaMutation, SqiScore
from codexlab.kg.store import KnowledgeGraph
from codexlab.patterns import add_dna_mutation, list_mutations
from codexlab.store import open_store


class Bus:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def test_mutation_is_stored_written_and_published(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'beams.db'}")
    kg = KnowledgeGraph(tmp_path / "kg")
    bus = Bus()
    m = add_dna_mutation(
        {"glyph": "∇ → • → +", "op_chain": ["∇", "•", "+"]},
        {"glyph": "fuse_0877e334", "template": "q1 + ∇q0 • ∇q0"},
        "fusion",
        container_id="demo",
        entropy_delta=-0.1,
        rewrite_success_prob=0.9,
        accepted=True,
        qscore_before=0.8,
        qscore_after=0.9,
        store=store,
        kg=kg,
        bus=bus,
    )
    assert isinstance(m, DnaMutation)
    add_dna_mutation(
        "cell",
        "cell:fd_order",
        "repair",
        container_id="other",
        entropy_delta=0.0,
        rewrite_success_prob=1.0,
        accepted=False,
        store=store,
    )
    stored = list_mutations(store, "demo")
    assert [s.mutation_id for s in stored] == [m.mutation_id]
    assert stored[0] == m
    assert len(list_mutations(store)) == 2
    types = [e["type"] for e in bus.events]
    assert types == ["dna_mutation", "sqi_score"]
    score = SqiScore.model_validate(bus.events[1])
    assert score.mutation_id == m.mutation_id and score.qscore == 0.9
    scored = [r["mutation_id"] for r in store.rows("sqi_scores")]
    assert scored[0] == m.mutation_id and len(scored) == 2
    rows = kg.query(
        "PREFIX prov: <http://www.w3.org/ns/prov#> SELECT ?new ?old WHERE { GRAPH ?g { ?new prov:wasRevisionOf ?old } }"
    )
    assert len(rows) == 1
    kg.close()
    store.close()
