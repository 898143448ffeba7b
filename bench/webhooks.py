"""Inbound order webhooks: signed TikTok Shop order notifications from concurrent senders
against `mercato serve` (uvicorn on 127.0.0.1, embedded SQLite and in-process worker).

Prints acknowledged/s, p50/p99 acknowledgement latency, processed/s (webhook received ->
order created, including the worker fetching each order from the TikTok simulator) and
checks one order per distinct event (every event is also sent a second time).

    python bench/webhooks.py --orders 2000 --senders 16
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadclient import Connection  # noqa: E402 - after the path is set


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


async def send_all(base_url: str, path: str, deliveries, senders: int):
    """``senders`` concurrent senders, a keep-alive connection each, share the deliveries."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cursor = iter(deliveries)

    async def sender() -> None:
        connection = Connection.to(base_url)
        try:
            for raw, headers in cursor:
                started = time.perf_counter()
                response = await connection.post(path, content=raw, headers=headers)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        finally:
            await connection.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="acknowledge only (no processing): the ack path alone",
    )
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="mercato-bench-"))
    os.environ.update(
        MERCATO_DATA_DIR=str(data_dir),
        MERCATO_SECRET_KEY="bench",
        MERCATO_CURRENCY="USD",
        MERCATO_ALLOW_LOCAL_URLS="1",  # the simulator listens on 127.0.0.1
    )
    os.environ.pop("MERCATO_DATABASE_URL", None)
    import uvicorn
    from fastapi.testclient import TestClient

    from mercato.catalog import service as catalog
    from mercato.catalog.schemas import ProductCreate
    from mercato.channels import http as channel_http
    from mercato.channels import service as channels
    from mercato.channels import sync
    from mercato.channels.schemas import ChannelCreate
    from mercato.config import get_settings
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.inventory import counts
    from mercato.inventory.schemas import AdjustmentCreate
    from mercato.sandbox.app import create_app as create_sandbox
    from mercato.sandbox.orders import OrderIn
    from mercato.system import migrations

    engine = create_db_engine()
    migrations.upgrade(engine)
    sessions = make_sessionmaker(engine)

    sandbox_port, api_port = free_port(), free_port()
    sandbox = create_sandbox(("tiktok",))
    server = uvicorn.Server(
        uvicorn.Config(sandbox, host="127.0.0.1", port=sandbox_port, log_level="warning")
    )

    with transaction(sessions) as session:
        catalog.create_product(
            session,
            ProductCreate(
                handle="tee",
                title="Tee",
                description_html="<p>A tee.</p>",
                status="active",
                media=[{"url": "https://cdn.example.com/tee.jpg"}],
                variants=[{"sku": "TEE-1", "price": 2500, "weight": "150"}],
            ),
        )
        counts.adjust(
            session, AdjustmentCreate(sku="TEE-1", quantity=10 * args.orders, kind="receipt")
        )
        channel_id = channels.create_channel(
            session,
            ChannelCreate(
                kind="tiktok",
                name="tiktok",
                base_url=f"http://127.0.0.1:{sandbox_port}/tiktok",
                credentials={"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "tt"},
                settings={"category_id": "601226"},
            ),
        ).id
    # The shop sells only what it was given: the tee and its stock are published to it
    # first (in-process, images from the simulators' image host).
    os.environ["MERCATO_MEDIA_ORIGIN"] = "http://simulators.local/cdn"
    get_settings.cache_clear()
    channel_http.open_client = lambda base_url: TestClient(sandbox, base_url=base_url)
    assert sync.publish(sessions, channel_id).sent == 1
    engine.dispose()

    book = sandbox.state.order_books["tiktok"]
    warm_up = 2 * args.senders  # events sent before the measured burst, to warm caches
    for _ in range(warm_up + args.orders):
        book.place(OrderIn(lines=[{"sku": "TEE-1", "quantity": 1}]))
    warming, deliveries = book.outbox[:warm_up], book.outbox[warm_up:]
    deliveries = deliveries * 2  # every event twice: duplicates must not make orders
    total = warm_up + args.orders  # distinct events, orders to expect
    book.outbox = []
    # The simulator answers the worker's order fetches from its own process (a fork that
    # holds the orders just placed), so it takes no CPU from the senders.
    simulator = multiprocessing.get_context("fork").Process(target=server.run, daemon=True)
    simulator.start()

    log = open(data_dir / "serve.log", "w")  # noqa: SIM115
    serve = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mercato"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
        ]
        + (["--no-worker"] if args.no_worker else []),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ,
    )
    try:
        wait_up(f"http://127.0.0.1:{api_port}/healthz")
        path = f"/webhooks/{channel_id}"
        uvloop.run(send_all(f"http://127.0.0.1:{api_port}", path, warming, args.senders))
        started = time.perf_counter()
        latencies, statuses = uvloop.run(
            send_all(f"http://127.0.0.1:{api_port}", path, deliveries, args.senders)
        )
        sent_in = time.perf_counter() - started

        engine = create_db_engine()
        from sqlalchemy import func, select

        from mercato.orders.models import InboundEvent, Order

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                made = connection.scalar(select(func.count()).select_from(Order))
                events = connection.scalar(select(func.count()).select_from(InboundEvent))
                done = connection.scalar(
                    select(func.count())
                    .select_from(InboundEvent)
                    .where(InboundEvent.state == "processed")
                )
            if done >= events == total or (args.no_worker and events == total):
                break
            time.sleep(0.2)
        processed_in = time.perf_counter() - started
    finally:
        serve.terminate()
        serve.wait(30)
        simulator.terminate()

    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(
        f"deliveries sent     {len(deliveries)} ({args.orders} distinct events, each twice, "
        f"after {warm_up} to warm up) "
        f"by {args.senders} senders; statuses {statuses}"
    )
    print(f"acknowledged/s      {len(deliveries) / sent_in:,.0f}")
    print(
        f"ack latency         p50 {p(0.5):.1f} ms   p99 {p(0.99):.1f} ms   "
        f"max {latencies[-1] * 1000:.1f} ms"
    )
    print(
        f"processed/s         {done / processed_in:,.0f} ({done} events to orders in "
        f"{processed_in:.1f} s, fetching each order from the simulator)"
    )
    print(
        f"orders              {made} for {events} distinct stored events: "
        f"{'one order per event' if made == events == total else 'MISMATCH'}"
    )


if __name__ == "__main__":
    main()
