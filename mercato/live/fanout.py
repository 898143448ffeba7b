"""Live counters to every viewer: one read, one publish, fanned out in the process.

Per event watched in this process there is one reader (a room): it reads the counters
(``service.counters``: the pinned product's units left and sales per channel) when a
commit anywhere wakes it (``wakeups``: in the process, and across processes through
PostgreSQL's notifications) or every ``POLL`` seconds, and when they changed it encodes
one Server-Sent Events frame and writes those same bytes to every viewer's connection
itself, in one pass. A viewer costs a connection, never a query nor a task of its own.

Writes are paced so that a process writes at most ``FRAMES_PER_SECOND`` frames in all:
a room of 50 viewers may publish every 50 ms, one of 5,000 every 250 ms (each viewer
always gets the newest counters). A viewer that stops reading never holds up the others:
its write finishes in its own task, and until it has, it is skipped.

With Redis configured the count of viewers is summed over every API process (each adds
its own under one key, refreshed while it has viewers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from mercato.live import service
from mercato.wakeups import LOCAL

POLL = 2.0  # seconds: re-read at least this often
MIN_INTERVAL = 0.05  # seconds: at most 20 publishes a second per event and process
FRAMES_PER_SECOND = 20_000  # frames a process writes to its viewers a second, at most
PING = 15.0  # seconds without a frame before a comment keeps proxies from closing
PING_FRAME = b": ping\r\n\r\n"

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[None]]


def frame(message: bytes) -> bytes:
    return b"event: counters\r\ndata: " + message + b"\r\n\r\n"


@dataclass(eq=False)
class Viewer:
    """One open counter stream: the connection's ASGI ``send``."""

    send: Send
    writing: asyncio.Future | None = None  # a write that could not finish at once
    sent: bytes | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def write(self, data: bytes, more: bool = True, counters: bool = True) -> None:
        """Write ``data`` now if the connection takes it now (it almost always does);
        else finish in a task of its own, and skip this viewer until then."""
        if self.writing is not None or self.done.is_set():
            return
        if counters:
            self.sent = data
        coro = self.send({"type": "http.response.body", "body": data, "more_body": more})
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - a closed connection: the viewer is gone
            self.done.set()
            return
        self.writing = asyncio.ensure_future(self._finish(coro, waiting))

    async def _finish(self, coro, waiting) -> None:
        """Drive a write that had to wait for the connection to drain."""
        try:
            while True:
                if isinstance(waiting, asyncio.Future):
                    # What a task does with the future a coroutine yields: take it over.
                    waiting._asyncio_future_blocking = False
                    with contextlib.suppress(Exception):  # the write sees it when resumed
                        await waiting
                else:  # a bare yield: give the loop a turn
                    await asyncio.sleep(0)
                waiting = coro.send(None)
        except StopIteration:
            self.writing = None
        except BaseException:
            coro.close()
            self.done.set()
            raise


@dataclass(eq=False)
class _Room:
    event_id: str
    viewers: set[Viewer] = field(default_factory=set)
    last: bytes | None = None  # the newest frame
    task: asyncio.Task | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reads: int = 0
    wrote_at: float = 0.0


class CounterHub:
    """The process's readers, one per watched event (``read``: a read-session factory;
    ``listen``: starts relaying other processes' commits, returns its release)."""

    def __init__(
        self,
        read: Callable,
        viewers_elsewhere: Callable[[str, int], int] | None = None,
        listen: Callable[[], Callable[[], None]] | None = None,
    ):
        self.read = read
        self.viewers_elsewhere = viewers_elsewhere
        self.listen = listen
        self.rooms: dict[str, _Room] = {}

    def _counters(self, room: _Room) -> bytes:
        with self.read() as session:
            counters = service.counters(session, room.event_id)
        here = len(room.viewers)
        counters.viewers = (
            self.viewers_elsewhere(room.event_id, here) if self.viewers_elsewhere else here
        )
        room.reads += 1
        return frame(orjson.dumps(counters.model_dump(mode="json")))

    def _write_all(self, room: _Room, data: bytes, counters: bool = True) -> None:
        for viewer in list(room.viewers):
            viewer.write(data, counters=counters)
        room.wrote_at = time.monotonic()

    async def _run(self, room: _Room) -> None:
        woken, unsubscribe = LOCAL.asyncio_event()
        release = self.listen() if self.listen else (lambda: None)
        try:
            await self._publish_while_watched(room, woken)
        except Exception:  # noqa: BLE001 - logged; the viewers' streams end below
            log.exception("counters of live event %s stopped", room.event_id)
        finally:
            unsubscribe()
            release()
            for viewer in list(room.viewers):  # stopping (or failed): end each stream
                viewer.write(b"", more=False, counters=False)
                viewer.done.set()
            if self.rooms.get(room.event_id) is room:
                del self.rooms[room.event_id]

    async def _publish_while_watched(self, room: _Room, woken: asyncio.Event) -> None:
        while room.viewers and not _server_exiting():
            woken.clear()
            room.changed.clear()
            data = await run_in_threadpool(self._counters, room)
            if data != room.last:
                room.last = data
                self._write_all(room, data)
            elif time.monotonic() - room.wrote_at >= PING:
                self._write_all(room, PING_FRAME, counters=False)
            else:  # viewers whose write was still pending: the newest now
                for viewer in list(room.viewers):
                    if viewer.sent is not room.last:
                        viewer.write(room.last)
            waits = [
                asyncio.ensure_future(woken.wait()),
                asyncio.ensure_future(room.changed.wait()),
            ]
            await asyncio.wait(waits, timeout=POLL, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
            await asyncio.sleep(max(MIN_INTERVAL, len(room.viewers) / FRAMES_PER_SECOND))

    def join(self, event_id: str, viewer: Viewer) -> _Room:
        """Add a viewer: it gets the counters now (if known), then each change."""
        room = self.rooms.get(event_id)
        if room is None or room.task is None or room.task.done():
            room = self.rooms[event_id] = _Room(event_id)
        room.viewers.add(viewer)
        if room.last is not None:
            viewer.write(room.last)
        room.changed.set()  # one more viewer: the count moved
        if room.task is None or room.task.done():
            room.task = asyncio.create_task(self._run(room))
        return room

    def leave(self, room: _Room, viewer: Viewer) -> None:
        room.viewers.discard(viewer)
        if viewer.writing is not None:
            viewer.writing.cancel()
        room.changed.set()


def _server_exiting() -> bool:
    """Whether uvicorn was told to stop (its SIGTERM handler is its server's method):
    streams end then, or the server would wait for them for ever."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


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
