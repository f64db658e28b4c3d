"""Supervision against a real server with one worker and a 4 s run time limit: a full queue answers
`busy` at once, a run stuck in one long instruction is failed from outside with exactly one error beam
(its late return commits nothing), its worker is replaced, and cancelled waiting runs end with one
error beam each."""

from __future__ import annotations

from ._server import Client, ServiceProcess, finished
from .conftest import run

# One instruction that runs for many seconds inside one kernel call: no cancel check can interrupt it
# (steps within the loop limit of 1,000,000, on a grid large enough to take well past the 4 s limit).
STUCK = '@grid x:-1..1:128, y:-1..1:128\nψ := gaussian(x, y, σ=0.2)\nu = evolve(ψ, 900000, 1e-7, eq="heat")\n'
SMALL = "@grid x:-1..1:16, y:-1..1:16\nψ := gaussian(x, y, σ=0.2)\nL = Δψ\n"


def _stages(service: ServiceProcess, run_id: str) -> list[tuple[str, str | None]]:
    beams = service.get(f"/codexlab/api/runs/{run_id}")["beams"]
    return [(b["stage"], b["result"].get("error")) for b in beams]


def test_a_stuck_run_is_failed_once_and_its_worker_replaced(supervised: ServiceProcess) -> None:
    async def scenario() -> tuple[Client, dict[str, str], dict[str, object]]:
        client = await Client.connect(supervised)
        await client.send({"type": "subscribe", "containers": ["stuck"]})
        await client.send({"type": "run", "code": STUCK, "container": "stuck"})
        stuck = (await client.until(lambda m: m["type"] == "accepted"))["run_id"]
        await client.until(lambda m: m["type"] == "qfc_update" and m["payload"].get("run_id") == stuck)
        # the only worker is busy: two runs may wait, the third is refused at once
        ids = {}
        for name in ("q1", "q2"):
            await client.send({"type": "run", "code": SMALL, "container": "queued", "ref": name})
            ids[name] = (await client.until(lambda m, n=name: m["type"] == "accepted" and m["ref"] == n))["run_id"]
        await client.send({"type": "run", "code": SMALL, "container": "queued", "ref": "q3"})
        refused = await client.until(lambda m: m["type"] in ("busy", "accepted") and m["ref"] == "q3")
        assert refused["type"] == "busy" and "queue is full" in refused["message"]
        for name in ("q1", "q2"):
            await client.send({"type": "cancel", "run_id": ids[name]})
            cancelling = await client.until(lambda m: m["type"] == "cancelling")
            assert cancelling["state"] == "queued"
        timeout = await client.until(finished(stuck))
        assert timeout["type"] == "error" and timeout["error"] == "CodexTimeout"
        for name in ("q1", "q2"):
            await client.until(finished(ids[name]))
        # a run of another container finishes while the stuck thread still computes
        await client.send({"type": "run", "code": SMALL, "container": "other"})
        other = (await client.until(lambda m: m["type"] == "accepted"))["run_id"]
        done = await client.until(finished(other))
        assert done["type"] == "result", done
        status = supervised.get("/codexlab/api/status")["fabric"]
        ids["stuck"], ids["other"] = stuck, other
        return client, ids, status

    client, ids, status = run(scenario())
    assert status["replaced"] == 1 and status["workers"] == 1
    assert status["retired_running"] == 1, "the other container ran beside the stuck thread"
    # the stuck thread returns at last: its run commits nothing and writes no second error beam
    supervised.wait_until(lambda: supervised.get("/codexlab/api/status")["fabric"]["retired_running"] == 0, 300)
    assert _stages(supervised, ids["stuck"]) == [("error", "CodexTimeout")]
    assert [m["error"] for m in client.of("error", ids["stuck"])] == ["CodexTimeout"]
    for name in ("q1", "q2"):
        assert _stages(supervised, ids[name]) == [("error", "CodexCancelled")]
    assert "error" not in [stage for stage, _ in _stages(supervised, ids["other"])]
    # the replacement keeps serving the stuck container too, which is free again
    after = supervised.get("/codexlab/api/status")["fabric"]
    assert after["workers"] == 1 and after["busy"] == 0
