"""Caps hold under parallel redemption from every head at once, as stock does: a code
capped at 100 is redeemed exactly 100 times, whether through the storefront checkout, a
checkout link sent in the inbox or a till; a voided till redemption frees its slot."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from mercato.offers.models import Offer, OfferCode, Redemption
from mercato.orders.models import Order
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.offers.helpers import make_code

CHECKOUTS_EACH = 170
TILL = 160  # with the two checkout heads: 500 attempts


def _ticket(n: int, code: str = "FIRST100", **extra) -> dict:
    return {
        "code": code,
        "location_id": "shop-1",
        "terminal_id": f"till-{n % 4}",
        "ticket": f"T{n}",
        "subtotal": 5000,
        "currency": "USD",
        **extra,
    }


def _redeemed(sessions) -> int:
    with sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Redemption).where(Redemption.status == "redeemed")
        )


def test_500_parallel_redemptions_of_a_code_capped_at_100_give_exactly_100(
    client, admin, make_token, sessions
):
    make_shop(sessions, on_hand=1000)
    make_code(sessions, "FIRST100", max_uses=100)
    till = make_token("pos:write")
    storefront = [start(client, discount_code="FIRST100")["token"] for _ in range(CHECKOUTS_EACH)]
    inbox = [
        start(
            client,
            discount_code="FIRST100",
            attribution={"source": "whatsapp", "conversation_id": f"cnv_{n}"},
        )["token"]
        for n in range(CHECKOUTS_EACH)
    ]
    for token in storefront + inbox:
        fill(client, token, shipping_rate="us-standard")
    totals = {t: client.get(f"/api/v1/checkouts/{t}").json()["total"] for t in storefront + inbox}

    def pay(token):
        return "checkout", complete(client, token, key=f"k-{token[:8]}", total=totals[token])

    def redeem(n):
        return "pos", client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(n))

    jobs = [(pay, t) for t in storefront + inbox] + [(redeem, n) for n in range(TILL)]
    jobs = jobs[::2] + jobs[1::2]  # the heads interleaved
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda job: job[0](job[1]), jobs))

    assert len(answers) == 500
    till_ok = sum(1 for head, r in answers if head == "pos" and r.status_code == 201)
    till_refused = [r for head, r in answers if head == "pos" and r.status_code != 201]
    assert {r.status_code for r in till_refused} <= {409}
    assert all(r.json()["reason"] == "has run out" for r in till_refused)
    paid = [r for head, r in answers if head == "checkout" and r.status_code == 200]
    # A buyer whose code ran out while paying is charged nothing and shown the new total.
    changed = [r for head, r in answers if head == "checkout" and r.status_code == 409]
    assert len(paid) + len(changed) == 2 * CHECKOUTS_EACH
    assert all(r.json()["type"].endswith("total-changed") for r in changed)
    with sessions() as session:
        discounted = session.scalar(
            select(func.count()).select_from(Order).where(Order.discount_total > 0)
        )
        offer = session.scalar(select(Offer))
        assert offer.used == 100
        assert session.get(OfferCode, "FIRST100").used == 100
        by_channel = dict(
            session.execute(
                select(Redemption.channel, func.count())
                .where(Redemption.status == "redeemed")
                .group_by(Redemption.channel)
            ).all()
        )
    assert discounted + till_ok == 100 == _redeemed(sessions)
    assert by_channel.get("pos", 0) == till_ok
    assert by_channel.get("storefront", 0) + by_channel.get("inbox", 0) == discounted
    # Every order charged exactly its total, the one the buyer was shown.
    assert all(r.json()["status"] == "completed" for r in paid)


def test_a_voided_till_redemption_frees_its_slot(client, make_token, sessions):
    make_code(sessions, "ONLY2", max_uses=2)
    till = make_token("pos:write")
    first = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(1, "ONLY2"))
    second = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(2, "ONLY2"))
    assert first.status_code == second.status_code == 201, first.text
    assert first.json()["amount"] == 500  # 10% of 50.00
    full = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(3, "ONLY2"))
    assert full.status_code == 409 and full.json()["reason"] == "has run out"

    voided = client.post(f"/api/v1/pos/redemptions/{first.json()['id']}/void", headers=till)
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    again = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(3, "ONLY2"))
    assert again.status_code == 201, again.text
    assert _redeemed(sessions) == 2
    # Voiding twice gives back one slot, not two.
    client.post(f"/api/v1/pos/redemptions/{first.json()['id']}/void", headers=till)
    with sessions() as session:
        assert session.scalar(select(Offer.used)) == 2


def test_the_same_ticket_or_idempotency_key_redeems_once(client, make_token, sessions):
    make_code(sessions, "ONCE", max_uses=5)
    till = make_token("pos:write")
    keyed = {**till, "Idempotency-Key": "till-1-receipt-77"}
    a = client.post("/api/v1/pos/redemptions", headers=keyed, json=_ticket(77, "ONCE"))
    b = client.post("/api/v1/pos/redemptions", headers=keyed, json=_ticket(77, "ONCE"))
    c = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(77, "ONCE"))
    assert a.status_code == b.status_code == c.status_code == 201
    assert a.json()["id"] == b.json()["id"] == c.json()["id"]
    assert b.headers.get("idempotent-replayed") == "true"
    with sessions() as session:
        assert session.scalar(select(Offer.used)) == 1


def test_a_single_use_code_and_a_per_customer_cap(client, make_token, sessions):
    offer_id = make_code(sessions, "LOYAL", per_customer=1)
    till = make_token("pos:write")
    card = {"customer_ref": "loyalty-4711"}
    first = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(1, "LOYAL", **card))
    assert first.status_code == 201
    twice = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(2, "LOYAL", **card))
    assert twice.status_code == 409
    assert "one customer" in twice.json()["reason"]
    other = client.post(
        "/api/v1/pos/redemptions",
        headers=till,
        json=_ticket(3, "LOYAL", customer_ref="loyalty-0815"),
    )
    assert other.status_code == 201

    admin = make_token("offers:write")
    made = client.post(f"/api/v1/offers/{offer_id}/codes", headers=admin, json={"count": 2})
    assert made.status_code == 201
    csv_text = client.get(made.json()["export_url"], headers=admin).text
    single = csv_text.splitlines()[1].split(",")[0]
    once = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(4, single))
    assert once.status_code == 201
    used = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket(5, single))
    assert used.status_code == 409 and used.json()["reason"] == "has been used up"
