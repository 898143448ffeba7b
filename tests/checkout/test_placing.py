"""Checkouts started and orders placed together (``service.start_many``,
``completion.place_many``, ``checkout.batches``): each keeps its own answer, a refused one
writes nothing, and a batch costs little more than one checkout."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import event, func, select
from starlette.requests import Request

from mercato.checkout import batches, completion, paying, service
from mercato.checkout.api import return_url
from mercato.checkout.limits import HOLD, SHORT_HOLD
from mercato.checkout.schemas import CheckoutComplete, CheckoutCreate, CheckoutUpdate
from mercato.db import transaction, utcnow
from mercato.errors import Conflict, ValidationFailed
from mercato.inventory import availability, reports
from mercato.inventory.availability import InsufficientStock
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.helpers import ADDRESS, fill, make_shop, start
from tests.helpers import written_sql


def _paid(client, sessions, method="tok_visa", key="k"):
    """A checkout paid (steps 1 and 2 of the saga), its order not placed yet."""
    token = start(client)["token"]
    total = fill(client, token)["total"]
    now = utcnow()
    attempt, intent = completion.pay(
        sessions,
        token,
        CheckoutComplete(payment_method=method, expected_total=total),
        attempt_key=key,
        return_url="http://shop.test/back",
        now=now,
    )
    return completion.Placement(attempt.checkout_id, attempt.payment_id, intent, now)


def _count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_orders_paid_together_are_placed_together(client, sessions):
    ids = make_shop(sessions, on_hand=5)
    placed = [_paid(client, sessions, key=f"k{n}") for n in range(3)]
    wrong = _paid(client, sessions, key="wrong")
    wrong = replace(wrong, intent=replace(wrong.intent, amount=wrong.intent.amount + 1))
    declined = _paid(client, sessions, method="tok_chargeDeclined", key="declined")
    with transaction(sessions) as session:
        outcomes = completion.place_many(session, [*placed, wrong, declined])
    assert [o.status for o in outcomes[:3]] == ["completed"] * 3
    assert len({o.order.id for o in outcomes[:3]}) == 3
    # The intent that does not pay the total is refused and wrote nothing: no order, its
    # checkout open, its payment pending, its units still held.
    assert isinstance(outcomes[3], Conflict) and "does not match" in outcomes[3].detail
    assert outcomes[4].status == "declined"
    with sessions() as session:
        assert session.get(service.Checkout, wrong.checkout_id).status == "open"
        assert session.get(Payment, wrong.payment_id).status == "pending"
        assert session.get(Payment, declined.payment_id).status == "declined"
        for placement in placed:
            payment = session.get(Payment, placement.payment_id)
            checkout = session.get(service.Checkout, placement.checkout_id)
            assert (payment.status, payment.order_id) == ("succeeded", checkout.order_id)
            assert checkout.status == "completed"
        level = availability.read_stock(session, variant_ids=[ids["HOODIE-M"]])[ids["HOODIE-M"]]
        assert (level.on_hand, level.available) == (2, 0)  # 3 sold, 2 held (wrong, declined)
        assert reports.verify(session) == []
    assert _count(sessions, Order) == 3


def test_a_batch_costs_the_same_statements_whatever_its_size(client, sessions, engine):
    make_shop(sessions, on_hand=20)

    def statements(placements) -> int:
        outcomes, seen = written_sql(
            engine, sessions, lambda session: completion.place_many(session, placements)
        )
        assert [o.status for o in outcomes] == ["completed"] * len(placements)
        return len(seen)

    two = [_paid(client, sessions, key=f"a{n}") for n in range(2)]
    eight = [_paid(client, sessions, key=f"b{n}") for n in range(8)]
    # No statement of its own per order. The first batch also writes its buyer's
    # identities; the second, whose buyers type the same email again, only suggests
    # merges (+1).
    assert statements(eight) - statements(two) <= 1


def _begin(token: str, total: int, key: str) -> completion.Begin:
    data = CheckoutComplete(payment_method="tok_visa", expected_total=total)
    return completion.Begin(token, data, key, "http://shop.test/back", utcnow())


def _statements(engine, sessions, write) -> tuple[list, int]:
    outcomes, seen = written_sql(engine, sessions, write)
    return outcomes, len(seen)


def test_attempts_made_together_record_their_payments_together(client, sessions, engine):
    make_shop(sessions, on_hand=20)

    def begun(n: int, prefix: str) -> int:
        begins = []
        for i in range(n):
            token = start(client)["token"]
            begins.append(_begin(token, fill(client, token)["total"], f"{prefix}{i}"))
        outcomes, count = _statements(
            engine, sessions, lambda session: completion.begin_many(session, begins)
        )
        assert all(isinstance(o, completion.Attempt) for o in outcomes)
        with sessions() as session:  # each answer is its own attempt's
            ids = [service.get_checkout(session, b.token).id for b in begins]
        assert [o.checkout_id for o in outcomes] == ids
        return count

    # One lock, one read of payments, one insert, whatever the number of attempts; the
    # checkouts' own changes go in one executemany.
    assert begun(8, "b") <= begun(2, "a") + 1
    assert _count(sessions, Payment, Payment.status == "pending") == 10


def test_an_attempt_refused_in_a_batch_is_refused_alone(client, sessions):
    """One attempt that only its own transaction may answer (a buyer without an address, a
    second tab while the first is paying) makes the batch write each alone: the others
    are recorded, the refused one kept nothing (not even its attempt count)."""
    make_shop(sessions, on_hand=5)
    good = start(client)["token"]
    good_total = fill(client, good)["total"]
    bare = start(client)["token"]
    busy = start(client)["token"]
    busy_total = fill(client, busy)["total"]
    with transaction(sessions) as session:
        completion.begin_one(session, _begin(busy, busy_total, "first-tab"))
    batcher = batches.BeginBatcher(sessions)
    outcomes = batcher._write(
        [_begin(good, good_total, "g"), _begin(bare, 1, "b"), _begin(busy, busy_total, "tab-2")]
    )
    assert isinstance(outcomes[0], completion.Attempt)
    assert isinstance(outcomes[1], ValidationFailed)
    assert isinstance(outcomes[2], Conflict) and "under way" in outcomes[2].detail
    with sessions() as session:
        assert service.get_checkout(session, bare).attempts == 0
    assert _count(sessions, Payment) == 2  # the first tab's and the good one's


def test_an_attempt_seen_again_in_a_batch_gets_its_first_answer(client, sessions):
    make_shop(sessions, on_hand=5)
    token = start(client)["token"]
    total = fill(client, token)["total"]
    with transaction(sessions) as session:
        (first,) = completion.begin_many(session, [_begin(token, total, "same")])
    with transaction(sessions) as session:
        (again,) = completion.begin_many(session, [_begin(token, total, "same")])
    assert isinstance(first, completion.Attempt)
    assert again.status == "processing"  # its payment is pending: the provider not yet told
    assert _count(sessions, Payment) == 1


def test_a_checkout_costs_a_bounded_number_of_statements(client, sessions, engine):
    """Create, fill in and complete: the statements each step runs (the Idempotency-Key's
    own included), so that one more query per line or per request shows here."""
    make_shop(sessions, on_hand=5)
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        token = start(client)["token"]
        created = len(seen)
        total = fill(client, token)["total"]
        filled = len(seen) - created
        done = client.post(
            f"/api/v1/checkouts/{token}/complete",
            json={"payment_method": "tok_visa", "expected_total": total},
            headers={"Idempotency-Key": "once"},
        )
        completed = len(seen) - created - filled
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert done.status_code == 200, done.text
    # PostgreSQL writes orders, their lines and movements with COPY (not counted here);
    # SQLite with INSERTs, and reads its order number with a statement of its own.
    # Starting records checkout.started (the event and its outbox row: 2 of the 16).
    # Completing links the buyer to their profile: a read of their identities, a new
    # customer and its identities (3 of the 36). Channel pools (inventory.pools): the hold
    # reads the variants' pools with their stock (1 of the 17), and the commit settles what
    # the channel took from its pool (1 of the 38). Fraud screening reads the store's
    # settings (1 of the 38; off here, so nothing more).
    assert (created, filled) <= (17, 5), seen
    assert completed <= 38, seen


def test_the_provider_read_with_the_checkout_follows_a_change_at_once(sessions):
    with transaction(sessions) as session:
        name = session.scalar(select(payments.ACTIVE_PROVIDER))
        assert payments.provider_named(session, name) is payments.sandbox()
        payments.configure(session, "stripe", secret_key="sk_test_51Abcdef0123456789")
    with transaction(sessions) as session:
        name = session.scalar(select(payments.ACTIVE_PROVIDER))
        assert name == "stripe" and payments.provider_named(session, name).name == "stripe"
        payments.configure(session, "sandbox")
    with sessions() as session:
        name = session.scalar(select(payments.ACTIVE_PROVIDER))
        assert payments.provider_named(session, name) is payments.sandbox()


def test_paying_reads_the_hold_with_the_checkout(client, sessions):
    make_shop(sessions)
    body = start(client)
    fill(client, body["token"])
    with transaction(sessions) as session:
        checkout, hold = service.locked(session, service.Checkout.id == body["id"])
        assert hold.holds_at(utcnow()) and checkout.lines[0].quantity == 1
        paying.ready_to_pay(session, checkout, utcnow(), hold)


def _start(sku: str, quantity: int = 1, visitor: str | None = None) -> service.Start:
    return service.Start(CheckoutCreate(lines=[{"sku": sku, "quantity": quantity}]), visitor)


def test_checkouts_started_together_hold_each_its_own(sessions):
    ids = make_shop(sessions, on_hand=10)
    starts = [
        _start("HOODIE-M", 2),
        _start("NOPE"),
        _start("HOODIE-M", 9),  # more than is left after the first
        _start("HOODIE-S", 3),
        _start("HOODIE-M", 7),  # the last 8: scarce, held for less
    ]
    with transaction(sessions) as session:
        started = service.start_many(session, starts)
    assert isinstance(started[1], ValidationFailed) and isinstance(started[2], InsufficientStock)
    kept = [started[0], started[3], started[4]]
    assert [c.shown.checkout.lines[0].quantity for c in kept] == [2, 3, 7]
    assert [c.shown.lines[0].title for c in kept] == ["Cloud Hoodie"] * 3
    with sessions() as session:
        assert _count(sessions, service.Checkout) == 3  # the refused ones were never written
        for created in kept:
            checkout = session.get(service.Checkout, created.checkout.id)
            assert checkout.reservation_id and checkout.total == created.shown.checkout.total
            assert service.get_checkout(session, created.token).id == checkout.id
        levels = availability.read_stock(session, variant_ids=list(ids.values()))
        assert levels[ids["HOODIE-M"]].available == 1 and levels[ids["HOODIE-S"]].available == 7
        assert reports.verify(session) == []
    holds = [c.checkout.expires_at - c.checkout.created_at for c in kept]
    assert holds[0] > SHORT_HOLD and holds[2] <= SHORT_HOLD < HOLD


def test_the_api_starts_and_completes_through_the_batches(client, sessions):
    make_shop(sessions, on_hand=3)
    tokens = [start(client)["token"] for _ in range(3)]
    one = {"lines": [{"sku": "HOODIE-M", "quantity": 1}]}
    sold_out = client.post("/api/v1/checkouts", json=one)
    assert sold_out.status_code == 409 and sold_out.json()["type"] == "/problems/insufficient-stock"
    for n, token in enumerate(tokens):
        total = fill(client, token)["total"]
        done = client.post(
            f"/api/v1/checkouts/{token}/complete",
            json={"payment_method": "tok_visa", "expected_total": total},
            headers={"Idempotency-Key": f"pay-{n}"},
        )
        assert done.status_code == 200 and done.json()["order_number"], done.text
    assert _count(sessions, Order) == 3


def test_a_hold_read_as_lapsed_is_read_again_before_holding_anew(client, sessions):
    """A lock that waited for another attempt read the hold as it was before that one
    extended it: only a live-looking hold is taken at its word."""
    make_shop(sessions)
    body = start(client)
    with transaction(sessions) as session:
        checkout, hold = service.locked(session, service.Checkout.id == body["id"])
        stale = service.Hold(hold.status, utcnow())  # as if read before an extension
        service.renew_hold(session, checkout, utcnow(), stale)
        assert checkout.holds == 1  # alive after all: not held twice


def test_the_return_url_is_the_routes_own(app):
    request = Request({"type": "http", "app": app, "headers": []})
    base = app.state.settings.base_url.rstrip("/")
    for token in ("abc-DEF_123", "x" * 43):
        expected = base + app.url_path_for("checkout_return", token=token)
        assert return_url(request, token) == expected


def test_details_sent_together_are_written_together(client, sessions, engine):
    """Buyers typing their details at the same moment: one transaction for all of them,
    whatever their number, each answered with their own checkout."""
    make_shop(sessions, on_hand=20)

    def updated(n: int) -> int:
        tokens = [start(client)["token"] for _ in range(n)]
        details = [
            CheckoutUpdate(email=f"buyer{i}@example.com", shipping_address=ADDRESS)
            for i in range(n)
        ]
        views, count = _statements(
            engine,
            sessions,
            lambda session: service.update_many(session, list(zip(tokens, details, strict=True))),
        )
        assert [v.checkout.email for v in views] == [d.email for d in details]
        assert all(v.checkout.tax_total > 0 and v.lines[0].title for v in views)
        with sessions() as session:
            assert [service.get_checkout(session, t).email for t in tokens] == [
                d.email for d in details
            ]
        return count

    assert updated(8) <= updated(2)


def test_details_refused_in_a_batch_are_refused_alone(client, sessions):
    """A buyer's details refused (a postal code not of their country) change nothing of
    theirs; the others sent with them are written."""
    make_shop(sessions, on_hand=5)
    good, bad = start(client)["token"], start(client)["token"]
    wrong = {**ADDRESS, "postal_code": "not a zip"}
    outcomes = batches.UpdateBatcher(sessions)._write(
        [
            batches.Update(
                good, CheckoutUpdate(email="good@example.com", shipping_address=ADDRESS)
            ),
            batches.Update(bad, CheckoutUpdate(email="bad@example.com", shipping_address=wrong)),
        ]
    )
    assert outcomes[0].checkout.email == "good@example.com"
    assert isinstance(outcomes[1], ValidationFailed)
    assert any("postal_code" in e.loc for e in outcomes[1].errors)
    with sessions() as session:
        assert service.get_checkout(session, good).email == "good@example.com"
        assert service.get_checkout(session, bad).email is None
