"""Orders created a batch at a time (``creation.create_orders``, the one way to create an
order): each order stands or falls alone, one external id makes one order however often
it comes, and the numbers follow one another."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from mercato.db import transaction
from mercato.errors import ValidationFailed
from mercato.events.models import Event
from mercato.orders import creation
from mercato.orders.models import Order, OrderActivity
from mercato.orders.schemas import OrderCreate
from tests.helpers import tee


@pytest.fixture
def tees(make_products):
    make_products(tee())


order_events = select(func.count()).select_from(Event).where(Event.type.startswith("order."))


def platform_order(external_id: str | None, *lines, **extra) -> OrderCreate:
    return OrderCreate(
        channel="tiktok-shop",
        external_id=external_id,
        lines=list(lines) or [{"sku": "TEE-S", "quantity": 1}],
        payment_status="paid",
        **extra,
    )


def create(sessions, items, **options):
    with transaction(sessions) as session:
        outcomes = creation.create_orders(session, items, **options)
        return [
            o if isinstance(o, ValidationFailed) else (o[0].id, o[0].number, o[1]) for o in outcomes
        ]


def orders(sessions) -> list[Order]:
    with sessions() as session:
        return list(session.scalars(select(Order).order_by(Order.number)))


def test_an_invalid_order_is_refused_alone_and_says_where(sessions, tees):
    outcomes = create(
        sessions,
        [
            platform_order("A"),
            platform_order(
                "B",
                {"sku": "TEE-S", "quantity": 1},
                {"sku": "NO-SUCH", "quantity": 1},
                {"sku": "TEE-M", "quantity": 1, "discount": 999_999},
            ),
            platform_order("C", {"sku": "TEE-M", "quantity": 2}),
        ],
    )
    refused = outcomes[1]
    assert isinstance(refused, ValidationFailed)
    assert [(e.loc, e.message) for e in refused.errors] == [
        (("lines", 1, "sku"), "no variant 'NO-SUCH'"),
        (("lines", 2, "discount"), "discount exceeds the line's price"),
    ]
    assert [o[2] for o in (outcomes[0], outcomes[2])] == [True, True]
    made = orders(sessions)
    assert [(o.external_id, o.total) for o in made] == [("A", 2500), ("C", 5000)]
    with sessions() as session:
        assert session.scalar(order_events) == 4  # created and paid, twice
    # The same order, corrected, is created next time.
    [(_, _, created)] = create(sessions, [platform_order("B")])
    assert created


def test_one_external_id_makes_one_order_within_and_across_batches(sessions, tees):
    first = create(sessions, [platform_order("A"), platform_order("B"), platform_order("A")])
    assert first[0][2] and first[1][2] and not first[2][2]
    assert first[2][:2] == first[0][:2]  # the second "A" is the first's order
    again = create(sessions, [platform_order("B"), platform_order("C"), platform_order("B")])
    assert again[0][:2] == again[2][:2] == first[1][:2]
    assert [o[2] for o in again] == [False, True, False]
    assert [o.external_id for o in orders(sessions)] == ["A", "B", "C"]
    # Orders without an external id are never the same order.
    assert [o[2] for o in create(sessions, [platform_order(None), platform_order(None)])] == [
        True,
        True,
    ]


def test_numbers_are_unique_and_follow_one_another(sessions, tees):
    create(sessions, [platform_order(str(n)) for n in range(5)])
    create(sessions, [platform_order(str(n)) for n in range(3, 9)])
    create(sessions, [platform_order("9")])
    made = orders(sessions)
    numbers = [o.number for o in made]
    assert [o.external_id for o in made] == [str(n) for n in range(10)]
    assert numbers == sorted(set(numbers)) and numbers[0] >= creation.FIRST_ORDER_NUMBER
    with sessions() as session:
        first = session.scalars(
            select(OrderActivity).where(OrderActivity.order_id == made[0].id)
        ).one()
        assert first.message == f"Order #{numbers[0]} placed on tiktok-shop for 25.00 USD."
        kinds = [
            (e.type, e.payload["number"])
            for e in session.scalars(
                select(Event).where(Event.type.startswith("order.")).order_by(Event.seq)
            )
        ]
    assert kinds == [(t, n) for n in numbers for t in ("order.created", "order.paid")]


def test_an_order_written_meanwhile_is_returned_not_created_twice(sessions, tees, monkeypatch):
    """A concurrent twin (another worker's delivery of the same order) commits between
    the lookup and the insert: the batch's insert meets it, and each order is then
    created on its own, that one getting the twin's order."""
    [(twin_id, _, _)] = create(sessions, [platform_order("B")])
    lookup = creation._by_external_ids
    calls = []

    def misses_the_first_time(session, items):
        calls.append(len(items))
        return {} if len(calls) == 1 else lookup(session, items)

    monkeypatch.setattr(creation, "_by_external_ids", misses_the_first_time)
    outcomes = create(sessions, [platform_order("A"), platform_order("B"), platform_order("C")])
    assert [o[2] for o in outcomes] == [True, False, True]
    assert outcomes[1][0] == twin_id
    assert sorted(o.external_id for o in orders(sessions)) == ["A", "B", "C"]


def test_a_batch_costs_the_same_statements_whatever_its_size(sessions, engine, tees):
    def statements(items) -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert all(created for _, _, created in create(sessions, items))
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    two = [platform_order(f"a{n}", {"sku": "TEE-S", "quantity": 1}) for n in range(2)]
    many = [platform_order(f"b{n}", {"sku": "TEE-M", "quantity": 1}) for n in range(40)]
    assert statements(many) == statements(two)


def test_the_events_of_a_batch_carry_the_order_changed_shape(sessions, tees):
    """Their payloads are built directly, for speed: the same as ``OrderChanged``'s."""
    from mercato.orders import timeline
    from mercato.orders.schemas import OrderChanged

    create(sessions, [platform_order("P1"), platform_order(None)])
    with sessions() as session:
        for order in session.scalars(select(Order)):
            shape = OrderChanged(**timeline.changed_payload(order))
            assert timeline.changed_payload(order) == shape.model_dump(
                mode="json", exclude={"version"}
            )
            payloads = session.scalars(
                select(Event.payload).where(Event.key == order.id).order_by(Event.seq)
            ).all()
            assert payloads == [timeline.changed_payload(order)] * 2  # created, paid
