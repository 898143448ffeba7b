"""Live-drop checkout: buyers racing for scarce stock through the checkout JSON API.

Each buyer starts a checkout (POST /api/v1/checkouts, which holds stock), gives an
address (PATCH) and completes with the sandbox card (POST .../complete with an
Idempotency-Key). Prints completed orders/s, p50/p99 of a whole purchase, units
oversold (must be 0), and the ratio to a bare endpoint that only runs the conditional
UPDATE on the stock level (the ceiling for any guarded sale on this database).

bench/live_drop.py (raw reservations) had not landed when this was written; this is the
checkout mode of the same measurement, standalone.

    python bench/checkout.py                      # SQLite, then PostgreSQL if it answers
    python bench/checkout.py --db sqlite --buyers 400 --stock 150 --concurrency 32
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ADDRESS = {"name": "Bench Buyer", "line1": "1 Market St", "city": "San Francisco",
           "region": "CA", "postal_code": "94105", "country": "US"}


def _database(kind: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text

    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="mercato-bench-")
        return f"sqlite:///{folder}/bench.db", lambda: None
    name = f"mercato_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return PG_SERVER.rsplit("/", 1)[0] + f"/{name}", drop


def _app(url: str, data_dir: str):
    import os

    from fastapi import APIRouter
    from sqlalchemy import update

    from mercato.app import create_app
    from mercato.catalog import service as catalog
    from mercato.catalog.schemas import ProductCreate
    from mercato.config import Settings, get_settings
    from mercato.db import create_db_engine, transaction
    from mercato.inventory import service as stock
    from mercato.inventory.models import StockLevel
    from mercato.system import migrations

    os.environ.update(MERCATO_DATABASE_URL=url, MERCATO_DATA_DIR=data_dir,
                      MERCATO_SECRET_KEY="bench")
    get_settings.cache_clear()
    settings = Settings()
    engine = create_db_engine(settings)
    migrations.upgrade(engine)
    app = create_app(settings, engine)
    bare = APIRouter()

    @bare.post("/bench/bare/{level_id}")
    def take_one(level_id: str):
        # The guarded sale at its barest: one conditional UPDATE in its own transaction.
        with transaction(app.state.write_sessions) as session:
            taken = session.execute(
                update(StockLevel).where(StockLevel.id == level_id,
                                         StockLevel.on_hand - StockLevel.reserved >= 1)
                .values(reserved=StockLevel.reserved + 1)).rowcount
        return {"taken": taken == 1}

    app.include_router(bare)
    return app, engine, transaction, catalog, ProductCreate, stock


def _serve(app) -> tuple[str, object]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", workers=1))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def _seed(app, transaction, catalog, ProductCreate, stock, units: int, sku: str) -> str:
    from mercato.inventory.models import StockLevel

    with transaction(app.state.write_sessions) as session:
        product = catalog.create_product(session, ProductCreate(
            title=f"Drop {sku}", handle=sku.lower(), status="active",
            variants=[{"sku": sku, "price": 4900}]))
        variant_id = product.variants[0].id
        stock.set_on_hand(session, {variant_id: units})
        return session.query(StockLevel.id).filter_by(variant_id=variant_id).scalar()


def _buy(client: httpx.Client) -> tuple[bool, float]:
    started = time.perf_counter()
    created = client.post("/api/v1/checkouts",
                          json={"lines": [{"sku": "DROP-1", "quantity": 1}],
                                "attribution": {"source": "bench"}})
    if created.status_code != 201:
        return False, time.perf_counter() - started
    token = created.json()["token"]
    client.patch(f"/api/v1/checkouts/{token}",
                 json={"email": "buyer@example.com", "shipping_address": ADDRESS})
    done = client.post(f"/api/v1/checkouts/{token}/complete",
                       json={"payment_method": "tok_visa"},
                       headers={"Idempotency-Key": uuid.uuid4().hex})
    return done.status_code == 200, time.perf_counter() - started


def _race(base: str, buyers: int, concurrency: int, work) -> tuple[int, float, list[float]]:
    local = threading.local()

    def one(_):
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=120)
        return work(local.client)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(buyers)))
    elapsed = time.perf_counter() - started
    return sum(ok for ok, _ in results), elapsed, [t for _, t in results]


def run(kind: str, buyers: int, units: int, concurrency: int) -> None:
    url, drop = _database(kind)
    try:
        app, engine, transaction, catalog, ProductCreate, stock = _app(
            url, tempfile.mkdtemp(prefix="mercato-bench-data-"))
        base, server = _serve(app)
        _seed(app, transaction, catalog, ProductCreate, stock, units, "DROP-1")
        bare_level = _seed(app, transaction, catalog, ProductCreate, stock, units, "BARE-1")

        sold, elapsed, times = _race(base, buyers, concurrency, _buy)

        def bare(client):
            t0 = time.perf_counter()
            taken = client.post(f"/bench/bare/{bare_level}").json()["taken"]
            return taken, time.perf_counter() - t0

        bare_sold, bare_elapsed, _ = _race(base, buyers, concurrency, bare)
        from sqlalchemy import func, select

        from mercato.orders.models import Order
        with app.state.read_sessions() as session:
            orders = session.scalar(select(func.count()).select_from(Order))
        oversold = max(0, orders - units)
        times.sort()
        rate, bare_rate = sold / elapsed, bare_sold / bare_elapsed
        print(f"{kind:10} buyers={buyers} stock={units} concurrency={concurrency}: "
              f"{sold} orders in {elapsed:.2f}s = {rate:.1f} orders/s; "
              f"p50 {statistics.median(times) * 1000:.0f} ms, "
              f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.0f} ms per purchase; "
              f"oversold {oversold}; bare conditional UPDATE {bare_rate:.1f}/s; "
              f"checkout/bare = {rate / bare_rate:.3f}")
        server.should_exit = True
        engine.dispose()
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--buyers", type=int, default=300)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        try:
            run(kind, args.buyers, args.stock, args.concurrency)
        except Exception as exc:  # PostgreSQL may simply not be running here
            if kind != "postgresql" or args.db == "postgresql":
                raise
            print(f"postgresql skipped: {exc}")


if __name__ == "__main__":
    main()
