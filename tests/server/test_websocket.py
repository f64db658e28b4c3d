"""The WebSocket glyph stream against a real server: auth, limits, bad input, contract 3, Photon tagging,
intents, errors with line and column, cancel."""

from __future__ import annotations

import json
import math
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path

import jsonschema
import pytest
from tornado.httpclient import HTTPClientError

from ._server import Client, ServiceProcess, finished
from .conftest import run

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "data" / "schemas" / "glyph_execution.schema.json").read_text())

GRID = "@grid x:-1..1:32, y:-1..1:32\nψ := gaussian(x, y, σ=0.2)\n"
# `M` runs as written; `L = ∇·∇ψ` is rewritten by Photon (div_grad: ∇·∇ → Δ) before it runs.
PHOTON_SCROLL = GRID + "M = 2 * Δψ\nL = ∇·∇ψ\n⟦ Goal | smooth : ‖L‖ < 1e9 ⟧\n"


def test_no_token_is_refused(service: ServiceProcess) -> None:
    async def scenario() -> None:
        with pytest.raises(HTTPClientError) as refused:
            await Client.connect(service, token=False)
        assert refused.value.code == 403

    run(scenario())
    status, _, _ = service.request("/codexlab/api/runs", token=False)
    assert status == 403


def _login_cookie(service: ServiceProcess) -> str:
    """The cookie a browser gets by opening the dashboard with `?token=`."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(f"{service.url}/codexlab/?token={service.token}", timeout=30) as response:
        headers = response.headers.get_all("Set-Cookie") or []
    jar = SimpleCookie()
    for header in headers:
        jar.load(header)
    login = [f"{k}={v.value}" for k, v in jar.items() if k.startswith("username-")]
    assert login, headers
    return "; ".join(login)


def test_a_login_cookie_from_a_foreign_origin_is_refused(service: ServiceProcess) -> None:
    cookie = _login_cookie(service)

    async def scenario() -> None:
        with pytest.raises(HTTPClientError) as refused:
            await Client.connect(service, token=False, headers={"Cookie": cookie, "Origin": "http://evil.example"})
        assert refused.value.code == 403
        # the same cookie from the server's own origin is a login
        own = await Client.connect(service, token=False, headers={"Cookie": cookie, "Origin": service.url})
        await own.send({"type": "subscribe", "containers": ["nothing"]})
        assert (await own.until(lambda m: m["type"] == "subscribed"))["containers"] == ["nothing"]
        own.close()

    run(scenario())


def test_an_oversize_message_closes_with_1009(service: ServiceProcess) -> None:
    async def scenario() -> None:
        client = await Client.connect(service)
        code = "a = 1\n" + "#" * (1 << 20)
        await client.send({"type": "run", "code": code})
        assert await client.conn.read_message() is None
        assert client.conn.close_code == 1009

    run(scenario())


def test_malformed_json_gets_an_error_and_the_connection_stays(service: ServiceProcess) -> None:
    async def scenario() -> None:
        client = await Client.connect(service)
        await client.send("{not json")
        error = await client.until(lambda m: m["type"] == "error")
        assert error["error"] == "CodexProtocolError" and "not valid JSON" in error["message"]
        await client.send({"type": "rnu", "code": "a = 1"})
        typo = await client.until(lambda m: m["type"] == "error")
        assert "did you mean `run`" in typo["message"]
        await client.send({"type": "subscribe", "containers": ["still-here"], "ref": "s1"})
        subscribed = await client.until(lambda m: m["type"] == "subscribed")
        assert subscribed["ref"] == "s1"
        client.close()

    run(scenario())


def test_glyph_executions_follow_contract_3_and_photon_scrolls_send_their_intents(service: ServiceProcess) -> None:
    async def scenario() -> Client:
        client = await Client.connect(service)
        await client.send({"type": "run", "code": PHOTON_SCROLL, "container": "ws-photon", "ref": 41})
        accepted = await client.until(lambda m: m["type"] == "accepted")
        assert accepted["ref"] == 41 and accepted["container"] == "ws-photon"
        result = await client.until(finished(accepted["run_id"]))
        assert result["type"] == "result", result
        client.close()
        return client

    client = run(scenario())
    (result,) = client.of("result")
    run_id = result["run_id"]
    assert client.accepted_first()
    executions = client.of("glyph_execution", run_id)
    assert [g["payload"]["glyph"] for g in executions] == ["Δ", "*", "Δ"]
    # Photon rewrote `L` only: its Δ is tagged photon, the ops of `M` keep the run's source
    assert [g["payload"]["source"] for g in executions] == ["codex", "codex", "photon"]
    for message in executions:
        jsonschema.validate(message, SCHEMA)
        payload = message["payload"]
        assert math.isclose(payload["cost"], math.fsum(payload["detail"].values()), rel_tol=1e-12)
        beam = service.get(f"/codexlab/api/beams/{payload['action']['beam_id']}")
        assert beam["token"] == payload["glyph"] and beam["sheet_run_id"] == run_id
        schedule = service.get(f"/codexlab/api/beams/{beam['result']['schedule_beam']}")
        assert schedule["stage"] == "schedule" and schedule["result"]["detail"] == payload["detail"]
    stored = service.get(f"/codexlab/api/runs/{run_id}")
    rewrites = [b["result"] for b in stored["beams"] if b["stage"] == "rewrite"]
    assert [(r["before"], r["after"]) for r in rewrites] == [("∇·∇ψ", "Δψ")]
    (intent,) = client.of("intent", run_id)
    assert intent["intent"]["type"] == "Goal" and intent["intent"]["tag"] == "smooth"
    assert intent["intent"]["origin"] == "photon"
    assert [(i["type"], i["tag"], i["origin"]) for i in stored["intents"]] == [("Goal", "smooth", "photon")]
    assert result["values"]["L"].startswith("field (32, 32)") and result["ghx_id"] == run_id


def test_a_scroll_without_rewrites_keeps_its_source_and_origin(service: ServiceProcess) -> None:
    async def scenario() -> Client:
        client = await Client.connect(service)
        code = GRID + "M = 2 * Δψ\n⟦ Note | plain : M ⟧\n"
        await client.send({"type": "run", "code": code, "container": "ws-plain", "source": "user"})
        accepted = await client.until(lambda m: m["type"] == "accepted")
        await client.until(finished(accepted["run_id"]))
        client.close()
        return client

    client = run(scenario())
    assert {g["payload"]["source"] for g in client.of("glyph_execution")} == {"user"}
    (intent,) = client.of("intent")
    assert intent["intent"]["origin"] == "user" and intent["intent"]["type"] == "Note"


def test_a_syntax_error_arrives_with_line_and_column_and_leaves_one_error_beam(service: ServiceProcess) -> None:
    async def scenario() -> tuple[dict[str, object], Client]:
        client = await Client.connect(service)
        # line 2: `b = 2 + * 3` — `*` (column 9) cannot start the operand that `+` needs
        await client.send({"type": "run", "code": "a = 1\nb = 2 + * 3\nc = 4\n", "container": "ws-syntax"})
        accepted = await client.until(lambda m: m["type"] == "accepted")
        error = await client.until(finished(accepted["run_id"]))
        client.close()
        return error, client

    error, client = run(scenario())
    assert client.accepted_first()
    assert error["type"] == "error" and error["error"] == "CodexSyntaxError"
    assert (error["line"], error["column"]) == (2, 9)
    beams = service.get(f"/codexlab/api/runs/{error['run_id']}")["beams"]
    assert [b["stage"] for b in beams] == ["error"] and beams[0]["beam_id"] == error["beam_id"]
    assert (beams[0]["result"]["line"], beams[0]["result"]["column"]) == (2, 9)


SLOW_STEP = 'u{i} = evolve(ψ, 40000, 1e-7, eq="heat")\n'


def test_cancel_stops_the_run_with_exactly_one_error_beam(service: ServiceProcess) -> None:
    code = GRID + "".join(SLOW_STEP.format(i=i) for i in range(1, 40))

    async def scenario() -> tuple[Client, str]:
        client = await Client.connect(service)
        await client.send({"type": "subscribe", "containers": ["ws-cancel"]})
        await client.send({"type": "run", "code": code, "container": "ws-cancel"})
        run_id = (await client.until(lambda m: m["type"] == "accepted"))["run_id"]
        # a live timeline envelope says the run has begun executing
        await client.until(lambda m: m["type"] == "qfc_update" and m["payload"].get("run_id") == run_id)
        await client.send({"type": "cancel", "run_id": run_id, "ref": "stop"})
        cancelling = await client.until(lambda m: m["type"] == "cancelling")
        assert cancelling["run_id"] == run_id and cancelling["ref"] == "stop"
        await client.until(finished(run_id))
        await client.send({"type": "run", "code": "v = u1 + 1\n", "container": "ws-cancel"})
        after = (await client.until(lambda m: m["type"] == "accepted"))["run_id"]
        await client.until(finished(after))
        client.close()
        return client, run_id

    client, run_id = run(scenario())
    (error,) = client.of("error", run_id)
    assert error["error"] == "CodexCancelled"
    beams = service.get(f"/codexlab/api/runs/{run_id}")["beams"]
    assert [b["stage"] for b in beams] == ["error"]
    assert beams[0]["result"]["error"] == "CodexCancelled"
    # nothing of the cancelled run was kept: `u1` is unknown to the next cell of the container
    (later,) = [m for m in client.of("error") if m["run_id"] != run_id]
    assert later["error"] == "CodexNameError" and "u1" in later["message"]


def test_cancel_of_an_unknown_run_is_an_error(service: ServiceProcess) -> None:
    async def scenario() -> dict[str, object]:
        client = await Client.connect(service)
        await client.send({"type": "cancel", "run_id": "nosuchrun"})
        error = await client.until(lambda m: m["type"] == "error")
        client.close()
        return error

    error = run(scenario())
    assert error["run_id"] == "nosuchrun" and "No run `nosuchrun`" in error["message"]
