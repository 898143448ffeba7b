"""Webhook delivery throughput: events/s from the outbox to a local receiver.

Records N events (spread over keys, so per-key ordering applies), then runs one worker
(the same ``Worker`` as `mercato worker`) until every delivery has succeeded, and prints
events/s. The receiver is a plain HTTP server on 127.0.0.1 in a process of its own,
so that it does not share the worker's interpreter.

    python bench/events.py                      # SQLite, then PostgreSQL if it answers
    python bench/events.py --db sqlite --events 5000 --concurrency 16
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def receive(port_out, counter) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            with counter.get_lock():
                counter.value += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_port)
    server.serve_forever()


def run(url: str, events: int, keys: int, concurrency: int) -> tuple[float, int]:
    # The receiver listens on 127.0.0.1: local endpoints are allowed, as in development.
    os.environ.update(
        MERCATO_DATABASE_URL=url, MERCATO_SECRET_KEY="bench", MERCATO_ALLOW_LOCAL_URLS="1"
    )
    from sqlalchemy import func, select

    from mercato import events as outbox
    from mercato.config import get_settings
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.jobs.worker import Worker
    from mercato.system import migrations
    from mercato.webhooks import service
    from mercato.webhooks.models import WebhookDelivery
    from mercato.webhooks.schemas import EndpointCreate

    get_settings.cache_clear()
    engine = create_db_engine()
    migrations.upgrade(engine)
    sessions = make_sessionmaker(engine)

    ports, counter = multiprocessing.Queue(), multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(target=receive, args=(ports, counter), daemon=True)
    receiver.start()
    port = ports.get(timeout=10)
    with transaction(sessions) as session:
        service.create_endpoint(session, EndpointCreate(url=f"http://127.0.0.1:{port}/"))
    for start in range(0, events, 500):
        with transaction(sessions) as session:
            for n in range(start, min(events, start + 500)):
                outbox.record(session, "product.updated", {"n": n}, key=f"product-{n % keys}")

    worker = Worker(engine, concurrency=concurrency)
    thread = threading.Thread(target=worker.run)
    started = time.perf_counter()
    thread.start()
    while counter.value < events and time.perf_counter() - started < 600:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    worker.stop()
    thread.join()
    with sessions() as session:
        done = session.scalar(select(func.count()).where(WebhookDelivery.state == "succeeded"))
    receiver.terminate()
    engine.dispose()
    return elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    targets = []
    if args.db in ("sqlite", "both"):
        targets.append(("SQLite", None))
    if args.db in ("postgres", "both"):
        targets.append(("PostgreSQL", PG_SERVER))
    for name, server in targets:
        if server is None:
            folder = tempfile.mkdtemp(prefix="mercato-bench-")
            os.environ["MERCATO_DATA_DIR"] = folder
            url = f"sqlite:///{folder}/mercato.db"
            elapsed, done = _in_child(url, args)
        else:
            url = _create_pg_database(server)
            if url is None:
                print(f"{name}: not reachable at {server}, skipped")
                continue
            try:
                elapsed, done = _in_child(url, args)
            finally:
                _drop_pg_database(server, url)
        print(
            f"{name}: {done} events delivered in {elapsed:.2f} s = "
            f"{done / elapsed:,.0f} events/s (1 worker, concurrency {args.concurrency}, "
            f"{args.keys} keys)"
        )


def _child(results, *args) -> None:
    results.put(run(*args))


def _in_child(url: str, args) -> tuple[float, int]:
    # A fresh interpreter per database: no state shared between the two runs.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(
        target=_child, args=(results, url, args.events, args.keys, args.concurrency)
    )
    child.start()
    while True:  # a child that died says so instead of leaving us waiting
        try:
            outcome = results.get(timeout=1)
            break
        except queue.Empty:
            if not child.is_alive():
                raise SystemExit(f"the run on {url} failed (exit code {child.exitcode})") from None
    child.join()
    return outcome


def _create_pg_database(server: str) -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    name = f"mercato_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        return None
    finally:
        admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(server: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
