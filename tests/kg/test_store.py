"""The on-disk knowledge graph: writes, SPARQL over the union of run graphs, lineage, export."""

from __future__ import annotations

import json
from itertools import pairwise

import polars as pl
import pyoxigraph
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexSyntaxError, CodexValueError, StoreError
from codexlab.kg import KnowledgeGraph, kg_writer
from codexlab.kg.vocab import MUTATIONS_GRAPH, run_iri, value_iri

from .factory import ancestors, chain, make_beam, make_mutation, make_score, random_dag


def _small_run(run: str = "run_1"):
    a = make_beam("cell_a", "ingest", run=run)
    b = make_beam("cell_b", "wave", run=run, parents=[a.beam_id], qscore=0.9, drift=0.01)
    v = make_beam("cell_v", "wave", run=run, parents=[b.beam_id], verdict="veto")
    return [a, b, v]


def test_write_beams_makes_one_graph_per_run(kg):
    run1, run2 = _small_run("run_1"), _small_run("run_2")
    written = kg.write_beams(run1 + run2)
    assert written == len(kg) > 0
    assert kg.graphs() == sorted([run_iri("run_1").value, run_iri("run_2").value])
    rows = kg.query("SELECT ?g (COUNT(?a) AS ?n) WHERE { GRAPH ?g { ?a a prov:Activity } } GROUP BY ?g")
    counts = sorted((r["g"], r["n"]) for r in rows)
    assert counts == [(run_iri("run_1").value, 2), (run_iri("run_2").value, 2)]


def test_vetoed_beam_absent_from_every_graph(kg):
    a, b, v = _small_run()
    kg.write_beams([a, b, v])
    kg.write_scores([make_score(v.beam_id, 0.1)])
    node = f"<{value_iri(v.beam_id).value}>"
    assert kg.query(f"ASK {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }}") is False
    assert kg.query(f"ASK {{ GRAPH ?g {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }} }}") is False
    assert (
        kg.query(
            f'ASK {{ GRAPH ?g {{ ?s ?p ?o FILTER(CONTAINS(STR(?s), "{v.beam_id}") '
            f'|| CONTAINS(STR(?o), "{v.beam_id}")) }} }}'
        )
        is False
    )
    assert kg.query(f"ASK {{ <{value_iri(b.beam_id).value}> a prov:Entity }}") is True


def test_query_returns_python_values_or_a_polars_frame(kg):
    a, b, _ = _small_run()
    kg.write_beams([a, b])
    sparql = (
        "SELECT ?beam ?stage ?t ?q WHERE { ?beam a prov:Activity ; cx:stage ?stage ; "
        "prov:startedAtTime ?t . ?v prov:wasGeneratedBy ?beam OPTIONAL { ?v cx:qscore ?q } } "
        "ORDER BY ?t"
    )
    rows = kg.query(sparql)
    assert [r["stage"] for r in rows] == ["ingest", "wave"]
    assert rows[0]["q"] is None and rows[1]["q"] == pytest.approx(0.9)
    assert rows[0]["t"].isoformat().startswith(a.timestamp[:19])
    frame = kg.query(sparql, frame=True)
    assert isinstance(frame, pl.DataFrame)
    assert frame.columns == ["beam", "stage", "t", "q"]
    assert frame.schema["q"] == pl.Float64 and frame.schema["t"].base_type() == pl.Datetime
    assert frame["stage"].to_list() == ["ingest", "wave"]
    empty = kg.query("SELECT ?x WHERE { ?x a prov:Nothing }", frame=True)
    assert empty.shape == (0, 1)


def test_query_forms_and_prefixes(kg):
    kg.write_beams(_small_run())
    assert kg.query("ASK { ?a a prov:Activity }") is True
    triples = kg.query("CONSTRUCT { ?v a prov:Entity } WHERE { ?v a prov:Entity }")
    assert {t["predicate"] for t in triples} == {"http://www.w3.org/1999/02/22-rdf-syntax-ns#type"}
    assert len(triples) == 2
    own = kg.query("PREFIX prov: <http://example.org/not-prov#> ASK { ?a a prov:Activity }")
    assert own is False


