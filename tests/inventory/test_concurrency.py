"""Zero oversell under concurrency: several processes fight over a few units.

Buyers in separate processes (each with its own connections) reserve carts of one or two
SKUs in either order, then commit, release or abandon them (short holds that lapse), or
buy them at once;
a sweeper runs alongside. Afterwards the units still free are drained. Exactly the stock
is sold, nothing stays reserved, and the ledger balances. On PostgreSQL this is real
row-lock contention; on SQLite writers queue on the database lock.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import traceback
from collections import Counter

import pytest
from sqlalchemy import func, select

from mercato.config import Settings
from mercato.db import create_db_engine, make_sessionmaker, transaction
from mercato.inventory import availability, counts, reports, reservations
from mercato.inventory.models import Movement, Reservation
from mercato.inventory.schemas import AdjustmentCreate, ReservationLineInput
from tests.inventory.conftest import assert_ledger_balances, make_variants

STOCK = 40
BUYERS = 4
ATTEMPTS = 30  # per buyer in the rush; BUYERS * ATTEMPTS carts fight over STOCK units
ABANDONED_HOLD = 1  # seconds
SKUS = ("DROP-A", "DROP-B")


def _session_factory(url: str, data_dir: str):
    engine = create_db_engine(Settings(database_url=url, data_dir=data_dir), url=url)
    return engine, make_sessionmaker(engine)


def _buyer(url: str, data_dir: str, seed: int, start, results) -> None:
    """Rush, then drain; reports units sold per SKU and any unexpected error."""
    engine, sessions = _session_factory(url, data_dir)
    rng = random.Random(seed)
    sold: Counter[str] = Counter()
    errors: list[str] = []

    def attempt(lines, then: str) -> bool:
        ttl = ABANDONED_HOLD if then == "abandon" else None
        try:
            with transaction(sessions) as session:
                held = reservations.reserve(
                    session, lines, ttl_seconds=ttl, sell=then == "sell", actor=f"buyer-{seed}"
                )
            if then == "sell":
                sold.update({ln.sku: ln.quantity for ln in held.lines})
            elif then == "commit":
                with transaction(sessions) as session:
                    reservations.commit(session, held.id)
                sold.update({ln.sku: ln.quantity for ln in held.lines})
            elif then == "release":
                with transaction(sessions) as session:
                    reservations.release(session, held.id)
            return True
        except availability.InsufficientStock:
            return False
        except Exception:  # noqa: BLE001 - every other error fails the test, with its trace
            errors.append(traceback.format_exc())
            return False

    try:
        start.wait(timeout=60)
        for _ in range(ATTEMPTS):
            skus = rng.sample(SKUS, rng.choice((1, 2)))  # both orders of a two-SKU cart
            lines = [ReservationLineInput(sku=s, quantity=rng.choice((1, 1, 2))) for s in skus]
            attempt(lines, rng.choices(("commit", "sell", "release", "abandon"), (4, 2, 2, 2))[0])
        time.sleep(ABANDONED_HOLD + 0.2)  # abandoned holds lapse; nobody sweeps them first
        for _ in range(STOCK * len(SKUS)):
            if not any(attempt([ReservationLineInput(sku=s, quantity=1)], "commit") for s in SKUS):
                break
    finally:
        engine.dispose()
        results.put((dict(sold), errors))


def _sweeper(url: str, data_dir: str, start, stop, results) -> None:
    engine, sessions = _session_factory(url, data_dir)
    errors = []
    try:
        start.wait(timeout=60)
        while not stop.wait(0.05):
            try:
                with transaction(sessions) as session:
                    reservations.sweep_expired(session)
            except Exception:  # noqa: BLE001
                errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put(({}, errors))


@pytest.mark.slow
def test_exactly_the_stock_is_sold_from_many_processes(engine, sessions, database_url, tmp_path):
    make_variants(sessions, *SKUS, handle="drop")
    with transaction(sessions) as session:
        for sku in SKUS:
            counts.adjust(session, AdjustmentCreate(sku=sku, on_hand=STOCK))

    # Children fork from a server that imported this module once: fast starts, and no
    # connection or thread inherited from the test process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start, stop, results = context.Barrier(BUYERS + 2), context.Event(), context.Queue()
    args = (database_url, str(tmp_path))
    buyers = [
        context.Process(target=_buyer, args=(*args, seed, start, results)) for seed in range(BUYERS)
    ]
    sweeper = context.Process(target=_sweeper, args=(*args, start, stop, results))
    for process in (*buyers, sweeper):
        process.start()
    start.wait(timeout=60)
    outcomes = [results.get(timeout=240) for _ in buyers]
    stop.set()
    outcomes.append(results.get(timeout=60))
    for process in (*buyers, sweeper):
        process.join(timeout=30)

    errors = [error for _, errs in outcomes for error in errs]
    assert errors == [], errors[0]
    sold = sum((Counter(s) for s, _ in outcomes), Counter())
    assert sold == {sku: STOCK for sku in SKUS}

    with transaction(sessions) as session:
        reservations.sweep_expired(session)
    with sessions() as session:
        for sku in SKUS:
            view = reports.inventory_by_sku(session, sku)
            assert (view.on_hand, view.reserved, view.available) == (0, 0, 0)
        sales = session.scalar(select(func.sum(Movement.quantity)).where(Movement.kind == "sale"))
        statuses = Counter(session.scalars(select(Reservation.status)))
    assert sales == STOCK * len(SKUS)
    assert statuses["active"] == 0 and statuses["expired"] > 0
    assert_ledger_balances(sessions)


def _batch_buyer(url: str, data_dir: str, seed: int, start, results) -> None:
    """Buys in batches of five requests of one or two units, as an API process's
    reservation batcher or a webhook worker writes them: several of one SKU in a batch
    (taken by one summed UPDATE), sold at once or held then committed."""
    from mercato.inventory.reservations import ReservationRequest, reserve_many

    engine, sessions = _session_factory(url, data_dir)
    sold: Counter[str] = Counter()
    errors: list[str] = []
    try:
        start.wait(timeout=60)
        for batch in range(STOCK):
            requests = [
                ReservationRequest(
                    [ReservationLineInput(sku=SKUS[(batch + n) % 2], quantity=1 + (n == 1))],
                    reference=f"{seed}-{batch}-{n}",
                    sell=n != 4,
                )
                for n in range(5)
            ]
            with transaction(sessions) as session:
                outcomes = reserve_many(session, requests)
            for outcome in outcomes:
                if isinstance(outcome, reservations.ReservationView):
                    if outcome.status == "active":
                        with transaction(sessions) as session:
                            reservations.commit(session, outcome.id)
                    sold.update({ln.sku: ln.quantity for ln in outcome.lines})
                elif not isinstance(outcome, availability.InsufficientStock):
                    errors.append(repr(outcome))
            if all(isinstance(o, availability.InsufficientStock) for o in outcomes):
                break
    except Exception:  # noqa: BLE001 - every error fails the test, with its trace
        errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put((dict(sold), errors))


@pytest.mark.slow
def test_batches_from_many_processes_sell_exactly_the_stock(
    engine, sessions, database_url, tmp_path
):
    make_variants(sessions, *SKUS, handle="drop")
    with transaction(sessions) as session:
        for sku in SKUS:
            counts.adjust(session, AdjustmentCreate(sku=sku, on_hand=STOCK))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start, results = context.Barrier(BUYERS + 1), context.Queue()
    buyers = [
        context.Process(
            target=_batch_buyer, args=(database_url, str(tmp_path), seed, start, results)
        )
        for seed in range(BUYERS)
    ]
    for process in buyers:
        process.start()
    start.wait(timeout=60)
    outcomes = [results.get(timeout=240) for _ in buyers]
    for process in buyers:
        process.join(timeout=30)

    errors = [error for _, errs in outcomes for error in errs]
    assert errors == [], errors[0]
    assert sum((Counter(s) for s, _ in outcomes), Counter()) == {sku: STOCK for sku in SKUS}
    with sessions() as session:
        for sku in SKUS:
            view = reports.inventory_by_sku(session, sku)
            assert (view.on_hand, view.reserved) == (0, 0)
    assert_ledger_balances(sessions)
