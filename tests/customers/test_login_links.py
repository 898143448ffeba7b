"""Sign-in links for returning buyers on a new device: signed, expiring, single use, sent
only to a known customer's email, and free of personal data in URLs and logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mercato.customers import service as customers
from mercato.customers.models import LoginLink
from mercato.db import transaction, utcnow
from mercato.events.models import Event
from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.helpers import hidden_fields, open_checkout

EMAIL = "ada@example.com"
DETAILS = {
    "email": EMAIL,
    "name": "Ada Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}


def _links(sessions) -> list[dict]:
    """The events of requested links, each with the URL the mail sender would send."""
    with sessions() as session:
        return [
            {**e.payload, "url": customers.login_link_url(session.get(LoginLink, link_id))}
            for e in session.scalars(
                select(Event).where(Event.type == "customer.login_link_requested")
            )
            if (link_id := e.payload["login_link_id"])
        ]


@pytest.fixture
def known_buyer(client, sessions):
    """A buyer who paid once and asked to be remembered (address and card saved)."""
    make_shop(sessions)
    url, html = open_checkout(client)
    client.post(url, data={**hidden_fields(html), "action": "update", **DETAILS})
    paid = client.post(
        url,
        data={
            **hidden_fields(client.get(url).text),
            "action": "pay",
            **DETAILS,
            "payment_method": "tok_visa",
            "remember": "on",
        },
        follow_redirects=False,
    )
    assert paid.headers["location"].endswith("/thanks")


def test_a_known_buyer_signs_in_on_a_new_device_and_pays_with_saved_details(
    app, known_buyer, sessions, caplog, admin
):
    admin_headers = admin
    with TestClient(app) as fresh:  # another browser: no cookie
        url, html = open_checkout(fresh)
        assert "Email me a sign-in link" in html and "Welcome back" not in html
        with caplog.at_level(logging.INFO):
            asked = fresh.post(f"{url}/login-link", data={**hidden_fields(html), "email": EMAIL})
        assert asked.status_code == 200 and "a sign-in link is on its way" in asked.text
        (sent,) = _links(sessions)
        assert sent["email"] == EMAIL and sent["customer_id"].startswith("cus")
        link = urlsplit(sent["url"]).path
        # Nothing of the person in it (the random token itself may hold any letters).
        assert EMAIL not in sent["url"] and "ada" not in link.rsplit("/", 1)[0].lower()
        # The link is in no log, and in no event: an events:read token cannot sign in.
        logged = "\n".join(r.getMessage() for r in caplog.records)
        token = link.rsplit("/", 1)[1]
        assert token not in logged and EMAIL not in logged
        with sessions() as session:
            for event in session.scalars(select(Event)):
                assert token not in json.dumps(event.payload)
        events = fresh.get("/api/v1/events", headers=admin_headers).json()["items"]
        assert events and token not in json.dumps(events)

        back = fresh.get(link, follow_redirects=False)
        assert back.status_code == 303 and "mercato_buyer" in back.headers["set-cookie"]
        new_url = back.headers["location"]
        assert new_url != url and EMAIL not in new_url
        assert fresh.get(url).status_code == 404  # the old key no longer opens it
        page = fresh.get(new_url).text
        assert "Welcome back" in page and "Visa •••• 4242" in page and "1 Market St" in page
        paid = fresh.post(
            new_url, data={**hidden_fields(page), "action": "pay"}, follow_redirects=False
        )
        assert paid.headers["location"].endswith("/thanks")
        again = fresh.get(link)
        assert again.status_code == 410 and "used already" in again.text
    with sessions() as session:
        assert len(list(session.scalars(select(Order)))) == 2


def test_unknown_and_invalid_emails(client, app, known_buyer, sessions):
    with TestClient(app) as fresh:
        url, html = open_checkout(fresh)
        unknown = fresh.post(
            f"{url}/login-link", data={**hidden_fields(html), "email": "who@example.com"}
        )
        # The same answer as for a known email: nobody learns who shops here.
        assert unknown.status_code == 200 and "a sign-in link is on its way" in unknown.text
        invalid = fresh.post(f"{url}/login-link", data={**hidden_fields(html), "email": "nope"})
        assert invalid.status_code == 422 and "enter your email address" in invalid.text
        refused = fresh.post(f"{url}/login-link", data={"csrf": "x", "email": EMAIL})
        assert refused.status_code == 403
    assert _links(sessions) == []


def test_links_expire_are_signed_and_are_rate_limited(client, app, known_buyer, sessions):
    with TestClient(app) as fresh:
        url, html = open_checkout(fresh)
        for _ in range(customers.MAX_LOGIN_LINKS + 2):
            fresh.post(f"{url}/login-link", data={**hidden_fields(html), "email": EMAIL.upper()})
        links = _links(sessions)
        assert len(links) == customers.MAX_LOGIN_LINKS
        path = urlsplit(links[0]["url"]).path
        link_id, expires, signature = path.rsplit("/", 1)[1].split(".")
        forged = f"/shop/login/{link_id}.{int(expires) + 3600}.{signature}"
        assert fresh.get(forged).status_code == 410
    with transaction(sessions) as session, pytest.raises(customers.LoginLinkInvalid):
        token = path.rsplit("/", 1)[1]
        customers.use_login_link(session, token, now=utcnow() + timedelta(minutes=16))