def test_bad_sparql_raises_a_located_syntax_error(kg):
    with pytest.raises(CodexSyntaxError, match=r"SPARQL query does not parse.*predeclared") as info:
        kg.query("SELECT ?s\nWHERE { ?s ?p }")
    assert info.value.line == 2


def _lineage_cases(beams, targets, kg):
    for target in targets:
        got = kg.lineage_query(target.beam_id)
        assert set(got) == ancestors(beams, target.beam_id)
        assert len(got) == len(set(got))


def test_lineage_on_a_200_deep_chain(kg):
    beams = chain(200)
    kg.write_beams(beams)
    got = kg.lineage_query(beams[-1].beam_id)
    assert got == [b.beam_id for b in beams[:-1]]
    _lineage_cases(beams, beams[::37], kg)


def test_lineage_on_dags_with_shared_ancestors(kg):
    for seed in range(3):
        beams = random_dag(150, seed, run=f"run_dag_{seed}")
        kg.write_beams(beams)
        _lineage_cases(beams, beams[::7], kg)
        stamps = {b.beam_id: b.timestamp for b in beams}
        got = kg.lineage_query(beams[-1].beam_id)
        assert all(stamps[x] <= stamps[y] for x, y in pairwise(got))


@pytest.fixture(scope="module")
def shared_kg(tmp_path_factory):
    graph = KnowledgeGraph(tmp_path_factory.mktemp("shared") / "kg", user="alice")
    yield graph
    graph.close()


@st.composite
def dags(draw):
    """Parent lists of a DAG in topological order: node i draws its parents among nodes < i."""
    n = draw(st.integers(1, 30))
    return [sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else [] for i in range(n)]


_RUNS = iter(range(10**9))


@settings(max_examples=40, deadline=None)
@given(shape=dags())
def test_lineage_matches_bfs_on_random_dags(shared_kg, shape):
    run = f"run_h{next(_RUNS)}"
    beams = []
    for i, parents in enumerate(shape):
        beams.append(make_beam(f"cell_{i}", "wave", run=run, parents=[beams[p].beam_id for p in parents]))
    shared_kg.write_beams(beams)
    for beam in beams:
        assert sorted(shared_kg.lineage_query(beam.beam_id)) == sorted(ancestors(beams, beam.beam_id))


def test_lineage_skips_vetoed_ancestors_and_rejects_vetoed_beams(kg):
    a, b, v = _small_run()
    child = make_beam("cell_c", "wave", parents=[v.beam_id, b.beam_id])
    kg.write_beams([a, b, v, child])
    assert kg.lineage_query(child.beam_id) == [a.beam_id, b.beam_id]
    with pytest.raises(CodexValueError, match=r"is not in the knowledge graph .*vetoed"):
        kg.lineage_query(v.beam_id)


def test_scores_go_to_the_graph_of_their_beam(kg):
    a, b, _ = _small_run("run_s")
    kg.write_beams([a, b])
    assert kg.write_scores([make_score(a.beam_id, 0.55, drift=0.2)]) > 0
    rows = kg.query("SELECT ?g ?q WHERE { GRAPH ?g { ?m dqv:computedOn ?v ; dqv:value ?q } } ORDER BY ?q")
    assert [(r["g"], r["q"]) for r in rows] == [(run_iri("run_s").value, 0.55), (run_iri("run_s").value, 0.9)]
    assert kg.write_scores([make_score(make_beam().beam_id, 0.5)]) == 0


def test_mutation_written_with_revision_and_derivation(kg):
    kg.write_mutation(make_mutation("mut_1"))
    kg.write_scores([make_score(None, 0.8, mutation_id="mut_1")])
    assert MUTATIONS_GRAPH.value in kg.graphs()
    rows = kg.query(
        "SELECT ?new ?old ?reason WHERE { ?new prov:wasRevisionOf ?old ; prov:wasDerivedFrom ?old ; cx:reason ?reason }"
    )
    assert [(r["new"].rsplit("/", 1)[1], r["old"].rsplit("/", 1)[1], r["reason"]) for r in rows] == [
        ("mutated", "original", "fusion")
    ]
    assert kg.query("ASK { ?m a dqv:QualityMeasurement ; dqv:computedOn mutation:mut_1\\/mutated }") is True


