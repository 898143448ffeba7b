"""Mail to buyers, made by the worker from events and sent to a real SMTP server (aiosmtpd
on 127.0.0.1): order confirmation in the buyer's language, shipping with a tracking link,
refund, sign-in link read from its own row; retried with each attempt logged; kept in the
local outbox (shown in the dashboard) when no SMTP server is configured."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from mercato.auth import service as auth_service
from mercato.config import get_settings
from mercato.db import transaction
from mercato.events.models import Event
from mercato.mail.models import Mail
from tests.checkout.helpers import complete, fill, make_shop, start


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port(monkeypatch, settings):
    port = _free_port()
    monkeypatch.setenv("MERCATO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MERCATO_SMTP_PORT", str(port))
    monkeypatch.setenv("MERCATO_SMTP_SECURITY", "none")
    monkeypatch.setenv("MERCATO_MAIL_FROM", "Cloud Shop <shop@cloud.example>")
    get_settings.cache_clear()
    return port


@pytest.fixture
def inbox(smtp_port):
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


def _buy(client, sessions, language: str = "en-US"):
    make_shop(sessions)
    body = start(client, locale=language) if language else start(client)
    fill(client, body["token"])
    done = complete(client, body["token"])
    assert done.status_code == 200, done.text
    return done.json()


def _mails(sessions) -> list[Mail]:
    with sessions() as session:
        return list(session.scalars(select(Mail).order_by(Mail.created_at)))


def test_a_storefront_order_is_confirmed_by_mail_then_shipped_and_refunded(
    client, sessions, admin, inbox, drain
):
    paid = _buy(client, sessions)
    drain()
    (confirmation,) = inbox.messages
    assert confirmation["To"] == "ada@example.com"
    assert confirmation["From"] == "Cloud Shop <shop@cloud.example>"
    assert confirmation["Subject"] == f"Your order #{paid['order_number']} is confirmed"
    body = confirmation.get_content()
    assert "Cloud Hoodie" in body and "Total paid: $31.81" in body

    order = paid["order_id"]
    client.post(
        f"/api/v1/orders/{order}/fulfillments",
        headers=admin,
        json={"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
    )
    client.post(f"/api/v1/orders/{order}/refunds", headers=admin, json={"amount": 500})
    drain()
    # Sent side by side by the worker's threads: in either order.
    shipped, refunded = sorted(inbox.messages[1:], key=lambda m: "Refund" in m["Subject"])
    assert "has shipped" in shipped["Subject"]
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in shipped.get_content()
    assert "We refunded $5.00" in refunded.get_content()
    assert sorted((m.kind, m.status, m.attempts) for m in _mails(sessions)) == [
        ("order_confirmation", "sent", 1),
        ("refund", "sent", 1),
        ("shipping_confirmation", "sent", 1),
    ]
    drain()  # handing the same events over again makes no second mail
    assert len(inbox.messages) == 3


def test_mail_is_in_the_buyers_language(client, sessions, inbox, drain):
    paid = _buy(client, sessions, language="de-DE")
    drain()
    (confirmation,) = inbox.messages
    assert confirmation["Subject"] == f"Ihre Bestellung #{paid['order_number']} ist bestätigt"
    assert "Bezahlt: 31,81\xa0$" in confirmation.get_content()


def test_a_sign_in_link_is_mailed_from_its_own_row(client, sessions, inbox, drain):
    make_shop(sessions)
    first = start(client)["token"]
    fill(client, first, remember=True)  # a customer now: their email is known
    complete(client, first)
    drain()
    before = len(inbox.messages)
    html = client.get(f"/shop/checkout/{start(client)['token']}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    url = re.search(r'formaction="([^"]+login-link)"', html).group(1)
    client.post(url, data={"csrf": csrf, "email": "ada@example.com"})
    drain()
    (link_mail,) = inbox.messages[before:]
    assert link_mail["Subject"] == "Your sign-in link"
    link = re.search(r"(http\S+/shop/login/\S+)", link_mail.get_content()).group(1)
    with sessions() as session:
        event = session.scalar(select(Event).where(Event.type == "customer.login_link_requested"))
        stored = [m.subject for m in session.scalars(select(Mail))]
    assert link not in str(event.payload) and link not in str(stored)
    assert client.get(link, follow_redirects=False).status_code == 303


def test_a_failed_attempt_is_logged_and_retried(client, sessions, smtp_port, clock, drain):
    _buy(client, sessions)
    drain()  # no server listening yet
    (mail,) = _mails(sessions)
    assert (mail.status, mail.attempts) == ("queued", 1)
    assert "ConnectionRefused" in mail.last_error
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        clock.advance(timedelta(hours=1))  # the retry comes due
        drain()
    finally:
        controller.stop()
    (mail,) = _mails(sessions)
    assert (mail.status, mail.attempts) == ("sent", 2) and len(box.messages) == 1
    with sessions() as session:
        outcomes = [a.outcome for a in session.get(Mail, mail.id).log]
    assert outcomes == ["failed", "sent"]


def test_without_smtp_mail_is_kept_and_shown_in_the_dashboard(client, sessions, drain):
    paid = _buy(client, sessions)
    drain()
    (mail,) = _mails(sessions)
    assert mail.status == "kept"
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "owner", ["admin"]).secret
    client.post("/admin/login", data={"token": secret})
    outbox = client.get("/admin/mail").text
    assert "No SMTP server is configured" in outbox
    assert f"Your order #{paid['order_number']} is confirmed" in outbox
    detail = client.get(f"/admin/mail/{mail.id}").text
    assert "Total paid: $31.81" in detail and "kept in the local outbox" in detail


def test_mail_templates_can_be_overridden_from_the_data_dir(client, sessions, settings, drain):
    folder = settings.data_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "order_confirmation.txt").write_text(
        "Subject: Thanks from Cloud Shop (#{{ order.number }})\nSee you soon.\n"
    )
    paid = _buy(client, sessions)
    drain()
    (mail,) = _mails(sessions)
    assert mail.subject == f"Thanks from Cloud Shop (#{paid['order_number']})"
