"""Inventory rules through the service functions, with an explicit clock."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from mercato.db import transaction
from mercato.errors import Conflict, NotFound, ValidationFailed
from mercato.events.models import Event
from mercato.inventory import allocation, availability, counts, locations, reports, reservations
from mercato.inventory.models import Movement
from mercato.inventory.schemas import (
    AdjustmentCreate,
    ChannelRuleInput,
    LocationInput,
    ReservationLineInput,
)
from tests.inventory.conftest import assert_ledger_balances, make_variants

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def line(sku: str, quantity: int = 1) -> ReservationLineInput:
    return ReservationLineInput(sku=sku, quantity=quantity)


def stock_of(sessions, sku: str, now=T0) -> reports.InventoryView:
    with sessions() as session:
        return reports.inventory_by_sku(session, sku, now=now)


def levels(sessions, sku: str, now=T0) -> dict[str, tuple[int, int]]:
    return {lv.location: (lv.on_hand, lv.reserved) for lv in stock_of(sessions, sku, now).locations}


def set_stock(sessions, sku: str, units: int, location: str = "default") -> None:
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku=sku, on_hand=units, location=location), now=T0)


def reserve(sessions, *lines, now=T0, **options) -> reservations.ReservationView:
    with transaction(sessions) as session:
        return reservations.reserve(session, list(lines), now=now, **options)


def settle(sessions, action, reservation_id, now=T0, **options):
    with transaction(sessions) as session:
        return getattr(reservations, action)(session, reservation_id, now=now, **options)


def changed_events(sessions) -> list[dict]:
    with sessions() as session:
        return [
            e.payload
            for e in session.scalars(
                select(Event).where(Event.type == "inventory.changed").order_by(Event.seq)
            )
        ]


@pytest.fixture
def mug(sessions):
    ids = make_variants(sessions, "MUG")
    set_stock(sessions, "MUG", 10)
    return ids["MUG"]


# ---------------------------------------------------------------- ledger


def test_every_change_is_a_movement_and_the_ledger_balances(sessions, mug):
    with transaction(sessions) as session:
        counts.adjust(
            session,
            AdjustmentCreate(sku="MUG", quantity=5, kind="receipt", reason="PO-7"),
            actor="tester",
            now=T0,
        )
        counts.adjust(session, AdjustmentCreate(sku="MUG", quantity=-2, reason="broken"), now=T0)
    held = reserve(sessions, line("MUG", 3), reference="cart-1")
    settle(sessions, "commit", held.id)
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="MUG", quantity=1, kind="return"), now=T0)
    assert levels(sessions, "MUG") == {"default": (11, 0)}
    with sessions() as session:
        ledger = [
            (m.kind, m.quantity, m.on_hand_delta, m.reserved_delta)
            for m in session.scalars(select(Movement).order_by(Movement.id))
        ]
        receipt = session.scalar(select(Movement).where(Movement.kind == "receipt"))
    assert ledger == [
        ("correction", 10, 10, 0),
        ("receipt", 5, 5, 0),
        ("adjustment", 2, -2, 0),
        ("reservation", 3, 0, 3),
        ("sale", 3, -3, -3),
        ("return", 1, 1, 0),
    ]
    assert (receipt.reason, receipt.actor) == ("PO-7", "tester")
    assert_ledger_balances(sessions)


def test_stock_cannot_go_below_held_units_or_zero(sessions, mug):
    reserve(sessions, line("MUG", 8))
    with pytest.raises(availability.InsufficientStock) as short, transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="MUG", quantity=-3), now=T0)
    assert short.value.extra["lines"] == [
        {"sku": "MUG", "variant_id": mug, "requested": 7, "held": 8}
    ]
    assert levels(sessions, "MUG") == {"default": (10, 8)}
    assert_ledger_balances(sessions)


def test_setting_the_same_count_writes_nothing(sessions, mug):
    with transaction(sessions) as session:
        [change] = counts.set_on_hand(session, {mug: 10}, now=T0)
    assert change.movement is None
    with sessions() as session:
        assert len(session.scalars(select(Movement)).all()) == 1


def test_unknown_variant_and_location(sessions, mug):
    with pytest.raises(NotFound), transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="NOPE", quantity=1))
    with pytest.raises(NotFound), transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="MUG", quantity=1, location="moon"))
    with pytest.raises(ValidationFailed) as failure:
        reserve(sessions, line("MUG"), line("NOPE"))
    assert [e.loc for e in failure.value.errors] == [("lines", 1, "sku")]
    assert levels(sessions, "MUG") == {"default": (10, 0)}


# ---------------------------------------------------------------- reservations


def test_a_cart_gets_every_line_or_none(sessions):
    make_variants(sessions, "A", "B", "C", handle="abc")
    for sku, units in (("A", 5), ("B", 1), ("C", 5)):
        set_stock(sessions, sku, units)
    with pytest.raises(availability.InsufficientStock) as short:
        reserve(sessions, line("A", 2), line("B", 2), line("C", 1))
    assert short.value.extra["lines"] == [
        {
            "sku": "B",
            "variant_id": short.value.extra["lines"][0]["variant_id"],
            "requested": 2,
            "available": 1,
        }
    ]
    assert [e.loc for e in short.value.errors] == [("lines", 1, "quantity")]
    assert {s: levels(sessions, s)["default"] for s in "ABC"} == {
        "A": (5, 0),
        "B": (1, 0),
        "C": (5, 0),
    }

    held = reserve(sessions, line("A", 2), line("B", 1), line("C", 1), line("A", 1))
    assert sorted((ln.sku, ln.quantity) for ln in held.lines) == [("A", 3), ("B", 1), ("C", 1)]
    assert levels(sessions, "A") == {"default": (5, 3)}
    assert_ledger_balances(sessions)


def test_the_same_reference_returns_the_same_reservation(sessions, mug):
    first = reserve(sessions, line("MUG", 2), reference="cart-9", channel="tiktok")
    again = reserve(sessions, line("MUG", 2), reference="cart-9", channel="tiktok")
    assert (again.id, again.replayed, first.replayed) == (first.id, True, False)
    assert levels(sessions, "MUG") == {"default": (10, 2)}
    other_channel = reserve(sessions, line("MUG", 2), reference="cart-9", channel="storefront")
    assert other_channel.id != first.id
    with pytest.raises(Conflict) as reused:
        reserve(sessions, line("MUG", 3), reference="cart-9", channel="tiktok")
    assert reused.value.extra == {"reservation_id": first.id}
    # Replays hold even once everything is sold out or committed.
    settle(sessions, "commit", first.id)
    assert (
        reserve(sessions, line("MUG", 2), reference="cart-9", channel="tiktok").status
        == "committed"
    )


def test_commit_release_and_their_idempotency(sessions, mug):
    sold = reserve(sessions, line("MUG", 3))
    freed = reserve(sessions, line("MUG", 2))
    assert settle(sessions, "commit", sold.id).status == "committed"
    assert settle(sessions, "commit", sold.id).status == "committed"
    assert settle(sessions, "release", freed.id).status == "released"
    assert settle(sessions, "release", freed.id).status == "released"
    assert levels(sessions, "MUG") == {"default": (7, 0)}
    with pytest.raises(Conflict, match="is committed; it cannot be released"):
        settle(sessions, "release", sold.id)
    with pytest.raises(Conflict, match="is released; it cannot be committed"):
        settle(sessions, "commit", freed.id)
    with pytest.raises(NotFound):
        settle(sessions, "commit", "res_missing")
    assert_ledger_balances(sessions)


def test_selling_at_once_takes_on_hand_through_the_same_guard(sessions, mug):
    sold = reserve(sessions, line("MUG", 4), reference="tiktok-order-1", sell=True)
    assert (sold.status, [ln.state for ln in sold.lines]) == ("committed", ["sold"])
    assert levels(sessions, "MUG") == {"default": (6, 0)}
    reserve(sessions, line("MUG", 5))
    with pytest.raises(availability.InsufficientStock):
        reserve(sessions, line("MUG", 2), sell=True)
    assert levels(sessions, "MUG") == {"default": (6, 5)}
    assert reserve(sessions, line("MUG", 4), reference="tiktok-order-1", sell=True).replayed
    assert [p["available"] for p in changed_events(sessions)] == [10, 6, 1]
    assert_ledger_balances(sessions)


# ---------------------------------------------------------------- expiry


def test_expired_holds_stop_counting_at_once_and_are_reclaimed_when_needed(sessions, mug):
    held = reserve(sessions, line("MUG", 8), ttl_seconds=60)
    assert stock_of(sessions, "MUG").available == 2
    later = T0 + timedelta(seconds=60)
    # No sweeper has run: the lapsed hold no longer counts.
    assert stock_of(sessions, "MUG", later).available == 10
    with sessions() as session:
        assert availability.available_for(session, "tiktok", mug, now=later) == 10

    taken = reserve(sessions, line("MUG", 9), now=later)
    assert levels(sessions, "MUG", later) == {"default": (10, 9)}
    with pytest.raises(reservations.ReservationExpired):
        settle(sessions, "commit", held.id, now=later)
    with pytest.raises(reservations.ReservationExpired):
        settle(sessions, "extend", held.id, now=later, ttl_seconds=60)
    assert settle(sessions, "release", held.id, now=later).status == "expired"
    assert settle(sessions, "commit", taken.id, now=later).status == "committed"
    with sessions() as session:
        kinds = [m.kind for m in session.scalars(select(Movement).order_by(Movement.id))]
    assert kinds == ["correction", "reservation", "expiry", "reservation", "sale"]
    assert_ledger_balances(sessions)


def test_sweeper_expires_only_lapsed_reservations(sessions, mug):
    short = reserve(sessions, line("MUG", 2), ttl_seconds=30)
    long = reserve(sessions, line("MUG", 3), ttl_seconds=600)
    with transaction(sessions) as session:
        assert reservations.sweep_expired(session, now=T0 + timedelta(seconds=29)) == 0
    with transaction(sessions) as session:
        assert reservations.sweep_expired(session, now=T0 + timedelta(seconds=30)) == 1
    with transaction(sessions) as session:
        assert reservations.sweep_expired(session, now=T0 + timedelta(seconds=31)) == 0
    with sessions() as session:
        assert reservations.get_reservation(session, short.id).status == "expired"
        assert reservations.get_reservation(session, long.id).status == "active"
    assert levels(sessions, "MUG") == {"default": (10, 3)}
    assert_ledger_balances(sessions)


def test_extend_keeps_a_hold_alive(sessions, mug):
    held = reserve(sessions, line("MUG", 4), ttl_seconds=60)
    extended = settle(sessions, "extend", held.id, now=T0 + timedelta(seconds=50), ttl_seconds=120)
    assert extended.expires_at == T0 + timedelta(seconds=170)
    later = T0 + timedelta(seconds=100)
    assert stock_of(sessions, "MUG", later).available == 6
    with transaction(sessions) as session:
        assert reservations.sweep_expired(session, now=later) == 0
    assert settle(sessions, "commit", held.id, now=later).status == "committed"


def test_extending_a_hold_waits_for_no_other_buyer_of_the_sku(sessions, engine, mug):
    """A checkout on its way to payment extends its hold while another buyer's
    transaction holds the SKU's stock level (PostgreSQL; SQLite has one writer)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    held = reserve(sessions, line("MUG", 1), ttl_seconds=600)
    other_buyer = reserve(sessions, line("MUG", 1), ttl_seconds=600)
    with sessions() as busy, busy.begin():
        reservations.commit(busy, other_buyer.id, now=T0)  # holds the level until it ends
        with sessions() as session, session.begin():
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            extended = reservations.extend(session, held.id, 900, now=T0 + timedelta(seconds=60))
    assert extended.expires_at == T0 + timedelta(seconds=960)


