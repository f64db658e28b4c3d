"""The REST API against a real server: submit, list and filter runs, a run, a beam, lineage, replay, QFC
payloads, SPARQL (read-only, no SERVICE), sheet metrics; XSRF on writes from a cookie session."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from ._server import ServiceProcess
from .test_websocket import GRID, _login_cookie

ENTANGLING = GRID + "φ := gaussian(x, y, σ=0.3)\nP = ψ ↔ φ\nL = Δψ + φ\n"


def _submit(service: ServiceProcess, code: str, container: str) -> str:
    status, body, _ = service.request("/codexlab/api/runs", method="POST", body={"code": code, "container": container})
    assert status == 202, body
    return str(body["run_id"])


def _committed(service: ServiceProcess, run_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = service.get(f"/codexlab/api/runs/{run_id}")
        return body if body["state"] in ("committed", "failed") else None

    body: dict[str, Any] = service.wait_until(check)
    assert body["state"] == "committed", body["error"]
    return body


@pytest.fixture(scope="module")
def runs(service: ServiceProcess) -> dict[str, dict[str, Any]]:
    """Two runs in `rest-a` (one after the other), one in `rest-b`, each as `GET /runs/<id>` shows it."""
    out = {}
    for name, code, container in (
        ("a1", GRID + "L = Δψ\n", "rest-a"),
        ("a2", ENTANGLING, "rest-a"),
        ("b1", GRID + "M = 2 * ψ\n", "rest-b"),
    ):
        out[name] = _committed(service, _submit(service, code, container))
    return out


def _started(run: dict[str, Any]) -> str:
    return min(b["timestamp"] for b in run["beams"])


def test_runs_filter_by_container_and_time(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    a1, a2 = runs["a1"], runs["a2"]
    listed = service.get("/codexlab/api/runs?container=rest-a")["runs"]
    assert [r["run_id"] for r in listed] == [a2["run_id"], a1["run_id"]]  # newest first
    assert [r["beams"] for r in listed] == [len(a2["beams"]), len(a1["beams"])]
    assert all(r["status"] == "committed" and r["qfc_id"] == f"qfc::{r['run_id']}" for r in listed)
    since = urllib.parse.quote(_started(a2))
    assert [r["run_id"] for r in service.get(f"/codexlab/api/runs?container=rest-a&since={since}")["runs"]] == [
        a2["run_id"]
    ]
    assert [r["run_id"] for r in service.get(f"/codexlab/api/runs?container=rest-a&until={since}")["runs"]] == [
        a1["run_id"]
    ]
    status, body, _ = service.request("/codexlab/api/runs?since=yesterday")
    assert status == 400 and "`since`" in body["message"]


def test_a_run_and_its_beams(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    run = runs["a1"]
    assert run["container"] == "rest-a" and run["qfc_id"] == f"qfc::{run['run_id']}"
    for beam in run["beams"]:
        assert service.get(f"/codexlab/api/beams/{beam['beam_id']}") == beam
    assert service.request("/codexlab/api/beams/beam_nope")[0] == 404
    assert service.request("/codexlab/api/runs/nope")[0] == 404


def _closure(beams: dict[str, dict[str, Any]], start: str, step: Any) -> set[str]:
    seen: set[str] = set()
    frontier = [start]
    while frontier:
        frontier = [n for b in frontier for n in step(b) if n not in seen]
        seen.update(frontier)
    return seen


def test_lineage_is_the_closure_of_the_parents(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    beams = {b["beam_id"]: b for b in runs["a2"]["beams"]}  # in the order they were persisted
    last = [b for b in beams.values() if b["parents"]][-1]
    ancestors = service.get(f"/codexlab/api/beams/{last['beam_id']}/lineage")["beams"]
    assert {b["beam_id"] for b in ancestors} == _closure(beams, last["beam_id"], lambda i: beams[i]["parents"])
    children: dict[str, list[str]] = {}
    for b in beams.values():
        for p in b["parents"]:
            children.setdefault(p, []).append(b["beam_id"])
    root = next(b for b in beams.values() if b["stage"] == "ingest" and b["result"].get("name") == "ψ")
    below = service.get(f"/codexlab/api/beams/{root['beam_id']}/lineage?direction=descendants")["beams"]
    assert {b["beam_id"] for b in below} == _closure(beams, root["beam_id"], lambda i: children.get(i, []))
    one = service.get(f"/codexlab/api/beams/{last['beam_id']}/lineage?depth=1")["beams"]
    assert {b["beam_id"] for b in one} == set(last["parents"])


def test_replay_of_an_eid_is_its_newest_beams_in_time_order(
    service: ServiceProcess, runs: dict[str, dict[str, Any]]
) -> None:
    order = {b["beam_id"]: i for i, b in enumerate(runs["a2"]["beams"])}  # persist order
    members = [b for b in runs["a2"]["beams"] if b["eid"]]
    assert members, "the ↔ run has entangled beams"
    eid = members[0]["eid"]
    expected = sorted((b for b in members if b["eid"] == eid), key=lambda b: (b["timestamp"], order[b["beam_id"]]))
    replay = service.get(f"/codexlab/api/replay/{urllib.parse.quote(eid)}?n=2")
    assert replay["ref"] == eid
    assert [b["beam_id"] for b in replay["beams"]] == [b["beam_id"] for b in expected[-2:]]
    by_run = service.get(f"/codexlab/api/replay/{runs['a1']['run_id']}?n=100")["beams"]
    assert [b["beam_id"] for b in by_run] == [b["beam_id"] for b in runs["a1"]["beams"]]
    assert service.request("/codexlab/api/replay/eid::nope::nope")[0] == 404


def test_qfc_payloads_by_id(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    run = runs["a1"]
    body = service.get(f"/codexlab/api/qfc/{run['qfc_id']}")
    kinds = [u["payload"]["kind"] for u in body["updates"]]
    assert set(kinds) >= {"qpu_cell_update", "qpu_sheet_metrics", "qpu_beam_timeline", "qpu_beam_lineage"}
    (timeline,) = [u for u in body["updates"] if u["payload"]["kind"] == "qpu_beam_timeline"]
    assert {b["beam_id"] for b in timeline["payload"]["beams"]} == {b["beam_id"] for b in run["beams"]}
    assert all(u["source"] == "container::rest-a" for u in body["updates"])
    assert service.request("/codexlab/api/qfc/qfc::nope")[0] == 404


def test_sparql_reads_the_graph_and_refuses_service(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    exported = sum(
        1 for name in ("a1", "a2") for b in runs[name]["beams"] if b["verdict"] != "veto" and b["stage"] != "error"
    )
    query = 'SELECT (COUNT(?b) AS ?n) WHERE { ?b a prov:Activity ; cx:container "rest-a" }'
    body = service.get(f"/codexlab/api/sparql?query={urllib.parse.quote(query)}")
    assert body == {"rows": [{"n": exported}]}
    status, posted, _ = service.request("/codexlab/api/sparql", method="POST", body={"query": "ASK { ?s ?p ?o }"})
    assert status == 200 and posted == {"boolean": True}
    federated = "SELECT * WHERE {\n  SERVICE <http://example.org/sparql> { ?s ?p ?o }\n}"
    status, refused, _ = service.request(f"/codexlab/api/sparql?query={urllib.parse.quote(federated)}")
    assert status == 400 and "SERVICE" in refused["message"] and (refused["line"], refused["column"]) == (2, 3)
    literal = 'SELECT ?b WHERE { ?b cx:token "SERVICE" } LIMIT 1'  # the word in a literal is not the keyword
    assert service.request(f"/codexlab/api/sparql?query={urllib.parse.quote(literal)}")[0] == 200
    update = "INSERT DATA { <http://a> <http://b> <http://c> }"
    status, rejected, _ = service.request(f"/codexlab/api/sparql?query={urllib.parse.quote(update)}")
    assert status == 400 and rejected["error"] == "CodexSyntaxError"


def test_sheet_metrics_of_a_container(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    metrics = service.get("/codexlab/api/metrics?container=rest-a")["metrics"]
    assert [m["run_id"] for m in metrics] == [runs["a2"]["run_id"], runs["a1"]["run_id"]]
    assert [m["beams"] for m in metrics] == [len(runs["a2"]["beams"]), len(runs["a1"]["beams"])]
    assert all(m["kind"] == "qpu_sheet_metrics" and m["container"] == "rest-a" for m in metrics)


def test_writes_from_a_cookie_session_need_the_xsrf_token(service: ServiceProcess) -> None:
    cookie = _login_cookie(service)
    headers = {"Cookie": cookie, "Content-Type": "application/json"}
    status, _, _ = service.request(
        "/codexlab/api/runs", method="POST", body={"code": "a = 1\n"}, token=False, headers=headers
    )
    assert status == 403
    # reads from the same session are fine
    status, body, _ = service.request("/codexlab/api/runs?limit=1", token=False, headers={"Cookie": cookie})
    assert status == 200 and "runs" in body


def test_bad_submissions_are_refused_with_a_reason(service: ServiceProcess) -> None:
    status, body, _ = service.request("/codexlab/api/runs", method="POST", body={"cod": "a = 1\n"})
    assert status == 400 and "did you mean `code`" in body["message"]
    status, body, _ = service.request("/codexlab/api/runs", method="POST", body=b"[1, 2]")
    assert status == 400 and body["error"] == "CodexProtocolError"


def test_dashboard_panels_and_replay_of_a_run(service: ServiceProcess, runs: dict[str, dict[str, Any]]) -> None:
    run = runs["a2"]
    panels = service.get(f"/codexlab/api/hud/panels/{run['qfc_id']}")["panels"]
    assert panels["run_id"] == run["run_id"] and len(panels["timeline"]) == len(run["beams"])
    beam = run["beams"][-1]["beam_id"]
    state = service.get(f"/codexlab/api/hud/replay/{beam}?n=5")
    assert beam in [s["beam_id"] for s in state["steps"]] and len(state["steps"]) <= 5


def test_status_reports_workers_and_queue(service: ServiceProcess) -> None:
    status = service.get("/codexlab/api/status")
    assert status["fabric"]["workers"] == 2 and status["fabric"]["queue_limit"] == 64
    assert status["home"] == str(service.home.resolve())
