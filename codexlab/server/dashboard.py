"""The dashboard at `/codexlab/`: a page that renders the HUD's own module (`hud.js`) with a small host
shim (`static/dashboard.js`) feeding it over the WebSocket and the REST API. Not a second UI."""

from __future__ import annotations

import html
import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .codex_websocket_interface import AUTH_RESOURCE
from .service import CodexService

__all__ = ["DashboardHandler"]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>codexlab dashboard</title>
<link rel="stylesheet" href="{static}hud.css">
<link rel="stylesheet" href="{static}dashboard.css">
</head>
<body>
<header id="cx-bar">
  <span class="cx-title">codexlab</span>
  <span id="cx-status" data-state="connecting">connecting…</span>
  <label>containers <select id="cx-filter"><option value="*">all</option></select></label>
  <span id="cx-mode"></span>
  <span>home <code>{home}</code></span>
</header>
<main>
  <section id="cx-runs">
    <table>
      <thead><tr><th>run</th><th>container</th><th>status</th><th>beams</th><th>started (UTC)</th></tr></thead>
      <tbody id="cx-runs-body"></tbody>
    </table>
  </section>
  <section id="cx-hud"></section>
</main>
<script id="cx-config" type="application/json">{config}</script>
<script type="module" src="{static}dashboard.js"></script>
</body>
</html>
"""


class DashboardHandler(ExtensionHandlerMixin, JupyterHandler):
    """`GET /codexlab/`: the dashboard page (login as for any Jupyter page)."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> CodexService:
        """The server's codexlab service."""
        return self.settings["codexlab_service"]

    @web.authenticated
    @authorized(action="read")
    async def get(self) -> None:
        base_url = self.settings.get("base_url", "/")
        static = f"{base_url}static/codexlab/"
        # `</` cannot close the script element from inside the JSON.
        config = json.dumps({"base_url": base_url}).replace("</", "<\\/")
        home = html.escape(str(self.service.fabric.home))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_PAGE.format(static=html.escape(static), home=home, config=config))