def test_writes_are_idempotent(kg):
    beams = _small_run()
    kg.write_beams(beams)
    size = len(kg)
    kg.write_beams(beams)
    assert len(kg) == size


def _distinct_triples(nquads: str):
    return {(q.subject, q.predicate, q.object) for q in pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS)}


def test_export_formats_parse_back(kg, tmp_path):
    kg.write_beams(_small_run("run_1") + _small_run("run_2"))
    kg.write_mutation(make_mutation())
    quads = len(kg)
    nquads = kg.export("nquads")
    parsed = list(pyoxigraph.parse(nquads, format=pyoxigraph.RdfFormat.N_QUADS))
    assert len(parsed) == quads
    triples = _distinct_triples(nquads)
    assert len(triples) < quads  # the agents are described in every run graph
    turtle = list(pyoxigraph.parse(kg.export("turtle"), format=pyoxigraph.RdfFormat.TURTLE))
    assert len(turtle) == len(triples)
    assert {(t.subject, t.predicate, t.object) for t in turtle} == triples
    assert {q.graph_name for q in parsed} == {run_iri("run_1"), run_iri("run_2"), MUTATIONS_GRAPH}
    trig = kg.export("trig")
    assert len(list(pyoxigraph.parse(trig, format=pyoxigraph.RdfFormat.TRIG))) == quads
    jsonld = kg.export("jsonld")
    doc = json.loads(jsonld)
    assert sorted(node["@id"] for node in doc) == kg.graphs()
    assert all(isinstance(node["@graph"], list) for node in doc)
    assert len(list(pyoxigraph.parse(jsonld, format=pyoxigraph.RdfFormat.JSON_LD))) == quads
    dest = tmp_path / "out.nq"
    assert kg.export("nquads", dest) is None
    assert dest.read_text(encoding="utf-8") == nquads


def test_export_rejects_unknown_formats(kg):
    expected = r"`json-ld` is not an export format \(did you mean `jsonld`\?\); use one of `turtle`"
    with pytest.raises(CodexValueError, match=expected):
        kg.export("json-ld")


def test_same_path_shares_one_handle(kg):
    other = KnowledgeGraph(kg.path)
    try:
        assert other._handle is kg._handle
        kg.write_beams(_small_run())
        assert len(other) == len(kg) > 0
    finally:
        other.close()
    assert not kg.read_only
    kg.write_beams(_small_run("run_after"))


def test_read_only_instances_refuse_writes(kg):
    kg.write_beams(_small_run())
    viewer = KnowledgeGraph(kg.path, read_only=True)
    try:
        assert viewer.read_only and len(viewer) == len(kg)
        with pytest.raises(StoreError, match=r"opened with `read_only=True`; open it without `read_only`"):
            viewer.write_beams(_small_run("run_x"))
    finally:
        viewer.close()


def test_read_only_needs_an_existing_graph(tmp_path):
    with pytest.raises(StoreError, match=r"There is no knowledge graph at `.*`; run a scroll first"):
        KnowledgeGraph(tmp_path / "nothing", read_only=True)


def test_closed_graph_refuses_use(tmp_path):
    graph = KnowledgeGraph(tmp_path / "kg")
    graph.close()
    with pytest.raises(StoreError, match=r"is closed; open a new `KnowledgeGraph`"):
        graph.query("ASK { ?s ?p ?o }")
    again = KnowledgeGraph(tmp_path / "kg")
    assert not again.read_only
    again.close()


def test_kg_writer_functions_use_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEXLAB_HOME", str(tmp_path / "home"))
    beams = _small_run()
    assert kg_writer.write_beams(beams, [make_score(beams[0].beam_id, 0.5)]) > 0
    assert kg_writer.write_mutation(make_mutation()) > 0
    graph = KnowledgeGraph(tmp_path / "home" / "kg")
    try:
        assert len(graph.graphs()) == 2
        assert graph.query("SELECT ?q WHERE { ?v cx:qscore ?q } ORDER BY ?q")[0]["q"] == 0.5
    finally:
        graph.close()
