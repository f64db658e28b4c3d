"""Live QFC updates while a cell runs: the beams executed so far and the progress of a running loop.

A committed run publishes its full QFC payloads once (`qfc.py`). While it runs, `LiveFeed` publishes
`qpu_beam_timeline` envelopes marked `live: true` that carry only the beams added since the last one and
the current loop progress, at most every `interval_s` (the first and last are always sent). Nothing is
published when no one subscribes to `qfc_update`, so headless runs pay one check per cell.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ..contracts import BeamEvent, QfcUpdate
from .metrics import MetricsBus
from .qfc import broadcast_qfc_update, timeline_rows

__all__ = ["LiveFeed", "live_feed"]


class LiveFeed:
    """Throttled live timeline of one run: `beam(b)` and `progress(label, done, total)`, then `close()`."""

    def __init__(self, bus: MetricsBus, container_id: str, run_id: str, interval_s: float = 0.1) -> None:
        self.bus = bus
        self.container_id = container_id
        self.run_id = run_id
        self.interval_s = interval_s
        self._pending: list[BeamEvent] = []
        self._progress: dict[str, Any] | None = None
        self._last = 0.0
        self._lock = threading.Lock()

    def beam(self, beam: BeamEvent) -> None:
        """A beam was executed (not yet committed)."""
        with self._lock:
            self._pending.append(beam)
        self._maybe_send()

    def progress(self, label: str, done: int, total: int, **extra: Any) -> None:
        """A loop advanced: `done` of `total` iterations (sent now when it starts or finishes)."""
        with self._lock:
            self._progress = {"label": label, "done": int(done), "total": int(total), **extra}
        self._maybe_send(force=done <= 0 or done >= total)

    def loop_done(self) -> None:
        """The loop finished: clear the progress row and send what is pending."""
        with self._lock:
            self._progress = None
        self._send()

    def close(self) -> None:
        """Send the beams not sent yet (the committed payloads follow from the Lab)."""
        self._send()

    def _maybe_send(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last >= self.interval_s:
            self._send()

    def _send(self) -> None:
        with self._lock:
            beams, self._pending = self._pending, []
            progress = None if self._progress is None else dict(self._progress)
            self._last = time.monotonic()
        payload = {
            "kind": "qpu_beam_timeline",
            "run_id": self.run_id,
            "live": True,
            "beams": timeline_rows(beams),
            "progress": progress,
        }
        broadcast_qfc_update(QfcUpdate(source=f"container::{self.container_id}", payload=payload), self.bus)


def live_feed(bus: MetricsBus, container_id: str, run_id: str, interval_s: float = 0.1) -> LiveFeed | None:
    """A `LiveFeed` when someone listens to `qfc_update` on this bus, else None."""
    return LiveFeed(bus, container_id, run_id, interval_s) if bus.wants("qfc_update") else None
