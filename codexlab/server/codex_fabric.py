"""`codex_fabric`: the service's runtime — one `Lab` on a home, a bounded run queue, supervised workers
and a tick loop.

`start()` opens the Lab (which ensures the store's tables), starts the workers and the tick. Runs of one
container run in submission order, runs of different containers in parallel, never on the event loop;
a full queue refuses a run at once (`CodexBusy`). Each tick the supervisor fails runs stuck past their
time limit, and runs that other processes committed to the same home are handed to the sink (the
WebSocket bridge) so that cells run in notebooks appear live.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ..errors import CodexBusy, CodexError, CodexTimeout
from ..lang.parser import parse
from ..runtime import Lab
from ..runtime.metrics import MetricsBus
from ..runtime.qfc import qfc_id_for
from .codex_supervisor import Supervisor
from .jobs import Job, JobQueue
from .messages import error_message, glyph_executions, intent_message, intent_rows, result_message
from .watcher import RunWatcher

__all__ = ["DEFAULT_CONTAINER", "Fabric", "FabricSink", "start"]

LOG = logging.getLogger("codexlab.server")
DEFAULT_CONTAINER = "default_container"
#: Finished jobs remembered for `cancel`, REST and discovery (the store keeps everything).
KEPT_JOBS = 2000


class FabricSink(Protocol):
    """Where the fabric sends what happened: a run's messages, and runs other processes committed."""

    def run_finished(self, job: Job, messages: list[dict[str, Any]]) -> None: ...

    def stored_updates(self, updates: list[dict[str, Any]]) -> None: ...


