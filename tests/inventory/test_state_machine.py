"""Random sequences of reserve / extend / release / commit / adjust / expire / sweep,
checked after every step against a model that only knows totals and a clock."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete

from mercato.db import transaction
from mercato.errors import Conflict
from mercato.events.models import Event
from mercato.inventory import availability, counts, locations, reports, reservations
from mercato.inventory.models import (
    ChannelRule,
    Location,
    Movement,
    Reservation,
    ReservationLine,
    StockLevel,
)
from mercato.inventory.schemas import AdjustmentCreate, LocationInput, ReservationLineInput
from tests.inventory.conftest import assert_ledger_balances, make_variants

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DENY, CONTINUE = ("A", "B"), "C"
SKUS = (*DENY, CONTINUE)
LOCATIONS = ("default", "shop")


@dataclass
class Held:
    """The model of one reservation: units held from stock per SKU, and until when."""

    units: dict[str, int]
    expires_at: datetime
    status: str = "active"


class InventoryMachine(RuleBasedStateMachine):
    holds = Bundle("reservations")

    def __init__(self, sessions):
        super().__init__()
        self.sessions = sessions
        with transaction(sessions) as session:
            for table in (
                Movement,
                ReservationLine,
                Reservation,
                StockLevel,
                ChannelRule,
                Location,
                Event,
            ):
                session.execute(delete(table))
            locations.save_location(session, "shop", LocationInput(name="Shop", priority=1))
        self.now = T0
        self.on_hand = dict.fromkeys(SKUS, 0)
        self.held: dict[str, Held] = {}

    # ------------------------------------------------------------ the model

    def live(self, sku: str) -> int:
        return sum(
            h.units.get(sku, 0)
            for h in self.held.values()
            if h.status == "active" and h.expires_at > self.now
        )

    def available(self, sku: str) -> int:
        return self.on_hand[sku] - self.live(sku)

    def run(self, action, *args, **options):
        with transaction(self.sessions) as session:
            return action(session, *args, now=self.now, **options)

    # ------------------------------------------------------------ rules

    @rule(
        sku=st.sampled_from(SKUS),
        location=st.sampled_from(LOCATIONS),
        change=st.integers(-6, 8).filter(bool),
    )
    def adjust(self, sku, location, change):
        with self.sessions() as session:
            before = {
                lv.location: lv
                for lv in reports.inventory_by_sku(session, sku, now=self.now).locations
            }
        level = before.get(location)
        target = (level.on_hand if level else 0) + change
        enough = target >= max(0, level.reserved if level else 0)
        try:
            self.run(counts.adjust, AdjustmentCreate(sku=sku, location=location, quantity=change))
        except availability.InsufficientStock:
            assert not enough, f"refused {change} at {location} though {target} covers holds"
            return
        assert enough, f"accepted {change} at {location}: {target} on hand below its holds"
        self.on_hand[sku] += change

    @rule(
        target=holds,
        wanted=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 5), min_size=1, max_size=3),
        ttl=st.integers(1, 120),
        allocation=st.sampled_from(("priority", "most_stock")),
        sell=st.booleans(),
    )
    def reserve(self, wanted, ttl, allocation, sell):
        lines = [ReservationLineInput(sku=sku, quantity=units) for sku, units in wanted.items()]
        fits = all(units <= self.available(sku) for sku, units in wanted.items() if sku != CONTINUE)
        try:
            view = self.run(
                reservations.reserve, lines, ttl_seconds=ttl, allocation=allocation, sell=sell
            )
        except availability.InsufficientStock as short:
            assert not fits, f"refused {wanted} though it fits"
            assert {line["sku"] for line in short.extra["lines"]} == {
                sku
                for sku, units in wanted.items()
                if sku != CONTINUE and units > self.available(sku)
            }
            return None
        assert fits, f"reserved {wanted} beyond what is available"
        units = {
            sku: n for sku, n in wanted.items() if sku != CONTINUE or n <= self.available(sku)
        }  # else backordered whole
        from_stock = Counter()
        for line in view.lines:
            if line.location is not None:
                from_stock[line.sku] += line.quantity
        assert from_stock == units
        held = self.held[view.id] = Held(units, self.now + timedelta(seconds=ttl))
        if sell:
            assert view.status == "committed"
            for sku, n in units.items():
                self.on_hand[sku] -= n
            held.status = "committed"
        return view.id

    @rule(seconds=st.integers(1, 90))
    def time_passes(self, seconds):
        self.now += timedelta(seconds=seconds)

    @rule(reservation=holds, ttl=st.integers(1, 120))
    def extend(self, reservation, ttl):
        if reservation is None:
            return
        held = self.held[reservation]
        try:
            self.run(reservations.extend, reservation, ttl)
        except reservations.ReservationExpired:
            assert held.status == "active" and held.expires_at <= self.now
            return
        except Conflict:
            assert held.status != "active"
            return
        assert held.status == "active" and held.expires_at > self.now
        held.expires_at = self.now + timedelta(seconds=ttl)

    @rule(reservation=consumes(holds))
    def commit(self, reservation):
        if reservation is None:
            return
        held = self.held[reservation]
        if held.status == "committed":  # idempotent
            assert self.run(reservations.commit, reservation).status == "committed"
            return
        try:
            view = self.run(reservations.commit, reservation)
        except reservations.ReservationExpired:
            # Refused and rolled back: it stays active but lapsed until swept or released.
            assert held.status == "active" and held.expires_at <= self.now
            return
        except Conflict:
            assert held.status != "active"
            return
        assert view.status == "committed" and held.expires_at > self.now
        for sku, units in held.units.items():
            self.on_hand[sku] -= units
        held.status = "committed"

    @rule(reservation=consumes(holds))
    def release(self, reservation):
        if reservation is None:
            return
        held = self.held[reservation]
        if held.status == "committed":
            try:
                self.run(reservations.release, reservation)
            except Conflict:
                return
            raise AssertionError("a sale was released")
        view = self.run(reservations.release, reservation)
        if held.status == "active":
            held.status = "expired" if held.expires_at <= self.now else "released"
        assert view.status == held.status

    @rule()
    def sweep(self):
        due = [h for h in self.held.values() if h.status == "active" and h.expires_at <= self.now]
        assert self.run(reservations.sweep_expired) == len(due)
        for held in due:
            held.status = "expired"

    # ------------------------------------------------------------ invariants

    @invariant()
    def stock_matches_the_model_and_the_ledger(self):
        with self.sessions() as session:
            for sku in SKUS:
                view = reports.inventory_by_sku(session, sku, now=self.now)
                assert (view.on_hand, view.reserved) == (self.on_hand[sku], self.live(sku))
                assert view.available == self.available(sku) >= 0
        assert_ledger_balances(self.sessions)


def test_random_sequences_keep_every_invariant(sessions):
    make_variants(sessions, *DENY, handle="ab")
    make_variants(sessions, CONTINUE, policy="continue")
    run_state_machine_as_test(
        lambda: InventoryMachine(sessions),
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
