"""The counters' fan-out: one read per change, the same frame written to every viewer's
connection; a viewer that stops reading holds up nobody and gets the newest counters
once it reads again; a stopping server ends every stream."""

from __future__ import annotations

import asyncio

import orjson

from mercato.db import transaction
from mercato.inventory import reservations
from mercato.inventory.schemas import ReservationLineInput
from mercato.live import fanout, service
from mercato.live.schemas import LiveEventCreate, PinInput
from tests.checkout.helpers import make_shop


def _live(sessions) -> str:
    make_shop(sessions, on_hand=10, sizes=("M",))
    with transaction(sessions) as session:
        event = service.create_event(
            session, LiveEventCreate(title="Drop", products=[{"sku": "HOODIE-M"}])
        )
        service.start(session, event.id)
        service.pin(session, event.id, PinInput(sku="HOODIE-M"))
        return event.id


class Connection:
    """A viewer's connection as the hub sees it: its ASGI ``send``; ``stalled`` makes
    writes wait, as a full socket buffer does."""

    def __init__(self) -> None:
        self.frames: list[dict] = []
        self.ended = False
        self.stalled: asyncio.Event | None = None

    async def send(self, message: dict) -> None:
        if self.stalled is not None:
            await self.stalled.wait()
        body = message["body"]
        if body.startswith(b"event: counters"):
            self.frames.append(orjson.loads(body.split(b"data: ", 1)[1]))
        self.ended = self.ended or not message["more_body"]

    @property
    def left(self) -> int | None:
        return self.frames[-1]["left"] if self.frames else None


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within time")


def _sell(sessions, units: int) -> None:
    with transaction(sessions) as session:
        reservations.reserve(
            session, [ReservationLineInput(sku="HOODIE-M", quantity=units)], channel="x", sell=True
        )


def test_a_stalled_viewer_holds_up_nobody_and_then_gets_the_newest(sessions, monkeypatch):
    event_id = _live(sessions)
    monkeypatch.setattr(fanout, "POLL", 0.2)

    async def watch() -> None:
        hub = fanout.CounterHub(sessions)
        connections = [Connection() for _ in range(3)]
        viewers = [fanout.Viewer(c.send) for c in connections]
        room = None
        for viewer in viewers:
            room = hub.join(event_id, viewer)
        await _until(lambda: all(c.left == 10 for c in connections))
        assert connections[0].frames[-1]["viewers"] == 3
        reads = room.reads

        stalled = connections[2].stalled = asyncio.Event()
        await asyncio.to_thread(_sell, sessions, 2)
        await _until(lambda: connections[0].left == 8 and connections[1].left == 8)
        assert connections[2].left == 10 and viewers[2].writing is not None
        await asyncio.to_thread(_sell, sessions, 1)
        await _until(lambda: connections[0].left == 7 and connections[1].left == 7)
        assert room.reads - reads <= 8  # reads per change (and poll), never per viewer

        connections[2].stalled = None
        stalled.set()  # it reads again: the write it was in, then the newest
        await _until(lambda: connections[2].left == 7)

        for viewer in viewers:
            hub.leave(room, viewer)
        await _until(lambda: event_id not in hub.rooms)

    asyncio.run(watch())


def test_a_stopping_server_ends_every_stream(sessions, monkeypatch):
    event_id = _live(sessions)
    monkeypatch.setattr(fanout, "POLL", 0.2)
    stopping = []
    monkeypatch.setattr(fanout, "_server_exiting", lambda: bool(stopping))

    async def watch() -> None:
        hub = fanout.CounterHub(sessions)
        connections = [Connection() for _ in range(2)]
        viewers = [fanout.Viewer(c.send) for c in connections]
        for viewer in viewers:
            hub.join(event_id, viewer)
        await _until(lambda: all(c.left == 10 for c in connections))
        stopping.append(True)
        await _until(lambda: all(c.ended for c in connections) and not hub.rooms)
        assert all(viewer.done.is_set() for viewer in viewers)

    asyncio.run(watch())
