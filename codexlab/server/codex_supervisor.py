"""`codex_supervisor`: the service's worker threads, and what happens to a run stuck past its time limit.

Threads cannot be killed. A worker runs one job at a time; when its run passes the time limit, the
supervisor sets the run's cancel event (the run stops at its next instruction) and asks the fabric to
fail it from outside (`Lab.fail_run`: the run's one error beam is written now, and the run, whenever its
thread returns, commits nothing). The stuck worker is retired — it exits once its run returns — and a
new worker takes its place, so the pool keeps serving other containers meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .jobs import Job, JobQueue

__all__ = ["Supervisor", "Worker"]

LOG = logging.getLogger("codexlab.server")


@dataclass
class Worker:
    """One pool thread; `retired` once the supervisor gave up on its job (it exits after the job)."""

    index: int
    thread: threading.Thread | None = None
    job: Job | None = None
    retired: bool = False


class Supervisor:
    """Keeps `size` live workers taking jobs from `queue`; fails and replaces those stuck too long.

    `execute(job)` runs a job in the calling worker thread; `abandon(job)` fails a stuck run from outside
    and returns True when it did (False when the run had already begun to commit, or has not started
    yet: it is checked again at the next tick). `time_limit_s` of 0 means no limit.
    """

    def __init__(
        self,
        queue: JobQueue,
        execute: Callable[[Job], None],
        abandon: Callable[[Job], bool],
        *,
        size: int = 2,
        time_limit_s: float = 600.0,
    ) -> None:
        self.queue = queue
        self.size = size
        self.time_limit_s = time_limit_s
        self._execute = execute
        self._abandon = abandon
        self._lock = threading.Lock()
        self._workers: list[Worker] = []
        self._count = 0
        self._stopping = False
        #: Workers replaced because their run passed its time limit.
        self.replaced = 0

    def start(self) -> None:
        """Start `size` workers."""
        with self._lock:
            for _ in range(self.size):
                self._spawn()

    def _spawn(self) -> Worker:
        self._count += 1
        worker = Worker(self._count)
        worker.thread = threading.Thread(
            target=self._work, args=(worker,), name=f"codexlab-worker-{worker.index}", daemon=True
        )
        self._workers.append(worker)
        worker.thread.start()
        return worker

    def _work(self, worker: Worker) -> None:
        while not worker.retired and not self._stopping:
            job = self.queue.take(timeout=0.5)
            if job is None:
                continue
            worker.job = job
            try:
                self._execute(job)
            except Exception:  # noqa: BLE001 - a bug in one job must not shrink the pool
                LOG.exception("codexlab: run %s failed outside the Lab; the worker goes on", job.run_id)
            finally:
                worker.job = None
                self.queue.done(job)
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def check(self, now: float | None = None) -> list[Job]:
        """Fail the runs past their time limit and replace their workers; returns the jobs given up on."""
        if self.time_limit_s <= 0:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            stuck = [
                (w, job)
                for w in self._workers
                if not w.retired
                and (job := w.job) is not None
                and job.started is not None
                and now - job.started > self.time_limit_s
            ]
        given_up = []
        for worker, job in stuck:
            # `abandon` is fenced per run: a job that has meanwhile finished is left alone.
            job.cancel.set()
            if not self._abandon(job):
                continue
            given_up.append(job)
            with self._lock:
                worker.retired = True
                self.replaced += 1
                if not self._stopping:
                    self._spawn()
        return given_up

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs and wait up to `timeout` seconds for the workers to finish their runs."""
        self._stopping = True
        with self._lock:
            threads = [w.thread for w in self._workers if w.thread is not None]
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def status(self) -> dict[str, int]:
        """Live and retired workers, busy ones, and how many were replaced so far."""
        with self._lock:
            live = [w for w in self._workers if not w.retired]
            return {
                "workers": len(live),
                "busy": sum(1 for w in live if w.job is not None),
                "retired_running": sum(1 for w in self._workers if w.retired),
                "replaced": self.replaced,
            }
