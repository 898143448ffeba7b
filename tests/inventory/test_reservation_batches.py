"""Batched reservations: requests written together keep their own outcomes; a batch
that fails is logged and each of its requests is written alone."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event, func, select

from mercato.db import transaction
from mercato.errors import Conflict, ValidationFailed
from mercato.events.models import Event
from mercato.inventory import availability, counts, reports, reservations
from mercato.inventory.models import Reservation
from mercato.inventory.reservation_batches import ReservationBatcher, Settlement
from mercato.inventory.reservations import ReservationRequest, reserve_many
from mercato.inventory.schemas import AdjustmentCreate, ReservationLineInput
from tests.inventory.conftest import assert_ledger_balances, make_variants


def lines(*pairs: tuple[str, int]) -> list[ReservationLineInput]:
    return [ReservationLineInput(sku=sku, quantity=quantity) for sku, quantity in pairs]


@pytest.fixture
def tableware(sessions):
    """MUG with 5 units, BOWL with 1."""
    make_variants(sessions, "MUG", "BOWL", handle="tableware")
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="MUG", on_hand=5))
        counts.adjust(session, AdjustmentCreate(sku="BOWL", on_hand=1))


def available(sessions, sku: str) -> int:
    with sessions() as session:
        return reports.inventory_by_sku(session, sku).available


def test_one_batch_gives_each_request_its_own_outcome(sessions, tableware):
    with transaction(sessions) as session:
        earlier = reservations.reserve(
            session, lines(("MUG", 1)), channel="tiktok", reference="order-1", sell=True
        )
    requests = [
        ReservationRequest(lines(("MUG", 2), ("BOWL", 1)), channel="tiktok", reference="cart-a"),
        ReservationRequest(lines(("BOWL", 1)), reference="cart-b"),  # BOWL is gone by now
        ReservationRequest(
            lines(("MUG", 1)), channel="tiktok", reference="order-1", sell=True
        ),  # replay
        ReservationRequest(
            lines(("MUG", 2)), channel="tiktok", reference="order-1"
        ),  # reused reference
        ReservationRequest(lines(("NOPE", 1))),  # unknown SKU
        ReservationRequest(lines(("MUG", 2)), sell=True, reference="order-2"),
        ReservationRequest(lines(("MUG", 1)), reference="cart-c"),  # one unit short now
    ]
    with transaction(sessions) as session:
        outcomes = reserve_many(session, requests)

    cart_a, cart_b, replay, reused, unknown, order_2, cart_c = outcomes
    assert cart_a.status == "active" and Counter({ln.sku: ln.quantity for ln in cart_a.lines}) == {
        "MUG": 2,
        "BOWL": 1,
    }
    assert isinstance(cart_b, availability.InsufficientStock)
    assert cart_b.extra["lines"] == [
        {
            "sku": "BOWL",
            "variant_id": cart_b.extra["lines"][0]["variant_id"],
            "requested": 1,
            "available": 0,
        }
    ]
    assert replay.replayed and replay.id == earlier.id
    assert isinstance(reused, Conflict) and "already used" in reused.detail
    assert isinstance(unknown, ValidationFailed)
    assert order_2.status == "committed" and order_2.lines[0].state == "sold"
    assert isinstance(cart_c, availability.InsufficientStock)

    # 5 MUG: 1 sold before, 2 held by cart-a, 2 sold by order-2; BOWL held by cart-a.
    assert available(sessions, "MUG") == 0 and available(sessions, "BOWL") == 0
    with sessions() as session:
        stored = set(session.scalars(select(Reservation.reference)))
        assert stored == {"order-1", "cart-a", "order-2"}  # the refused left no trace
        changed = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "inventory.changed")
        )
    assert changed >= 2 + 2  # the two adjustments, earlier's sale, then MUG and BOWL once
    assert_ledger_balances(sessions)


def test_a_batch_takes_each_stock_level_once_deciding_each_request_in_turn(
    sessions, engine, tableware
):
    """Requests of one batch are decided one after another from one read made under the
    stock levels' locks; their units are written by one guarded UPDATE per stock level.
    A hold that lapsed is given back when a request needs its units; a `continue` variant
    is backordered once its stock is gone; what does not fit is refused as before."""
    make_variants(sessions, "PRE", policy="continue")
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="PRE", on_hand=1))
        lapsing = reservations.reserve(session, lines(("MUG", 2)), ttl_seconds=1)
    later = lapsing.expires_at + timedelta(seconds=1)
    requests = [
        ReservationRequest(lines(("MUG", 2)), sell=True, reference="o-1"),
        ReservationRequest(lines(("MUG", 2), ("PRE", 1)), reference="cart-a"),  # lapsed units
        ReservationRequest(lines(("MUG", 2)), sell=True, reference="o-2"),  # 1 left: refused
        ReservationRequest(lines(("MUG", 1), ("BOWL", 1)), sell=True, reference="o-3"),
        ReservationRequest(lines(("PRE", 3)), sell=True, reference="o-4"),  # backordered
        ReservationRequest(lines(("BOWL", 1)), reference="cart-b"),  # none left
    ]
    updates: list[str] = []

    def listener(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("UPDATE INVENTORY_STOCK_LEVELS"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        with transaction(sessions) as session:
            o_1, cart_a, o_2, o_3, o_4, cart_b = reserve_many(session, requests, now=later)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    assert (o_1.status, cart_a.status, o_3.status, o_4.status) == (
        "committed",
        "active",
        "committed",
        "committed",
    )
    assert isinstance(o_2, availability.InsufficientStock)
    assert o_2.extra["lines"][0]["available"] == 1
    assert isinstance(cart_b, availability.InsufficientStock)
    assert [(ln.location, ln.quantity) for ln in o_4.lines] == [(None, 3)]
    # MUG, BOWL and PRE each written once, and MUG's lapsed hold given back first.
    assert len(updates) == 3 + 1
    with sessions() as session:
        view = {
            sku: reports.inventory_by_sku(session, sku, now=later) for sku in ("MUG", "BOWL", "PRE")
        }
    assert {sku: (v.on_hand, v.reserved) for sku, v in view.items()} == {
        "MUG": (2, 2),  # 5 less 2 and 1 sold; cart-a holds 2
        "BOWL": (0, 0),
        "PRE": (1, 1),
    }
    assert_ledger_balances(sessions)


def test_racing_requests_on_one_batcher_sell_exactly_the_stock(sessions, tableware):
    batcher = ReservationBatcher(sessions, limit=8)

    async def buy(number: int):
        try:
            return await batcher.reserve(
                ReservationRequest(
                    lines(("MUG", 1)), channel="tiktok", reference=f"buyer-{number % 12}", sell=True
                )
            )
        except availability.InsufficientStock:
            return None

    async def rush():
        return await asyncio.gather(*(buy(n) for n in range(40)))

    outcomes = asyncio.run(rush())
    made = {o.id for o in outcomes if o is not None}
    assert len(made) == 5  # 12 distinct references race for 5 units
    # Twins of a reference that got a unit get the same reservation back, replayed.
    for number, outcome in enumerate(outcomes):
        if outcome is not None:
            assert outcome.reference == f"buyer-{number % 12}"
    assert sum(o.replayed for o in outcomes if o is not None) > 0
    assert available(sessions, "MUG") == 0
    with sessions() as session:
        assert reports.inventory_by_sku(session, "MUG").on_hand == 0
    assert_ledger_balances(sessions)


def test_settlements_in_one_batch_each_get_their_own_answer(sessions, tableware):
    with transaction(sessions) as session:
        first = reservations.reserve(session, lines(("MUG", 1)))
        second = reservations.reserve(session, lines(("MUG", 2)))
        released = reservations.reserve(session, lines(("BOWL", 1)))
        reservations.release(session, released.id)
    batcher = ReservationBatcher(sessions)

    async def settle_all():
        return await asyncio.gather(
            *(
                batcher.settle(settlement)
                for settlement in (
                    Settlement(first.id, "committed"),
                    Settlement(released.id, "committed"),
                    Settlement(second.id, "released"),
                    Settlement("res_missing", "committed"),
                )
            ),
            return_exceptions=True,
        )

    committed, refused, given_back, missing = asyncio.run(settle_all())
    assert committed.status == "committed"
    assert isinstance(refused, Conflict) and "released" in refused.detail
    assert given_back.status == "released"
    assert missing.status == 404
    with sessions() as session:
        mug = reports.inventory_by_sku(session, "MUG")
    assert (mug.on_hand, mug.reserved, mug.available) == (4, 0, 4)
    assert_ledger_balances(sessions)


def test_a_failed_batch_is_logged_and_each_request_is_written_alone(sessions, tableware, caplog):
    """A request the batch writer cannot handle (an allocation policy that does not exist)
    fails the whole batch's transaction: nothing of it stays, the failure is logged, and
    each request is written again on its own, so only the broken one fails."""
    batcher = ReservationBatcher(sessions)
    requests = [
        ReservationRequest(lines(("MUG", 1)), reference="cart-a"),
        ReservationRequest(lines(("MUG", 1)), reference="cart-b", allocation="nearest"),
        ReservationRequest(lines(("BOWL", 1)), reference="cart-c", sell=True),
    ]

    async def burst():
        return await asyncio.gather(
            *(batcher.reserve(request) for request in requests), return_exceptions=True
        )

    with caplog.at_level(logging.WARNING, logger="mercato.group_commit"):
        cart_a, broken, cart_c = asyncio.run(burst())

    assert cart_a.status == "active" and cart_c.status == "committed"
    assert isinstance(broken, KeyError)
    failures = [r for r in caplog.records if "a batch of 3 failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].getMessage().startswith("ReservationBatcher")
    assert failures[0].exc_info is not None  # the cause is in the log line
    with sessions() as session:
        assert set(session.scalars(select(Reservation.reference))) == {"cart-a", "cart-c"}
    assert available(sessions, "MUG") == 4 and available(sessions, "BOWL") == 0
    assert_ledger_balances(sessions)


def test_buyers_racing_through_the_api_sell_exactly_the_stock(app, admin, sessions, tableware):
    """Concurrent requests on one event loop: the batcher writes them in batches."""

    async def rush():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://mercato", headers=admin
        ) as client:

            async def buy(number: int, flow: str):
                body = {
                    "channel": "tiktok",
                    "reference": f"r-{number}",
                    "lines": [{"sku": "MUG", "quantity": 1}],
                    "commit": flow == "sell",
                }
                held = await client.post("/api/v1/inventory/reservations", json=body)
                if held.status_code != 201 or flow == "sell":
                    return held.status_code
                done = await client.post(
                    f"/api/v1/inventory/reservations/{held.json()['id']}/commit"
                )
                return done.status_code * (1 if done.status_code == 200 else -1)

            return await asyncio.gather(*(buy(n, ("sell", "commit")[n % 2]) for n in range(30)))

    statuses = Counter(asyncio.run(rush()))
    assert statuses[201] + statuses[200] == 5  # sold at once, or held then committed
    assert statuses[409] == 25 and set(statuses) <= {200, 201, 409}
    with sessions() as session:
        mug = reports.inventory_by_sku(session, "MUG")
    assert (mug.on_hand, mug.reserved) == (0, 0)
    assert_ledger_balances(sessions)
