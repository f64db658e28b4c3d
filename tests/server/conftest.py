"""Fixtures: real codexlab services (`codexlab serve` subprocesses on 127.0.0.1) shared by a test session."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from ._server import ServiceProcess

T = TypeVar("T")


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service as users get it: defaults, two workers."""
    server = ServiceProcess(tmp_path_factory.mktemp("service")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One worker, a 4 s run time limit, room for two waiting runs: stuck workers and a full queue."""
    options = (
        "CodexLabApp.workers=1",
        "CodexLabApp.run_time_limit=4",
        "CodexLabApp.queue_limit=2",
        "CodexLabApp.tick_interval=0.1",
    )
    server = ServiceProcess(tmp_path_factory.mktemp("supervised"), *options).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """Small client queues and kernel send buffers, so that a client that never reads falls behind fast."""
    options = ("CodexLabApp.send_queue_limit=32", "CodexLabApp.send_buffer_bytes=32768")
    server = ServiceProcess(tmp_path_factory.mktemp("crowded"), *options).start()
    yield server
    server.stop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run an async scenario to completion (each test has its own event loop)."""
    return asyncio.run(coro)