def test_a_hold_whose_units_were_taken_back_cannot_be_extended(sessions, mug):
    """Another buyer took the units of a lapsed hold; a process whose clock is a little
    behind cannot revive it."""
    held = reserve(sessions, line("MUG", 4), ttl_seconds=60)
    reserve(sessions, line("MUG", 10), now=T0 + timedelta(seconds=61))  # reclaims the 4
    with pytest.raises(reservations.ReservationExpired):
        settle(sessions, "extend", held.id, now=T0 + timedelta(seconds=55), ttl_seconds=600)
    assert levels(sessions, "MUG", T0 + timedelta(seconds=61)) == {"default": (10, 10)}


# ---------------------------------------------------------------- locations


@pytest.fixture
def two_locations(sessions):
    with transaction(sessions) as session:
        locations.save_location(
            session, "shop", LocationInput(name="Shop", kind="store", priority=1)
        )
        locations.save_location(session, "default", LocationInput(name="Main", priority=5))


def test_priority_allocation_takes_from_the_lowest_rank_first(sessions, mug, two_locations):
    set_stock(sessions, "MUG", 3, "shop")
    held = reserve(sessions, line("MUG", 5))
    assert sorted((ln.location, ln.quantity) for ln in held.lines) == [("default", 2), ("shop", 3)]
    assert levels(sessions, "MUG") == {"shop": (3, 3), "default": (10, 2)}
    settle(sessions, "commit", held.id)
    assert levels(sessions, "MUG") == {"shop": (0, 0), "default": (8, 0)}
    assert_ledger_balances(sessions)


