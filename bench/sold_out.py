"""Sold-out speed: how long a sell-out on one channel takes to reach every other channel.

A fresh Mercato (SQLite file, or a scratch PostgreSQL database with --postgres) is
connected to the Meta, Google, Pinterest and TikTok simulators, which run in a process of
their own and are reached over HTTP. The catalog is published, then one worker (the same
``Worker`` as `mercato worker`) runs while the last unit of one variant after another is
sold on TikTok (as TikTok order intake sells it: one reservation taken as sold). Each
sell-out is timed from its commit until every other simulator holds the item as out of
stock; the p50 and p99 of those times are printed (the target is p99 <= 2 s).

    python bench/sold_out.py                 # SQLite
    python bench/sold_out.py --postgres      # PostgreSQL at 127.0.0.1:5432
    python bench/sold_out.py --rounds 50
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.events import _create_pg_database, _drop_pg_database  # noqa: E402
from bench.servers import free_port  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WATCHED = ("meta", "google", "pinterest")
GTIN = "4006381333931"


def serve_simulators(port: int) -> None:
    import uvicorn

    from mercato.sandbox.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


def product(n: int) -> dict:
    return {
        "handle": f"tee-{n}",
        "title": f"Organic Tee {n}",
        "description_html": "<p>Soft organic cotton.</p>",
        "vendor": "Acme",
        "status": "active",
        "google_category": 212,
        "options": ["Color", "Size"],
        "gender": "unisex",
        "age_group": "adult",
        "media": [{"url": f"https://cdn.example.com/tee-{n}.jpg"}],
        "variants": [
            {
                "sku": f"TEE-{n}-M",
                "option_values": ["Blue", "M"],
                "price": 2500,
                "barcode": GTIN,
                "mpn": f"MPN-{n}",
                "weight": "145",
            }
        ],
    }


def connections(sandbox: str) -> dict[str, tuple[dict, dict]]:
    return {
        "meta": ({"access_token": "bench-meta"}, {"catalog_id": "bench-catalog"}),
        "google": (
            {
                "client_id": "bench.apps.googleusercontent.com",
                "client_secret": "bench",
                "refresh_token": "1//bench",
                "token_uri": f"{sandbox}/google/token",
            },
            {"account_id": "1234567", "data_source_id": "bench"},
        ),
        "pinterest": ({"access_token": "bench-pinterest"}, {"catalog_mode": "api"}),
        "tiktok": (
            {"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "bench-tiktok"},
            {"category_id": "601226"},
        ),
    }


def out_of_stock_on(client, kind: str, item_id: str) -> bool:
    items = client.get(f"/{kind}/_sandbox/items").json()["items"]
    held = next((v for k, v in items.items() if k == item_id or k.endswith(f"~{item_id}")), None)
    text = json.dumps(held).lower()
    return held is not None and ("out of stock" in text or "out_of_stock" in text)


def run(url: str, rounds: int, timeout: float) -> list[float]:
    os.environ.update(
        MERCATO_DATABASE_URL=url, MERCATO_SECRET_KEY="bench", MERCATO_ALLOW_LOCAL_URLS="1"
    )
    import httpx

    from mercato.catalog import service as catalog
    from mercato.catalog.schemas import ProductCreate
    from mercato.channels import service as channels
    from mercato.channels import sync
    from mercato.channels.schemas import ChannelCreate
    from mercato.config import get_settings
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.inventory import counts, reservations
    from mercato.inventory.schemas import ReservationLineInput
    from mercato.jobs.worker import Worker
    from mercato.system import migrations

    get_settings.cache_clear()
    port = free_port()
    simulators = multiprocessing.get_context("spawn").Process(
        target=serve_simulators, args=(port,), daemon=True
    )
    simulators.start()
    sandbox = f"http://127.0.0.1:{port}"
    # TikTok Shop takes image files: from the simulators' image host.
    os.environ["MERCATO_MEDIA_ORIGIN"] = f"{sandbox}/cdn"
    get_settings.cache_clear()
    client = httpx.Client(base_url=sandbox, timeout=10)
    for _ in range(200):
        try:
            client.get("/google/_sandbox/items")
            break
        except httpx.TransportError:
            time.sleep(0.05)

    engine = create_db_engine()
    migrations.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        made = [catalog.create_product(session, ProductCreate(**product(n))) for n in range(rounds)]
        variants = [p.variants[0].id for p in made]
        counts.set_on_hand(session, {v: 1 for v in variants})
        ids = {}
        for kind, (credentials, settings) in connections(sandbox).items():
            ids[kind] = channels.create_channel(
                session,
                ChannelCreate(
                    kind=kind,
                    name=f"{kind}-bench",
                    base_url=f"{sandbox}/{kind}",
                    credentials=credentials,
                    settings=settings,
                ),
            ).id
    for channel_id in ids.values():
        sync.publish(sessions, channel_id)
        sync.read_back(sessions, channel_id)

    worker = Worker(engine, concurrency=8, poll=0.2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    times = []
    try:
        for n, variant_id in enumerate(variants):
            with transaction(sessions) as session:
                reservations.reserve(
                    session,
                    [ReservationLineInput(variant_id=variant_id, quantity=1)],
                    channel=ids["tiktok"],
                    reference=f"tiktok-order-{n}",
                    sell=True,
                )
            sold = time.perf_counter()
            waiting = set(WATCHED)
            while waiting and time.perf_counter() - sold < timeout:
                waiting = {k for k in waiting if not out_of_stock_on(client, k, variant_id)}
                if waiting:
                    time.sleep(0.005)
            if waiting:
                print(f"  round {n}: not out of stock on {', '.join(sorted(waiting))} in time")
                continue
            times.append(time.perf_counter() - sold)
    finally:
        worker.stop()
        thread.join(30)
        client.close()
        simulators.terminate()
        engine.dispose()
    return times


def _child(results, *args) -> None:
    try:
        results.put(run(*args))
    except Exception as exc:  # told to the parent, which would otherwise wait forever
        results.put(f"{type(exc).__name__}: {exc}")
        raise


def in_child(url: str, rounds: int, timeout: float) -> list[float]:
    # A fresh interpreter per database: no state shared between runs.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(results, url, rounds, timeout))
    child.start()
    outcome = results.get()
    child.join()
    if isinstance(outcome, str):
        raise SystemExit(f"the benchmark failed: {outcome}")
    return outcome


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--rounds", type=int, default=30, help="sell-outs to time")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for one")
    args = parser.parse_args()
    if args.postgres:
        name, url = "PostgreSQL", _create_pg_database(PG_SERVER)
        if url is None:
            print(f"PostgreSQL not reachable at {PG_SERVER}")
            return
    else:
        folder = tempfile.mkdtemp(prefix="mercato-bench-")
        os.environ["MERCATO_DATA_DIR"] = folder
        name, url = "SQLite", f"sqlite:///{folder}/mercato.db"
    try:
        times = in_child(url, args.rounds, args.timeout)
    finally:
        if args.postgres:
            _drop_pg_database(PG_SERVER, url)
    if not times:
        print(f"{name}: no sell-out reached every channel within {args.timeout} s")
        return
    print(
        f"{name}: sell-out on TikTok reached {', '.join(WATCHED)} in "
        f"p50 {percentile(times, 50) * 1000:.0f} ms, p99 {percentile(times, 99) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms ({len(times)} of {args.rounds} sell-outs; "
        f"target p99 <= 2000 ms)"
    )


if __name__ == "__main__":
    main()
