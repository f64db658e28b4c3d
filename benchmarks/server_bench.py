"""The live service under load: QFC broadcast to 50 WebSocket clients (one never reads) and run submission.

Measured in one run on this machine:
- broadcast: a Jupyter server with the codexlab extension runs in this process; a publisher thread puts
  QFC envelopes (a live `qpu_beam_timeline` of 12 beams, ~2.5 KB) on the bus its bridge follows, as a
  running cell's Lab does, at a fixed rate and then as fast as it can. 49 reading clients and one silent
  client (a raw socket that never reads after the handshake) run in a second process. Beside it, in the
  same process and with the same clients and messages, a bare tornado WebSocket server that writes each
  message to every connection (no queues, no drops): the floor. Each configuration also runs with the 49
  readers alone, so the silent client's cost shows as a ratio. Latency = receive time − publish time
  (one machine, one clock); messages/s = messages the 49 readers received per second.
- submission: runs of a trivial scroll sent over the WebSocket (`run`) to 4 containers until all results
  arrived, beside the same number of `Lab.run` calls in this process (the floor).
Each case runs `--repeats` codexlab/floor pairs back to back and reports medians. Prints markdown tables.
Usage: `python benchmarks/server_bench.py [--messages N] [--rates 20,100] [--runs K] [--repeats R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import re
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TOKEN = "bench-token-0123456789"
READERS = 49
#: How long each fixed-rate case publishes (its message count is rate × this, at most `--messages`).
SECONDS_PER_RATE = 10
_SENT = re.compile(r'"sent": ([0-9.]+)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _envelope(seq: int) -> dict[str, Any]:
    """A live QFC timeline envelope as a running cell publishes it, stamped with its publish time."""
    beams = [
        {
            "beam_id": f"beam_cell_001_bench_wave_{seq:06d}_{i:02d}",
            "stage": "wave",
            "token": "Δ",
            "timestamp": "2026-01-01T00:00:00.000000Z",
            "duration_ms": 1.25,
            "predicted_ms": 1.1,
            "path": "wave",
            "eid": None,
            "qscore": 0.97,
            "drift": 1.5e-4,
            "verdict": "pass",
        }
        for i in range(12)
    ]
    payload = {"kind": "qpu_beam_timeline", "run_id": "bench", "live": True, "beams": beams, "progress": None}
    return {"v": 1, "type": "qfc_update", "source": "container::bench", "payload": {**payload, "seq": seq}}


# ------------------------------------------------------------------------------------------ clients


def _silent(port: int, path: str) -> socket.socket:
    """A WebSocket that completes the handshake and then never reads (receive buffer kept small)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: token {TOKEN}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    payload = json.dumps({"type": "subscribe", "containers": ["bench"]}).encode()
    mask = os.urandom(4)
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


async def _clients(port: int, path: str, silent: bool, expected: int, ready: Any, go: Any, out: Any) -> None:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    request = HTTPRequest(f"ws://127.0.0.1:{port}{path}", headers={"Authorization": f"token {TOKEN}"})
    conns = [await websocket_connect(request, max_message_size=64 << 20) for _ in range(READERS)]
    for conn in conns:
        await conn.write_message(json.dumps({"type": "subscribe", "containers": ["bench"]}))
    quiet = _silent(port, path) if silent else None
    await asyncio.sleep(1.0)  # subscriptions settle
    ready.set()
    received: list[list[tuple[float, str]]] = [[] for _ in conns]

    async def read(k: int) -> None:
        got = received[k]
        seen = 0
        while seen < expected:
            try:
                text = await asyncio.wait_for(conns[k].read_message(), 20)
            except TimeoutError:
                return  # nothing for 20 s: the rest was dropped (counted as not delivered)
            if text is None:
                return
            got.append((time.time(), text))
            seen += '"seq"' in text

    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    await asyncio.gather(*(read(k) for k in range(READERS)))
    latencies, counts, firsts, lasts = [], [], [], []
    for got in received:
        stamps = [(t, float(m.group(1))) for t, text in got if (m := _SENT.search(text))]
        counts.append(len(stamps))
        latencies.extend(t - s for t, s in stamps)
        if stamps:
            firsts.append(stamps[0][1])
            lasts.append(stamps[-1][0])
    out.put({"latencies": latencies, "counts": counts, "start": min(firsts, default=0), "end": max(lasts, default=0)})
    if quiet is not None:
        quiet.close()
    for conn in conns:
        conn.close()