def test_most_stock_allocation(sessions, mug, two_locations):
    set_stock(sessions, "MUG", 3, "shop")
    held = reserve(sessions, line("MUG", 4), allocation="most_stock")
    assert [(ln.location, ln.quantity) for ln in held.lines] == [("default", 4)]
    held = reserve(sessions, line("MUG", 8), allocation="most_stock")
    assert sorted((ln.location, ln.quantity) for ln in held.lines) == [("default", 6), ("shop", 2)]


def test_allocation_policies_are_plain_functions():
    def level(name, priority, on_hand, reserved=0, lapsed=0):
        return availability.Level(
            name, "var", name, name, name, priority, on_hand, reserved, lapsed
        )

    a, b = level("a", 1, 2), level("b", 2, 10, reserved=5, lapsed=1)
    assert allocation.allocate_by_priority(4, [b, a]) == [(a, 2), (b, 2)]
    assert allocation.allocate_by_most_stock(4, [a, b]) == [(b, 4)]
    assert allocation.allocate_by_priority(9, [a, b]) is None


# ---------------------------------------------------------------- exempt variants


def test_untracked_variants_hold_nothing_and_publish_unlimited(sessions):
    ids = make_variants(sessions, "GIFT", tracked=False)
    held = reserve(sessions, line("GIFT", 500))
    assert [(ln.location, ln.quantity) for ln in held.lines] == [(None, 500)]
    assert settle(sessions, "commit", held.id).status == "committed"
    with sessions() as session:
        assert availability.available_for(session, "tiktok", ids["GIFT"]) == availability.UNLIMITED
        assert session.scalars(select(Movement)).all() == []


