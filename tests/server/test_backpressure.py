"""Backpressure against a real server: 50 subscribed clients, one of which never reads.

Timings are the benchmark's business (benchmarks/server_bench.py); here the causal facts: the 49 readers
receive every message of every run — nothing dropped — while the silent client still has messages
waiting, so nobody waited for it, and its queue had to drop (QFC updates only: tests/server/test_clients.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ._server import Client, ServiceProcess, SilentClient
from .conftest import run

CONTAINER = "bp"
RUNS = 8
SCROLL = "@grid x:-1..1:32, y:-1..1:32\nψ := gaussian(x, y, σ=0.2)\n" + "".join(
    f"a{i} = Δψ * {i + 1} + ∇ψ • ∇ψ\n" for i in range(4)
)


@pytest.mark.slow
def test_fifty_clients_and_one_that_never_reads(crowded: ServiceProcess) -> None:
    service = crowded
    silent = SilentClient(service)
    silent.send({"type": "subscribe", "containers": [CONTAINER]})

    async def scenario() -> tuple[list[Client], list[str], dict[str, Any]]:
        readers = [await Client.connect(service) for _ in range(49)]
        for client in readers:
            await client.send({"type": "subscribe", "containers": [CONTAINER]})
        for client in readers:
            await client.until(lambda m: m["type"] == "subscribed")
        submitter = readers[0]
        for i in range(RUNS):
            await submitter.send({"type": "run", "code": SCROLL, "container": CONTAINER, "ref": i})
        run_ids = [
            (await submitter.until(lambda m, i=i: m["type"] == "accepted" and m["ref"] == i))["run_id"]
            for i in range(RUNS)
        ]
        last = run_ids[-1]
        await asyncio.gather(*(c.until(lambda m: m["type"] == "result" and m["run_id"] == last) for c in readers))
        status = service.get("/codexlab/api/status")["clients"]
        for client in readers:
            client.close()
        return readers, run_ids, status

    readers, run_ids, status = run(scenario())
    reference = readers[1]
    for run_id in run_ids:
        assert len(reference.of("result", run_id)) == 1
        executions = len(reference.of("glyph_execution", run_id))
        committed = [m for m in reference.of("qfc_update", run_id) if not m["payload"].get("live")]
        assert executions >= 8 and len(committed) == 5
        for client in readers:
            assert len(client.of("glyph_execution", run_id)) == executions
            assert [m["payload"]["kind"] for m in client.of("qfc_update", run_id) if not m["payload"].get("live")] == [
                m["payload"]["kind"] for m in committed
            ]
            assert len(client.of("result", run_id)) == 1
    assert all(not client.of("dropped") for client in readers)
    # the silent client is still behind, and only its QFC updates were dropped
    assert status["subscribed"] >= 50
    assert max(status["pending"]) > 0
    assert max(status["dropped"]) > 0, status
    silent.close()
