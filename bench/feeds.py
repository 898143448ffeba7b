"""Feed validation + rendering throughput and memory, and incremental push.

Generates a catalog of N variants (4 a product, HTML bodies, images, GTINs) into a fresh
SQLite database with bulk inserts, then, in a fresh process per feed, validates and renders
the Google RSS and Meta CSV feeds through the same path as `mercato feeds build`, and prints
seconds and peak memory. Memory must not grow with the catalog: compare the sizes.

Then publishes a smaller catalog to the Meta simulator, edits one variant's price and
publishes again, printing how many items the second publish sent (it must be 1).

    python bench/feeds.py                       # 100,000 and 1,000,000 variants
    python bench/feeds.py --sizes 20000 --edit-size 2000
    python bench/feeds.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432
                                                # also on PostgreSQL, in a scratch database

Seconds are wall-clock; "cpu" is the process's own CPU time, which other work on a busy
machine inflates less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VARIANTS_PER_PRODUCT = 4


def generate(database_url: str, variants: int) -> None:
    from sqlalchemy import insert, text

    from mercato.catalog.models import Media, Product, Variant
    from mercato.config import Settings
    from mercato.db import create_db_engine, new_id, utcnow
    from mercato.system.migrations import upgrade

    engine = create_db_engine(Settings(database_url=database_url))
    upgrade(engine)
    now = utcnow()
    body = "<p>Soft <b>organic</b> cotton, cut for every day.</p><ul><li>100% cotton</li></ul>"
    products = variants // VARIANTS_PER_PRODUCT
    chunk = 5000
    with engine.begin() as connection:
        for start in range(0, products, chunk):
            rows_p, rows_m, rows_v = [], [], []
            for n in range(start, min(start + chunk, products)):
                pid = new_id("prod")
                rows_p.append(
                    dict(
                        id=pid,
                        handle=f"product-{n}",
                        title=f"Organic tee {n}",
                        description_html=body,
                        description_text="Soft organic cotton, cut for every day.\n100% cotton",
                        vendor="Acme",
                        product_type="Shirts",
                        tags=[],
                        status="active",
                        google_category_id=212,
                        options=["Color", "Size"],
                        google_category_path="Apparel & Accessories > Clothing > Shirts & Tops",
                        gender="unisex",
                        age_group="adult",
                        attributes={},
                        created_at=now,
                        updated_at=now,
                    )
                )
                rows_m.append(
                    dict(
                        id=new_id("med"),
                        product_id=pid,
                        position=1,
                        url=f"https://cdn.example.com/p/{n}.jpg",
                    )
                )
                for i, size in enumerate(("S", "M", "L", "XL")):
                    code = f"40{n:08d}{i}"
                    check = (
                        10
                        - sum(
                            int(c) * (3 if k % 2 == 0 else 1) for k, c in enumerate(reversed(code))
                        )
                        % 10
                    ) % 10
                    rows_v.append(
                        dict(
                            id=new_id("var"),
                            product_id=pid,
                            position=i + 1,
                            sku=f"T-{n}-{size}",
                            option1="Blue",
                            option2=size,
                            currency="USD",
                            price=2500 + i * 100,
                            barcode=code + str(check),
                            weight_unit="g",
                            condition="new",
                            requires_shipping=True,
                            taxable=True,
                            inventory_policy="deny",
                            inventory_tracked=True,
                            attributes={},
                            created_at=now,
                            updated_at=now,
                        )
                    )
            connection.execute(insert(Product), rows_p)
            connection.execute(insert(Media), rows_m)
            connection.execute(insert(Variant), rows_v)
    if engine.dialect.name == "postgresql":
        # Planner statistics, as autovacuum would gather them after a bulk load: without
        # them the first feed reads with plans made for empty tables.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()


def render(database_url: str, kind: str, fmt: str, out: str) -> dict:
    from mercato.channels.check import Target
    from mercato.channels.feeds import write_feed
    from mercato.config import Settings
    from mercato.db import create_db_engine, make_sessionmaker

    engine = create_db_engine(Settings(database_url=database_url))
    started, cpu_started = time.perf_counter(), time.process_time()
    with make_sessionmaker(engine, read_only=True)() as session, open(out, "wb") as handle:
        stats = write_feed(
            session, Target(kind=kind, base_url="https://shop.example.com"), handle, fmt
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "kind": kind,
        "format": fmt,
        "written": stats.written,
        "left_out": stats.left_out,
        "seconds": round(seconds, 2),
        "cpu": round(cpu, 2),
        "peak_mb": round(peak_mb, 1),
        "bytes": os.path.getsize(out),
    }


def edit_one_price(sessions, variant_id: str) -> None:
    """One variant's price up by one, through the catalog service as the API does (the
    change and its event in one transaction)."""
    from mercato.catalog import service as catalog
    from mercato.catalog.models import Variant
    from mercato.catalog.schemas import ProductUpdate, VariantInput
    from mercato.db import transaction

    with transaction(sessions) as session:
        product = catalog.get_product(session, session.get(Variant, variant_id).product_id)
        wanted = [VariantInput.model_validate(v, from_attributes=True) for v in product.variants]
        for variant in wanted:
            if variant.id == variant_id:
                variant.price += 1
        catalog.update_product(session, product.id, ProductUpdate(variants=wanted))


def meta_channel(sessions):
    """A Meta channel on a simulator served in-process: (channel id, simulator, client)."""
    # The simulator's made-up address is served in-process.
    os.environ["MERCATO_ALLOW_LOCAL_URLS"] = "true"
    from fastapi.testclient import TestClient

    from mercato.channels import service
    from mercato.channels.schemas import ChannelCreate
    from mercato.db import transaction
    from mercato.sandbox.meta import create_app

    simulator = create_app()
    with transaction(sessions) as session:
        channel = service.create_channel(
            session,
            ChannelCreate(
                kind="meta",
                name="bench-meta",
                base_url="http://sandbox",
                credentials={"access_token": "t"},
                settings={"catalog_id": "bench"},
            ),
        )
    return channel.id, simulator, TestClient(simulator, base_url="http://sandbox")


def one_edit(database_url: str) -> dict:
    """Publish everything to the Meta simulator, edit one price, publish again."""
    from sqlalchemy import select

    from mercato.catalog.models import Variant
    from mercato.channels import sync
    from mercato.config import Settings
    from mercato.db import create_db_engine, make_sessionmaker

    engine = create_db_engine(Settings(database_url=database_url))
    sessions = make_sessionmaker(engine)
    channel_id, simulator, http = meta_channel(sessions)
    started = time.perf_counter()
    first = sync.publish(sessions, channel_id, http=http)
    first_seconds = time.perf_counter() - started
    with sessions() as session:
        variant_id = session.scalar(select(Variant.id).limit(1))
    edit_one_price(sessions, variant_id)
    before = simulator.state.sim.items_received
    second = sync.publish(sessions, channel_id, http=http)
    return {
        "first_sent": first.sent,
        "first_seconds": round(first_seconds, 2),
        "second_sent": second.sent,
        "items_received_by_platform": simulator.state.sim.items_received - before,
    }


def child(args) -> None:
    if args.child == "generate":
        generate(args.url, args.size)
    elif args.child == "render":
        print(json.dumps(render(args.url, args.kind, args.format, args.out)))
    else:
        print(json.dumps(one_edit(args.url)))


def run_child(*argv: str) -> dict | None:
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench/feeds.py {' '.join(argv)} failed:\n{done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip() else None


@contextmanager
def scratch_database(tmp: str, name: str, postgres: str | None) -> Iterator[str]:
    """A fresh, empty database for one run: a SQLite file, or a PostgreSQL database created
    on the given server and dropped afterwards."""
    if not postgres:
        path = Path(tmp) / f"{name}.db"
        yield f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine, text

    server = create_engine(f"{postgres.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
    database = f"mercato_bench_{name.replace('-', '_')}_{os.getpid()}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield f"{postgres.rstrip('/')}/{database}"
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        server.dispose()


def bench_feeds(tmp: str, size: int, postgres: str | None) -> None:
    where = "PostgreSQL" if postgres else "SQLite"
    with scratch_database(tmp, f"feeds-{size}", postgres) as url:
        started = time.perf_counter()
        run_child("--child", "generate", "--url", url, "--size", str(size))
        print(f"{size:>9,} variants generated on {where} in {time.perf_counter() - started:.1f} s")
        for kind, fmt in (("google", "xml"), ("meta", "csv")):
            out = str(Path(tmp) / f"{kind}-{size}.{fmt}")
            r = run_child(
                "--child", "render", "--url", url, "--kind", kind, "--format", fmt, "--out", out
            )
            rate = r["written"] / r["seconds"] if r["seconds"] else 0
            print(
                f"  {kind:<6} {fmt}: {r['written']:>9,} items in {r['seconds']:>6.2f} s "
                f"(cpu {r['cpu']:.2f} s, {rate:,.0f}/s), peak {r['peak_mb']:.0f} MB, "
                f"{r['bytes'] / 1e6:,.0f} MB written, {r['left_out']} left out"
            )
            os.remove(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--edit-size", type=int, default=20000)
    parser.add_argument(
        "--postgres",
        help="server URL without a database name: the feeds "
        "are also measured on PostgreSQL, in a scratch database",
    )
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--size", type=int)
    parser.add_argument("--kind")
    parser.add_argument("--format")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            bench_feeds(tmp, size, None)
            if args.postgres:
                bench_feeds(tmp, size, args.postgres)
        if args.edit_size:
            with scratch_database(tmp, "edit", None) as url:
                run_child("--child", "generate", "--url", url, "--size", str(args.edit_size))
                r = run_child("--child", "edit", "--url", url)
            print(
                f"Incremental push to the Meta simulator ({args.edit_size:,} variants): "
                f"first publish sent {r['first_sent']:,} in {r['first_seconds']} s; after "
                f"editing one price, the next publish sent {r['second_sent']} item(s) "
                f"(the platform received {r['items_received_by_platform']})."
            )


if __name__ == "__main__":
    main()
