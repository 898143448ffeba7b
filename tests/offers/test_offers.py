"""Offers of every kind priced exactly, their scope and dates, codes in bulk with their
CSV and QR, offline redemptions reconciled against caps, offers sent in the inbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from mercato.config import get_settings
from mercato.offers import pricing
from mercato.offers.models import Offer, OfferCode
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.inbox.conftest import account, deliver, notification, now, text_message  # noqa: F401
from tests.offers.helpers import make_code


def _same(amount: int, source: str, target: str) -> int:
    return amount


def _lines():
    return [
        pricing.Line("v-tee", "p-tee", 2000, 3),
        pricing.Line("v-cap", "p-cap", 1500, 1),
    ]


def test_buy_two_get_one_free_takes_the_cheapest_of_each_three():
    terms = pricing.Terms("buy_x_get_y", 100, buy_quantity=2, get_quantity=1)
    done = pricing.apply(terms, _lines(), "USD", _same)
    # Units 20, 20, 20, 15: one group of three, its cheapest (20) free; the cap is left.
    assert done.lines == (2000, 0) and done.why_not is None


def test_tiers_give_the_highest_reached_and_lines_add_up_exactly():
    tiers = ({"min_subtotal": 5000, "percentage": 10}, {"min_subtotal": 7000, "percentage": 15})
    done = pricing.apply(pricing.Terms("tiered", tiers=tiers), _lines(), "USD", _same)
    assert done.amount == 1125 and sum(done.lines) == 1125  # 15% of 75.00
    small = pricing.apply(
        pricing.Terms("tiered", tiers=tiers), [pricing.Line("v", "p", 1000, 1)], "USD", _same
    )
    assert small.amount == 0 and small.why_not


def test_scope_by_product_and_a_minimum():
    terms = pricing.Terms("percentage", 50, product_ids=frozenset({"p-cap"}))
    assert pricing.apply(terms, _lines(), "USD", _same).lines == (0, 750)
    fixed = pricing.Terms("fixed", 10_000, "USD", min_subtotal=9000)
    assert pricing.apply(fixed, _lines(), "USD", _same).why_not
    capped = pricing.Terms("fixed", 10_000, "USD")
    assert pricing.apply(capped, _lines(), "USD", _same).amount == 7500  # never below 0


def test_an_offer_made_in_the_store_zone_is_stored_in_utc(client, admin, monkeypatch):
    monkeypatch.setenv("MERCATO_TIMEZONE", "Europe/Paris")
    get_settings.cache_clear()
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Summer",
            "kind": "free_shipping",
            "code": "summer",
            "starts_at": "2026-07-01T00:00:00",
            "ends_at": "2026-06-30T21:00:00Z",
        },
    )
    assert made.status_code == 422  # midnight in Paris is 22:00 UTC the day before
    assert made.json()["errors"][0]["loc"][-1] == "ends_at"
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Summer",
            "kind": "free_shipping",
            "code": "summer",
            "starts_at": "2026-07-01T00:00:00",
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["starts_at"].startswith("2026-06-30T22:00:00")
    bad = client.post(
        "/api/v1/offers", headers=admin, json={"name": "X", "kind": "percentage", "value": 150}
    )
    assert bad.status_code == 422


def test_a_free_shipping_code_at_the_checkout_charges_what_it_shows(client, sessions):
    make_shop(sessions)
    make_code(sessions, "SHIPFREE", kind="free_shipping", value=0)
    body = start(client, discount_code="shipfree")
    shown = fill(client, body["token"], shipping_rate="us-standard")
    assert shown["discount_code"] == "SHIPFREE" and shown["shipping_total"] == 0
    paid = complete(client, body["token"], total=shown["total"])
    assert paid.status_code == 200, paid.text
    with sessions() as session:
        assert session.get(OfferCode, "SHIPFREE").used == 1


def test_a_code_not_yet_started_or_for_another_channel_is_refused(client, sessions):
    make_shop(sessions)
    make_code(sessions, "LATER", starts_at=datetime(2999, 1, 1, tzinfo=UTC))
    make_code(sessions, "TILLONLY", channels=["pos"])
    for code, why in (("LATER", "has not started yet"), ("TILLONLY", "cannot be redeemed here")):
        refused = client.post(
            "/api/v1/checkouts",
            json={"lines": [{"sku": "HOODIE-M", "quantity": 1}], "discount_code": code},
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["message"].startswith(why)


def test_bulk_codes_export_and_qr(client, admin, sessions):
    offer_id = make_code(sessions, "PRINTED")
    made = client.post(
        f"/api/v1/offers/{offer_id}/codes", headers=admin, json={"count": 1000, "prefix": "FLY-"}
    )
    assert made.status_code == 201 and made.json()["count"] == 1000
    rows = client.get(made.json()["export_url"], headers=admin).text.splitlines()
    assert rows[0] == "code,max_uses,used,batch,page_url" and len(rows) == 1001
    assert len({r.split(",")[0] for r in rows[1:]}) == 1000
    assert all(r.startswith("FLY-") and r.split(",")[1] == "1" for r in rows[1:])
    qr = client.get("/api/v1/offers/codes/printed/qr.svg?product=hoodie", headers=admin)
    assert qr.status_code == 200 and qr.text.lstrip().startswith("<?xml")
    assert qr.headers["content-type"].startswith("image/svg+xml")


def test_offline_redemptions_are_reconciled_against_the_cap(client, make_token, sessions):
    make_code(sessions, "MARKET", max_uses=2)
    till = make_token("pos:write")
    online = client.post(
        "/api/v1/pos/redemptions",
        headers=till,
        json={
            "code": "MARKET",
            "location_id": "stall",
            "ticket": "A1",
            "subtotal": 3000,
            "currency": "USD",
        },
    )
    assert online.status_code == 201
    csv_text = (
        "code,location_id,terminal_id,ticket,subtotal,currency\n"
        "MARKET,stall,t1,A1,3000,USD\n"  # the one redeemed online: a duplicate
        "MARKET,stall,t1,A2,3000,USD\n"
        "MARKET,stall,t1,A3,3000,USD\n"  # over the cap
        "NOPE,stall,t1,A4,3000,USD\n"
        "MARKET,stall,t1,A5,lots,USD\n"
    )
    report = client.post(
        "/api/v1/pos/redemptions/import",
        headers=till,
        files={"file": ("offline.csv", csv_text.encode(), "text/csv")},
    ).json()
    assert (report["redeemed"], report["duplicates"], report["refused"]) == (1, 1, 3)
    statuses = [(r["row"], r["status"], r["reason"]) for r in report["rows"]]
    assert statuses[0][:2] == (2, "duplicate")
    assert statuses[1][:2] == (3, "redeemed")
    assert statuses[2] == (4, "refused", "has run out")
    assert statuses[3] == (5, "refused", "unknown")
    assert statuses[4][:2] == (6, "refused")
    with sessions() as session:
        assert session.scalar(select(Offer.used)) == 2
    # A file that is not CSV (a quote left open) is refused whole, naming where.
    broken = client.post(
        "/api/v1/pos/redemptions/import",
        headers=till,
        files={"file": ("offline.csv", b'code,location_id\r"MARKET\rstall', "text/csv")},
    )
    assert broken.status_code == 422, broken.text
    with sessions() as session:
        assert session.scalar(select(Offer.used)) == 2


def test_an_offer_sent_in_a_conversation_must_be_usable(
    client,
    admin,
    deliver,  # noqa: F811
    sessions,
):
    make_shop(sessions)
    make_code(sessions, "CHAT5", max_uses=1, channels=["pos"])
    deliver(notification([text_message("wamid.O1", "any discount?", now())]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    refused = client.post(
        f"/api/v1/conversations/{conversation['id']}/checkout-links",
        headers=admin,
        json={"items": [{"sku": "HOODIE-M", "quantity": 1}], "coupon": "CHAT5"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][-1] == "coupon"


def test_an_offer_is_changed_for_the_uses_from_then_on_and_a_refusal_keeps_it(client, admin):
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={"name": "Spring", "kind": "percentage", "value": 10, "code": "SPRING10"},
    ).json()
    changed = client.patch(
        f"/api/v1/offers/{made['id']}",
        headers=admin,
        json={
            "name": "Spring sale",
            "starts_at": "2026-03-01T09:00:00",
            "per_customer": 2,
            "channels": ["pos"],
            "combinable": True,
            "min_subtotal": 2000,
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["per_customer"], body["channels"]) == ("Spring sale", 2, ["pos"])
    assert body["combinable"] is True and body["min_subtotal"] == 2000 and body["value"] == 10
    refused = client.patch(
        f"/api/v1/offers/{made['id']}",
        headers=admin,
        json={"name": "Later", "ends_at": "2026-02-01T00:00:00"},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["ends_at"]
    assert client.get(f"/api/v1/offers/{made['id']}", headers=admin).json()["name"] == "Spring sale"
    kind = client.patch(f"/api/v1/offers/{made['id']}", headers=admin, json={"value": 50})
    assert kind.status_code == 422  # its terms stay as made
