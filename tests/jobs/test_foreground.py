"""An embedded worker yields to bursts of API writes, not to everyday traffic."""

import asyncio
import time

import httpx
from fastapi import FastAPI

from mercato.jobs import foreground


def app_with_slow_write() -> FastAPI:
    app = FastAPI()
    app.add_middleware(foreground.ForegroundMiddleware)

    @app.post("/slow")
    async def slow():
        await asyncio.sleep(0.05)
        return {}

    @app.get("/slow")
    async def slow_read():
        await asyncio.sleep(0.05)
        return {}

    return app


def send(app: FastAPI, method: str, count: int) -> None:
    async def at_once():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
            await asyncio.gather(*(client.request(method, "/slow") for _ in range(count)))

    asyncio.run(at_once())


def waited(at_most: float) -> float:
    started = time.monotonic()
    foreground.wait_for_calm(at_most)
    return time.monotonic() - started


def test_a_burst_of_writes_holds_the_worker_back_for_a_moment(monkeypatch):
    monkeypatch.setattr(foreground, "_last_burst", 0.0)
    app = app_with_slow_write()
    send(app, "POST", foreground.BURST - 1)  # everyday traffic
    send(app, "GET", 3 * foreground.BURST)  # reads are no burst
    assert waited(1.0) < 0.05

    send(app, "POST", foreground.BURST)
    assert 0.1 < waited(1.0) <= foreground.CALM_AFTER + 0.05  # until the burst has passed
    assert waited(1.0) < 0.05

    send(app, "POST", foreground.BURST)
    assert waited(0.05) < 0.1  # never longer than asked
