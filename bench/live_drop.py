"""Live drop: C buyers race for S units through the HTTP API.

Starts the API the way `mercato serve` does (uvicorn on 127.0.0.1, the embedded job
worker on SQLite) on a fresh database, creates one SKU with S units, and lets C
concurrent buyers (a lean asyncio HTTP client, a keep-alive connection each) buy one
unit at a time until the SKU is sold out. ``--flow`` picks how a buyer buys:

- ``one-step``: one request that reserves and commits at once (an order paid on a
  platform's checkout, as TikTok Shop sends them);
- ``two-step``: reserve, then commit (a head that holds stock while the buyer pays);
- ``checkout``: Mercato's own checkout as an app that knows its buyer uses it:
  ``POST /api/v1/checkouts`` with email and address (holds the stock, shows the total
  with shipping and tax), then ``POST .../complete`` with the sandbox card; each order
  is another person's (their own email and name, at the same address);
- ``checkout-patch``: the same with the details sent in a ``PATCH`` between the two, as a
  buyer typing them in does (three requests).

``--reservations one-per-request`` writes each reservation, commit and release in its
own transaction in the thread pool, as a plain handler would, instead of in batches
(``mercato.inventory.reservation_batches``): the figure the batching has to beat.

In the same run, on the same server, it measures a bare endpoint that runs only the
conditional UPDATE in its own unit of work (mounted by this script's app factory, not
part of the product's API): one guarded write per request, the floor of the stack.

Prints orders/s, p50/p99 order latency, oversold units, stuck units (still reserved once
the drop is over), server errors, the ledger check, the ratio of orders/s to the bare
endpoint's requests/s, and the server's own CPU per order and per bare request (read
from /proc, so the client's cost does not blur the comparison). Exits 1 if anything
was oversold, stuck or failed; it asserts nothing about time.

    python bench/live_drop.py --db sqlite
    python bench/live_drop.py --db postgres --flow two-step --stock 2000 --buyers 64
    python bench/live_drop.py --db postgres --flow two-step --reservations one-per-request
    python bench/live_drop.py --flow checkout --stock 500
    python bench/live_drop.py --db postgres --flow checkout --workers 2 --catalog 100000
    python bench/live_drop.py --db postgres --flow checkout --compare one-step --workers 2

``--compare FLOW`` then sells as many units of a second SKU by FLOW on the same server
and prints the drop's orders/s and CPU per order against it. The SQL statements per order
are counted in the server processes (COPY is not a statement there, so not counted).
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uvloop
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package and bench.loadclient

from bench.loadclient import Connection, Response, percentile  # noqa: E402 - path set
from bench.servers import free_port, server_cpu, start_app  # noqa: E402
from mercato.db import transaction  # noqa: E402
from mercato.inventory.reservation_batches import ReservationBatcher  # noqa: E402
from mercato.web.sessions import WriteSession  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SKU = "DROP-1"
COMPARE_SKU = "DROP-2"  # sold by --compare's flow, after the drop, on the same server
WARM_SKU = "WARM-1"  # bought before the drop, so the drop meets warm caches
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
BARE_STOCK = 10**9


# ---------------------------------------------------------------- the server


class OneTransactionPerRequest(ReservationBatcher):
    """No batching: each request written alone, in its own transaction, in the thread
    pool (``--reservations one-per-request``)."""

    async def submit(self, request):
        def write():
            with transaction(self.sessions) as session:
                return self.write_one(session, request)

        return await run_in_threadpool(write)


def bench_app():
    """The product's app plus ``POST /bench/bare``: only the conditional UPDATE."""
    from fastapi import Response

    from mercato.app import serve_app
    from mercato.db import create_db_engine

    engine = create_db_engine()
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_stock (id INTEGER PRIMARY KEY, "
                "on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL, "
                "CHECK (reserved >= 0 AND reserved <= on_hand))"
            )
        )
    app = serve_app(engine=engine, run_worker=os.environ.get("BENCH_WORKER") == "1")
    if os.environ.get("BENCH_RESERVATIONS") == "one-per-request":
        app.state.reservation_batcher = OneTransactionPerRequest(app.state.sessions.write)

    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_):
        statements[0] += 1

    @app.get("/bench/statements")
    def statements_so_far():
        # This process's SQL statements so far (COPY is not a cursor execute: not counted).
        return {"pid": os.getpid(), "statements": statements[0]}

    @app.post("/bench/bare", status_code=204)
    def bare(session: WriteSession):
        # The same unit of work as the inventory handlers, around only the guarded UPDATE.
        taken = session.execute(
            text(
                "UPDATE bench_stock SET reserved = reserved + 1 "
                "WHERE id = 1 AND on_hand - reserved >= 1"
            )
        ).rowcount
        return Response(status_code=204 if taken == 1 else 409)

    return app


