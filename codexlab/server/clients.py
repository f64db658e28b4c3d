"""A bounded, ordered send queue per WebSocket client: slow clients lose QFC updates, never results.

Every message is pushed on the event loop. While the client keeps up, a push writes at once (as a bare
broadcast would); while one of its writes is still in flight (the socket buffer is full: the client
does not read), messages wait in its queue and go out, in order, when that write completes — nobody
else waits for it. When more than `limit` *droppable* messages (QFC updates) wait, the oldest is
dropped and counted (a `panels` message is replaced by the newer one at once); the next message that
goes out is preceded by `{"type": "dropped", "count": n}`. Results, errors and intents are never dropped:
when more than `backlog_limit` messages wait in all, the client is too far behind to catch up and its
connection is closed (code 1013, "try again later").
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["ClientQueue", "Outgoing"]


@dataclass
class Outgoing:
    """One serialized message; `droppable` ones may be discarded, a `key` replaces a queued one."""

    text: str
    droppable: bool = False
    key: str | None = None


class ClientQueue:
    """The send queue of one client (use from the event loop only). `send(text)` starts a write and
    returns an awaitable that completes when the socket took it (tornado's `write_message`)."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], None],
        *,
        limit: int = 256,
        backlog_limit: int = 4096,
    ) -> None:
        self._send = send
        self._close = close
        self.limit = limit
        self.backlog_limit = backlog_limit
        self._items: deque[Outgoing] = deque()
        self._droppable = 0
        self._in_flight: asyncio.Future[None] | None = None
        self._closed = False
        #: Droppable messages discarded so far, and those not yet reported to the client.
        self.dropped = 0
        self._unreported = 0
        #: Messages handed to the socket.
        self.sent = 0

    @property
    def pending(self) -> int:
        """Messages waiting to be written."""
        return len(self._items)

    def push(self, message: Outgoing) -> None:
        """Queue a message and write what can be written; drop the oldest update when over `limit`;
        close when hopelessly behind."""
        if self._closed:
            return
        if message.key is not None:
            for i, queued in enumerate(self._items):
                if queued.key == message.key:
                    del self._items[i]
                    self._droppable -= 1
                    break
        self._items.append(message)
        if message.droppable:
            self._droppable += 1
            if self._droppable > self.limit:
                self._drop_oldest()
        if len(self._items) > self.backlog_limit:
            self.close(1013, "client too slow: results waiting beyond the backlog limit")
            return
        self._pump()

    def _drop_oldest(self) -> None:
        for i, queued in enumerate(self._items):
            if queued.droppable:
                del self._items[i]
                self._droppable -= 1
                self.dropped += 1
                self._unreported += 1
                return

    def close(self, code: int | None = None, reason: str = "") -> None:
        """Stop sending; with a `code`, close the connection too."""
        if self._closed:
            return
        self._closed = True
        self._items.clear()
        self._droppable = 0
        if code is not None:
            self._close(code, reason)

    def _pump(self) -> None:
        """Write waiting messages until one cannot complete at once; its completion resumes the pump."""
        while self._items and self._in_flight is None and not self._closed:
            if self._unreported:
                text, self._unreported = json.dumps({"type": "dropped", "count": self._unreported}), 0
            else:
                message = self._items.popleft()
                self._droppable -= message.droppable
                text = message.text
            try:
                written = asyncio.ensure_future(self._send(text))
            except Exception:  # noqa: BLE001 - a closed socket ends this client's sending, nothing else
                self.close()
                return
            self.sent += 1
            if not written.done():
                self._in_flight = written
                written.add_done_callback(self._written)
            elif written.exception() is not None:
                self.close()

    def _written(self, written: asyncio.Future[None]) -> None:
        self._in_flight = None
        if written.cancelled() or written.exception() is not None:
            self.close()
            return
        self._pump()
