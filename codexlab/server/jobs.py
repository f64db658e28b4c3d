"""Jobs and the run queue: runs of one container in order, different containers in parallel, bounded.

A job waits in its container's line; a worker takes the first job of the next container that has no
job running. At most `limit` jobs wait in all (running ones do not count); one more is refused with
`CodexBusy` at once, so a client learns immediately that it should retry.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import CodexBusy

__all__ = ["Job", "JobQueue", "JobState"]

JobState = Literal["queued", "running", "done", "failed", "abandoned"]


@dataclass
class Job:
    """One submitted run: what to run, where, for whom, and how far it got."""

    code: str
    container: str | None
    lane: str
    source: str
    #: Who submitted it (a WebSocket client, or None for REST); results go there and to subscribers.
    submitter: Any = None
    #: The client's `ref` for this run, echoed in the run's `accepted`, `result` and `error` messages.
    ref: str | int | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    cancel: threading.Event = field(default_factory=threading.Event)
    state: JobState = "queued"
    #: When a worker took it (`time.monotonic()`), for the time limit.
    started: float | None = None


class JobQueue:
    """Per-container lines of jobs; `take` hands out jobs whose container is idle."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._lines: OrderedDict[str, deque[Job]] = OrderedDict()
        self._busy: set[str] = set()
        self._waiting = 0
        self._cond = threading.Condition()
        self._stopped = False

    def put(self, job: Job) -> int:
        """Queue a job; returns the number of jobs ahead of it in its container. `CodexBusy` when full."""
        with self._cond:
            if self._stopped:
                raise CodexBusy("The service is shutting down; no new runs are accepted.")
            if self._waiting >= self.limit:
                raise CodexBusy(
                    f"The run queue is full ({self.limit} runs waiting); submit the run again when one has "
                    "finished, or raise `CodexLabApp.queue_limit`."
                )
            line = self._lines.setdefault(job.lane, deque())
            ahead = len(line) + (1 if job.lane in self._busy else 0)
            line.append(job)
            self._waiting += 1
            self._cond.notify()
            return ahead

    def take(self, timeout: float | None = None) -> Job | None:
        """The next job whose container is idle (marked busy until `done`); None on timeout or stop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._stopped:
                for lane, line in self._lines.items():
                    if line and lane not in self._busy:
                        job = line.popleft()
                        if line:
                            self._lines.move_to_end(lane)  # round robin: other containers go first
                        else:
                            del self._lines[lane]
                        self._busy.add(lane)
                        self._waiting -= 1
                        job.state, job.started = "running", time.monotonic()
                        return job
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return None

    def done(self, job: Job) -> None:
        """The job's thread has returned: its container may run its next job."""
        with self._cond:
            self._busy.discard(job.lane)
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """How many jobs wait (running ones excluded)."""
        with self._cond:
            return self._waiting

    def stop(self) -> list[Job]:
        """Refuse new jobs, wake every worker, and return the jobs that never started."""
        with self._cond:
            self._stopped = True
            left = [job for line in self._lines.values() for job in line]
            self._lines.clear()
            self._waiting = 0
            self._cond.notify_all()
            return left
