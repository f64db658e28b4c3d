"""`qfc_websocket_bridge`: the HUD stream — QFC envelopes and run messages fanned out to WebSocket clients.

Producers are threads (the Lab's metrics bus during a run, the fabric's workers and tick); they hand
each event to the event loop once (`call_soon_threadsafe`), serialized once, and the loop pushes it
into the bounded queue of every interested client (`clients.ClientQueue`) — a push never waits on a
socket, so one slow client never delays the others. Clients that ask for `panels` also get the HUD's
own panel data (`codexlab.hud.panels.Panels`, folded once per container filter and sent at most every
`panels_interval_s`), which the dashboard draws with the HUD's module.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..hud.panels import Panels, mutation_rows
from ..runtime.metrics import MetricsBus
from .clients import ClientQueue, Outgoing
from .jobs import Job
from .messages import dumps

__all__ = ["Client", "QfcBridge"]

#: Committed QFC envelopes kept to seed the panels of a new dashboard (about 60 runs).
RECENT_UPDATES = 360


@dataclass(eq=False)
class Client:
    """One connected WebSocket: its queue and what it follows (`containers` None = every container)."""

    queue: ClientQueue
    subscribed: bool = False
    containers: frozenset[str] | None = None
    panels: str | None = None

    def follows(self, container: str) -> bool:
        """Whether this client subscribed to a container's stream."""
        return self.subscribed and (self.containers is None or container in self.containers)


@dataclass(eq=False)
class _PanelsFeed:
    """Panel data folded once for every dashboard that follows the same container filter."""

    panels: Panels
    containers: frozenset[str] | None
    clients: set[Client] = field(default_factory=set)
    dirty: bool = False

    def apply(self, container: str, update: dict[str, Any]) -> bool:
        """Fold an envelope of a followed container in; True when the panels changed."""
        if self.containers is not None and container not in self.containers:
            return False
        changed = self.panels.apply(update)
        self.dirty = self.dirty or changed
        return changed