class Fabric:
    """The runtime behind the service. Parameters: the codexlab `home`, the store `db_url` (default
    SQLite in the home), feature `flags`, `workers` (threads), `queue_limit` (waiting runs),
    `time_limit_s` (per run, 0 = none), `tick_s` (supervision and discovery period) and
    `live_interval_s` (least time between live QFC updates of a running cell)."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        db_url: str | None = None,
        flags: Mapping[str, Any] | None = None,
        workers: int = 2,
        queue_limit: int = 64,
        time_limit_s: float = 600.0,
        tick_s: float = 0.25,
        live_interval_s: float = 0.1,
        sink: FabricSink | None = None,
    ) -> None:
        self.home = Path(home).expanduser().resolve()
        self.db_url = db_url
        self.flags = dict(flags or {})
        self.tick_s = tick_s
        self.live_interval_s = live_interval_s
        self.sink = sink
        self.queue = JobQueue(queue_limit)
        self.supervisor = Supervisor(self.queue, self._execute, self._abandon, size=workers, time_limit_s=time_limit_s)
        self.watcher = RunWatcher(self.home / "qfc")
        self.lab: Lab | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.ticks = 0

    # ------------------------------------------------------------------------------------ lifecycle

    def start(self) -> Fabric:
        """Open the Lab (tables ensured), start the workers and the tick loop; returns self."""
        if self.lab is not None:
            return self
        lab = Lab(self.home, db_url=self.db_url, flags=self.flags or None, bus=MetricsBus())
        lab.progress = False
        lab.live_interval_s = self.live_interval_s
        lab.store.ensure_tables()
        self.lab = lab
        self.watcher.poll()  # the baseline: runs already on disk are history, not news
        self.supervisor.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="codexlab-fabric-tick", daemon=True)
        self._ticker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Refuse new runs, cancel the waiting and running ones, and stop the threads."""
        self._stop.set()
        for job in self.queue.stop():
            job.state = "failed"
        with self._lock:
            for job in self._jobs.values():
                job.cancel.set()
        self.supervisor.stop(timeout)
        if self._ticker is not None:
            self._ticker.join(timeout)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - supervision must outlive a failed tick (a locked store, ...)
                LOG.exception("codexlab: a fabric tick failed; the next one runs as usual")

    def tick(self) -> None:
        """One tick: supervise the running jobs, then hand runs other processes committed to the sink."""
        self.ticks += 1
        self.supervisor.check()
        for qfc_id in self.watcher.poll():
            run_id = qfc_id.removeprefix("qfc::")
            with self._lock:
                ours = run_id in self._jobs
            if ours or self.sink is None or self.lab is None:
                continue
            try:
                updates = [u.model_dump(mode="json") for u in self.lab.qfc(qfc_id)]
            except (CodexError, OSError, ValueError):
                continue  # removed or unreadable meanwhile: nothing to show
            self.sink.stored_updates(updates)

    # ------------------------------------------------------------------------------------ jobs

    def submit(
        self,
        code: str,
        container: str | None = None,
        source: str = "codex",
        *,
        submitter: Any = None,
        ref: str | int | None = None,
    ) -> tuple[Job, int]:
        """Queue a run; returns the job (with its `run_id`) and the number of runs ahead of it in its
        container. Raises `CodexBusy` when the queue is full."""
        job = self.prepare(code, container, source, submitter=submitter, ref=ref)
        return job, self.enqueue(job)

    def prepare(
        self,
        code: str,
        container: str | None = None,
        source: str = "codex",
        *,
        submitter: Any = None,
        ref: str | int | None = None,
    ) -> Job:
        """A job for a run, not queued yet (finding its container parses the scroll: do it off the loop)."""
        return Job(code, container, _lane(code, container), source, submitter=submitter, ref=ref)

    def enqueue(self, job: Job) -> int:
        """Queue a prepared job; returns the runs ahead of it in its container. `CodexBusy` when full.

        Cheap and thread-safe: the WebSocket calls it on the event loop and says `accepted` in the same
        step, so that no message of the run can reach the client before it."""
        with self._lock:  # known before a worker can take it (cancel, discovery)
            self._jobs[job.run_id] = job
            while len(self._jobs) > KEPT_JOBS:
                oldest = next(iter(self._jobs.values()))
                if oldest.state in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
        try:
            return self.queue.put(job)
        except CodexBusy:
            with self._lock:
                self._jobs.pop(job.run_id, None)
            raise

    def job(self, run_id: str) -> Job | None:
        """The job of a run submitted here (recent ones), or None."""
        with self._lock:
            return self._jobs.get(run_id)

    def cancel(self, run_id: str) -> Job | None:
        """Stop a run at its next instruction (a waiting run stops before its first); None if unknown."""
        job = self.job(run_id)
        if job is not None:
            job.cancel.set()
        return job

    def active(self, container: str | None = None) -> list[Job]:
        """The jobs waiting or running now (of one container), in submission order."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if j.state in ("queued", "running") and container in (None, j.lane)]

    def status(self) -> dict[str, Any]:
        """Workers, queue and the jobs running now."""
        now = time.monotonic()
        running = [
            {"run_id": j.run_id, "container": j.lane, "seconds": now - (j.started or now)}
            for j in self.active()
            if j.state == "running"
        ]
        return {
            **self.supervisor.status(),
            "queued": self.queue.waiting,
            "queue_limit": self.queue.limit,
            "time_limit_s": self.supervisor.time_limit_s,
            "running": running,
            "ticks": self.ticks,
        }

    def recent_updates(self, n: int = 50) -> list[dict[str, Any]]:
        """The QFC envelopes of the newest `n` committed runs in this home, oldest run first."""
        if self.lab is None:
            return []
        out: list[dict[str, Any]] = []
        for row in reversed(self.lab.store.runs(limit=n)):
            try:
                out.extend(u.model_dump(mode="json") for u in self.lab.qfc(qfc_id_for(row["run_id"])))
            except CodexError:
                continue  # a failed run has no QFC payloads
        return out

    # ------------------------------------------------------------------------------------ workers

    def _execute(self, job: Job) -> None:
        """Run a job in the calling worker thread and send its messages, unless the supervisor gave up
        on it meanwhile (then its error was sent already and the late outcome is discarded)."""
        lab = self.lab
        if lab is None:
            return
        try:
            run = lab.run(job.code, job.container, source=job.source, cancel=job.cancel, run_id=job.run_id)
        except Exception as err:  # noqa: BLE001 - every failure of a run becomes its error message
            messages = [self._error(job, err)]
            ok = False
        else:
            messages = self._run_messages(job, run)
            ok = True
        with self._lock:
            if job.state == "abandoned":
                return
            job.state = "done" if ok else "failed"
        if self.sink is not None:
            self.sink.run_finished(job, messages)

    def _run_messages(self, job: Job, run: Any) -> list[dict[str, Any]]:
        """glyph_executions, intents (stored first) and the result of a committed run."""
        assert self.lab is not None
        try:
            rows = intent_rows(run, job.code, job.source)
            if rows:
                self.lab.store.persist_rows("intents", rows)
            result = result_message(run)
            result["ref"] = job.ref
            return [*glyph_executions(run), *(intent_message(r) for r in rows), result]
        except Exception as err:  # noqa: BLE001 - the run committed; its client still gets an answer
            return [error_message(err, run_id=job.run_id, ref=job.ref)]

    def _error(self, job: Job, err: BaseException) -> dict[str, Any]:
        assert self.lab is not None
        beams = self.lab.store.beams_for_run(job.run_id)
        beam_id = next((b.beam_id for b in beams if b.stage == "error"), None)
        return error_message(err, run_id=job.run_id, ref=job.ref, beam_id=beam_id)

    def _abandon(self, job: Job) -> bool:
        """Fail a run stuck past its time limit from outside; its error message goes out now."""
        assert self.lab is not None
        limit = self.supervisor.time_limit_s
        err = CodexTimeout(
            f"The run passed its time limit of {limit:g} s and was stopped; nothing of it was kept. Split the "
            "scroll into shorter cells, or raise `CodexLabApp.run_time_limit`."
        )
        with self._lock:
            beam = self.lab.fail_run(job.run_id, err)
            if beam is None:
                return False
            job.state = "abandoned"
        if self.sink is not None:
            self.sink.run_finished(job, [error_message(err, run_id=job.run_id, ref=job.ref, beam_id=beam.beam_id)])
        return True


def _lane(code: str, container: str | None) -> str:
    """The container a scroll runs in: its `@container` directive, else `container`, else the default."""
    from ..lang import ast

    try:
        tree = parse(code)
    except CodexError:
        return container or DEFAULT_CONTAINER  # the run fails at parse, in this container
    for s in tree.statements:
        if isinstance(s, ast.Directive) and s.name == "container" and s.args and isinstance(s.args[0], ast.Word):
            return str(s.args[0].value)
    return container or DEFAULT_CONTAINER


def start(home: str | os.PathLike[str] | None = None, **options: Any) -> Fabric:
    """Start a fabric on `home` (default `$CODEXLAB_HOME` or `./.codexlab`); `options` as for `Fabric`."""
    from ..runtime.lab import default_home

    return Fabric(home if home is not None else default_home(), **options).start()
