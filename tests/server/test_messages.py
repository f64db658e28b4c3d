"""The protocol without a server: client messages parsed and checked, strict JSON out, the SPARQL guard,
and the QFC folder watcher."""

from __future__ import annotations

import json
import os
import time

import pytest

from codexlab.errors import CodexProtocolError, CodexValueError
from codexlab.server.messages import CancelRequest, RunRequest, SubscribeRequest, dumps, parse_request
from codexlab.server.sparql import check_query
from codexlab.server.watcher import RunWatcher


def test_requests_parse_with_their_defaults() -> None:
    assert parse_request('{"type": "run", "code": "a = 1"}') == RunRequest("a = 1", None, "codex", None)
    assert parse_request(b'{"type": "subscribe", "containers": "*", "panels": true, "ref": 3}') == SubscribeRequest(
        None, True, 3
    )
    assert parse_request('{"type": "subscribe", "containers": ["a", "b", "a"]}').containers == ("a", "b")
    assert parse_request('{"type": "cancel", "run_id": "r1", "ref": "x"}') == CancelRequest("r1", "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "JSON `list`, not an object"),
        ('{"type": "runn", "code": "a"}', "did you mean `run`"),
        ('{"type": "run"}', "`run` needs `code`"),
        ('{"type": "run", "code": "a", "contianer": "c"}', "unknown field `contianer` (did you mean `container`?)"),
        ('{"type": "run", "code": "  "}', "`code` should be the CodexLang text"),
        ('{"type": "run", "code": "a", "source": "Photon!"}', "`source` should be a lower-case word"),
        ('{"type": "subscribe", "containers": "c1"}', '`containers` should be a list of container ids or "*"'),
        ('{"type": "subscribe", "containers": [], "panels": "yes"}', "`panels` should be true or false"),
        ('{"type": "cancel", "run_id": 7}', "`run_id` should be a non-empty string"),
        ('{"type": "cancel", "run_id": "r", "ref": [1]}', "`ref` should be a string"),
    ],
)
def test_bad_requests_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CodexProtocolError) as err:
        parse_request(text)
    assert message in str(err.value)


def test_outgoing_json_is_strict() -> None:
    text = dumps({"a": float("nan"), "b": [float("inf"), 1.5], "c": "ψ"})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": "ψ"} and "ψ" in text


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?b WHERE { ?b cx:token "SERVICE" }',
        "SELECT ?b WHERE { ?b <http://example.org/SERVICE> ?o }",
        "SELECT ?service WHERE { ?service a prov:Activity } # SERVICE in a comment",
        "PREFIX ex: <http://example.org/> SELECT ?b WHERE { ?b ex:SERVICE ?o }",
        "SELECT ?b WHERE { ?b cx:note '''a\nSERVICE\nb''' }",
    ],
)
def test_the_word_service_outside_the_keyword_is_fine(query: str) -> None:
    assert check_query(query) == query


def test_service_is_refused_where_it_stands() -> None:
    with pytest.raises(CodexValueError, match="`SERVICE`") as err:
        check_query('SELECT * WHERE {\n  ?a ?b "x" .\n    service <http://example.org/sparql> { ?s ?p ?o }\n}')
    assert (err.value.line, err.value.column) == (3, 5)
    with pytest.raises(CodexValueError, match="empty"):
        check_query("   ")


def test_the_watcher_reports_new_runs_after_its_baseline(tmp_path) -> None:
    folder = tmp_path / "qfc"
    folder.mkdir()
    (folder / "old.json").write_text("[]")
    watcher = RunWatcher(folder)
    assert watcher.poll() == []  # the baseline
    (folder / "new2.json.tmp").write_text("[]")  # not finished yet
    for name, stamp in (("new2", 2), ("new1", 1)):
        path = folder / f"{name}.json"
        path.write_text("[]")
        os.utime(path, ns=(time.time_ns(), stamp * 1_000_000_000))
    assert watcher.poll() == ["qfc::new1", "qfc::new2"]  # oldest first
    assert watcher.poll() == []