def prepare(stock: int, compare_stock: int = 0) -> str:
    """Migrate, create a token, one SKU with ``stock`` units (another with
    ``compare_stock`` for --compare) and the bare endpoint's row."""
    from mercato.auth import service as auth_service
    from mercato.catalog import service as catalog
    from mercato.catalog.schemas import ProductCreate
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.inventory import counts
    from mercato.system import migrations

    engine = create_db_engine()
    migrations.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        token = auth_service.create_token(session, "bench", ["inventory:write"]).secret
        skus = [(SKU, stock), (WARM_SKU, 10**6)]
        for sku, units in skus + ([(COMPARE_SKU, compare_stock)] if compare_stock else []):
            product = catalog.create_product(
                session,
                ProductCreate(
                    title=sku,
                    handle=sku.lower(),
                    status="active",
                    variants=[{"sku": sku, "price": 4900}],
                ),
            )
            counts.set_on_hand(session, {product.variants[0].id: units}, actor="bench")
        session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_stock (id INTEGER PRIMARY KEY, "
                "on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL, "
                "CHECK (reserved >= 0 AND reserved <= on_hand))"
            )
        )
        session.execute(text("INSERT INTO bench_stock VALUES (1, :n, 0)"), {"n": BARE_STOCK})
    engine.dispose()
    return token


# ---------------------------------------------------------------- the load


class Tally:
    def __init__(self):
        self.latencies: list[float] = []
        self.server_errors = 0
        self.unexpected: list[str] = []
        self.done = 0

    def fail(self, response: Response) -> None:
        if response.status_code >= 500:
            self.server_errors += 1
        self.unexpected.append(f"{response.status_code} {response.text[:200]}")


# The token for the inventory API (one-step, two-step); checkout buyers send none: their
# checkout's token is their key, as on a shop's page or in its app.
AUTH: dict[str, str] = {}


async def buyer(
    client: Connection, number: int, flow: str, tally: Tally, sku: str = SKU, rounds: int = 10**6
) -> None:
    """Buy one unit at a time until sold out (or ``rounds`` times)."""
    buy = checkout if flow.startswith("checkout") else reserve_and_commit
    for attempt in range(rounds):
        started = time.perf_counter()
        outcome = await buy(client, f"{flow}-{number}-{attempt}", flow, sku, tally)
        if outcome == "sold out":
            return
        if outcome == "bought":
            tally.latencies.append(time.perf_counter() - started)
            tally.done += 1


def _sold_out(response: Response) -> bool:
    return response.status_code == 409 and response.json()["type"].endswith("insufficient-stock")


async def reserve_and_commit(
    client: Connection, reference: str, flow: str, sku: str, tally: Tally
) -> str:
    reserved = await client.post(
        "/api/v1/inventory/reservations",
        json={
            "channel": "tiktok",
            "reference": reference,
            "lines": [{"sku": sku, "quantity": 1}],
            "commit": flow == "one-step",
        },
        headers=AUTH,
    )
    if _sold_out(reserved):
        return "sold out"
    if reserved.status_code != 201:
        tally.fail(reserved)
        return "failed"
    if flow == "two-step":
        committed = await client.post(
            f"/api/v1/inventory/reservations/{reserved.json()['id']}/commit", headers=AUTH
        )
        if committed.status_code != 200:
            tally.fail(committed)
            return "failed"
    return "bought"


