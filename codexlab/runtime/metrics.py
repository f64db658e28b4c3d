"""The in-process metrics bus and `record_execution_metrics`, which times a stage and publishes it.

SQI score events, execution metrics and QFC updates travel on one bus; subscribers (the store's
metrics table, the HUD, a WebSocket) receive each event as a plain dict with a `type`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["MetricsBus", "BUS", "record_execution_metrics"]

Subscriber = Callable[[dict[str, Any]], None]


class MetricsBus:
    """Publish/subscribe for metric events; keeps the last `maxlen` events for late readers."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._subscribers: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._lock = threading.Lock()
        self.events: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def subscribe(self, callback: Subscriber, types: set[str] | None = None) -> Callable[[], None]:
        """Call `callback(event)` for each event (of the given types); returns an unsubscribe function."""
        entry = (callback, frozenset(types) if types else None)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def wants(self, type_: str) -> bool:
        """Whether any subscriber receives events of this type (producers of costly events check first)."""
        with self._lock:
            return any(types is None or type_ in types for _, types in self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver an event to every matching subscriber; a failing subscriber does not stop the others."""
        with self._lock:
            self.events.append(event)
            subscribers = list(self._subscribers)
        for callback, types in subscribers:
            if types is None or event.get("type") in types:
                try:
                    callback(event)
                except Exception as err:  # noqa: BLE001 - one bad subscriber must not break a run
                    self.events.append({"type": "subscriber_error", "error": repr(err), "timestamp": time.time()})

    def recent(self, type_: str | None = None, n: int = 100) -> list[dict[str, Any]]:
        """The newest `n` events (of a type), oldest first."""
        with self._lock:
            items = [e for e in self.events if type_ is None or e.get("type") == type_]
        return items[-n:]


#: The process-wide bus every Lab publishes on unless given its own.
BUS = MetricsBus()


@contextmanager
def record_execution_metrics(name: str, *, bus: MetricsBus | None = None, **tags: Any) -> Iterator[dict[str, Any]]:
    """Time the block and publish `{type: "execution_metrics", name, duration_ms, ok, …tags}`.

    The yielded dict may be filled with sizes (`rows`, `points`, `bytes`) that go into the event.
    """
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    ok = True
    try:
        yield extra
    except BaseException:
        ok = False
        raise
    finally:
        (bus or BUS).publish(
            {
                "type": "execution_metrics",
                "name": name,
                "duration_ms": (time.perf_counter() - started) * 1e3,
                "ok": ok,
                "timestamp": time.time(),
                **tags,
                **extra,
            }
        )
