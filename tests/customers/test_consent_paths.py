"""Consent where it is given and where it is needed: the shop's marketing box (unticked,
its words recorded), WhatsApp's opt-out keyword and the profile's withdrawal stopping a
marketing template at once, and conversions sent to ad platforms only for a buyer whose
consent is on record (or whose merchant says it is implied)."""

from __future__ import annotations

from sqlalchemy import select

from mercato.analytics import conversions
from mercato.analytics.conversion_models import ConversionDestination
from mercato.checkout import paying
from mercato.customers import consent
from mercato.customers.models import Consent
from mercato.db import transaction
from mercato.inbox import accounts
from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.helpers import ADDRESS, hidden_fields, pay_on_page
from tests.inbox.conftest import account, deliver, notification, now, text_message  # noqa: F401


def _buy(client, sessions, ids, **extra):
    html = client.get("/shop/p/hoodie").text
    form = {**hidden_fields(html), "variant_id": ids["HOODIE-M"]}
    url = client.post("/shop/buy", data=form, follow_redirects=False).headers["location"]
    page = client.get(url).text
    details = {"email": "zoe@example.com", **ADDRESS, "payment_method": "tok_visa", **extra}
    paid = pay_on_page(client, url, details, follow_redirects=False)
    assert paid.status_code == 303, paid.text
    return page


def test_the_shops_marketing_box_is_unticked_and_its_words_are_recorded(client, sessions):
    ids = make_shop(sessions)
    page = _buy(client, sessions, ids)
    box = page.split('name="marketing_opt_in"')[1].split(">")[0]
    assert "checked" not in box and paying.MARKETING_WORDING in page
    with sessions() as session:
        assert session.scalars(select(Consent)).all() == []  # not ticked: nothing given

    _buy(client, sessions, ids, marketing_opt_in="on")
    with sessions() as session:
        [given] = session.scalars(select(Consent)).all()
        assert (given.purpose, given.channel, given.granted) == ("marketing", "email", True)
        assert (given.source, given.wording) == ("storefront_checkout", paying.MARKETING_WORDING)
        assert given.reference.startswith("checkout:")
        order = session.scalars(select(Order).order_by(Order.number.desc())).first()
        assert consent.allows(session, order.customer_id, consent.Need("marketing", "email"))


def test_a_withdrawal_on_the_profile_stops_whatsapp_marketing_at_once(
    client,
    admin,
    account,  # noqa: F811
    deliver,  # noqa: F811
    sessions,
):
    with transaction(sessions) as session:
        accounts.replace_templates(
            session,
            account["id"],
            [
                {
                    "name": "drop_alert",
                    "language": "en",
                    "status": "APPROVED",
                    "category": "MARKETING",
                }
            ],
        )
    deliver(notification([text_message("wamid.K1", "hi", now(), sender="14155550123")]))
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    marketing = {"type": "template", "template": {"name": "drop_alert", "language": "en"}}
    refused = client.post(f"{path}/messages", headers=admin, json=marketing)
    assert refused.status_code == 409
    assert refused.json()["channel"] == "whatsapp"
    assert refused.json()["errors"][0]["message"] == "no consent to marketing by whatsapp"

    # Given in the conversation: on the person's profile too, with its words.
    client.patch(path, headers=admin, json={"marketing_consent": True, "consent_source": "Yes!"})
    customer = client.get(path, headers=admin).json()["customer_id"]
    [answer] = client.get(f"/api/v1/customers/{customer}/consents", headers=admin).json()
    assert (answer["channel"], answer["source"], answer["wording"]) == ("whatsapp", "inbox", "Yes!")
    assert client.post(f"{path}/messages", headers=admin, json=marketing).status_code == 202

    # Withdrawn on the profile (say, by email to the shop): refused from that moment.
    withdrawn = client.post(
        f"/api/v1/customers/{customer}/consents",
        headers=admin,
        json={
            "purpose": "marketing",
            "channel": "whatsapp",
            "granted": False,
            "wording": "Please stop sending me offers",
        },
    )
    assert withdrawn.status_code == 201
    again = client.post(f"{path}/messages", headers=admin, json=marketing)
    assert again.status_code == 409 and again.json()["type"].endswith("no-marketing-consent")


def test_conversions_go_only_for_a_buyer_whose_consent_is_on_record(client, sessions):
    ids = make_shop(sessions)
    _buy(client, sessions, ids)
    with sessions() as session:
        order = session.scalar(select(Order))
        destination = ConversionDestination(enabled=True, consent_implied=False)
        assert not conversions.should_send(
            order, destination, consent.allows(session, order.customer_id, conversions.MEASUREMENT)
        )
    # The buyer's browser reports the purchase with its visitor id: they said yes.
    reported = client.post(
        "/api/v1/analytics/touches",
        json={
            "kind": "purchase",
            "event_id": f"order:{order.id}:purchase",
            "visitor_id": "visitor-4242",
        },
    )
    assert reported.status_code in (200, 201), reported.text
    with sessions() as session:
        allowed = consent.allows(session, order.customer_id, conversions.MEASUREMENT)
        assert conversions.should_send(order, destination, allowed)
        [answer] = consent.history(session, order.customer_id)
        assert answer.wording.startswith("May we remember this browser")
    profile = client.get(
        f"/api/v1/customers/{order.customer_id}",
        headers={},
    )
    assert profile.status_code == 401


def test_the_shops_personalisation_box_is_unticked_and_gives_the_buyer_their_own_list(
    client, admin, sessions
):
    from mercato.recommendations import training

    ids = make_shop(sessions)
    page = _buy(client, sessions, ids)
    box = page.split('name="personalisation_opt_in"')[1].split(">")[0]
    assert "checked" not in box and paying.PERSONALISATION_WORDING in page
    _buy(client, sessions, ids, personalisation_opt_in="on")
    with sessions() as session:
        [given] = session.scalars(select(Consent)).all()
        assert (given.purpose, given.channel, given.granted) == ("personalisation", "", True)
        assert given.wording == paying.PERSONALISATION_WORDING
        order = session.scalars(select(Order).order_by(Order.number.desc())).first()
    training.train(sessions)
    mine = client.get(f"/api/v1/recommendations/customers/{order.customer_id}", headers=admin)
    assert mine.json()["list"] == "personal"
    assert [p["handle"] for p in mine.json()["products"]] == ["hoodie"]
