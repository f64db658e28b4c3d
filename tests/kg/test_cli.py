"""The CLI helpers: a SPARQL table and an export, on a home's knowledge graph."""

from __future__ import annotations

import pyoxigraph
import pytest

from codexlab.errors import StoreError
from codexlab.kg import KnowledgeGraph, kg_export_cli, kg_query_cli
from codexlab.kg.cli import format_table

from .factory import chain


@pytest.fixture
def home(tmp_path):
    graph = KnowledgeGraph(tmp_path / "kg", user="alice")
    graph.write_beams(chain(3, run="run_cli"))
    yield tmp_path
    graph.close()


def test_query_prints_a_table(home):
    sparql = "SELECT ?a ?stage WHERE { ?a a prov:Activity ; cx:stage ?stage } ORDER BY ?stage"
    text = kg_query_cli(home, sparql)
    lines = text.splitlines()
    assert lines[0].split() == ["a", "stage"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].startswith("beam:beam_cell_000_ingest_") and lines[2].endswith("ingest")
    assert lines[-1] == "(3 rows)"
    assert kg_query_cli(home, "ASK { ?a a prov:Activity }") == "true"
    assert kg_query_cli(home, "SELECT ?x WHERE { ?x a prov:Nothing }").endswith("(0 rows)")


def test_export_to_text_and_to_a_file(home, tmp_path):
    text = kg_export_cli(home, "turtle", None)
    assert "prov:Activity" in text
    dest = tmp_path / "kg.nq"
    message = kg_export_cli(home, "nquads", dest)
    parsed = list(pyoxigraph.parse(path=str(dest), format=pyoxigraph.RdfFormat.N_QUADS))
    assert message == f"wrote {len(parsed)} quads in 1 named graphs as nquads to {dest}"


def test_query_on_a_home_without_a_graph(tmp_path):
    with pytest.raises(StoreError, match=r"There is no knowledge graph at"):
        kg_query_cli(tmp_path / "empty", "ASK { ?s ?p ?o }")


def test_format_table_cuts_long_cells_and_shows_unbound():
    text = format_table([{"x": "y" * 200, "z": None}])
    assert "…" in text and len(text.splitlines()[2]) < 100
