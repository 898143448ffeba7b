"""Order events processed a batch at a time: one order fetch and one transaction for many
events, yet each event stands alone: one that fails changes nothing and is retried with
its error while the others become orders; no event is processed twice, by any number of
workers."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from mercato.channels import http as channel_http
from mercato.channels.tiktok import orders as tiktok
from mercato.db import make_sessionmaker, transaction
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
from mercato.jobs import registry, service
from mercato.jobs.models import Job
from mercato.jobs.worker import SQLITE_BATCH, Worker
from mercato.orders import intake
from mercato.orders.models import InboundEvent, Order
from mercato.sandbox.orders import DeliverIn, OrderIn

from .conftest import on_hand


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def jobs_of(sessions) -> dict[str, Job]:
    """The processing job of each order's event, by the order's id on TikTok."""
    with sessions() as session:
        found = {}
        for job in session.scalars(select(Job).where(Job.name == intake.PROCESS_JOB)):
            event = session.get(InboundEvent, job.args["inbound_id"])
            found[event.body.decode().split('"order_id":"')[1].split('"')[0]] = job
            session.expunge(job)
        return found


@pytest.fixture
def detail_requests(sandbox, monkeypatch):
    """How many order ids each Get Order Detail request asked TikTok for."""
    asked: list[int] = []

    def record(request):
        if request.url.path.endswith(tiktok.ORDERS):
            asked.append(len(request.url.params["ids"].split(",")))

    def open_client(base_url):
        client = TestClient(sandbox.app, base_url=base_url)
        client.event_hooks["request"] = [record]
        return client

    monkeypatch.setattr(channel_http, "open_client", open_client)
    return asked


def stock_up(sessions, units: int) -> None:
    """More of each size than the shop fixture's 5 (before connecting: the shop sells
    what Mercato publishes)."""
    with transaction(sessions) as session:
        for sku in ("TEE-S", "TEE-M"):
            counts.adjust(session, AdjustmentCreate(sku=sku, quantity=units, kind="receipt"))


def test_a_burst_of_events_is_fetched_and_applied_a_batch_at_a_time(
    shop, sessions, engine, drain, detail_requests
):
    stock_up(sessions, 55)  # 60 of each size
    _, book = shop.connect("tiktok")
    placed = [
        book.place(OrderIn(lines=[{"sku": sku, "quantity": 1}]))["id"]
        for sku in ("TEE-S", "TEE-M") * 40
    ]
    assert set(book.deliver(DeliverIn())) == {200}
    drain()
    assert {o.external_id for o in _orders(sessions)} == set(placed)
    # 80 events: Get Order Detail for at most 50 orders at a time (batches of 10 on
    # SQLite, whose one writer the API's acknowledgements share), not 80 of one.
    batch = intake.PROCESS_BATCH if engine.dialect.name == "postgresql" else SQLITE_BATCH
    left = [80 % batch] if 80 % batch else []
    assert sorted(detail_requests) == sorted([batch] * (80 // batch) + left)
    assert on_hand(sessions, "TEE-S") == on_hand(sessions, "TEE-M") == (20, 0)
    jobs = jobs_of(sessions)
    assert {(j.state, j.attempts) for j in jobs.values()} == {("succeeded", 1)}
    assert count(sessions, InboundEvent, InboundEvent.state == "processed") == 80


def test_a_batch_of_new_orders_costs_the_same_statements_whatever_its_size(
    shop, sessions, engine, sandbox, monkeypatch
):
    """Processing new orders' events costs a few statements a batch, not a few per order:
    their stock among them (one guarded UPDATE per stock level for the whole batch)."""
    stock_up(sessions, 95)
    _, book = shop.connect("tiktok")
    monkeypatch.setattr(
        channel_http, "open_client", lambda base_url: TestClient(sandbox.app, base_url=base_url)
    )
    read_sessions = make_sessionmaker(engine, read_only=True)

    def statements(orders: int) -> list[str]:
        for n in range(orders):
            # Each a new buyer: their profiles made in the batch's few statements too.
            book.place(
                OrderIn(
                    lines=[{"sku": "TEE-S", "quantity": 1 + n % 2}],
                    email=f"buyer-{orders}-{n}@example.com",
                    name=f"Buyer {orders}-{n}",
                )
            )
        book.deliver(DeliverIn())
        with sessions() as session:
            ids = list(
                session.scalars(select(InboundEvent.id).where(InboundEvent.state == "received"))
            )
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert intake.process_events(read_sessions, sessions, ids) == [None] * orders
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return seen

    few, many = statements(3), statements(40)
    assert len(many) == len(few)
    stock_updates = [s for s in many if s.lstrip().upper().startswith("UPDATE INVENTORY_STOCK")]
    assert len(stock_updates) == 1
    assert on_hand(sessions, "TEE-S") == (100 - 4 - 60, 0)


@pytest.mark.parametrize(
    "fault", ["a broken order document", "an order refused", "a failure after its stock"]
)
def test_an_event_that_fails_in_a_batch_fails_alone(
    fault, shop, sessions, drain, clock, monkeypatch
):
    _, book = shop.connect("tiktok")
    # The retry waits 15 to 30 s: a slow machine's drain does not reach it (the clock is
    # real time shifted); the test moves the clock past it below.
    task = registry.TASKS[intake.PROCESS_JOB]
    monkeypatch.setitem(
        registry.TASKS, task.name, dataclasses.replace(task, backoff_base=timedelta(seconds=30))
    )
    placed = [
        book.place(OrderIn(lines=[{"sku": sku, "quantity": 1}]))["id"]
        for sku in ("TEE-S", "TEE-M", "TEE-S", "TEE-M")
    ]
    poisoned = placed[2]
    after_import = intake._after_import
    if fault == "a broken order document":
        item = book.orders[poisoned]["line_items"][0]
        sku_id = item.pop("sku_id")  # TikTok sends no SKU id: the order cannot be read
        expected_error = "KeyError: 'sku_id'"
    elif fault == "an order refused":
        item = book.orders[poisoned]["line_items"][0]
        item["seller_discount"] = "999.00"  # more than the line: creating it is refused
        expected_error = "ValidationFailed: The order cannot be created."
    else:

        def fails_on_the_poisoned_order(session, channel, order, *args):
            # After the order and its stock were written: all of it must be undone.
            if order.external_id == poisoned:
                raise RuntimeError("the poisoned order")
            after_import(session, channel, order, *args)

        monkeypatch.setattr(intake, "_after_import", fails_on_the_poisoned_order)
        expected_error = "RuntimeError: the poisoned order"
    book.deliver(DeliverIn())
    drain()
    assert sorted(o.external_id for o in _orders(sessions)) == sorted(set(placed) - {poisoned})
    assert on_hand(sessions, "TEE-S") == (4, 0)  # the poisoned order took nothing
    assert on_hand(sessions, "TEE-M") == (3, 0)
    jobs = jobs_of(sessions)
    failed = jobs.pop(poisoned)
    assert (failed.state, failed.attempts) == ("queued", 1)
    assert expected_error in failed.last_error
    assert {(j.state, j.attempts, j.last_error) for j in jobs.values()} == {("succeeded", 1, None)}

    # The fault goes away.
    if fault == "a broken order document":
        item["sku_id"] = sku_id
    elif fault == "an order refused":
        item["seller_discount"] = "0"
    monkeypatch.setattr(intake, "_after_import", after_import)
    clock.advance(timedelta(minutes=1))  # the retry comes due
    drain()
    assert sorted(o.external_id for o in _orders(sessions)) == sorted(placed)
    assert on_hand(sessions, "TEE-S") == (3, 0)
    assert (jobs_of(sessions)[poisoned].state, jobs_of(sessions)[poisoned].attempts) == (
        "succeeded",
        2,
    )


def test_two_workers_process_each_event_once(shop, engine, sessions, monkeypatch):
    stock_up(sessions, 95)  # 100 of each size
    _, book = shop.connect("tiktok")
    placed = [
        book.place(OrderIn(lines=[{"sku": sku, "quantity": 1}]))["id"]
        for sku in ("TEE-S", "TEE-M") * 100
    ]
    calls: list[list[str]] = []
    process_events = intake.process_events

    def recorded(read_sessions, write_sessions, inbound_ids):
        calls.append(list(inbound_ids))
        return process_events(read_sessions, write_sessions, inbound_ids)

    monkeypatch.setattr(intake, "process_events", recorded)
    book.deliver(DeliverIn())
    workers = [Worker(engine, concurrency=2, poll=0.05, worker_id=f"w{n}") for n in range(2)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 120
        while count(sessions, Job, Job.state == "succeeded") < 200:
            assert time.monotonic() < deadline, "the workers did not process every event"
            time.sleep(0.1)
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(60)
    processed = [inbound_id for call in calls for inbound_id in call]
    assert len(processed) == len(set(processed)) == 200  # no event handed out twice
    assert {o.external_id for o in _orders(sessions)} == set(placed)
    assert on_hand(sessions, "TEE-S") == on_hand(sessions, "TEE-M") == (0, 0)
    assert {(j.state, j.attempts) for j in jobs_of(sessions).values()} == {("succeeded", 1)}


def test_claims_skip_the_jobs_another_worker_is_claiming(shop, engine, sessions, clock):
    """PostgreSQL: a claim passes over rows another claim holds (SKIP LOCKED) instead of
    waiting for it; SQLite lets one writer claim at a time."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes claims: one writer at a time")
    _, book = shop.connect("tiktok")
    for _ in range(4):
        book.place(OrderIn(lines=[{"sku": "TEE-S", "quantity": 1}]))
    book.deliver(DeliverIn())
    lease = timedelta(minutes=1)
    with transaction(sessions) as first:
        mine = service.claim(first, clock(), 3, "w1", lease, intake.PROCESS_JOB)
        with transaction(sessions) as second:  # while the first claim is not committed
            theirs = service.claim(second, clock(), 50, "w2", lease, intake.PROCESS_JOB)
    assert (len(mine), len(theirs)) == (3, 1)
    assert not {j.id for j in mine} & {j.id for j in theirs}


def _orders(sessions) -> list[Order]:
    with sessions() as session:
        return list(session.scalars(select(Order)))
