"""The per-client send queue: droppable QFC updates go oldest first, keyed panels coalesce, results are
never dropped, a hopeless backlog closes the connection, and drops are announced to the client."""

from __future__ import annotations

import asyncio
import json

from codexlab.server.clients import ClientQueue, Outgoing


class Socket:
    """An in-memory socket whose writes block until `flowing` is set (a client that does not read);
    a write that need not wait completes at once, as tornado's does when the socket takes it."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.flowing = asyncio.Event()
        self.closed: tuple[int, str] | None = None

    async def send(self, text: str) -> None:
        await self.flowing.wait()
        self.written.append(text)

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def _drain(queue: ClientQueue) -> None:
    while queue.pending:
        await asyncio.sleep(0)
    for _ in range(3):
        await asyncio.sleep(0)


def test_a_stalled_client_loses_the_oldest_updates_and_none_of_its_results() -> None:
    async def scenario() -> tuple[Socket, ClientQueue]:
        socket = Socket()
        queue = ClientQueue(socket.send, socket.close, limit=3, backlog_limit=100)
        for i in range(6):
            queue.push(Outgoing(f"qfc{i}", droppable=True))
            queue.push(Outgoing(f"result{i}"))
        # qfc0 is being written (the socket is full); at most 3 updates wait, so qfc1 and qfc2 went
        assert queue.dropped == 2 and queue.pending == 9
        socket.flowing.set()
        await _drain(queue)
        return socket, queue

    socket, queue = asyncio.run(scenario())
    notices = [json.loads(t) for t in socket.written if t.startswith("{")]
    assert notices == [{"type": "dropped", "count": 2}] and socket.written[1].startswith("{")
    kept = [socket.written[0], *socket.written[2:]]
    assert kept == ["qfc0", "result0", "result1", "result2", "qfc3", "result3", "qfc4", "result4", "qfc5", "result5"]
    assert queue.sent == len(socket.written)


def test_a_keyed_message_replaces_the_waiting_one() -> None:
    async def scenario() -> Socket:
        socket = Socket()
        queue = ClientQueue(socket.send, socket.close, limit=10)
        queue.push(Outgoing("first"))  # in flight: the socket is full
        for i in range(5):
            queue.push(Outgoing(f"panels{i}", droppable=True, key="panels"))
        queue.push(Outgoing("last"))
        assert queue.pending == 2
        socket.flowing.set()
        await _drain(queue)
        return socket

    assert asyncio.run(scenario()).written == ["first", "panels4", "last"]


def test_a_hopeless_backlog_closes_the_connection_with_1013() -> None:
    async def scenario() -> tuple[Socket, ClientQueue]:
        socket = Socket()
        queue = ClientQueue(socket.send, socket.close, limit=2, backlog_limit=5)
        for i in range(7):
            queue.push(Outgoing(f"result{i}"))
        return socket, queue

    socket, queue = asyncio.run(scenario())
    assert socket.closed is not None and socket.closed[0] == 1013
    assert queue.pending == 0 and queue.dropped == 0
    queue.push(Outgoing("late"))
    assert queue.pending == 0


def test_a_client_that_keeps_up_is_written_to_at_once() -> None:
    async def scenario() -> tuple[list[str], ClientQueue]:
        written: list[str] = []
        loop = asyncio.get_running_loop()

        def send(text: str) -> asyncio.Future[None]:  # the socket takes it: the write is complete
            written.append(text)
            done: asyncio.Future[None] = loop.create_future()
            done.set_result(None)
            return done

        queue = ClientQueue(send, lambda code, reason: None, limit=1)
        for i in range(5):
            queue.push(Outgoing(f"qfc{i}", droppable=True))
            assert queue.pending == 0  # written within the push, no task switch
        return written, queue

    written, queue = asyncio.run(scenario())
    assert written == [f"qfc{i}" for i in range(5)] and queue.dropped == 0 and queue.sent == 5
