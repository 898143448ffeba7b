"""The live stream: commit-safe order, resumable by Last-Event-ID, woken across processes."""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import func, select

from mercato import events, wakeups
from mercato.app import create_app
from mercato.db import create_db_engine, transaction
from mercato.events import stream
from mercato.events.models import Event
from mercato.events.service import EventFilters
from mercato.events.stream import MAX_GAP_WAIT, MIN_GAP_WAIT, CommitOrderReader

ALL = EventFilters()


def record(sessions, type="order.created", key="ord_1", **payload):
    with transaction(sessions) as session:
        return events.record(session, type, payload, key=key)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def reader_after_a_marker(sessions) -> CommitOrderReader:
    """A reader starting after a fresh event (the tables are emptied between tests, but
    PostgreSQL's sequence goes on: starting from 0 would first wait on that gap)."""
    return CommitOrderReader(after=record(sessions, "marker.recorded", "marker").seq, clock=Ticks())


def read_soon(reader, sessions, timeout=10.0):
    """Read until something comes. A gap settles once every transaction that was in flight
    when it was seen has ended, and tests running beside this one have some of those."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reader.clock.now += MIN_GAP_WAIT
        got = read(reader, sessions)
        if got:
            return got
        time.sleep(0.05)
    return []


def read(reader, sessions, filters=ALL):
    with sessions() as session:
        return [(e.type, e.key) for e in reader.read(session, filters)]


def test_the_reader_hands_out_each_event_once_in_order(sessions):
    reader = reader_after_a_marker(sessions)
    record(sessions, "order.created", "a")
    record(sessions, "product.updated", "b")
    assert read(reader, sessions) == [("order.created", "a"), ("product.updated", "b")]
    assert read(reader, sessions) == []
    record(sessions, "order.paid", "a")
    record(sessions, "product.updated", "c")
    assert read(reader, sessions, EventFilters(types=["order.*"])) == [("order.paid", "a")]


@pytest.fixture
def postgres(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: seqs become visible in commit order")


def test_a_late_commit_below_a_visible_seq_is_not_skipped(postgres, sessions):
    reader = reader_after_a_marker(sessions)
    slow = sessions()
    slow.begin()
    events.record(slow, "order.created", {}, key="slow")
    slow.flush()  # holds the lower seq, not committed yet
    record(sessions, "order.created", "fast")
    assert read(reader, sessions) == []  # "fast" waits behind the open transaction
    slow.commit()
    slow.close()
    assert read(reader, sessions) == [("order.created", "slow"), ("order.created", "fast")]


def test_a_rolled_back_gap_is_passed_once_its_transaction_ended(postgres, sessions):
    reader = reader_after_a_marker(sessions)
    doomed = sessions()
    doomed.begin()
    events.record(doomed, "order.created", {}, key="doomed")
    doomed.flush()
    record(sessions, "order.created", "kept")
    assert read(reader, sessions) == []
    reader.clock.now += 10
    assert read(reader, sessions) == []  # still open: it might commit
    doomed.rollback()
    doomed.close()
    assert read_soon(reader, sessions) == [("order.created", "kept")]


def test_a_gap_is_waited_for_at_most_max_gap_wait(postgres, sessions):
    reader = reader_after_a_marker(sessions)
    stuck = sessions()
    stuck.begin()
    events.record(stuck, "order.created", {}, key="stuck")
    stuck.flush()
    record(sessions, "order.created", "next")
    assert read(reader, sessions) == []
    reader.clock.now += MAX_GAP_WAIT - 1
    assert read(reader, sessions) == []
    reader.clock.now += 2
    assert read(reader, sessions) == [("order.created", "next")]
    stuck.rollback()
    stuck.close()


def test_a_reader_resuming_from_long_ago_crosses_old_gaps(postgres, sessions):
    old = record(sessions, "order.created", "old")
    with transaction(sessions) as session:  # deleted (say, pruned) since
        session.delete(session.get(Event, old.seq))
    record(sessions, "order.created", "new")
    reader = CommitOrderReader(after=0, clock=Ticks())
    assert read(reader, sessions) == []  # the first look only notes the gap
    assert read_soon(reader, sessions) == [("order.created", "new")]


def test_starting_now_still_catches_a_commit_in_flight(postgres, sessions):
    record(sessions, "order.created", "old")
    slow = sessions()
    slow.begin()
    events.record(slow, "order.created", {}, key="in flight")
    slow.flush()
    record(sessions, "order.created", "just before")
    with sessions() as session:
        reader = CommitOrderReader.from_now(session)
    slow.commit()
    slow.close()
    record(sessions, "order.created", "after")
    assert read(reader, sessions) == [("order.created", "in flight"), ("order.created", "after")]


# ---------------------------------------------------------------- over HTTP


@pytest.fixture
def server(engine, settings) -> Iterator[str]:
    """The API in a real server on 127.0.0.1, with its own engine (as another process has)."""
    server_engine = create_db_engine(settings)
    config = uvicorn.Config(
        create_app(settings, server_engine), host="127.0.0.1", port=0, log_level="warning"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if uv.started:
            break
        time.sleep(0.05)
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)
    server_engine.dispose()


def messages(response) -> Iterator[dict]:
    message = {}
    for line in response.iter_lines():
        if not line:
            if "data" in message:
                yield message
            message = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            message[field] = value.strip()


def take(url, headers, count, params=None, timeout=15.0) -> list[dict]:
    """The first ``count`` messages (the timeout only bounds the wait)."""
    got = []
    with httpx.stream(
        "GET", f"{url}/api/v1/events/stream", headers=headers, params=params, timeout=timeout
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for message in messages(response):
            got.append(message)
            if len(got) == count:
                break
    return got


def newest_seq(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.max(Event.seq))) or 0


def test_stream_filters_resumes_and_hears_other_processes(
    server, sessions, admin, settings, monkeypatch
):
    record(sessions, "order.created", "before")  # before the stream's start: not sent
    start = newest_seq(sessions)
    headers = {**admin, "Last-Event-ID": str(start)}

    def later():
        time.sleep(0.5)
        record(sessions, "product.updated", "p1")
        record(sessions, "order.created", "o1")
        record(sessions, "order.paid", "o1")

    threading.Thread(target=later).start()
    got = take(server, headers, 2, params={"type": "order.*"})
    assert [(m["event"], json.loads(m["data"])["key"]) for m in got] == [
        ("order.created", "o1"),
        ("order.paid", "o1"),
    ]
    assert [int(m["id"]) for m in got] == [start + 2, start + 3]  # the seq: a resume point

    # Reconnecting with the last id gets what happened while away, nothing twice.
    record(sessions, "order.cancelled", "o1")
    resumed = take(
        server,
        {**admin, "Last-Event-ID": got[-1]["id"]},
        1,
        params={"type": "order.*", "key": "o1"},
    )
    assert [m["event"] for m in resumed] == ["order.cancelled"]

    # An event committed by another process wakes the stream (LISTEN/NOTIFY on PostgreSQL).
    code = (
        "from mercato import events\nfrom mercato.db import create_db_engine, "
        "make_sessionmaker, transaction\nwith transaction(make_sessionmaker("
        "create_db_engine())) as s:\n    events.record(s, 'order.refunded', {}, key='o1')"
    )

    def elsewhere():
        time.sleep(1.0)
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

    if "postgresql" in settings.sqlalchemy_url:
        # No poll within the wait: only the notification can wake the stream.
        monkeypatch.setattr(stream, "POLL", 3600.0)
    threading.Thread(target=elsewhere).start()
    remote = take(server, {**admin, "Last-Event-ID": resumed[-1]["id"]}, 1, timeout=30)
    assert [m["event"] for m in remote] == ["order.refunded"]


def test_stream_needs_the_events_scope(server, make_token):
    # The first request to a fresh app builds its schemas: slow on a busy machine.
    response = httpx.get(
        f"{server}/api/v1/events/stream", headers=make_token("orders:read"), timeout=30
    )
    assert response.status_code == 403


def test_events_handed_over_by_a_fresh_process_reach_every_consumer(settings, sessions):
    """A process that has imported no consumer (a CLI command) still hands each event to
    all of them: the webhook endpoint gets its delivery; nothing is dropped."""
    from mercato.webhooks import service as webhooks
    from mercato.webhooks.models import WebhookDelivery
    from mercato.webhooks.schemas import EndpointCreate

    with transaction(sessions) as session:
        endpoint = webhooks.create_endpoint(
            session, EndpointCreate(url="https://93.184.215.14/hook", event_types=["order.*"])
        )
    record(sessions, "order.refunded", "o1")
    code = (
        "from mercato.db import create_db_engine, make_sessionmaker, transaction, utcnow\n"
        "from mercato.events import service\n"
        "with transaction(make_sessionmaker(create_db_engine())) as s:\n"
        "    print(service.dispatch_pending(s, utcnow()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True
    )
    assert done.stdout.split() == ["1"]
    with sessions() as session:
        deliveries = session.scalars(select(WebhookDelivery)).all()
    assert [d.endpoint_id for d in deliveries] == [endpoint.endpoint.id]


def test_a_wake_up_after_a_rolled_back_savepoint_still_reaches_other_processes(
    postgres, sessions, engine
):
    """A NOTIFY sent inside a savepoint that was rolled back is dropped by PostgreSQL; the
    wake-up signalled after it by the surviving work is sent again."""
    listener = psycopg.connect(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    )
    with listener:
        listener.execute(f"LISTEN {wakeups.CHANNEL}")
        with transaction(sessions) as session:
            try:
                with session.begin_nested():
                    wakeups.signal(session)
                    raise RuntimeError("this event failed")
            except RuntimeError:
                pass
            wakeups.signal(session)  # the batch's other events committed
        heard = list(listener.notifies(timeout=2, stop_after=1))
    assert [n.channel for n in heard] == [wakeups.CHANNEL]


def test_a_savepoint_rolled_back_keeps_the_wake_up_of_the_work_around_it(sessions):
    """One event of a batch failed in its savepoint; the batch's committed work still
    wakes the readers in this process (the embedded worker, live streams)."""
    woken = []
    unsubscribe = wakeups.LOCAL.subscribe(lambda: woken.append(1))
    try:
        with transaction(sessions) as session:
            wakeups.signal(session)
            try:
                with session.begin_nested():
                    session.execute(select(func.count()).select_from(Event))
                    raise RuntimeError("this event failed")
            except RuntimeError:
                pass
        assert woken
        # On PostgreSQL a listener of this process may relay the NOTIFY once more, a moment
        # later: let it land before counting.
        time.sleep(0.5)
        seen = len(woken)
        with transaction(sessions) as session:  # nothing signalled: nobody woken
            session.execute(select(func.count()).select_from(Event))
        time.sleep(0.5)
        assert len(woken) == seen
    finally:
        unsubscribe()


def test_savepoints_released_inside_a_transaction_wake_readers_once_it_commits(sessions):
    """A batch writes each event in a savepoint: readers in this process are woken once,
    when the whole transaction commits, not at each savepoint (nothing is visible yet)."""
    woken = []
    unsubscribe = wakeups.LOCAL.subscribe(lambda: woken.append(1))
    try:
        with transaction(sessions) as session:
            for _ in range(3):
                with session.begin_nested():
                    wakeups.signal(session)
                    session.execute(select(func.count()).select_from(Event))
            assert woken == []
        assert woken  # (on PostgreSQL a listener of this process may relay it once more)
    finally:
        unsubscribe()