class QfcBridge:
    """Fans QFC envelopes and run messages out to clients; bind it to the event loop before use."""

    def __init__(
        self,
        *,
        mutations: Callable[[str], list[Any]] | None = None,
        panels_interval_s: float = 0.1,
    ) -> None:
        self._mutations = mutations
        self.panels_interval_s = panels_interval_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bus: MetricsBus | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._clients: set[Client] = set()
        self._feeds: dict[str, _PanelsFeed] = {}
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_UPDATES)
        self._recent_lock = threading.Lock()
        self._flush_scheduled = False
        #: Events fanned out so far (QFC envelopes and run messages).
        self.events = 0

    # ------------------------------------------------------------------------------------ wiring

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop that owns the clients (handlers and sender tasks run there)."""
        self._loop = loop

    def attach_bus(self, bus: MetricsBus) -> None:
        """The bus the fabric's Lab publishes QFC envelopes on (followed while anyone subscribes)."""
        self._bus = bus
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._sync_bus)

    def seed(self, updates: Iterable[dict[str, Any]]) -> None:
        """Committed envelopes of earlier runs, so a new dashboard starts with history (thread-safe)."""
        with self._recent_lock:
            self._recent.extend(u for u in updates if not (u.get("payload") or {}).get("live"))

    def add(self, client: Client) -> None:
        """A client connected (loop thread)."""
        self._clients.add(client)

    def remove(self, client: Client) -> None:
        """A client left (loop thread): it stops receiving and its panels feed may go."""
        self._clients.discard(client)
        self._leave_feed(client)
        self._sync_bus()

    def subscribe(self, client: Client, containers: tuple[str, ...] | None, panels: bool) -> None:
        """Follow containers (None: all); `panels` also sends the HUD panel data of that filter (loop thread)."""
        client.subscribed = True
        client.containers = None if containers is None else frozenset(containers)
        self._leave_feed(client)
        if panels:
            key = "*" if containers is None else ",".join(sorted(client.containers or ()))
            feed = self._feeds.get(key)
            if feed is None:
                folded = Panels(None if containers is None else _single(containers))
                feed = self._feeds[key] = _PanelsFeed(folded, client.containers)
                with self._recent_lock:
                    history = list(self._recent)
                for update in history:
                    feed.apply(_container(update), update)
                feed.dirty = False
            feed.clients.add(client)
            client.panels = key
            client.queue.push(self._panels_message(key, feed))
        self._sync_bus()

    def _leave_feed(self, client: Client) -> None:
        if client.panels is None:
            return
        feed = self._feeds.get(client.panels)
        if feed is not None:
            feed.clients.discard(client)
            if not feed.clients and client.panels != "*":
                del self._feeds[client.panels]
        client.panels = None

    def _sync_bus(self) -> None:
        """Follow the bus only while someone subscribes (a Lab publishes live updates only when followed)."""
        wanted = any(c.subscribed for c in self._clients)
        if wanted and self._unsubscribe is None and self._bus is not None:
            self._unsubscribe = self._bus.subscribe(self._on_bus_event, {"qfc_update"})
        elif not wanted and self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # ------------------------------------------------------------------------------------ producers

    def _on_bus_event(self, event: dict[str, Any]) -> None:
        """A QFC envelope from the Lab (any thread)."""
        self._publish_update(event)

    def stored_updates(self, updates: list[dict[str, Any]]) -> None:
        """A run another process committed: its stored envelopes (fabric tick thread)."""
        for update in updates:
            self._publish_update(update)

    def _publish_update(self, update: dict[str, Any]) -> None:
        if not (update.get("payload") or {}).get("live"):
            with self._recent_lock:
                self._recent.append(update)
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._fan_out_update, _container(update), dumps(update), update)

    def run_finished(self, job: Job, messages: list[dict[str, Any]]) -> None:
        """A run's glyph_executions, intents and result (or its error), for its submitter and subscribers
        (worker or tick thread)."""
        loop = self._loop
        if loop is not None:
            texts = [dumps(m) for m in messages]
            loop.call_soon_threadsafe(self._deliver_run, job.lane, job.submitter, texts)

    # ------------------------------------------------------------------------------------ loop side

    def _fan_out_update(self, container: str, text: str, update: dict[str, Any]) -> None:
        self.events += 1
        message = Outgoing(text, droppable=True)
        for client in self._clients:
            if client.follows(container):
                client.queue.push(message)
        if not self._feeds:
            return
        for feed in self._feeds.values():
            feed.apply(container, update)
        if (update.get("payload") or {}).get("kind") == "qpu_cell_update":
            self._refresh_mutations(container)
        self._schedule_flush()

    def _deliver_run(self, container: str, submitter: Any, texts: list[str]) -> None:
        self.events += len(texts)
        targets = [c for c in self._clients if c is submitter or c.follows(container)]
        for text in texts:
            message = Outgoing(text)
            for client in targets:
                client.queue.push(message)

    def _refresh_mutations(self, container: str) -> None:
        """The DNA mutations of a container for the dashboards' panels, read off the loop."""
        if self._mutations is None or self._loop is None:
            return
        future = self._loop.run_in_executor(None, self._mutations, container)

        def apply(done: asyncio.Future[list[Any]]) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            rows = mutation_rows(done.result())
            for feed in self._feeds.values():
                if feed.containers is None or container in feed.containers:
                    feed.panels.mutations = rows
                    feed.dirty = True
            self._schedule_flush()

        future.add_done_callback(apply)

    def _schedule_flush(self) -> None:
        if self._flush_scheduled or self._loop is None:
            return
        self._flush_scheduled = True
        self._loop.call_later(self.panels_interval_s, self._flush_panels)

    def _flush_panels(self) -> None:
        self._flush_scheduled = False
        for key, feed in self._feeds.items():
            if feed.dirty and feed.clients:
                feed.dirty = False
                message = self._panels_message(key, feed)
                for client in feed.clients:
                    client.queue.push(message)

    @staticmethod
    def _panels_message(key: str, feed: _PanelsFeed) -> Outgoing:
        text = dumps({"type": "panels", "containers": key, "panels": feed.panels.to_dict()})
        return Outgoing(text, droppable=True, key="panels")

    # ------------------------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """Connected clients, their queues and drops (loop thread)."""
        return {
            "clients": len(self._clients),
            "subscribed": sum(1 for c in self._clients if c.subscribed),
            "dashboards": sum(len(f.clients) for f in self._feeds.values()),
            "pending": [c.queue.pending for c in self._clients],
            "dropped": [c.queue.dropped for c in self._clients],
            "events": self.events,
        }


def _container(update: dict[str, Any]) -> str:
    return str(update.get("source", "")).removeprefix("container::")


def _single(containers: tuple[str, ...]) -> str | None:
    """The container a `Panels` filters on: the one named, or None (any) for several."""
    return containers[0] if len(containers) == 1 else None