def _client_process(port: int, path: str, silent: bool, expected: int, ready: Any, go: Any, out: Any) -> None:
    asyncio.run(_clients(port, path, silent, expected, ready, go, out))


# ------------------------------------------------------------------------------------------ servers


def _start_codexlab(home: Path, root: Path) -> tuple[Any, int]:
    from jupyter_server.serverapp import ServerApp

    port = _free_port()
    app = ServerApp.instance(jpserver_extensions={"codexlab.server": True})
    app.initialize(
        argv=[
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            f"--CodexLabApp.home={home}",
            "--ServerApp.log_level=WARN",
        ],
        find_extensions=False,
        new_httpserver=True,
    )
    return app, port


def _start_floor() -> tuple[set[Any], int]:
    """A bare tornado WebSocket server that every connection joins; the broadcast writes to each."""
    from tornado import web, websocket

    clients: set[Any] = set()

    class Floor(websocket.WebSocketHandler):
        def open(self) -> None:
            clients.add(self)

        def on_message(self, message: str | bytes) -> None:
            pass

        def on_close(self) -> None:
            clients.discard(self)

    port = _free_port()
    web.Application([("/ws", Floor)]).listen(port, address="127.0.0.1")
    return clients, port


def _floor_broadcast(clients: set[Any], text: str) -> None:
    from tornado.websocket import WebSocketClosedError

    for client in list(clients):
        try:
            client.write_message(text).add_done_callback(_retrieve)
        except WebSocketClosedError:
            clients.discard(client)


def _retrieve(written: Any) -> None:
    """Read a write's outcome (a client that went away raises there; nothing to do about it)."""
    written.exception()


# ------------------------------------------------------------------------------------------ runs


async def _broadcast_case(
    port: int, path: str, publish: Any, silent: bool, messages: int, rate: float | None
) -> dict[str, float]:
    """One configuration: clients in a second process, `messages` envelopes at `rate`/s (None: at once)."""
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(port, path, silent, messages, ready, go, out))
    proc.start()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, ready.wait, 120)
    go.set()

    def publisher() -> None:
        start = time.perf_counter()
        for seq in range(messages):
            if rate is not None:
                delay = start + seq / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            envelope = _envelope(seq)
            envelope["payload"]["sent"] = time.time()
            publish(envelope)

    thread = threading.Thread(target=publisher)
    thread.start()
    result = await loop.run_in_executor(None, out.get, True, 600)
    await loop.run_in_executor(None, thread.join)
    await loop.run_in_executor(None, proc.join, 60)
    lat = sorted(result["latencies"])
    span = max(result["end"] - result["start"], 1e-9)
    return {
        "p50": 1e3 * statistics.median(lat),
        "p99": 1e3 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "rate": sum(result["counts"]) / span,
        "complete": min(result["counts"]) / messages,
    }


async def bench_broadcast(
    app: Any, port: int, messages: int, rates: list[float], repeats: int
) -> list[tuple[str, dict[str, float]]]:
    service = app.web_app.settings["codexlab_service"]
    lab = await service.ready()
    loop = asyncio.get_running_loop()
    clients, floor_port = _start_floor()

    def floor_publish(envelope: dict[str, Any]) -> None:
        text = json.dumps(envelope, ensure_ascii=False)  # serialized once, as the bridge does
        loop.call_soon_threadsafe(_floor_broadcast, clients, text)

    rows = []
    loads: list[tuple[str, float | None]] = [(f"{rate:g}/s", rate) for rate in rates] + [("burst", None)]
    for label, load in loads:
        for silent in (False, True):
            who = "49 readers + 1 silent" if silent else "49 readers"
            count = messages if load is None else min(messages, int(load * SECONDS_PER_RATE))
            pairs = []
            for _ in range(repeats):  # back to back, so that each pair sees about the same machine load
                codexlab = await _broadcast_case(port, "/codexlab/api/ws", lab.bus.publish, silent, count, load)
                floor = await _broadcast_case(floor_port, "/ws", floor_publish, silent, count, load)
                pairs.append({**{f"cx_{k}": v for k, v in codexlab.items()}, **floor})
            cells = {k: statistics.median(p[k] for p in pairs) for k in pairs[0]}
            cells["ratio"] = statistics.median(p["cx_p99"] / p["p99"] for p in pairs)
            cells["n"] = count
            rows.append((f"{label}, {who}", cells))
    return rows


