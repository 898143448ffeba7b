"""Live counters to every viewer: one read, one publish, fanned out in the process.

Per event watched in this process there is one reader: it reads the counters
(``service.counters``: the pinned product's units left and sales per channel) when a
commit anywhere wakes it (``wakeups``: in the process, and across processes through
PostgreSQL's notifications) or every ``POLL`` seconds, at most every ``MIN_INTERVAL``,
and when they changed hands the same encoded message to every viewer's queue. A viewer
costs a queue, never a query; a slow viewer only ever gets the newest message.

With Redis configured the count of viewers is summed over every API process (each adds
its own under one key, refreshed while it has viewers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import orjson
from starlette.concurrency import run_in_threadpool

from mercato.live import service
from mercato.wakeups import LOCAL

POLL = 2.0  # seconds: re-read at least this often
MIN_INTERVAL = 0.05  # seconds: at most 20 reads a second per event and process


@dataclass
class _Room:
    event_id: str
    viewers: set[asyncio.Queue] = field(default_factory=set)
    last: bytes | None = None
    task: asyncio.Task | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reads: int = 0


class CounterHub:
    """The process's readers, one per watched event (``read``: a read-session factory)."""

    def __init__(self, read: Callable, viewers_elsewhere: Callable[[str, int], int] | None = None):
        self.read = read
        self.viewers_elsewhere = viewers_elsewhere
        self.rooms: dict[str, _Room] = {}

    def _counters(self, room: _Room) -> bytes:
        with self.read() as session:
            counters = service.counters(session, room.event_id)
        here = len(room.viewers)
        counters.viewers = (
            self.viewers_elsewhere(room.event_id, here) if self.viewers_elsewhere else here
        )
        room.reads += 1
        return orjson.dumps(counters.model_dump(mode="json"))

    async def _run(self, room: _Room) -> None:
        woken, unsubscribe = LOCAL.asyncio_event()
        try:
            while room.viewers:
                woken.clear()
                room.changed.clear()
                message = await run_in_threadpool(self._counters, room)
                if message != room.last:
                    room.last = message
                    for queue in list(room.viewers):
                        _put_newest(queue, message)
                waits = [
                    asyncio.ensure_future(woken.wait()),
                    asyncio.ensure_future(room.changed.wait()),
                ]
                await asyncio.wait(waits, timeout=POLL, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
                await asyncio.sleep(MIN_INTERVAL)
        finally:
            unsubscribe()
            if self.rooms.get(room.event_id) is room and not room.viewers:
                del self.rooms[room.event_id]

    async def watch(self, event_id: str) -> AsyncIterator[bytes]:
        """Messages for one viewer: the counters now, then each change."""
        room = self.rooms.get(event_id)
        if room is None or room.task is None or room.task.done():
            room = self.rooms[event_id] = _Room(event_id)
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)
        room.viewers.add(queue)
        if room.last is not None:
            _put_newest(queue, room.last)
        room.changed.set()  # one more viewer: the count moved
        if room.task is None or room.task.done():
            room.task = asyncio.create_task(self._run(room))
        try:
            while True:
                yield await queue.get()
        finally:
            room.viewers.discard(queue)
            room.changed.set()


def _put_newest(queue: asyncio.Queue, message: bytes) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        if queue.full():
            queue.get_nowait()
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(message)


class RedisViewers:
    """Viewers summed over API processes: each process writes its own count and the time
    under its name in one Redis hash (at each read, not per viewer); counts older than
    ``ttl`` seconds are of processes gone and left out."""

    def __init__(self, client, process: str, ttl: float = 30.0) -> None:
        self.redis, self.process, self.ttl = client, process, ttl

    def __call__(self, event_id: str, here: int) -> int:
        key = f"mercato:live:{event_id}:viewers"
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.hset(key, self.process, f"{here}:{now}")
        pipe.expire(key, int(self.ttl) * 2)
        pipe.hgetall(key)
        total = 0
        for value in pipe.execute()[-1].values():
            count, _, at = value.decode().partition(":")
            if now - float(at) < self.ttl:
                total += int(count)
        return total
