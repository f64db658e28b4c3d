"""`CodexLabApp`: the jupyter_server extension — `/codexlab/` (dashboard), `/codexlab/api/ws` (glyph stream)
and `/codexlab/api/...` (REST), inside JupyterLab, JupyterHub and Binder, or standalone (`codexlab serve`).

Every setting is a traitlet (`--CodexLabApp.workers=4`, or `c.CodexLabApp.workers = 4` in a Jupyter
config file). Authentication, XSRF and origin checks are the server's own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode

from .codex_websocket_interface import CodexWebSocketHandler
from .dashboard import DashboardHandler
from .rest import ROUTES
from .service import CodexService, ServiceOptions, default_home

__all__ = ["CodexLabApp"]

_HERE = Path(__file__).parent


class CodexLabApp(ExtensionApp):
    """The codexlab service as a Jupyter server extension."""

    name = "codexlab"
    description = "codexlab: the WebSocket glyph stream, a REST API and a live dashboard of runs."
    extension_url = "/codexlab/"
    load_other_extensions = False
    serverapp_config: dict[str, Any] = {"default_url": "/codexlab/"}

    home = Unicode(
        "",
        config=True,
        help="The codexlab home the service runs in and watches (default: $CODEXLAB_HOME, else "
        "`.codexlab` under the server's root directory). Notebooks that share it appear live.",
    )
    db_url = Unicode("", config=True, help="The beam store URL (default: SQLite in the home; `$CODEXLAB_DB_URL`).")
    workers = Int(2, config=True, help="Worker threads: runs of different containers in parallel.")
    queue_limit = Int(64, config=True, help="Runs that may wait; one more is answered `busy` at once.")
    run_time_limit = Float(
        600.0,
        config=True,
        help="Seconds a run may take before the supervisor fails it and replaces its worker (0: none).",
    )
    tick_interval = Float(0.25, config=True, help="Seconds between supervision and discovery ticks.")
    live_interval = Float(0.1, config=True, help="Least seconds between live QFC updates of a running cell.")
    send_queue_limit = Int(256, config=True, help="Messages waiting per client before QFC updates are dropped.")
    send_backlog_limit = Int(
        4096, config=True, help="Undroppable messages waiting per client before it is disconnected (1013)."
    )
    send_buffer_bytes = Int(
        256 << 10,
        config=True,
        help="Kernel send buffer per WebSocket client (SO_SNDBUF; 0: the OS's autotuning, up to MiBs): "
        "kept small so a slow client's stale QFC updates are dropped in its queue, not buffered by the OS.",
    )
    max_message_bytes = Int(1 << 20, config=True, help="Largest client message; a larger one closes with 1009.")
    panels_interval = Float(0.1, config=True, help="Least seconds between dashboard panel updates.")
    start_at_launch = Bool(
        False,
        config=True,
        help="Start the runtime (a Lab, workers, discovery) with the server; by default on the first request, "
        "so that a JupyterLab that never opens /codexlab/ does not pay for it. `codexlab serve` starts at launch.",
    )

    @classmethod
    def get_extension_package(cls) -> str:
        """What `codexlab serve` enables: `codexlab.server` (jupyter_server would guess the top package)."""
        return __name__.rsplit(".", 1)[0]

    def initialize_settings(self) -> None:
        """Build the service (started once the event loop runs) and hand it to the handlers."""
        import os

        assert self.serverapp is not None  # linked before the settings are prepared
        home = Path(self.home).expanduser().resolve() if self.home else default_home(self.serverapp.root_dir)
        options = ServiceOptions(
            home=home,
            db_url=self.db_url or os.environ.get("CODEXLAB_DB_URL") or None,
            workers=self.workers,
            queue_limit=self.queue_limit,
            time_limit_s=self.run_time_limit,
            tick_s=self.tick_interval,
            live_interval_s=self.live_interval,
            send_queue_limit=self.send_queue_limit,
            send_backlog_limit=self.send_backlog_limit,
            send_buffer_bytes=self.send_buffer_bytes,
            max_message_bytes=self.max_message_bytes,
            panels_interval_s=self.panels_interval,
        )
        self.service = CodexService(options)
        self.settings["codexlab_service"] = self.service
        self.log.info("codexlab: home %s; dashboard at %scodexlab/", home, self.serverapp.base_url)

    def initialize_handlers(self) -> None:
        """The dashboard, the WebSocket and the REST routes; static files (the HUD's module) under
        `static/codexlab/`."""
        self.static_paths = [str(_HERE / "static"), str(_HERE.parent / "hud" / "static")]
        self.handlers.extend(
            [
                (r"/codexlab/?", DashboardHandler),
                ("/codexlab/api/ws", CodexWebSocketHandler),
                *ROUTES,
            ]
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Once the event loop runs: bind the service to it, and start the runtime if asked to."""
        self.service.bind(asyncio.get_running_loop())
        if self.start_at_launch:
            await self.service.start()

    async def stop_extension(self) -> None:
        """Stop the fabric's threads."""
        await self.service.stop()