def test_continue_variants_hold_stock_while_it_lasts_then_backorder(sessions):
    make_variants(sessions, "PRE", policy="continue")
    set_stock(sessions, "PRE", 2)
    from_stock = reserve(sessions, line("PRE", 2))
    backorder = reserve(sessions, line("PRE", 5))
    assert [ln.location for ln in from_stock.lines] == ["default"]
    assert [(ln.location, ln.quantity) for ln in backorder.lines] == [(None, 5)]
    settle(sessions, "commit", from_stock.id)
    settle(sessions, "commit", backorder.id)
    assert levels(sessions, "PRE") == {"default": (0, 0)}
    assert stock_of(sessions, "PRE").published == availability.UNLIMITED
    assert_ledger_balances(sessions)


# ---------------------------------------------------------------- channels and events


def test_channel_buffer_and_cap_shape_what_is_published(sessions, mug):
    with transaction(sessions) as session:
        locations.save_channel_rule(session, "tiktok", ChannelRuleInput(buffer=3))
        locations.save_channel_rule(session, "meta", ChannelRuleInput(cap=4))
    with sessions() as session:
        assert availability.available_for(session, "tiktok", mug, now=T0) == 7
        assert availability.available_for(session, "meta", mug, now=T0) == 4
        assert availability.available_for(session, "storefront", mug, now=T0) == 10
    reserve(sessions, line("MUG", 8))
    with sessions() as session:
        assert availability.available_for(session, "tiktok", mug, now=T0) == 0
        assert availability.available_for(session, "meta", mug, now=T0) == 2
        with pytest.raises(NotFound):
            availability.available_for(session, "meta", "var_missing")
        assert availability.available_for_many(session, "meta", [mug, "var_missing"], now=T0) == {
            mug: 2
        }
    view = stock_of(sessions, "MUG")
    assert [(c.channel, c.available) for c in view.channels] == [("meta", 2), ("tiktok", 0)]


