"""Inbound WhatsApp messages: acknowledged/s and ack latency, and the time from a webhook
to the message on an open event stream (what the dashboard's live view reads).

Runs `mercato serve` on 127.0.0.1 against a fresh database (SQLite, or a PostgreSQL
database made for the run and dropped after it) with one connected WhatsApp number. C
concurrent senders post N signed notifications (each a new text message from one of 500
people, as Meta sends them), then post every one again (Meta redelivers: each must be
answered as a duplicate). Then, with a client following `/api/v1/events/stream` for
`message.received`, messages are sent one at a time at a steady pace and the time from
sending each to seeing it on the stream is measured. One run per size, so growth shows.

    python bench/inbox.py                                   # SQLite: 100, 1,000, 10,000
    python bench/inbox.py --db postgres --messages 1000 10000 --senders 32 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadclient import Connection, percentile  # noqa: E402 - after the path is set
from bench.servers import free_port, postgres_cpu, server_cpu, wait_up  # noqa: E402
from bench.webhooks import own_database  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "bench-app-secret"
PEOPLE = 500


def notification(n: int, marker: str = "") -> dict:
    """Message ``n`` in the shape Meta posts (docs/platforms/whatsapp.md)."""
    person = n % PEOPLE  # a person keeps their profile name from one message to the next
    wa_id = str(15550000000 + person)
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": f"Buyer {person}"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": f"wamid.bench{marker}{n}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": f"is it in stock? {marker}{n}"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def signed(payload: dict) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(payload)
    digest = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


async def send_all(base_url: str, path: str, deliveries, senders: int):
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    cursor = iter(deliveries)

    async def sender() -> None:
        connection = Connection.to(base_url)
        try:
            for raw, headers in cursor:
                started = time.perf_counter()
                response = await connection.post(path, content=raw, headers=headers)
                latencies.append(time.perf_counter() - started)
                key = str(response.status_code)
                if response.status_code == 200:
                    key = "duplicate" if response.json()["duplicates"] else "stored"
                statuses[key] = statuses.get(key, 0) + 1
        finally:
            await connection.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, statuses


def to_the_stream(base: str, path: str, token: str, count: int, every: float) -> list[float]:
    """Send ``count`` messages one at a time, ``every`` seconds apart, while a client
    follows the event stream; the seconds from each send to its event arriving."""
    sent_at: dict[str, float] = {}
    seen: dict[str, float] = {}
    ready, done = threading.Event(), threading.Event()

    def follow() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{base}/api/v1/events/stream"
        with httpx.stream(
            "GET", url, params={"type": "message.received"}, headers=headers, timeout=None
        ) as response:
            ready.set()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    text = orjson.loads(line[5:])["data"]["text"]
                    seen[text.rsplit(" ", 1)[-1]] = time.perf_counter()
                    if len(seen) >= count:
                        done.set()
                        return

    threading.Thread(target=follow, daemon=True).start()
    ready.wait(30)
    time.sleep(0.5)
    with httpx.Client(base_url=base) as client:
        for n in range(count):
            raw, headers = signed(notification(n, marker="live"))
            sent_at[f"live{n}"] = time.perf_counter()
            client.post(path, content=raw, headers=headers)
            time.sleep(every)
    done.wait(30)
    return [seen[k] - sent_at[k] for k in sent_at if k in seen]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--live", type=int, default=200, help="messages timed to the stream")
    parser.add_argument("--processes", type=int, default=1, help="`mercato serve` workers")
    parser.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="serve without uvicorn's line per request (as behind a proxy that logs them)",
    )
    parser.add_argument("--pg-server", default=PG_SERVER)
    args = parser.parse_args()
    for messages in args.messages:
        measure(args, messages)


def measure(args, messages: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="mercato-bench-"))
    os.environ.update(MERCATO_DATA_DIR=str(data_dir), MERCATO_SECRET_KEY="bench")
    os.environ.pop("MERCATO_DATABASE_URL", None)
    with own_database(args.db, args.pg_server, "inbox"):
        run(args, messages, data_dir)


def run(args, messages: int, data_dir: Path) -> None:
    from mercato.auth import service as auth_service
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.inbox import accounts
    from mercato.inbox.schemas import AccountCreate
    from mercato.system import migrations

    engine = create_db_engine()
    migrations.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        account = accounts.create_account(
            session,
            AccountCreate(
                name="bench",
                phone_number_id=PHONE_NUMBER_ID,
                access_token="unused",
                app_secret=APP_SECRET,
                verify_token="unused",
            ),
        )
        path = accounts.webhook_path(account)
        token = auth_service.create_token(session, "bench", ["events:read"]).secret
    engine.dispose()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    mercato = str(Path(sys.executable).parent / "mercato")
    log = open(data_dir / "serve.log", "w")  # noqa: SIM115
    serve = subprocess.Popen(
        [mercato, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
        + ([] if args.access_log else ["--no-access-log"])
        + ["--workers", str(args.processes)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ,
    )
    try:
        wait_up(f"{base}/healthz")
        warm = [signed(notification(n, marker="warm")) for n in range(2 * args.senders)]
        deliveries = [signed(notification(n)) for n in range(messages)]
        uvloop.run(send_all(base, path, warm, args.senders))
        cpu, database, started = server_cpu(serve.pid), postgres_cpu(), time.perf_counter()
        latencies, statuses = uvloop.run(send_all(base, path, deliveries, args.senders))
        acked_in = time.perf_counter() - started
        cpu, database = server_cpu(serve.pid) - cpu, postgres_cpu() - database
        again = time.perf_counter()
        repeat_latencies, repeat_statuses = uvloop.run(
            send_all(base, path, deliveries, args.senders)
        )
        repeated_in = time.perf_counter() - again
        live = to_the_stream(base, path, token, args.live, every=0.02)
    finally:
        serve.terminate()
        serve.wait(30)

    ms = lambda values, q: percentile(values, q) * 1000  # noqa: E731
    where = "PostgreSQL" if args.db == "postgres" else "SQLite"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{where}, {args.processes} API process(es)"
        f"{'' if args.access_log else ' without access log'}: {messages} new messages from "
        f"{PEOPLE} people, then each again, by {args.senders} senders; load average {load}"
    )
    print(f"  new messages      {messages / acked_in:,.0f} acknowledged/s; statuses {statuses}")
    print(f"  ack latency       p50 {ms(latencies, 0.5):.1f} ms   p99 {ms(latencies, 0.99):.1f} ms")
    print(
        f"  CPU per message   server {cpu / messages * 1000:.2f} ms"
        + (f", PostgreSQL {database / messages * 1000:.2f} ms" if args.db == "postgres" else "")
    )
    duplicates = repeat_statuses.get("duplicate", 0)
    print(
        f"  redeliveries      {messages / repeated_in:,.0f}/s, p99 "
        f"{ms(repeat_latencies, 0.99):.1f} ms; {duplicates} of {messages} answered as "
        f"duplicates ({'each one' if duplicates == messages else 'MISMATCH'})"
    )
    print(
        f"  to the stream     {len(live)} of {args.live} seen; p50 {ms(live, 0.5):.1f} ms   "
        f"p99 {ms(live, 0.99):.1f} ms (webhook sent -> event on /api/v1/events/stream)"
    )


if __name__ == "__main__":
    main()
