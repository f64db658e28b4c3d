"""A real codexlab service for tests: `codexlab serve` in a subprocess on a free 127.0.0.1 port, with a
known token, its own Jupyter directories and home; plus small clients (REST, WebSocket, a raw socket
that never reads)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

TOKEN = "codexlab-test-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]
#: The file that enables the service in a Jupyter server (installed into `etc/jupyter/` with the package).
SERVER_CONFIG = ROOT / "jupyter-config" / "jupyter_server_config.d" / "codexlab.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """`codexlab serve` with options (`CLASS.TRAIT=VALUE`); `start()` waits until it answers.

    `jupyter="server"` or `"lab"` starts a plain Jupyter server or JupyterLab instead, which load the
    service only through the config file `SERVER_CONFIG` (copied into its config directory).
    """

    def __init__(self, base: Path, *options: str, token: str | None = TOKEN, jupyter: str = "codexlab") -> None:
        self.base = base
        self.home = base / "home"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        #: None: the server makes one up, and `start()` reads it from the URL the server prints.
        self.token = token
        self._generated = token is None
        self.options = options
        self.jupyter = jupyter
        self.log_path = base / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> ServiceProcess:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        env.pop("CODEXLAB_HOME", None)
        root = self.base / "root"
        root.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self._argv(root), env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._generated:
                    found = re.search(rf"http://127\.0\.0\.1:{self.port}/codexlab/\?token=([0-9a-f]+)", self.log())
                    if found is None:
                        raise OSError("no URL printed yet")
                    self.token = found.group(1)
                self.get("/codexlab/api/status")  # answers once the fabric (a Lab) has started
                return self
            except (OSError, urllib.error.HTTPError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"codexlab serve did not start: {self.log()[-3000:]}") from None
                time.sleep(0.3)

    def _argv(self, root: Path) -> list[str]:
        common = ["ServerApp.allow_root=True", f"ServerApp.root_dir={root}", *self.options]
        if not self._generated:
            common.append(f"IdentityProvider.token={self.token}")
        if self.jupyter == "codexlab":
            head = [sys.executable, "-m", "codexlab.cli", "serve", "--port", str(self.port), "--home", str(self.home)]
            return head + [x for o in common for x in ("--set", o)]
        enabled = self.base / "config" / "jupyter_server_config.d"
        enabled.mkdir(parents=True, exist_ok=True)
        (enabled / SERVER_CONFIG.name).write_text(SERVER_CONFIG.read_text())
        module = {"server": "jupyter_server", "lab": "jupyterlab"}[self.jupyter]
        head = [sys.executable, "-m", module, "--no-browser", "--ip=127.0.0.1", f"--port={self.port}"]
        extra = ["ServerApp.port_retries=0", f"CodexLabApp.home={self.home}"]
        return head + [f"--{o}" for o in [*extra, *common]]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if hasattr(self, "_log"):
            self._log.close()

    # ---------------------------------------------------------------------------------------- REST

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        body: Any = None,
        token: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, decoded JSON or text, headers); never raises for an HTTP error status."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=dict(headers or {}))
        if token:
            request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw, head = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as err:
            status, raw, head = err.code, err.read(), dict(err.headers)
        try:
            return status, json.loads(raw), head
        except ValueError:
            return status, raw.decode(errors="replace"), head

    def get(self, path: str) -> Any:
        status, body, _ = self.request(path)
        if status != 200:
            raise urllib.error.HTTPError(self.url + path, status, str(body), None, None)  # type: ignore[arg-type]
        return body

    def wait_until(self, check: Callable[[], Any], timeout: float = 120, every: float = 0.2) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"condition not met within {timeout} s")

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/codexlab/api/ws"


class Client:
    """An async WebSocket client that keeps every message it received."""

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self.conn = conn
        self.messages: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls, service: ServiceProcess, *, token: bool = True, headers: dict[str, str] | None = None
    ) -> Client:
        head = {"Authorization": f"token {service.token}"} if token else {}
        head.update(headers or {})
        conn = await websocket_connect(HTTPRequest(service.ws_url, headers=head), max_message_size=64 << 20)
        return cls(conn)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.conn.write_message(message if isinstance(message, str) else json.dumps(message))

    async def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 120) -> dict[str, Any]:
        """Read until a message satisfies `check`; returns it (all read messages are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching message within {timeout} s; got {[m['type'] for m in self.messages]}"
                )
            text = await asyncio.wait_for(self.conn.read_message(), remaining)
            if text is None:
                raise ConnectionError(f"closed with {self.conn.close_code} {self.conn.close_reason}")
            message = json.loads(text)
            self.messages.append(message)
            if check(message):
                return message

    def of(self, kind: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """Received messages of a type (and run)."""
        out = [m for m in self.messages if m["type"] == kind]
        if run_id is None:
            return out
        return [m for m in out if _run_of(m) == run_id]

    def accepted_first(self) -> bool:
        """Whether, for each run this client submitted, `accepted` came before every message of the run."""
        first = {str(m["run_id"]): i for i, m in enumerate(self.messages) if m["type"] == "accepted"}
        return all(
            i > first[run_id]
            for i, m in enumerate(self.messages)
            if m["type"] != "accepted" and (run_id := _run_of(m)) in first
        )

    def close(self) -> None:
        self.conn.close()


def _run_of(message: dict[str, Any]) -> str | None:
    if message["type"] == "glyph_execution":
        return message["payload"]["action"].get("run_id")
    if message["type"] == "qfc_update":
        return message["payload"].get("run_id")
    return message.get("run_id")


def finished(run_id: str) -> Callable[[dict[str, Any]], bool]:
    """A check for the `result` or `error` of a run."""
    return lambda m: m["type"] in ("result", "error") and m.get("run_id") == run_id


class SilentClient:
    """A WebSocket client over a raw socket with a small receive buffer that never reads after the
    handshake: the server's writes to it stall once the kernel buffers fill."""

    def __init__(self, service: ServiceProcess, rcvbuf: int = 4096) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", service.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /codexlab/api/ws HTTP/1.1\r\nHost: 127.0.0.1:{service.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: token {service.token}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)  # byte by byte: nothing after the headers is consumed
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, message: dict[str, Any]) -> None:
        """One masked text frame (clients must mask)."""
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self) -> None:
        self.sock.close()
