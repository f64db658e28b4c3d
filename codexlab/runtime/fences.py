"""Run fences: exactly one party ends a run — the run itself (its commit or its error beam) or a supervisor.

Threads cannot be killed, so a service whose worker is stuck inside one instruction fails the run from
outside (`Lab.fail_run`): its error beam is written at once, and when the stuck thread finally returns,
the run's own commit is refused and its own error beam is not written. The fence of a run lives while
`Lab.run` executes it; all decisions happen under one lock, so the two sides never both write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

from ..errors import CodexCancelled, CodexValueError

__all__ = ["RunFence", "RunFences"]

T = TypeVar("T")


@dataclass
class RunFence:
    """What a supervisor needs to fail a run from outside, and who has ended it so far."""

    run_id: str
    cell_id: str
    container_id: str
    code: str
    state: Literal["running", "committing", "failed", "ended"] = "running"


class RunFences:
    """The open fences of a Lab's running runs, by run id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, RunFence] = {}

    @contextmanager
    def open(self, run_id: str, cell_id: str, container_id: str, code: str) -> Iterator[RunFence]:
        """Hold the fence of a run while it executes; a run id already running is refused."""
        with self._lock:
            if run_id in self._open:
                raise CodexValueError(f"A run `{run_id}` is already running in this Lab; pass a new `run_id`.")
            fence = self._open[run_id] = RunFence(run_id, cell_id, container_id, code)
        try:
            yield fence
        finally:
            with self._lock:
                self._open.pop(run_id, None)

    def running(self) -> list[str]:
        """Ids of the runs executing now."""
        with self._lock:
            return list(self._open)

    def claim_commit(self, run_id: str, cancel: threading.Event | None) -> None:
        """The run is about to commit: refused (`CodexCancelled`) when failed from outside or cancelled."""
        with self._lock:
            fence = self._open.get(run_id)
            if fence is not None and fence.state == "failed":
                raise CodexCancelled("The run was failed from outside (its time limit passed); nothing of it was kept.")
            if cancel is not None and cancel.is_set():
                raise CodexCancelled("The run was cancelled before its next instruction; nothing of it was kept.")
            if fence is not None:
                fence.state = "committing"

    def own_error(self, run_id: str, write: Callable[[], T]) -> T | None:
        """Write the run's own error beam unless a supervisor already failed it (then None)."""
        with self._lock:
            fence = self._open.get(run_id)
            if fence is not None and fence.state == "failed":
                return None
            if fence is not None:
                fence.state = "ended"
            return write()

    def fail(self, run_id: str, write: Callable[[RunFence], T]) -> T | None:
        """Fail a running run from outside with `write(fence)` (its error beam); None when the run is not
        running or has already begun to commit — then it ends on its own, with its beams or its error."""
        with self._lock:
            fence = self._open.get(run_id)
            if fence is None or fence.state != "running":
                return None
            fence.state = "failed"
            return write(fence)
