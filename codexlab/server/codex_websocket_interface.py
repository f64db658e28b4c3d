"""`codex_websocket_interface`: the WebSocket glyph stream at `/codexlab/api/ws`.

Modelled on jupyter_server's kernel channel: `WebSocketMixin` (keepalive pings, origin check),
`ws_authenticated` (the server's own token or cookie login) and the server's authorizer on the
`codexlab` resource (`read` to connect and subscribe, `execute` to run and cancel). A client sends
`run`, `subscribe` and `cancel`; it receives `accepted`/`busy`, one `glyph_execution` per executed op,
the QFC envelopes of the containers it follows, `intent`s, the `result` or an `error` with line and
column. A message over the size limit closes the connection with 1009; malformed JSON gets an `error`
and the connection stays open.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketHandler

from ..errors import CodexBusy, CodexError, CodexProtocolError
from .clients import ClientQueue, Outgoing
from .messages import (
    CancelRequest,
    RunRequest,
    SubscribeRequest,
    accepted,
    busy,
    dumps,
    error_message,
    parse_request,
)
from .qfc_websocket_bridge import Client
from .service import CodexService

__all__ = ["AUTH_RESOURCE", "CodexWebSocketHandler"]

#: The resource name codexlab asks the server's authorizer about (`read`, `write`, `execute`).
AUTH_RESOURCE = "codexlab"


class CodexWebSocketHandler(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    """One client of the glyph stream."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> CodexService:
        """The server's codexlab service."""
        return self.settings["codexlab_service"]

    @property
    def max_message_size(self) -> int:
        """Larger client messages close the connection with 1009 (tornado's own check)."""
        return self.service.options.max_message_bytes

    def set_default_headers(self) -> None:
        """No page headers (CSP and friends) on a WebSocket upgrade, as in jupyter_server's kernel channel."""

    def get_compression_options(self) -> dict[str, Any] | None:
        """The server's WebSocket compression settings."""
        return self.settings.get("websocket_compression_options", None)

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize (`read` on `codexlab`), wait for the fabric, then upgrade."""
        user = self.current_user
        if not await ensure_async(self.authorizer.is_authorized(self, user, "read", AUTH_RESOURCE)):
            raise web.HTTPError(403, "not authorized to read codexlab")
        self._may_execute = bool(
            await ensure_async(self.authorizer.is_authorized(self, user, "execute", AUTH_RESOURCE))
        )
        await self.service.ready()
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start pinging, bound the socket's send buffer, give the client its queue, register it."""
        super().open(*args, **kwargs)
        options = self.service.options
        stream = getattr(self.ws_connection, "stream", None)
        if options.send_buffer_bytes > 0 and stream is not None and stream.socket is not None:
            # Bounded here, a slow client's backlog stays in its queue, where stale QFC updates are dropped.
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, options.send_buffer_bytes)
        queue = ClientQueue(
            self.write_message,
            self.close,
            limit=options.send_queue_limit,
            backlog_limit=options.send_backlog_limit,
        )
        self.client = Client(queue)
        self.service.bridge.add(self.client)

    async def on_message(self, message: str | bytes) -> None:
        """One request; a bad one gets an `error` and the connection stays open."""
        try:
            request = parse_request(message)
            if isinstance(request, RunRequest):
                if self._may_run(request.ref):
                    await self._run(request)
            elif isinstance(request, SubscribeRequest):
                self.service.bridge.subscribe(self.client, request.containers, request.panels)
                containers: Any = "*" if request.containers is None else list(request.containers)
                self._send(
                    {"type": "subscribed", "containers": containers, "panels": request.panels, "ref": request.ref}
                )
            elif isinstance(request, CancelRequest) and self._may_run(request.ref):
                self._cancel(request)
        except CodexError as err:
            self._send(error_message(err))

    async def _run(self, request: RunRequest) -> None:
        fabric = self.service.fabric
        # Parsing the scroll for its container may take a while for a long one: off the loop.
        job = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: fabric.prepare(
                request.code, request.container, request.source, submitter=self.client, ref=request.ref
            ),
        )
        try:
            ahead = fabric.enqueue(job)
        except CodexBusy as err:
            self._send(busy(err, request.ref))
            return
        # In the same loop step as `enqueue`: `accepted` goes out before any message of the run.
        self._send(accepted(job.run_id, job.lane, ahead, request.ref))

    def _cancel(self, request: CancelRequest) -> None:
        job = self.service.fabric.cancel(request.run_id)
        if job is None:
            err = CodexProtocolError(
                f"No run `{request.run_id}` was submitted to this server (or it finished long ago); pass the "
                "`run_id` of an `accepted` message."
            )
            self._send(error_message(err, run_id=request.run_id, ref=request.ref))
            return
        self._send({"type": "cancelling", "run_id": job.run_id, "state": job.state, "ref": request.ref})

    def _may_run(self, ref: str | int | None) -> bool:
        """Whether this user may run and cancel scrolls (`execute`); if not, say so to the client."""
        if not self._may_execute:
            err = CodexProtocolError("This user may read codexlab but not run or cancel scrolls (`execute`).")
            self._send(error_message(err, ref=ref))
        return self._may_execute

    def _send(self, message: dict[str, Any]) -> None:
        self.client.queue.push(Outgoing(dumps(message)))

    def on_close(self) -> None:
        """Unregister; the sender stops."""
        client = getattr(self, "client", None)
        if client is not None:
            self.service.bridge.remove(client)
            client.queue.close()
