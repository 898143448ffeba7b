"""Offer codes under load: validation and redemption throughput at the till API, beside
a bare endpoint measured in the same run on the same server.

Starts the API as `mercato serve` does (uvicorn on 127.0.0.1), makes an offer whose
public code is capped at ``--cap`` uses, then, from ``--clients`` keep-alive
connections, each a bounded loop of requests:

1. ``bare``: ``POST /bench/bare``, the same unit of work as the handlers around only a
   conditional UPDATE of one counter row (``used < cap``), the floor of any capped
   redemption;
2. ``validate``: ``POST /api/v1/pos/validate`` for the code (reads only);
3. ``redeem``: ``POST /api/v1/pos/redemptions``, each a different ticket, all on the one
   code: ``--cap`` of them take a slot, the rest are refused (409) once it is full.

Prints requests/s, p50 and p99 for each, redemptions/s over the accepted ones, and
checks that exactly ``--cap`` were redeemed. Also times making ``--codes`` single-use
codes in one batched insert, in-process. Asserts nothing about time.

    python bench/offers.py                 # PostgreSQL at 127.0.0.1 (a throwaway db)
    python bench/offers.py --db sqlite
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package and bench.loadclient

from bench.loadclient import Connection, percentile  # noqa: E402 - path set
from bench.servers import free_port, start_app  # noqa: E402
from mercato.web.sessions import WriteSession  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CODE = "BENCH"


def bench_app():
    """The product's app plus ``POST /bench/bare``: only the guarded counter UPDATE."""
    from fastapi import Response

    from mercato.app import serve_app
    from mercato.db import create_db_engine

    app = serve_app(engine=create_db_engine(), run_worker=False)

    @app.post("/bench/bare", status_code=204)
    def bare(session: WriteSession):
        taken = session.execute(
            text("UPDATE bench_counter SET used = used + 1 WHERE id = 1 AND used < cap")
        ).rowcount
        return Response(status_code=204 if taken == 1 else 409)

    return app


def prepare(cap: int) -> str:
    from mercato.auth import service as auth_service
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.offers import service
    from mercato.offers.schemas import OfferCreate
    from mercato.system import migrations

    engine = create_db_engine()
    migrations.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        token = auth_service.create_token(session, "bench", ["pos:write"]).secret
        service.create_offer(
            session,
            OfferCreate(name="Bench", kind="percentage", value=10, code=CODE, max_uses=cap),
        )
        session.execute(
            text(
                "CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, used INTEGER NOT NULL, "
                "cap INTEGER NOT NULL, CHECK (used <= cap))"
            )
        )
        session.execute(text("INSERT INTO bench_counter VALUES (1, 0, :cap)"), {"cap": 10**9})
    engine.dispose()
    return token


def time_codes(count: int) -> float:
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.offers import service
    from mercato.offers.models import Offer
    from mercato.offers.schemas import CodesCreate

    engine = create_db_engine()
    with transaction(make_sessionmaker(engine)) as session:
        offer_id = session.query(Offer.id).first()[0]
    began = time.perf_counter()
    with transaction(make_sessionmaker(engine)) as session:
        service.generate_codes(session, offer_id, CodesCreate(count=count))
    took = time.perf_counter() - began
    engine.dispose()
    return took


async def phase(base: str, token: str, clients: int, requests: int, make) -> dict:
    """``requests`` requests from ``clients`` connections, each a bounded loop."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}"}

    async def client(n: int) -> None:
        connection = Connection.to(base, headers)
        try:
            for i in range(n, requests, clients):
                method, path, body = make(i)
                began = time.perf_counter()
                answer = await connection.request(method, path, json=body)
                latencies.append(time.perf_counter() - began)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        finally:
            await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    took = time.perf_counter() - began
    return {
        "rate": requests / took,
        "p50": percentile(latencies, 0.5) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "statuses": dict(sorted(statuses.items())),
        "took": took,
    }


async def run(base: str, token: str, clients: int, requests: int) -> dict:
    ticket = {"location_id": "bench", "subtotal": 5000, "currency": "USD", "code": CODE}
    return {
        "bare": await phase(
            base, token, clients, requests, lambda i: ("POST", "/bench/bare", None)
        ),
        "validate": await phase(
            base,
            token,
            clients,
            requests,
            lambda i: (
                "POST",
                "/api/v1/pos/validate",
                {"code": CODE, "subtotal": 5000, "currency": "USD"},
            ),
        ),
        "redeem": await phase(
            base,
            token,
            clients,
            requests,
            lambda i: ("POST", "/api/v1/pos/redemptions", {**ticket, "ticket": f"T{i}"}),
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--requests", type=int, default=2000, help="per phase")
    parser.add_argument("--cap", type=int, default=1000, help="the code's cap")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--codes", type=int, default=100_000, help="bulk codes to time")
    parser.add_argument("--pg-server", default=PG_SERVER)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mercato-offers-") as data_dir:
        database = None
        if args.db == "sqlite":
            url = f"sqlite:///{data_dir}/mercato.db"
        else:
            database = f"mercato_offers_{uuid.uuid4().hex[:10]}"
            with create_engine(args.pg_server, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'CREATE DATABASE "{database}"'))
            url = (
                make_url(args.pg_server)
                .set(database=database)
                .render_as_string(hide_password=False)
            )
        os.environ.update(
            MERCATO_DATABASE_URL=url, MERCATO_DATA_DIR=data_dir, MERCATO_SECRET_KEY="bench"
        )
        try:
            token = prepare(args.cap)
            port = free_port()
            server = start_app("offers:bench_app", port, dict(os.environ))
            try:
                found = asyncio.run(
                    run(f"http://127.0.0.1:{port}", token, args.clients, args.requests)
                )
            finally:
                server.terminate()
                server.wait(10)
            codes_took = time_codes(args.codes) if args.codes else None
            engine = create_engine(url)
            with engine.connect() as c:
                used = c.execute(text("SELECT used FROM offers")).scalar()
                redeemed = c.execute(
                    text("SELECT count(*) FROM offer_redemptions WHERE status = 'redeemed'")
                ).scalar()
            engine.dispose()
        finally:
            if database:
                with create_engine(args.pg_server, isolation_level="AUTOCOMMIT").connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    print(f"database: {args.db}; {args.clients} clients, {args.requests} requests per phase")
    for name, f in found.items():
        print(
            f"{name:9} {f['rate']:8.0f} req/s  p50 {f['p50']:6.1f} ms  p99 {f['p99']:6.1f} ms  "
            f"statuses {f['statuses']}"
        )
    accepted = found["redeem"]["statuses"].get(201, 0)
    print(
        f"redemptions: {accepted} accepted of {args.requests} (cap {args.cap}); "
        f"{accepted / found['redeem']['took']:.0f} redemptions/s over the redeem phase; "
        f"redeem/bare ratio {found['redeem']['rate'] / found['bare']['rate']:.2f}"
    )
    ok = used == redeemed == min(args.cap, args.requests)
    print(f"ledger: offer used {used}, redemptions {redeemed}: {'OK' if ok else 'MISMATCH'}")
    if codes_took is not None:
        print(f"bulk codes: {args.codes} single-use codes made in {codes_took:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