async def bench_submission(port: int, app: Any, runs: int, home: Path) -> dict[str, float]:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    from codexlab.runtime import Lab

    scroll = "a := 2\nb = a * 3 + 1\n"
    await app.web_app.settings["codexlab_service"].ready()
    request = HTTPRequest(f"ws://127.0.0.1:{port}/codexlab/api/ws", headers={"Authorization": f"token {TOKEN}"})
    conn = await websocket_connect(request)
    for container in range(4):  # warm each container (first run compiles)
        await conn.write_message(json.dumps({"type": "run", "code": scroll, "container": f"s{container}"}))
    done = 0
    while done < 4:
        message = json.loads(await conn.read_message())
        done += message["type"] in ("result", "error")
    start = time.perf_counter()
    for i in range(runs):
        await conn.write_message(json.dumps({"type": "run", "code": scroll, "container": f"s{i % 4}"}))
    done, failed = 0, 0
    while done < runs:
        message = json.loads(await conn.read_message())
        if message["type"] in ("result", "error"):
            done += 1
            failed += message["type"] == "error"
    service_s = time.perf_counter() - start
    conn.close()

    lab = Lab(home=home / "direct")
    lab.progress = False
    for container in range(4):
        lab.run(scroll, f"s{container}")
    start = time.perf_counter()
    for i in range(runs):
        lab.run(scroll, f"s{i % 4}")
    direct_s = time.perf_counter() - start
    return {"service": runs / service_s, "direct": runs / direct_s, "failed": failed}


def _table(rows: list[tuple[str, dict[str, float]]]) -> str:
    lines = [
        "QFC broadcast to 49 reading clients (~2.5 KB envelopes), clients in a second process; medians of "
        "the codexlab/floor pairs (p99 ÷ floor: median of the pairs' ratios)",
        "",
        "| case | envelopes | codexlab p50 ms | p99 ms | msgs/s | floor p50 ms | p99 ms | msgs/s | p99 ÷ floor "
        "| codexlab delivered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, r in rows:
        delivered = "yes" if r["cx_complete"] == 1 else f"{r['cx_complete']:.0%}"
        lines.append(
            f"| {label} | {r['n']:.0f} | {r['cx_p50']:.2f} | {r['cx_p99']:.2f} | {r['cx_rate']:,.0f} | "
            f"{r['p50']:.2f} | {r['p99']:.2f} | {r['rate']:,.0f} | {r['ratio']:.2f} | {delivered} |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace, app: Any, port: int, home: Path) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    rows = await bench_broadcast(app, port, args.messages, rates, args.repeats)
    print(_table(rows))
    sub = await bench_submission(port, app, args.runs, home)
    print()
    print(f"Run submission, {args.runs} runs of a 2-statement scroll over 4 containers (2 workers)")
    print()
    print("| path | runs/s | ÷ direct |")
    print("|---|---:|---:|")
    print(f"| WebSocket `run` → `result` (service) | {sub['service']:.1f} | {sub['service'] / sub['direct']:.2f} |")
    print(f"| `Lab.run` in this process, one after another (floor) | {sub['direct']:.1f} | 1.00 |")
    if sub["failed"]:
        print(f"\n{sub['failed']:.0f} runs failed")
    print(f"\nload average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rates", default="20,100", help="publish rates per second, comma-separated")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3, help="codexlab/floor pairs per case (medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "root").mkdir()
        app, port = _start_codexlab(base / "home", base / "root")
        try:
            app.io_loop.run_sync(lambda: main_async(args, app, port, base))
        finally:
            app.io_loop.run_sync(app.extension_manager.stop_all_extensions)


if __name__ == "__main__":
    main()
