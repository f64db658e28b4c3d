"""User SPARQL is contained: `SERVICE` is refused before any request, and a query past its limit is stopped."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pyoxigraph
import pytest

from codexlab.errors import CodexSyntaxError, ResourceError
from codexlab.kg import KnowledgeGraph

from .factory import chain


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        type(self).hits.append(self.path)
        self.send_response(500)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it gets (none may come)."""
    hits: list[str] = []
    handler = type("Handler", (_Counting,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql", hits
    server.shutdown()
    server.server_close()


def test_oxigraph_alone_would_call_the_endpoint(endpoint: tuple[str, list[str]]) -> None:
    """The threat is real (and the counter works): unguarded, Oxigraph makes the HTTP request."""
    url, hits = endpoint
    with pytest.raises(OSError):
        list(pyoxigraph.Store().query(f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"))
    assert hits


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?a ?b ?c . # a comment\n  SeRvIcE\n<{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        "PREFIX e: <{url}#>\nSELECT * WHERE {{ {{ ?s ?p ?o }} UNION {{ SERVICE e: {{ ?s ?p ?o }} }} }}",
    ],
)
@pytest.mark.parametrize("timeout_s", [None, 10.0])
def test_service_is_refused_without_a_request(
    kg: KnowledgeGraph, endpoint: tuple[str, list[str]], template: str, timeout_s: float | None
) -> None:
    url, hits = endpoint
    kg.write_beams(chain(2))
    with pytest.raises(CodexSyntaxError, match=r"SPARQL `SERVICE` is refused") as caught:
        kg.query(template.format(url=url), timeout_s=timeout_s)
    assert caught.value.line is not None and caught.value.column is not None
    assert hits == []


def test_the_word_service_elsewhere_is_fine(kg: KnowledgeGraph) -> None:
    kg.write_beams(chain(2))
    sparql = (
        'PREFIX service: <https://example.org/service#>\nSELECT ?service (STR("SERVICE <x>") AS ?t) WHERE { '
        "?service a prov:Activity . OPTIONAL { ?service service:SERVICE <https://example.org/SERVICE> } "
        "# SERVICE in a comment\n}"
    )
    rows = kg.query(sparql)
    assert isinstance(rows, list) and len(rows) == 2 and rows[0]["t"] == "SERVICE <x>"


def test_a_query_past_its_limit_is_stopped(kg: KnowledgeGraph) -> None:
    kg.write_beams(chain(40))
    explosive = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with pytest.raises(ResourceError, match=r"ran past its time limit of 0\.5 s and was stopped"):
        kg.query(explosive, timeout_s=0.5)
    # the graph answers the next query as usual
    assert kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?a a prov:Activity }")[0]["n"] == 40  # type: ignore[index]


def test_limited_and_unlimited_queries_agree(kg: KnowledgeGraph) -> None:
    kg.write_beams(chain(5, run="run_x"))
    for sparql in (
        "SELECT ?a ?t WHERE { ?a cx:token ?t } ORDER BY ?a",
        "ASK { ?a a prov:Activity }",
        "CONSTRUCT { ?v prov:wasDerivedFrom ?u } WHERE { ?v prov:wasDerivedFrom ?u }",
    ):
        limited, here = kg.query(sparql, timeout_s=20), kg.query(sparql, timeout_s=None)
        if isinstance(limited, list) and isinstance(here, list) and "CONSTRUCT" in sparql:
            key = sorted(map(str, limited)) == sorted(map(str, here))
            assert key and len(limited) == 4
        else:
            assert limited == here


def test_syntax_errors_keep_their_place_in_the_child(kg: KnowledgeGraph) -> None:
    kg.write_beams(chain(1))
    with pytest.raises(CodexSyntaxError, match="The SPARQL query does not parse") as caught:
        kg.query("SELECT ?a WHERE {\n  ?a ?b \n}", timeout_s=20)
    assert caught.value.line == 3
    with pytest.raises(ValueError, match="`timeout_s` should be a number of seconds > 0"):
        kg.query("ASK { ?a ?b ?c }", timeout_s=0)
