"""PROV-O mapping of beams, scores and mutations, checked quad by quad and with SPARQL over the quads."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyoxigraph import Literal, NamedNode, Quad, Store

import codexlab
from codexlab.contracts import canonical_json
from codexlab.kg.mapping import beams_to_quads, is_approved, mutation_quads
from codexlab.kg.vocab import (
    CX,
    DQV,
    ENGINE_AGENT,
    MUTATIONS_GRAPH,
    PREFIXES,
    PROV,
    RDF,
    XSD,
    agent_iri,
    beam_iri,
    eid_iri,
    id_of,
    measurement_iri,
    mutation_iri,
    resource_iri,
    run_iri,
    value_iri,
)

from .factory import make_beam, make_mutation, make_score


@pytest.fixture
def dag():
    """Two runs: a → b → c (b entangled with d), a → d; a vetoed child v of b; an error beam; e uses v."""
    a = make_beam("cell_a", "ingest", run="run_1", result={"vault_ref": "snap_a", "norm": 1.0})
    b = make_beam("cell_b", "wave", run="run_1", parents=[a.beam_id], eid="eid::run_1::pair")
    d = make_beam("cell_d", "wave", run="run_1", parents=[a.beam_id], eid="eid::run_1::pair")
    c = make_beam("cell_c", "wave", run="run_2", parents=[b.beam_id, d.beam_id], qscore=0.7, drift=0.03)
    v = make_beam("cell_v", "wave", run="run_2", parents=[b.beam_id], verdict="veto")
    err = make_beam("cell_x", "error", run="run_2", parents=[c.beam_id], result={"error": "boom"})
    e = make_beam("cell_e", "symbolic", run="run_2", parents=[c.beam_id, v.beam_id], verdict="warn")
    return {"a": a, "b": b, "c": c, "d": d, "v": v, "err": err, "e": e}


def _store(quads: list[Quad]) -> Store:
    store = Store()
    store.extend(quads)
    return store


def _ask(store: Store, body: str) -> bool:
    return bool(store.query(f"ASK {{ {body} }}", prefixes=PREFIXES, use_default_graph_as_union=True))


def test_one_named_graph_per_run_and_no_default_graph(dag):
    quads = beams_to_quads(dag.values(), user="alice")
    assert {q.graph_name for q in quads} == {run_iri("run_1"), run_iri("run_2")}
    for beam in dag.values():
        if is_approved(beam):
            own = (beam_iri(beam.beam_id), value_iri(beam.beam_id))
            graphs = {q.graph_name for q in quads if q.subject in own}
            assert graphs == {run_iri(beam.sheet_run_id)}


def test_activities_entities_and_their_fields(dag):
    quads = set(beams_to_quads(dag.values(), user="alice"))
    for key in ("a", "b", "c", "d", "e"):
        beam = dag[key]
        g, act, val = run_iri(beam.sheet_run_id), beam_iri(beam.beam_id), value_iri(beam.beam_id)
        expected = {
            Quad(act, RDF.type, PROV.Activity, g),
            Quad(act, CX.stage, Literal(beam.stage), g),
            Quad(act, CX.token, Literal(beam.token), g),
            Quad(act, CX.cell, Literal(beam.cell_id), g),
            Quad(act, CX.container, Literal(beam.container_id), g),
            Quad(act, PROV.startedAtTime, Literal(beam.timestamp, datatype=XSD.dateTime), g),
            Quad(act, PROV.wasAssociatedWith, ENGINE_AGENT, g),
            Quad(act, PROV.wasAssociatedWith, agent_iri("alice"), g),
            Quad(val, RDF.type, PROV.Entity, g),
            Quad(val, PROV.wasGeneratedBy, act, g),
            Quad(val, PROV.value, Literal(canonical_json(beam.result)), g),
        }
        assert expected <= quads, key
        assert json.loads(canonical_json(beam.result)) == beam.result
    vault = [q for q in quads if q.predicate == CX.vaultRef]
    assert vault == [Quad(value_iri(dag["a"].beam_id), CX.vaultRef, Literal("snap_a"), run_iri("run_1"))]


def test_parents_give_derived_from_and_used(dag):
    quads = beams_to_quads(dag.values(), user="alice")
    derived = {
        (id_of(q.subject.value, "value"), id_of(q.object.value, "value"))
        for q in quads
        if q.predicate == PROV.wasDerivedFrom
    }
    used = {(id_of(q.subject.value, "beam"), id_of(q.object.value, "value")) for q in quads if q.predicate == PROV.used}
    approved = {b.beam_id for b in dag.values() if is_approved(b)}
    reference = {(b.beam_id, p) for b in dag.values() if b.beam_id in approved for p in b.parents if p in approved}
    assert derived == reference
    assert used == reference
    assert (dag["e"].beam_id, dag["v"].beam_id) not in derived


def test_vetoed_and_error_beams_are_in_no_graph(dag):
    quads = beams_to_quads(dag.values(), user="alice")
    store = _store(quads)
    for key in ("v", "err"):
        beam_id = dag[key].beam_id
        iris = [beam_iri(beam_id), value_iri(beam_id), measurement_iri(beam_id)]
        assert not any(term in iris for q in quads for term in (q.subject, q.object))
        for iri in iris:
            node = f"<{iri.value}>"
            assert not _ask(store, f"{{ {node} ?p ?o }} UNION {{ ?s ?p {node} }}")
            assert not _ask(store, f"GRAPH ?g {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }}")
        assert not _ask(
            store, f'GRAPH ?g {{ ?s ?p ?o FILTER(CONTAINS(STR(?s), "{beam_id}") || CONTAINS(STR(?o), "{beam_id}")) }}'
        )
    assert beams_to_quads([dag["v"], dag["err"]], user="alice") == []


def test_agents_engine_with_version_and_user(dag):
    store = _store(beams_to_quads(dag.values(), user="alice"))
    rows = list(
        store.query(
            "SELECT ?g ?version WHERE { GRAPH ?g { ?e a prov:SoftwareAgent ; cx:version ?version ; "
            "prov:actedOnBehalfOf ?u . ?u a prov:Agent } }",
            prefixes=PREFIXES,
        )
    )
    assert {(r["g"], r["version"].value) for r in rows} == {
        (run_iri("run_1"), codexlab.__version__),
        (run_iri("run_2"), codexlab.__version__),
    }
    assert _ask(store, f"<{beam_iri(dag['c'].beam_id).value}> prov:wasAssociatedWith agent:alice")


def test_eid_is_a_collection_of_member_values(dag):
    quads = set(beams_to_quads(dag.values(), user="alice"))
    coll, g = eid_iri("eid::run_1::pair"), run_iri("run_1")
    members = {q.object for q in quads if q.subject == coll and q.predicate == PROV.hadMember}
    assert members == {value_iri(dag["b"].beam_id), value_iri(dag["d"].beam_id)}
    assert Quad(coll, RDF.type, PROV.Collection, g) in quads


def test_sqi_gives_dqv_measurement_and_direct_qscore(dag):
    score = make_score(dag["e"].beam_id, 0.42, drift=0.11)
    quads = beams_to_quads(dag.values(), [score], user="alice")
    store = _store(quads)
    rows = list(
        store.query(
            "SELECT ?v ?q ?direct ?drift WHERE { ?m a dqv:QualityMeasurement ; dqv:computedOn ?v ; "
            "dqv:value ?q ; dqv:isMeasurementOf cx:qscoreMetric . ?v cx:qscore ?direct ; cx:drift ?drift }",
            prefixes=PREFIXES,
            use_default_graph_as_union=True,
        )
    )
    found = {(r["v"].value, float(r["q"].value), float(r["direct"].value), float(r["drift"].value)) for r in rows}
    assert found == {
        (value_iri(dag["c"].beam_id).value, 0.7, 0.7, 0.03),
        (value_iri(dag["e"].beam_id).value, 0.42, 0.42, 0.11),
    }
    g = run_iri("run_2")
    m = measurement_iri(dag["e"].beam_id)
    assert Quad(m, DQV.value, Literal(0.42), g) in quads
    assert Quad(m, CX.rating, Literal("weak"), g) in quads
    assert Quad(CX.qscoreMetric, RDF.type, DQV.Metric, g) in quads


def test_score_event_overrides_the_beams_own_qscore(dag):
    quads = beams_to_quads(dag.values(), {"x": make_score(dag["c"].beam_id, 0.9, drift=0.0)}, user="alice")
    val = value_iri(dag["c"].beam_id)
    direct = [q.object for q in quads if q.subject == val and q.predicate == CX.qscore]
    assert direct == [Literal(0.9)]


def test_score_of_a_vetoed_beam_is_not_mapped(dag):
    quads = beams_to_quads(dag.values(), [make_score(dag["v"].beam_id, 0.1)], user="alice")
    assert measurement_iri(dag["v"].beam_id) not in {q.subject for q in quads}


def test_mutation_gives_revision_and_derivation():
    quads = set(mutation_quads(make_mutation("mut_7"), user="alice"))
    new, old, act = mutation_iri("mut_7", "mutated"), mutation_iri("mut_7", "original"), mutation_iri("mut_7")
    g = MUTATIONS_GRAPH
    assert {
        Quad(new, PROV.wasRevisionOf, old, g),
        Quad(new, PROV.wasDerivedFrom, old, g),
        Quad(new, CX.reason, Literal("fusion"), g),
        Quad(new, CX.accepted, Literal(True), g),
        Quad(new, PROV.wasGeneratedBy, act, g),
        Quad(act, PROV.used, old, g),
        Quad(act, RDF.type, PROV.Activity, g),
        Quad(old, CX.glyph, Literal("∇·∇"), g),
        Quad(new, CX.glyph, Literal("Δ"), g),
        Quad(old, CX.qscore, Literal(0.6), g),
        Quad(new, CX.qscore, Literal(0.8), g),
    } <= quads
    assert {q.graph_name for q in quads} == {g}
    store = _store(list(quads))
    assert _ask(store, "?n prov:wasRevisionOf ?o ; prov:wasDerivedFrom ?o ; cx:accepted true")


def test_rejected_and_undecided_mutations():
    rejected = mutation_quads(make_mutation("mut_r", accepted=False), user="alice")
    assert Quad(mutation_iri("mut_r", "mutated"), CX.accepted, Literal(False), MUTATIONS_GRAPH) in rejected
    undecided = mutation_quads(make_mutation("mut_u", accepted=None), user="alice")
    assert not [q for q in undecided if q.predicate == CX.accepted]


def test_mappings_and_models_give_the_same_quads(dag):
    beams = list(dag.values())
    as_dicts = [b.model_dump(mode="json") for b in beams]
    assert set(beams_to_quads(as_dicts, user="alice")) == set(beams_to_quads(beams, user="alice"))
    m = make_mutation("mut_d")
    from_dict = mutation_quads(m.model_dump(mode="json"), user="alice")
    assert set(from_dict) == set(mutation_quads(m, user="alice"))


@settings(max_examples=200, deadline=None)
@given(ident=st.text(min_size=1, max_size=40), kind=st.sampled_from(["beam", "value", "run", "eid", "agent"]))
def test_resource_iris_are_valid_and_give_the_id_back(ident, kind):
    iri = resource_iri(kind, ident)
    assert NamedNode(iri.value) == iri
    assert id_of(iri.value, kind) == ident
    assert iri.value.count("/") == resource_iri(kind, "x").value.count("/")
