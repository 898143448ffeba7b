"""The publish that sends one edit, at catalog sizes a decade apart, on SQLite and PostgreSQL.

For each size: a fresh database with N variants (4 a product, bulk inserts as in
bench/feeds.py), a Meta channel on the in-process simulator, one whole publish (the
channel's first: it compares the whole catalog), then, three times, one variant's price
changed through the catalog service (as the API does: the change and its event in one
transaction) and the next publish timed. That publish hands the pending events to the
channels (the change log), plans what the log holds and sends it; its time should not grow
with the catalog. Also timed: a publish with nothing changed.

From ``--seed-from`` variants on (default 1,000,000), the first publish is not run: the
listings it would leave are written in bulk (see ``seed_listings``; a million items
through the simulator take most of an hour on a busy 2-core machine), and the simulator
takes the edited items as upserts. Use the same mode at every size to compare sizes.

    python bench/publish_edit.py                          # 10k and 100k, SQLite only
    python bench/publish_edit.py --sizes 10000,100000,1000000 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432
                                # also on PostgreSQL, in a scratch database dropped after

Each size runs in a fresh process. Times are medians of the three edits: wall-clock, and
"cpu", this process's own CPU time (SQLite works inside it; PostgreSQL's server does not
count), which a busy machine inflates less; "load" is the 1-minute load average then.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feeds import edit_one_price, generate, meta_channel, scratch_database  # noqa: E402  (bench/ is not a package)

EDITS = 3


def seed_listings(sessions, channel_id: str) -> int:
    """Listings for every variant as a first publish leaves them (approved, an item id, a
    pushed hash), written by one INSERT ... SELECT, and the channel marked compared.

    The pushed hash is a placeholder, not the hash of the payload: a variant is sent on its
    first edit with its product's other variants (4 items where a published catalog sends
    1), which costs the timed publish a little more, the same at every size."""
    from sqlalchemy import func, insert, literal, select

    from mercato.catalog.models import Variant
    from mercato.channels import service, sync
    from mercato.channels.models import Listing
    from mercato.db import JSONType, UTCDateTime, transaction, utcnow

    now = literal(utcnow(), UTCDateTime())
    columns = {
        "id": literal("lst_") + Variant.id,
        "channel_id": literal(channel_id),
        "variant_id": Variant.id,
        "product_id": Variant.product_id,
        "item_id": Variant.id,
        "content_hash": literal("seeded"),
        "pushed_hash": literal("seeded"),
        "pushed_availability": literal("in:None"),
        "verdict": literal("approved"),
        "issues": literal([], JSONType()),
        "pushed_at": now,
        "confirmed_at": now,
        "updated_at": now,
    }
    with transaction(sessions) as session:
        session.execute(
            insert(Listing.__table__).from_select(
                list(columns), select(*[c.label(name) for name, c in columns.items()])
            )
        )
        written = service.get_channel(session, channel_id)
        written.compared_for = sync.target_key(written)
        count = session.scalar(select(func.count()).select_from(Listing))
    if session.get_bind().dialect.name == "postgresql":
        with sessions() as session:
            session.connection().exec_driver_sql("ANALYZE channel_listings")
            session.commit()
    return count


def measure(database_url: str, seed: bool) -> dict:
    from sqlalchemy import func, select

    from mercato.catalog.models import Variant
    from mercato.channels import sync
    from mercato.config import Settings
    from mercato.db import create_db_engine, make_sessionmaker
    from mercato.jobs import registry

    # Every job and consumer registered, as in a worker (not timed: once per process).
    registry.load_all()
    engine = create_db_engine(Settings(database_url=database_url))
    sessions = make_sessionmaker(engine)
    channel_id, simulator, http = meta_channel(sessions)
    with sessions() as session:
        variants = session.scalar(select(func.count()).select_from(Variant))
    started = time.perf_counter()
    if seed:
        first_sent = seed_listings(sessions, channel_id)
    else:
        first_sent = sync.publish(sessions, channel_id, http=http).sent
    first_seconds = time.perf_counter() - started

    def edit(n: int) -> None:
        with sessions() as session:
            variant_id = session.scalar(
                select(Variant.id).order_by(Variant.id).offset(n * 997 % variants).limit(1)
            )
        edit_one_price(sessions, variant_id)

    timings, cpu, sent, checked = [], [], [], []
    for n in range(EDITS):
        edit(n + 1)
        before = simulator.state.sim.items_received
        started, cpu_started = time.perf_counter(), time.process_time()
        result = sync.publish(sessions, channel_id, http=http)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        sent.append(simulator.state.sim.items_received - before)
        checked.append(result.checked)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    idle = sync.publish(sessions, channel_id, http=http)
    idle_seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "variants": variants,
        "first_sent": first_sent,
        "first_seeded": seed,
        "first_seconds": round(first_seconds, 2),
        "edit_seconds": [round(t, 4) for t in timings],
        "edit_median": statistics.median(timings),
        "edit_cpu": statistics.median(cpu),
        "edit_sent": sent,
        "edit_checked": checked,
        "idle_seconds": round(idle_seconds, 4),
        "idle_checked": idle.checked,
        "load": round(load, 2),
    }


def run_child(*argv: str) -> dict | None:
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench/publish_edit.py {' '.join(argv)} failed:\n{done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip() else None


def bench(tmp: str, size: int, postgres: str | None, seed: bool) -> dict:
    where = "PostgreSQL" if postgres else "SQLite"
    with scratch_database(tmp, f"publish-edit-{size}", postgres) as url:
        started = time.perf_counter()
        run_child("--child", "generate", "--url", url, "--size", str(size))
        seeded = time.perf_counter() - started
        r = run_child("--child", "measure", "--url", url, *(["--seed"] if seed else []))
    print(
        f"{where:<10} {r['variants']:>9,} variants (seeded in {seeded:.0f} s): first publish "
        f"{'seeded' if seed else 'sent'} {r['first_sent']:,} in {r['first_seconds']:.1f} s; "
        f"one price edit: publish "
        f"{r['edit_median'] * 1000:.0f} ms, cpu {r['edit_cpu'] * 1000:.0f} ms (median of {EDITS}: "
        f"{', '.join(f'{t * 1000:.0f}' for t in r['edit_seconds'])} ms; sent {r['edit_sent']}, "
        f"planned {r['edit_checked']}); nothing changed: {r['idle_seconds'] * 1000:.0f} ms; "
        f"load {r['load']}",
        flush=True,
    )
    return r


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--postgres",
        help="server URL without a database name: also measured on PostgreSQL, in a "
        "scratch database created and dropped here",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--seed-from", type=int, default=1_000_000)
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--size", type=int)
    args = parser.parse_args()
    if args.child == "generate":
        generate(args.url, args.size)
        return
    if args.child == "measure":
        print(json.dumps(measure(args.url, args.seed)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    servers = ([] if args.no_sqlite else [None]) + ([args.postgres] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        for server in servers:
            results = [bench(tmp, size, server, size >= args.seed_from) for size in sizes]
            base = results[0]["edit_median"]
            where = "PostgreSQL" if server else "SQLite"
            print(
                f"{where}: one-edit publish relative to {results[0]['variants']:,} variants: "
                + ", ".join(
                    f"{r['variants']:,}: {r['edit_median'] / base:.2f}x "
                    f"(cpu {r['edit_cpu'] / results[0]['edit_cpu']:.2f}x)"
                    for r in results
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
