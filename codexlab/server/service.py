"""`CodexService`: the fabric and the bridge of one server, started once the event loop runs."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..runtime import Lab
from .codex_fabric import Fabric
from .qfc_websocket_bridge import QfcBridge

__all__ = ["CodexService", "ServiceOptions"]


@dataclass(frozen=True)
class ServiceOptions:
    """What `CodexLabApp`'s settings configure (see its traits for the meaning of each)."""

    home: Path
    db_url: str | None = None
    workers: int = 2
    queue_limit: int = 64
    time_limit_s: float = 600.0
    tick_s: float = 0.25
    live_interval_s: float = 0.1
    send_queue_limit: int = 256
    send_backlog_limit: int = 4096
    send_buffer_bytes: int = 256 << 10
    max_message_bytes: int = 1 << 20
    panels_interval_s: float = 0.1
    history_runs: int = 60


class CodexService:
    """Owns the fabric (Lab, workers, tick) and the bridge (clients); handlers `await service.ready()`."""

    def __init__(self, options: ServiceOptions) -> None:
        self.options = options
        self.bridge = QfcBridge(mutations=self._mutations, panels_interval_s=options.panels_interval_s)
        self.fabric = Fabric(
            options.home,
            db_url=options.db_url,
            workers=options.workers,
            queue_limit=options.queue_limit,
            time_limit_s=options.time_limit_s,
            tick_s=options.tick_s,
            live_interval_s=options.live_interval_s,
            sink=self.bridge,
        )
        self._started: asyncio.Future[None] | None = None
        self._graph: Any = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The server's event loop, where clients live (call once it runs)."""
        self.bridge.bind(loop)

    async def start(self) -> None:
        """Start the fabric in a thread (opening a Lab imports JAX and friends: seconds the server must
        not be blocked for); idempotent."""
        if self._started is not None:
            return
        loop = asyncio.get_running_loop()
        self.bridge.bind(loop)
        self._started = loop.run_in_executor(None, self._start_fabric)

    def _start_fabric(self) -> None:
        lab = self.fabric.start().lab
        assert lab is not None
        self.bridge.attach_bus(lab.bus)
        self.bridge.seed(self.fabric.recent_updates(self.options.history_runs))

    async def ready(self) -> Lab:
        """The fabric's Lab, once started (starting it on first use)."""
        if self._started is None:
            await self.start()
        assert self._started is not None
        await asyncio.shield(self._started)
        assert self.fabric.lab is not None
        return self.fabric.lab

    async def stop(self) -> None:
        """Stop the fabric's threads (waiting runs are dropped, running ones cancelled)."""
        await asyncio.get_running_loop().run_in_executor(None, self.fabric.stop)

    def graph(self) -> Any:
        """A read-only view of the home's knowledge graph (opened on first use): queries must not take
        the graph's single writer lock away from the notebook kernels that write it."""
        if self._graph is None:
            from ..kg import open_kg

            self._graph = open_kg(self.fabric.home, read_only=True)
        return self._graph

    def _mutations(self, container: str) -> list[Any]:
        lab = self.fabric.lab
        return [] if lab is None else list(lab.mutations(container))

    def status(self) -> dict[str, Any]:
        """The fabric's and the bridge's status (loop thread)."""
        return {"home": str(self.fabric.home), "fabric": self.fabric.status(), "clients": self.bridge.status()}


def default_home(root_dir: str | os.PathLike[str]) -> Path:
    """`$CODEXLAB_HOME`, else `.codexlab` under the server's root directory (where notebooks put theirs)."""
    env = os.environ.get("CODEXLAB_HOME")
    return Path(env).expanduser().resolve() if env else (Path(root_dir) / ".codexlab").resolve()