async def checkout(client: Connection, reference: str, flow: str, sku: str, tally: Tally) -> str:
    # Each order is another person (a drop's buyers are): their own email and name.
    address = {**ADDRESS, "name": f"Buyer {reference}"}
    details = {"email": f"{reference}@example.com", "shipping_address": address}
    at_start = flow == "checkout"
    started = await client.post(
        "/api/v1/checkouts",
        json={
            "lines": [{"sku": sku, "quantity": 1}],
            "attribution": {"source": "bench"},
            **(details if at_start else {}),
        },
    )
    if _sold_out(started):
        return "sold out"
    if started.status_code != 201:
        tally.fail(started)
        return "failed"
    path = f"/api/v1/checkouts/{started.json()['token']}"
    shown = started
    if not at_start:
        shown = await client.patch(path, json=details)
        if shown.status_code != 200:
            tally.fail(shown)
            return "failed"
    done = await client.post(
        f"{path}/complete",
        json={"payment_method": "tok_visa", "expected_total": shown.json()["total"]},
        headers={"Idempotency-Key": reference},
    )
    if done.status_code != 200:
        tally.fail(done)
        return "failed"
    return "bought"


async def bare_caller(client: Connection, count: int, tally: Tally) -> None:
    for _ in range(count):
        started = time.perf_counter()
        response = await client.post("/bench/bare")
        if response.status_code != 204:
            tally.fail(response)
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.done += 1


