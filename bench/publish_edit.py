"""The publish that sends one edit, at catalog sizes a decade apart, on SQLite and PostgreSQL.

For each size: a fresh database with N variants (4 a product, bulk inserts as in
bench/feeds.py), a Meta channel on the in-process simulator, one whole publish (the
channel's first: it compares the whole catalog), then, three times, one variant's price
changed through the catalog service (as the API does: the change and its event in one
transaction) and the next publish timed. That publish hands the pending events to the
channels (the change log), plans what the log holds and sends it; its time should not grow
with the catalog. Also timed: a publish with nothing changed.

From ``--record-from`` variants on (default 1,000,000), the first publish is planned by
the same planner but its outcome recorded as if the platform had accepted every item,
without sending them (sending a million items to the simulator takes most of an hour on
a busy 2-core machine); the simulator then takes the edited item as an upsert. The timed
publish is the same either way.

    python bench/publish_edit.py                          # 10k and 100k, SQLite only
    python bench/publish_edit.py --sizes 10000,100000,1000000 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432
                                # also on PostgreSQL, in a scratch database dropped after

Each size runs in a fresh process. Seconds are wall-clock medians of the three edits;
"load" is the machine's 1-minute load average when the edits were timed.
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


def record_first_publish(sessions, channel_id: str) -> int:
    """The state a first publish leaves (listings with what was sent, the channel compared),
    planned by sync's own planner a slice of variants at a time, nothing sent."""
    from sqlalchemy import select

    from mercato.catalog.models import Variant
    from mercato.channels import service, sync
    from mercato.channels.adapter import Outcome
    from mercato.channels.schemas import PublishResult
    from mercato.channels.target import Target
    from mercato.db import Sessions, transaction, utcnow

    both = Sessions.of(sessions)
    with sessions() as session:
        channel = service.get_channel(session, channel_id)
    target, after, recorded = Target.of(channel), "", 0
    while True:
        with sessions() as session:
            ids = list(
                session.scalars(
                    select(Variant.id).where(Variant.id > after).order_by(Variant.id).limit(20000)
                )
            )
            if not ids:
                break
            result = PublishResult(channel_id=channel_id, dry_run=False, checked=0, status="active")
            plan = sync._plan(session, channel, target, result, ids)
        after = ids[-1]
        sync._record_plan(both, channel_id, plan)
        now = utcnow()
        rows = [sync._outcome_row(e, Outcome(e.item_id, "approved"), now) for e in plan.ordered()]
        with transaction(sessions) as session:
            sync._update_listings(session, channel_id, rows)
        recorded += len(rows)
    with transaction(sessions) as session:
        written = service.get_channel(session, channel_id)
        written.compared_for = sync.target_key(written)
    return recorded


def measure(database_url: str, record: bool) -> dict:
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
    if record:
        first_sent = record_first_publish(sessions, channel_id)
    else:
        first_sent = sync.publish(sessions, channel_id, http=http).sent
    first_seconds = time.perf_counter() - started

    def edit(n: int) -> None:
        with sessions() as session:
            variant_id = session.scalar(
                select(Variant.id).order_by(Variant.id).offset(n * 997 % variants).limit(1)
            )
        edit_one_price(sessions, variant_id)

    timings, sent, checked = [], [], []
    for n in range(EDITS):
        edit(n + 1)
        before = simulator.state.sim.items_received
        started = time.perf_counter()
        result = sync.publish(sessions, channel_id, http=http)
        timings.append(time.perf_counter() - started)
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
        "first_recorded": record,
        "first_seconds": round(first_seconds, 2),
        "edit_seconds": [round(t, 4) for t in timings],
        "edit_median": statistics.median(timings),
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


def bench(tmp: str, size: int, postgres: str | None, record: bool) -> dict:
    where = "PostgreSQL" if postgres else "SQLite"
    with scratch_database(tmp, f"publish-edit-{size}", postgres) as url:
        started = time.perf_counter()
        run_child("--child", "generate", "--url", url, "--size", str(size))
        seeded = time.perf_counter() - started
        r = run_child("--child", "measure", "--url", url, *(["--record"] if record else []))
    print(
        f"{where:<10} {r['variants']:>9,} variants (seeded in {seeded:.0f} s): first publish "
        f"{'recorded' if record else 'sent'} {r['first_sent']:,} in {r['first_seconds']:.1f} s; "
        f"one price edit: publish "
        f"{r['edit_median'] * 1000:.0f} ms (median of {EDITS}: "
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
    parser.add_argument("--record-from", type=int, default=1_000_000)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--size", type=int)
    args = parser.parse_args()
    if args.child == "generate":
        generate(args.url, args.size)
        return
    if args.child == "measure":
        print(json.dumps(measure(args.url, args.record)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    servers = ([] if args.no_sqlite else [None]) + ([args.postgres] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        for server in servers:
            results = [bench(tmp, size, server, size >= args.record_from) for size in sizes]
            base = results[0]["edit_median"]
            where = "PostgreSQL" if server else "SQLite"
            print(
                f"{where}: one-edit publish relative to {results[0]['variants']:,} variants: "
                + ", ".join(f"{r['variants']:,}: {r['edit_median'] / base:.2f}x" for r in results),
                flush=True,
            )


if __name__ == "__main__":
    main()
