"""The run queue and the supervisor without a Lab: order within a container, parallel containers, a full
queue, and a worker replaced when its job passes the time limit."""

from __future__ import annotations

import threading
import time

import pytest

from codexlab.errors import CodexBusy
from codexlab.server.codex_supervisor import Supervisor
from codexlab.server.jobs import Job, JobQueue


def _job(lane: str, tag: str = "") -> Job:
    return Job(code=tag, container=lane, lane=lane, source="codex")


def test_one_container_runs_in_order_and_others_go_round_robin() -> None:
    queue = JobQueue(limit=10)
    jobs = [_job("a", "a1"), _job("a", "a2"), _job("b", "b1"), _job("a", "a3"), _job("b", "b2")]
    ahead = [queue.put(j) for j in jobs]
    assert ahead == [0, 1, 0, 2, 1]
    first = queue.take(0)
    second = queue.take(0)
    assert (first.code, second.code) == ("a1", "b1")  # `a` is busy until a1 is done
    assert queue.take(0) is None
    queue.done(first)
    third = queue.take(0)
    assert third.code == "a2" and third.state == "running"
    queue.done(second)
    queue.done(third)
    assert [queue.take(0).code for _ in range(2)] == ["b2", "a3"]  # round robin: b went before a last time


def test_a_full_queue_refuses_at_once_and_a_stopped_one_hands_back_its_jobs() -> None:
    queue = JobQueue(limit=2)
    queue.put(_job("a"))
    queue.put(_job("b"))
    with pytest.raises(CodexBusy, match="queue is full \\(2 runs waiting\\)"):
        queue.put(_job("c"))
    running = queue.take(0)
    queue.put(_job("c"))  # a running job no longer counts
    assert len(queue.stop()) == 2 and running is not None
    with pytest.raises(CodexBusy, match="shutting down"):
        queue.put(_job("d"))


def test_a_stuck_worker_is_replaced_and_the_pool_keeps_serving() -> None:
    queue = JobQueue(limit=10)
    release = threading.Event()
    done: list[str] = []
    abandoned: list[str] = []

    def execute(job: Job) -> None:
        if job.code == "stuck":
            release.wait(30)  # ignores its cancel event, like a long kernel call
        done.append(job.code)

    def abandon(job: Job) -> bool:
        abandoned.append(job.code)
        return True

    supervisor = Supervisor(queue, execute, abandon, size=1, time_limit_s=0.2)
    supervisor.start()
    stuck = _job("a", "stuck")
    queue.put(stuck)
    deadline = time.monotonic() + 10
    while stuck.started is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert supervisor.check(now=stuck.started + 0.1) == []  # within its limit
    assert supervisor.check(now=stuck.started + 0.3) == [stuck] and stuck.cancel.is_set()
    assert supervisor.status() == {"workers": 1, "busy": 0, "retired_running": 1, "replaced": 1}
    queue.put(_job("b", "other"))
    while "other" not in done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == ["other"] and abandoned == ["stuck"]
    release.set()
    while supervisor.status()["retired_running"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == ["other", "stuck"] and supervisor.status()["retired_running"] == 0
    supervisor.stop()
