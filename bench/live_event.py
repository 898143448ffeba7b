"""Live event: buyers on two channels and viewers on the counter stream, one live.

Starts the API as `mercato serve` does (uvicorn on 127.0.0.1; the embedded job worker
on SQLite) on a fresh database with one SKU of S units, a live event that ring-fences it
(``--tiktok-share`` of it for a TikTok Shop channel, the rest for the storefront), puts
the storefront's pool behind the drop's admission gate (the database's, or Redis's with
``--redis``: a redis-server of its own on a free port), pins it with a live price and
goes live. Then, at once:

- V viewers hold the counter stream (``/shop/live/{id}/counters``) open and note when
  each message arrives and the units left it shows;
- a share of the B buyers buy on TikTok: each order is a sale on the TikTok channel
  through the inventory API (``POST /api/v1/inventory/reservations`` with ``commit``:
  the stock path a TikTok Shop order webhook takes, the signing and payload parsing
  left out), taken from TikTok's pool only;
- the others queue on the storefront: ``POST /api/v1/live-events/{id}/admission`` (the
  gate: "you're in" with a pass, or "sold out").

Once the queue has answered everyone, those let in start the checkout with the pass
(``POST .../buy``, at the live price) and pay (``POST .../complete``, sandbox card), as
buyers do a little after they are let in. Every buyer tries at most ``--tries`` times;
the run stops at ``--timeout`` seconds. Admissions a second are the admission answers
over the time they were asked in (first asked to last answered), TikTok's orders
arriving beside them; completions a second are over the checkouts' time. In the same
run, on the same server, a bare endpoint then does only the gate's operation (the
conditional UPDATE of a counter row, or the Redis script) in its own request, as many
times with as many callers: the floor the admission is compared with.

Prints sold per channel (= stock), oversold, held (platform orders outside their pool),
stuck (units still reserved), 5xx, admissions per second and p99 beside the bare
endpoint's, checkout completions per second, and the time from each sale to the counter
on each viewer (p50, p99). Exits 1 if anything was oversold, stuck or failed; it asserts
nothing about time.

    python bench/live_event.py --db sqlite
    python bench/live_event.py --db postgres --redis --buyers 5000 --viewers 5000 --stock 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadclient import Connection, percentile  # noqa: E402 - path set
from bench.servers import free_port, start_app  # noqa: E402
from mercato.web.sessions import WriteSession  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SKU = "LIVE-1"
TIKTOK = "chn_bench_tiktok"
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
BARE_UNITS = 10**9
BARE_SCRIPT = (
    "local r = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if r < 1 then return 0 end redis.call('DECR', KEYS[1]) return 1"
)


# ---------------------------------------------------------------- the server


def bench_app():
    """The product's app plus ``POST /bench/bare``: only the gate's operation."""
    from fastapi import Response

    from mercato.app import serve_app
    from mercato.db import create_db_engine

    engine = create_db_engine()
    app = serve_app(engine=engine, run_worker=os.environ.get("BENCH_WORKER") == "1")
    redis_url = os.environ.get("MERCATO_REDIS_URL")
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        take = client.register_script(BARE_SCRIPT)

        @app.post("/bench/bare", status_code=204)
        def bare_redis():
            return Response(status_code=204 if take(keys=["bench:bare"]) == 1 else 409)

    else:

        @app.post("/bench/bare", status_code=204)
        def bare_db(session: WriteSession):
            taken = session.execute(
                text(
                    "UPDATE bench_gate SET remaining = remaining - 1 "
                    "WHERE id = 1 AND remaining >= 1"
                )
            ).rowcount
            return Response(status_code=204 if taken == 1 else 409)

    return app


def prepare(stock: int, tiktok_share: float, live_price: int) -> tuple[str, str]:
    """Migrate; a token; the SKU; the live event with its pools, gate and pin."""
    from mercato.auth import service as auth_service
    from mercato.catalog import service as catalog
    from mercato.catalog.schemas import ProductCreate
    from mercato.config import get_settings
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.inventory import counts
    from mercato.live import gate, service
    from mercato.live.schemas import LiveEventCreate, PinInput, PoolsInput, VariantRef
    from mercato.system import migrations

    engine = create_db_engine()
    migrations.upgrade(engine)
    redis_gate = None
    if url := get_settings().redis_url:
        import redis

        client = redis.Redis.from_url(url)
        client.set("bench:bare", BARE_UNITS)
        redis_gate = gate.RedisGate(client)
    tiktok = int(stock * tiktok_share)
    with transaction(make_sessionmaker(engine)) as session:
        token = auth_service.create_token(session, "bench", ["admin"]).secret
        product = catalog.create_product(
            session,
            ProductCreate(
                title="Live sneaker",
                handle="live-sneaker",
                status="active",
                variants=[{"sku": SKU, "price": 9900}],
            ),
        )
        counts.set_on_hand(session, {product.variants[0].id: stock}, actor="bench")
        event = service.create_event(
            session,
            LiveEventCreate(
                title="Bench live",
                products=[{"sku": SKU}],
                platforms=[{"channel": TIKTOK}, {"channel": "storefront"}],
                per_buyer_limit=1,
            ),
        )
        service.allocate(
            session,
            event.id,
            PoolsInput(sku=SKU, pools={TIKTOK: tiktok, "storefront": stock - tiktok}),
        )
        service.open_gate(
            session, event.id, VariantRef(sku=SKU), stock - tiktok, redis_gate=redis_gate
        )
        service.start(session, event.id)
        service.pin(session, event.id, PinInput(sku=SKU, live_price=live_price))
        session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_gate (id INTEGER PRIMARY KEY, "
                "remaining INTEGER NOT NULL CHECK (remaining >= 0))"
            )
        )
        session.execute(text("INSERT INTO bench_gate VALUES (1, :n)"), {"n": BARE_UNITS})
        event_id = event.id
    engine.dispose()
    return token, event_id


def start_redis() -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--redis needs redis-server")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return server, f"redis://127.0.0.1:{port}/0"


# ---------------------------------------------------------------- the load


class Tally:
    def __init__(self) -> None:
        self.admission: list[tuple[float, float]] = []  # (asked, answered) per admission
        self.sales: list[tuple[float, str]] = []  # (when the sale's answer came, channel)
        self.completed = 0
        self.refused: dict[str, int] = {}
        self.server_errors = 0
        self.unexpected: list[str] = []

    def note(self, kind: str) -> None:
        self.refused[kind] = self.refused.get(kind, 0) + 1

    def fail(self, status: int, body: str) -> None:
        if status >= 500:
            self.server_errors += 1
        self.unexpected.append(f"{status} {body[:200]}")


def _problem(response) -> str:
    try:
        return response.json().get("type", "").rsplit("/", 1)[-1]
    except ValueError:
        return ""


async def tiktok_buyer(
    client: Connection, number: int, tally: Tally, tries: int, auth, shown: list[int]
) -> None:
    """A buyer inside TikTok Shop: TikTok sells only the stock it was pushed (its pool,
    ``shown``) and turns the rest away itself; each order it takes reaches Mercato."""
    if shown[0] <= 0:
        tally.note("turned away by TikTok")
        return
    shown[0] -= 1
    for attempt in range(tries):
        sold = await client.post(
            "/api/v1/inventory/reservations",
            json={
                "channel": TIKTOK,
                "reference": f"tt-{number}-{attempt}",
                "lines": [{"sku": SKU, "quantity": 1}],
                "commit": True,
            },
            headers=auth,
        )
        if sold.status_code == 201:
            tally.sales.append((time.monotonic(), TIKTOK))
            return
        if sold.status_code == 409 and _problem(sold) == "insufficient-stock":
            tally.note("held")  # a platform order past its pool: a webhook puts it on hold
            return
        tally.fail(sold.status_code, sold.text)


async def queue_buyer(client: Connection, event_id: str, number: int, tally: Tally, tries):
    """A storefront buyer queues: the pass when let in, else None."""
    cookie = {"Cookie": f"mercato_csrf=bench-buyer-{number}"}
    for _ in range(tries):
        started = time.perf_counter()
        admitted = await client.post(
            f"/api/v1/live-events/{event_id}/admission", json={"quantity": 1}, headers=cookie
        )
        tally.admission.append((started, time.perf_counter()))
        if admitted.status_code == 201:
            return admitted.json()["admission_pass"]
        if admitted.status_code == 409 and _problem(admitted) in ("sold-out", "buyer-limit"):
            tally.note(_problem(admitted))
            return None
        tally.fail(admitted.status_code, admitted.text)
    return None


async def checkout_buyer(client: Connection, event_id: str, number: int, granted: str, tally):
    """A buyer let in starts the checkout with the pass, then pays."""
    cookie = {"Cookie": f"mercato_csrf=bench-buyer-{number}"}
    started = await client.post(
        f"/api/v1/live-events/{event_id}/buy",
        json={
            "admission_pass": granted,
            "email": f"b{number}@example.com",
            "shipping_address": {**ADDRESS, "name": f"Buyer {number}"},  # each their own
        },
        headers=cookie,
    )
    if started.status_code != 201:
        tally.fail(started.status_code, started.text)
        return
    tally.sales.append((time.monotonic(), "storefront"))  # its unit is held from here
    body = started.json()
    done = await client.post(
        f"/api/v1/checkouts/{body['token']}/complete",
        json={"payment_method": "tok_visa", "expected_total": body["total"]},
        headers={"Idempotency-Key": f"pay-{number}"},
    )
    if done.status_code == 200:
        tally.completed += 1
    else:
        tally.fail(done.status_code, done.text)


class Viewer(asyncio.Protocol):
    """Holds the counter stream open and notes (arrival, units left) of each message;
    a protocol, not a task per viewer, so 5,000 of them cost the bench little."""

    def __init__(self, request: bytes, seen: list, ready: asyncio.Event) -> None:
        self.request, self.seen, self.ready = request, seen, ready
        self.tail = b""

    def connection_made(self, transport) -> None:
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.ready.set()  # the stream is open: the counters came
        data = self.tail + data
        start = data.find(b"data: ")
        while start >= 0:
            end = data.find(b"\r\n", start)
            if end < 0:
                break
            self.seen.append((now, orjson.loads(data[start + 6 : end])["left"]))
            start = data.find(b"data: ", end)
        self.tail = data[start:] if start >= 0 else b""


async def viewer(host: str, port: int, event_id: str, seen: list, ready: asyncio.Event):
    request = (
        f"GET /shop/live/{event_id}/counters HTTP/1.1\r\nHost: {host}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(lambda: Viewer(request, seen, ready), host, port)
    return transport


async def bare_caller(client: Connection, count: int, latencies: list[float], tally) -> None:
    for _ in range(count):
        started = time.perf_counter()
        response = await client.post("/bench/bare")
        if response.status_code != 204:
            tally.fail(response.status_code, response.text)
        latencies.append(time.perf_counter() - started)


async def run(base: str, event_id: str, token: str, args) -> dict:
    host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
    auth = {"Authorization": f"Bearer {token}"}
    tally = Tally()
    views: list[list] = [[] for _ in range(args.viewers)]
    readies = [asyncio.Event() for _ in range(args.viewers)]
    watching = []
    for i in range(args.viewers):  # one at a time: the server's listen backlog
        watching.append(await viewer(host, port, event_id, views[i], readies[i]))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 300)
    await asyncio.sleep(1.0)

    tiktok_shown = [int(args.stock * args.tiktok_share)]  # the pool, as pushed to TikTok
    clients = [Connection.to(base) for _ in range(args.concurrency)]
    buyers = list(range(args.buyers))
    random.Random(1).shuffle(buyers)  # TikTok's and the storefront's, arriving mixed
    on_tiktok = set(buyers[: int(args.buyers * args.tiktok_share)])
    waiting: asyncio.Queue = asyncio.Queue()
    for number in buyers:
        waiting.put_nowait(number)
    admitted: asyncio.Queue = asyncio.Queue()

    async def opening(client: Connection) -> None:
        while not waiting.empty():
            number = waiting.get_nowait()
            if number in on_tiktok:
                await tiktok_buyer(client, number, tally, args.tries, auth, tiktok_shown)
            elif granted := await queue_buyer(client, event_id, number, tally, args.tries):
                admitted.put_nowait((number, granted))

    async def checking_out(client: Connection) -> None:
        while not admitted.empty():
            number, granted = admitted.get_nowait()
            await checkout_buyer(client, event_id, number, granted, tally)

    began = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(opening(c) for c in clients)), args.timeout)
    queue_seconds = time.monotonic() - began
    await asyncio.wait_for(asyncio.gather(*(checking_out(c) for c in clients)), args.timeout)
    drop_seconds = time.monotonic() - began
    checkout_seconds = drop_seconds - queue_seconds
    await asyncio.sleep(2.5)  # the last counters reach every viewer
    for transport in watching:
        transport.close()

    bare: list[float] = []
    storefront_calls = len(tally.admission)
    per_caller = max(1, storefront_calls // args.concurrency)
    bare_began = time.monotonic()
    await asyncio.gather(*(bare_caller(c, per_caller, bare, tally) for c in clients))
    bare_seconds = time.monotonic() - bare_began
    for client in clients:
        await client.close()

    # Time from each sale to the first message on each viewer showing it (or fewer left).
    delays = []
    sales = sorted(tally.sales)
    for number, (at, _) in enumerate(sales, start=1):
        left = args.stock - number
        for seen in views[:: max(1, len(views) // 200)]:  # a sample of at most ~200 viewers
            shown = next((t for t, units in seen if units <= left), None)
            if shown is not None:
                delays.append(max(0.0, shown - at))
    # Admissions a second over the time they were asked in: first asked to last answered.
    window = (
        max(answered for _, answered in tally.admission)
        - min(asked for asked, _ in tally.admission)
        if tally.admission
        else 0
    )
    admissions_per_s = storefront_calls / window if window else 0
    return {
        "tally": tally,
        "drop_seconds": drop_seconds,
        "queue_seconds": queue_seconds,
        "checkout_seconds": checkout_seconds,
        "admissions_per_s": admissions_per_s,
        "bare_per_s": len(bare) / bare_seconds if bare_seconds else 0,
        "bare_p99": percentile(bare, 0.99) if bare else 0,
        "delays": delays,
        "viewers_seeing_last": sum(1 for seen in views if seen and seen[-1][1] == 0),
    }


def final_stock(event_id: str, token: str, base: str) -> dict:
    response = httpx.get(
        f"{base}/api/v1/live-events/{event_id}/stock",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()[0]


def stuck_units() -> int:
    from mercato.db import create_db_engine

    engine = create_db_engine()
    with engine.connect() as connection:
        reserved = connection.execute(
            text("SELECT COALESCE(SUM(reserved), 0) FROM inventory_stock_levels")
        ).scalar()
    engine.dispose()
    return int(reserved)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--redis", action="store_true", help="the gate in Redis")
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64, help="buyers at once")
    parser.add_argument("--workers", type=int, default=1, help="API processes (PostgreSQL)")
    parser.add_argument("--tiktok-share", type=float, default=0.4)
    parser.add_argument("--tries", type=int, default=3, help="attempts per buyer at most")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--pg-server", default=PG_SERVER)
    args = parser.parse_args()

    redis_server = None
    with tempfile.TemporaryDirectory(prefix="mercato-live-") as data_dir:
        database = None
        if args.db == "sqlite":
            url = f"sqlite:///{data_dir}/mercato.db"
        else:
            database = f"mercato_live_{uuid.uuid4().hex[:10]}"
            with create_engine(args.pg_server, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'CREATE DATABASE "{database}"'))
            url = (
                make_url(args.pg_server)
                .set(database=database)
                .render_as_string(hide_password=False)
            )
        os.environ.update(
            MERCATO_DATABASE_URL=url,
            MERCATO_DATA_DIR=data_dir,
            MERCATO_SECRET_KEY="bench",
            MERCATO_CHECKOUT_STARTS_PER_MINUTE="0",  # every buyer comes from 127.0.0.1
            MERCATO_DROP_TRIES_PER_10S="0",
        )
        if args.redis:
            redis_server, redis_url = start_redis()
            os.environ["MERCATO_REDIS_URL"] = redis_url
        env = {**os.environ, "BENCH_WORKER": "1" if args.db == "sqlite" else "0"}
        server = None
        try:
            token, event_id = prepare(args.stock, args.tiktok_share, 7900)
            port = free_port()
            workers = args.workers if args.db == "postgres" else 1  # SQLite: embedded worker
            server = start_app("live_event:bench_app", port, env, workers=workers)
            base = f"http://127.0.0.1:{port}"
            result = asyncio.run(run(base, event_id, token, args))
            stock = final_stock(event_id, token, base)
            stuck = stuck_units()
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            if redis_server is not None:
                redis_server.terminate()
            if database:
                with create_engine(args.pg_server, isolation_level="AUTOCOMMIT").connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    tally: Tally = result["tally"]
    admission_seconds = [answered - asked for asked, answered in tally.admission]
    sold = {p["channel"]: p["sold"] for p in stock["pools"]}
    held = sum(p["held"] for p in stock["pools"])
    total = sum(sold.values())
    oversold = max(0, total - args.stock)
    gate_name = "Redis" if args.redis else "database"
    print(
        f"live event on {args.db}, {gate_name} gate, {workers} API process(es): "
        f"{args.stock} units, {args.buyers} buyers "
        f"({args.tiktok_share:.0%} on TikTok), {args.viewers} viewers"
    )
    print(
        f"sold {total} (= stock: {total == args.stock}) per channel {sold}; oversold {oversold}; "
        f"held {tally.refused.get('held', 0)} (TikTok orders past TikTok's pool; "
        f"{tally.refused.get('turned away by TikTok', 0)} TikTok buyers turned away by TikTok "
        f"once its pushed stock was sold); stuck {stuck}; still in carts {held}; "
        f"5xx {tally.server_errors}"
    )
    print(
        f"drop {result['drop_seconds']:.2f} s (queue {result['queue_seconds']:.2f} s, then "
        f"checkouts {result['checkout_seconds']:.2f} s); "
        f"admissions {result['admissions_per_s']:.0f}/s, "
        f"p99 {percentile(admission_seconds, 0.99) * 1000:.1f} ms; bare {gate_name} operation "
        f"{result['bare_per_s']:.0f}/s, p99 {result['bare_p99'] * 1000:.1f} ms; ratio "
        f"{result['admissions_per_s'] / result['bare_per_s'] if result['bare_per_s'] else 0:.2f}"
    )
    print(
        f"checkout completions {tally.completed} "
        f"({tally.completed / result['checkout_seconds']:.0f}/s over the checkouts)"
    )
    delays = result["delays"]
    if delays:
        print(
            f"sale -> counter on viewers: p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(delays, 0.99) * 1000:.0f} ms ({len(delays)} sale x viewer pairs); "
            f"viewers who saw 0 left: {result['viewers_seeing_last']}/{args.viewers}"
        )
    if tally.unexpected:
        print("unexpected answers:", *tally.unexpected[:5], sep="\n  ")
    failed = (
        oversold or stuck or tally.server_errors or total != args.stock or tally.refused.get("held")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