def test_every_change_of_availability_records_inventory_changed(sessions, mug):
    with transaction(sessions) as session:
        locations.save_channel_rule(session, "tiktok", ChannelRuleInput(buffer=3))
    sold = reserve(sessions, line("MUG", 4))
    freed = reserve(sessions, line("MUG", 2))
    settle(sessions, "commit", sold.id)  # on hand and reserved both fall: no change
    settle(sessions, "release", freed.id)
    payloads = changed_events(sessions)
    assert [(p["available"], p["channels"]) for p in payloads] == [
        (10, []),  # set to 10
        (10, [{"channel": "tiktok", "available": 7}]),  # rule saved
        (6, [{"channel": "tiktok", "available": 3}]),  # 4 held
        (4, [{"channel": "tiktok", "available": 1}]),  # 2 held
        (6, [{"channel": "tiktok", "available": 3}]),  # 2 released
    ]
    assert payloads[-1]["variant_id"] == mug and payloads[-1]["sku"] == "MUG"


def test_a_refused_reservation_leaves_the_callers_transaction_clean(sessions, mug):
    with transaction(sessions) as session:
        with pytest.raises(availability.InsufficientStock):
            reservations.reserve(session, [line("MUG", 11)], reference="big", now=T0)
        # The caller carries on in the same transaction; nothing of the refusal stays.
        ok = reservations.reserve(session, [line("MUG", 1)], reference="big", now=T0)
    assert ok.replayed is False
    assert levels(sessions, "MUG") == {"default": (10, 1)}
    assert_ledger_balances(sessions)


def test_counts_of_new_variants_match_set_on_hand(sessions):
    """The import's bulk path writes what set_on_hand would: levels, corrections, events."""
    with transaction(sessions) as session:
        locations.save_channel_rule(session, "meta", ChannelRuleInput(buffer=2, cap=5))
    written = {}
    for prefix, bulk in (("A", False), ("B", True)):
        skus = [f"{prefix}-1", f"{prefix}-2", f"{prefix}-3"]
        ids = make_variants(sessions, *skus[:2], handle=f"{prefix.lower()}-deny")
        ids |= make_variants(sessions, skus[2], policy="continue", handle=f"{prefix.lower()}-c")
        counted = {ids[skus[0]]: 7, ids[skus[1]]: 0, ids[skus[2]]: 1}
        with transaction(sessions) as session:
            if bulk:
                counts.set_on_hand_of_new(
                    session,
                    [
                        counts.NewCount(
                            ids[s], s, "continue" if s == skus[2] else "deny", True, counted[ids[s]]
                        )
                        for s in skus
                    ],
                    reason="count",
                    actor="tester",
                    now=T0,
                )
            else:
                counts.set_on_hand(session, counted, reason="count", actor="tester", now=T0)
        with sessions() as session:
            movements = [
                (m.kind, m.quantity, m.on_hand_delta, m.reason, m.actor, m.created_at)
                for m in session.scalars(
                    select(Movement)
                    .where(Movement.variant_id.in_(ids.values()))
                    .order_by(Movement.id)
                )
            ]
        events = [
            {
                **p,
                "variant_id": p["variant_id"] == ids[p["sku"]],
                "sku": p["sku"].replace(prefix, "X"),
            }
            for p in changed_events(sessions)
            if p["sku"].startswith(prefix)
        ]
        views = [
            (v.on_hand, v.available, [(lv.location, lv.on_hand) for lv in v.locations])
            for v in (stock_of(sessions, sku) for sku in skus)
        ]
        written[bulk] = movements, events, views
    assert written[True] == written[False]
    movements, events, views = written[True]
    assert movements == [
        ("correction", 7, 7, "count", "tester", T0),
        ("correction", 1, 1, "count", "tester", T0),
    ]
    assert views[1] == (0, 0, [("default", 0)])  # a level even for a count of 0
    assert [(e["sku"], e["variant_id"], e["published"], e["channels"]) for e in events] == [
        ("X-1", True, 7, [{"channel": "meta", "available": 5}]),
        ("X-3", True, availability.UNLIMITED, [{"channel": "meta", "available": 5}]),
    ]
    assert_ledger_balances(sessions)


def test_counts_of_new_variants_refuse_negative_and_existing_levels(sessions, mug):
    fresh = make_variants(sessions, "NEW")["NEW"]
    with transaction(sessions) as session, pytest.raises(ValidationFailed):
        counts.set_on_hand_of_new(session, [counts.NewCount(fresh, "NEW", "deny", True, -1)])
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        counts.set_on_hand_of_new(session, [counts.NewCount(mug, "MUG", "deny", True, 3)])
    assert levels(sessions, "MUG") == {"default": (10, 0)}
