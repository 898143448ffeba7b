"""Inbound order webhooks: signed TikTok Shop order notifications from concurrent senders
against `mercato serve` (uvicorn on 127.0.0.1), on SQLite (embedded, in-process worker)
or PostgreSQL (a database created for the run and dropped after it; `--workers`
`mercato worker` processes beside the server, 2 by default). One run per size given
to `--orders`, each in a fresh database, so that growth is visible.

Every event is delivered twice, as platforms redeliver: first each new event, then each
again. Prints, separately, new events acknowledged/s with their p50/p99 latency and
redeliveries answered/s with how many the server called duplicates (each must be),
processed/s (webhook received -> order created, including the worker fetching each
order from the TikTok simulator), and checks one order per distinct event.

    python bench/webhooks.py                     # 100, 1,000 and 10,000 events
    python bench/webhooks.py --db postgres --workers 2 --orders 1000 10000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadclient import Connection, percentile  # noqa: E402 - after the path is set
from bench.servers import free_port, wait_up  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def cpu_seconds(pids) -> dict[int, float]:
    """CPU time (user + system) each live process has used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings (a process first seen after: all of it)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def database_pids(engine) -> list[int]:
    """PostgreSQL's server processes for the run's database (its connections)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
        )


async def send_all(base_url: str, path: str, deliveries, senders: int):
    """``senders`` concurrent senders, a keep-alive connection each, share the deliveries."""
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    cursor = iter(deliveries)

    async def sender() -> None:
        connection = Connection.to(base_url)
        try:
            for raw, headers in cursor:
                started = time.perf_counter()
                response = await connection.post(path, content=raw, headers=headers)
                latencies.append(time.perf_counter() - started)
                status = response.status_code
                if status == 200 and response.json().get("duplicate"):
                    status = "200 duplicate"
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await connection.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--orders",
        type=int,
        nargs="+",
        default=[100, 1000, 10000],
        help="events per run; one run (its own database) for each size given",
    )
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="acknowledge only (no processing): the ack path alone",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="PostgreSQL: `mercato worker` processes beside the server (SQLite: the one "
        "embedded worker)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-server", default=PG_SERVER)
    parser.add_argument(
        "--intake",
        choices=("group-commit", "one-by-one"),
        default="group-commit",
        help="deliveries written a batch per transaction (the intake's group commit) or "
        "each in its own request transaction",
    )
    args = parser.parse_args()

    for orders in args.orders:
        measure(argparse.Namespace(**{**vars(args), "orders": orders}))


def measure(args) -> None:
    """One run at ``args.orders`` events, in a database of its own."""
    data_dir = Path(tempfile.mkdtemp(prefix="mercato-bench-"))
    os.environ.update(
        MERCATO_DATA_DIR=str(data_dir),
        MERCATO_SECRET_KEY="bench",
        MERCATO_CURRENCY="USD",
        MERCATO_ALLOW_LOCAL_URLS="1",  # the simulator listens on 127.0.0.1
        MERCATO_WEBHOOK_GROUP_COMMIT="1" if args.intake == "group-commit" else "0",
    )
    os.environ.pop("MERCATO_DATABASE_URL", None)
    os.environ.pop("MERCATO_MEDIA_ORIGIN", None)
    with own_database(args.db, args.pg_server, "webhooks"):
        run(args)


@contextlib.contextmanager
def own_database(db: str, pg_server: str, name: str):
    """The run's own database: SQLite in the data dir, or a PostgreSQL database made for
    it (``MERCATO_DATABASE_URL``) and dropped after it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from mercato.config import get_settings

    get_settings.cache_clear()
    database = None
    if db == "postgres":
        database = f"mercato_bench_{name}_{uuid.uuid4().hex[:10]}"
        with create_engine(pg_server, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE DATABASE "{database}"'))
        os.environ["MERCATO_DATABASE_URL"] = (
            make_url(pg_server).set(database=database).render_as_string(hide_password=False)
        )
    try:
        yield
    finally:
        if database:
            admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def run(args) -> None:
    data_dir = Path(os.environ["MERCATO_DATA_DIR"])
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
    # Every event twice (the second pass: redeliveries), which must not make orders.
    total = warm_up + args.orders  # distinct events, orders to expect
    book.outbox = []
    # The simulator answers the worker's order fetches from its own process (a fork that
    # holds the orders just placed), so it takes no CPU from the senders.
    simulator = multiprocessing.get_context("fork").Process(target=server.run, daemon=True)
    simulator.start()

    log = open(data_dir / "serve.log", "w")  # noqa: SIM115
    mercato = str(Path(sys.executable).parent / "mercato")
    embedded = args.db == "sqlite" and not args.no_worker
    serve = subprocess.Popen(
        [mercato, "serve", "--host", "127.0.0.1", "--port", str(api_port)]
        + ([] if embedded else ["--no-worker"]),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ,
    )
    # PostgreSQL: the worker is its own process, as in production.
    workers = (
        [
            subprocess.Popen(
                [mercato, "worker"], stdout=log, stderr=subprocess.STDOUT, env=os.environ
            )
            for _ in range(args.workers)
        ]
        if args.db == "postgres" and not args.no_worker
        else []
    )
    try:
        wait_up(f"http://127.0.0.1:{api_port}/healthz")
        path = f"/webhooks/{channel_id}"
        base = f"http://127.0.0.1:{api_port}"
        uvloop.run(send_all(base, path, warming, args.senders))
        engine = create_db_engine()
        on_db = database_pids(engine) if args.db == "postgres" else []
        cpu_start = cpu_seconds([serve.pid, *(w.pid for w in workers), *on_db])
        load_start = os.getloadavg()
        started = time.perf_counter()
        latencies, statuses = uvloop.run(send_all(base, path, deliveries, args.senders))
        sent_in = time.perf_counter() - started
        api_cpu_acks = spent(cpu_start, cpu_seconds([serve.pid]))
        again = time.perf_counter()
        repeat_latencies, repeat_statuses = uvloop.run(
            send_all(base, path, deliveries, args.senders)
        )
        repeated_in = time.perf_counter() - again

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
        if args.db == "postgres":
            on_db = sorted(set(on_db) | set(database_pids(engine)))
        cpu_end = cpu_seconds([serve.pid, *(w.pid for w in workers), *on_db])
        with engine.connect() as connection:
            # Counted again once every event is processed: each count above read its own
            # snapshot, so a batch committing between them showed its events, not orders.
            made = connection.scalar(select(func.count()).select_from(Order))
    finally:
        for process in (serve, *workers):
            process.terminate()
            process.wait(30)
        simulator.terminate()
        engine.dispose()

    ms = lambda values, q: percentile(values, q) * 1000  # noqa: E731
    loads = lambda values: " ".join(f"{x:.1f}" for x in values)  # noqa: E731
    where = "PostgreSQL" if args.db == "postgres" else "SQLite"
    print(
        f"{where}, intake {args.intake}, "
        f"{len(workers) if workers else 'embedded' if embedded else 'no'} worker(s): "
        f"{args.orders} events sent twice by {args.senders} senders, after {warm_up} to warm "
        f"up; load average {loads(load_start)} at the start, {loads(os.getloadavg())} at the end"
    )
    print(f"new events          statuses {statuses}")
    print(f"acknowledged/s      {len(deliveries) / sent_in:,.0f} (new events only)")
    print(
        f"ack latency         p50 {ms(latencies, 0.5):.1f} ms   p99 {ms(latencies, 0.99):.1f} ms"
        f"   max {max(latencies) * 1000:.1f} ms"
    )
    duplicates = repeat_statuses.get("200 duplicate", 0)
    print(
        f"redeliveries        {len(deliveries) / repeated_in:,.0f}/s, p99 "
        f"{ms(repeat_latencies, 0.99):.1f} ms; duplicates {duplicates} of {len(deliveries)} "
        f"({'each one' if duplicates == len(deliveries) else 'MISMATCH'}); "
        f"statuses {repeat_statuses}"
    )
    api_cpu = spent({serve.pid: cpu_start.get(serve.pid, 0.0)}, {serve.pid: cpu_end[serve.pid]})
    print(
        f"API CPU             {api_cpu_acks / len(deliveries) * 1000:.2f} ms per new event "
        f"acknowledged{' (with the embedded worker)' if embedded else ''}; "
        f"{api_cpu:.1f} s in all"
    )
    if args.no_worker:
        print(f"stored events       {events} ({total} distinct sent); not processed (--no-worker)")
        return
    if workers:
        worker_pids = {w.pid for w in workers}
        worker_cpu = spent(
            {p: c for p, c in cpu_start.items() if p in worker_pids},
            {p: c for p, c in cpu_end.items() if p in worker_pids},
        )
        print(
            f"worker CPU          {worker_cpu / max(done, 1) * 1000:.2f} ms per event processed "
            f"({worker_cpu:.1f} s, {len(workers)} workers)"
        )
    if on_db:
        db_cpu = spent(
            {p: c for p, c in cpu_start.items() if p in on_db},
            {p: c for p, c in cpu_end.items() if p in on_db},
        )
        print(
            f"database CPU        {db_cpu / max(done, 1) * 1000:.2f} ms per event processed "
            f"(PostgreSQL's processes for this database, acknowledging included: {db_cpu:.1f} s)"
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