async def spread(clients: list[Connection], workers: int, tries: int = 20) -> None:
    """Share the connections evenly among the server's processes, as a proxy in front
    would: the kernel hands each new connection to whichever process accepts first, and
    a drop served mostly by one of two processes measures half the server."""
    fair = -(-len(clients) // workers)
    for _ in range(tries):
        where = [(await c.get("/bench/statements")).json()["pid"] for c in clients]
        counts = {pid: where.count(pid) for pid in set(where)}
        crowded = [c for c, pid in zip(clients, where, strict=True) if counts[pid] > fair]
        if len(counts) == workers and not crowded:
            return
        for client in crowded[: max(1, len(crowded) // 2)]:
            await client.close()  # its next request opens a new connection
    print("  (connections not spread evenly among the server's processes)")


async def statements(clients: list[Connection]) -> int:
    """SQL statements the server's processes ran so far (each connection reaches one of
    them; all the buyers' connections together reach every one)."""
    seen = {}
    for response in await asyncio.gather(*(c.get("/bench/statements") for c in clients)):
        body = response.json()
        seen[body["pid"]] = max(seen.get(body["pid"], 0), body["statements"])
    return sum(seen.values())


class Phase:
    def __init__(self, tally: Tally, seconds: float, cpu: float, statements: int = 0):
        self.tally, self.seconds, self.cpu = tally, seconds, cpu
        self.statements = statements

    @property
    def rate(self) -> float:
        return self.tally.done / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / max(1, self.tally.done) * 1000

    @property
    def statements_each(self) -> float:
        return self.statements / max(1, self.tally.done)


async def measure(server_pid: int, calls, clients: list[Connection]) -> Phase:
    tally = Tally()
    before = await statements(clients)
    cpu, started = server_cpu(server_pid), time.perf_counter()
    await asyncio.gather(*(call(tally) for call in calls))
    seconds, cpu = time.perf_counter() - started, server_cpu(server_pid) - cpu
    return Phase(tally, seconds, cpu, await statements(clients) - before)


async def run_load(
    base_url: str,
    server_pid: int,
    token: str,
    buyers: int,
    flow: str,
    bare_requests: int,
    compare: str | None = None,
    workers: int = 1,
):
    AUTH["Authorization"] = f"Bearer {token}"
    # One connection per buyer, as real buyers have.
    clients = [Connection.to(base_url) for _ in range(buyers)]
    compared = None
    try:
        await spread(clients, workers)
        warm = Tally()  # connections open, pools and caches warm on both endpoints
        await asyncio.gather(*(bare_caller(c, 3, warm) for c in clients))
        for warm_flow in (flow, compare) if compare else (flow,):
            await asyncio.gather(
                *(
                    buyer(c, -1 - n, warm_flow, warm, WARM_SKU, rounds=3)
                    for n, c in enumerate(clients)
                )
            )
        drop = await measure(
            server_pid,
            [lambda tally, c=c, n=n: buyer(c, n, flow, tally) for n, c in enumerate(clients)],
            clients,
        )
        if compare:
            compared = await measure(
                server_pid,
                [
                    lambda tally, c=c, n=n: buyer(c, n, compare, tally, COMPARE_SKU)
                    for n, c in enumerate(clients)
                ],
                clients,
            )
        per_caller = max(1, bare_requests // buyers)
        bare = await measure(
            server_pid,
            [lambda tally, c=c: bare_caller(c, per_caller, tally) for c in clients],
            clients,
        )
        after = {}
        for sku in (SKU, COMPARE_SKU) if compare else (SKU,):
            after[sku] = (await clients[0].get(f"/api/v1/inventory?sku={sku}", headers=AUTH)).json()
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    return drop, compared, bare, after


def ledger_mismatches() -> list[str]:
    from mercato.db import create_db_engine, make_sessionmaker
    from mercato.inventory import reports

    engine = create_db_engine()
    with make_sessionmaker(engine)() as session:
        found = [str(m) for m in reports.verify(session)]
    engine.dispose()
    return found


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--stock", type=int, default=2000, help="units to sell (S)")
    parser.add_argument("--buyers", type=int, default=64, help="concurrent buyers (C)")
    parser.add_argument(
        "--flow",
        choices=("one-step", "two-step", "checkout", "checkout-patch"),
        default="one-step",
        help="a paid order that sells at once (one request), reserve then "
        "commit (two), or Mercato's checkout (three)",
    )
    parser.add_argument(
        "--reservations",
        choices=("batched", "one-per-request"),
        default="batched",
        help="write reservations, commits and releases in batches (as the API does) or "
        "each in its own transaction",
    )
    parser.add_argument(
        "--compare",
        choices=("one-step", "two-step", "checkout", "checkout-patch"),
        default=None,
        help="after the drop, sell as many units of another SKU by this flow on the same "
        "server, and print the drop's orders/s against it",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the job worker in the API process (default: with SQLite, "
        "as `mercato serve` does)",
    )
    parser.add_argument(
        "--bare-requests",
        type=int,
        default=None,
        help="requests to the bare endpoint (default: 2 x stock)",
    )
    parser.add_argument(
        "--catalog",
        type=int,
        default=0,
        help="variants of other products in the catalog beside the drop's SKU (the "
        "checkout's cost must not grow with them)",
    )
    parser.add_argument("--pg-server", default=PG_SERVER)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mercato-drop-") as data_dir:
        database, admin_url = None, None
        if args.db == "sqlite":
            url = f"sqlite:///{data_dir}/mercato.db"
        else:
            database = f"mercato_drop_{uuid.uuid4().hex[:10]}"
            admin_url = args.pg_server
            with create_engine(admin_url, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'CREATE DATABASE "{database}"'))
            url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
        os.environ.update(
            MERCATO_DATABASE_URL=url,
            MERCATO_DATA_DIR=data_dir,
            MERCATO_SECRET_KEY="bench",
            # Every buyer of the bench comes from 127.0.0.1.
            MERCATO_CHECKOUT_STARTS_PER_MINUTE="0",
        )
        embedded = (args.db == "sqlite") if args.worker is None else args.worker
        env = {
            **os.environ,
            "BENCH_WORKER": "1" if embedded and args.workers == 1 else "0",
            "BENCH_RESERVATIONS": args.reservations,
        }
        try:
            if args.catalog:
                from feeds import generate  # the script's folder is on the path

                generate(url, args.catalog)
            token = prepare(args.stock, args.stock if args.compare else 0)
            port = free_port()
            server = start_app("live_drop:bench_app", port, env, args.workers)
            try:
                drop, compared, bare, after = uvloop.run(
                    run_load(
                        f"http://127.0.0.1:{port}",
                        server.pid,
                        token,
                        args.buyers,
                        args.flow,
                        args.bare_requests or 2 * args.stock,
                        args.compare,
                        args.workers,
                    )
                )
            finally:
                server.terminate()
                server.wait(timeout=30)
            mismatches = ledger_mismatches()
        finally:
            if database:
                with create_engine(admin_url, isolation_level="AUTOCOMMIT").connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    phases = [(args.flow, SKU, drop)]
    if compared:
        phases.append((args.compare, COMPARE_SKU, compared))
    oversold = sum(
        max(0, phase.tally.done - args.stock) + max(0, -after[sku]["on_hand"])
        for _, sku, phase in phases
    )
    stuck = sum(after[sku]["reserved"] for _, sku, _ in phases)
    errors = sum(phase.tally.server_errors for _, _, phase in phases) + bare.tally.server_errors
    unexpected = [u for _, _, phase in phases for u in phase.tally.unexpected]
    unexpected += bare.tally.unexpected
    worker = "on" if env["BENCH_WORKER"] == "1" else "off"
    ms = 1000
    print(
        f"live drop on {args.db}, {args.flow}: {args.stock} units, {args.buyers} buyers, "
        f"{args.workers} API process(es), job worker {worker}, reservations {args.reservations}, "
        f"{args.catalog} other variants in the catalog"
    )
    for flow, sku, phase in phases:
        sold = phase.tally.done
        print(f"  {flow}:")
        print(f"  orders           {sold} in {phase.seconds:.2f} s = {phase.rate:.0f} orders/s")
        print(f"  SQL statements   {phase.statements_each:.1f} per order (COPY not counted)")
        print(
            f"  order latency    p50 {percentile(phase.tally.latencies, 0.5) * ms:.1f} ms, "
            f"p99 {percentile(phase.tally.latencies, 0.99) * ms:.1f} ms"
        )
        print(f"  server CPU       {phase.cpu_ms:.2f} ms per order")
        print(
            f"  stock            on hand {after[sku]['on_hand']}, reserved "
            f"{after[sku]['reserved']}, unsold {args.stock - sold}"
        )
    if compared:
        print(
            f"  {args.flow} against {args.compare}: {drop.rate / compared.rate:.2f} of its "
            f"orders/s, {drop.cpu_ms / compared.cpu_ms:.1f}x its server CPU per order"
        )
    print(f"  oversold units   {oversold}")
    print(f"  stuck units      {stuck}")
    print(f"  server errors    {errors}")
    print(f"  ledger           {mismatches or 'balances'}")
    print(
        f"  bare UPDATE      {bare.tally.done} in {bare.seconds:.2f} s = {bare.rate:.0f} req/s, "
        f"p50 {percentile(bare.tally.latencies, 0.5) * ms:.1f} ms, "
        f"p99 {percentile(bare.tally.latencies, 0.99) * ms:.1f} ms"
    )
    print(f"  ratio            {drop.rate / bare.rate:.2f} (orders/s / bare req/s)")
    print(
        f"  server CPU       {drop.cpu_ms:.2f} ms per order, {bare.cpu_ms:.2f} ms per bare "
        f"request: ratio {bare.cpu_ms / drop.cpu_ms:.2f}"
    )
    for problem in unexpected[:5]:
        print(f"  unexpected: {problem}")
    failed = (
        oversold
        or stuck
        or errors
        or mismatches
        or any(phase.tally.done != args.stock for _, _, phase in phases)
        or unexpected
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
