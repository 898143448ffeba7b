"""Data subject requests end to end: a person who bought in the shop and on TikTok Shop,
wrote on WhatsApp, browsed with the analytics consent, and whose order went out by webhook
and by mail. Their export holds every one of those records; their erasure leaves none of
their details in a dump of the database or in the logs, and revenue and stock as they
were."""

from __future__ import annotations

import io
import json
import logging
import re
import sqlite3
import subprocess
import zipfile

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from mercato.analytics.models import Touch
from mercato.crypto import email_key
from mercato.db import transaction
from mercato.events import service as events_service
from mercato.events.models import Event
from mercato.inbox.models import Conversation, Message
from mercato.inventory.models import StockLevel
from mercato.mail.models import Mail
from mercato.orders.models import InboundEvent, Order
from mercato.privacy.models import PrivacyRequest
from mercato.sandbox.orders import DeliverIn, OrderIn
from mercato.system.models import AuditEntry
from mercato.webhooks.models import WebhookDelivery
from tests.inbox.conftest import PHONE_NUMBER_ID, WABA_ID, signed, text_message
from tests.orders.conftest import shop  # noqa: F401 - the TikTok Shop simulator fixture

EMAIL = "zelda.quixote@example.org"
PHONE = "+14155550123"
WA_ID = "14155550123"
NAME = "Zelda Quixote"
STREET = "742 Evergreen Terrace"
POSTAL = "62704"
ADDRESS = {
    "name": NAME,
    "line1": STREET,
    "city": "Springfield",
    "region": "IL",
    "postal_code": POSTAL,
    "country": "US",
}
# What TikTok Shop's simulator gives every buyer's address.
TIKTOK_STREET, TIKTOK_POSTAL = "1 Main St", "73301"
PERSONAL = (EMAIL, PHONE, WA_ID, NAME, STREET, POSTAL, TIKTOK_STREET, TIKTOK_POSTAL)
OTHER = "ada@example.com"
OTHER_ADDRESS = {
    "name": "Ada Other",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
VISITOR = "visitor-zq-0001"
NOWHERE = "http://127.0.0.1:9"


def _checkout(client, sku: str, email: str, phone: str | None, address: dict) -> dict:
    started = client.post("/api/v1/checkouts", json={"lines": [{"sku": sku, "quantity": 1}]})
    token = started.json()["token"]
    details = {"email": email, "shipping_address": address}
    if phone:
        details["phone"] = phone
    filled = client.patch(f"/api/v1/checkouts/{token}", json=details)
    assert filled.status_code == 200, filled.text
    total = client.get(f"/api/v1/checkouts/{token}").json()["total"]
    paid = client.post(
        f"/api/v1/checkouts/{token}/complete",
        json={"payment_method": "tok_visa", "expected_total": total},
        headers={"Idempotency-Key": f"pay-{token[-12:]}"},
    )
    assert paid.status_code == 200, paid.text
    return paid.json()


def _whatsapp(client, admin) -> str:
    account = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "name": "shop-whatsapp",
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": "wa-token",
            "app_secret": "app-secret-1",
            "verify_token": "v",
            "base_url": f"{NOWHERE}/whatsapp",
        },
    ).json()
    from tests.inbox.conftest import now

    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": NAME}, "wa_id": WA_ID}],
        "messages": [
            text_message(
                "wamid.ZQ1", f"Hi, {NAME} here: is my parcel for {STREET} out?", now(), WA_ID
            )
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }
    raw, headers = signed(payload, "app-secret-1")
    assert client.post(account["webhook_path"], content=raw, headers=headers).status_code == 200
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    reply = {"type": "text", "text": f"On its way, {NAME}!"}
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    assert client.post(path, headers=admin, json=reply).status_code == 202
    return conversation["id"]


@pytest.fixture
def person(client, admin, sessions, shop, drain, caplog):  # noqa: F811
    """Everything made through the services; returns their ids."""
    caplog.set_level(logging.DEBUG)
    assert (
        client.post(
            "/api/v1/webhooks/endpoints", headers=admin, json={"url": f"{NOWHERE}/hooks"}
        ).status_code
        == 201
    )
    touch = {"kind": "visit", "event_id": "visit-zq-0001", "visitor_id": VISITOR}
    assert client.post("/api/v1/analytics/touches", json=touch).status_code == 200
    mine = _checkout(client, "TEE-M", EMAIL, PHONE, ADDRESS)
    other = _checkout(client, "TEE-M", OTHER, None, OTHER_ADDRESS)
    purchase = {
        "kind": "purchase",
        "event_id": f"order:{mine['order_id']}:purchase",
        "visitor_id": VISITOR,
    }
    assert client.post("/api/v1/analytics/touches", json=purchase).status_code == 200
    channel_id, book = shop.connect("tiktok")
    placed = book.place(OrderIn(lines=[{"sku": "TEE-S", "quantity": 1}], email=EMAIL, name=NAME))
    assert book.deliver(DeliverIn()) == [200]
    conversation_id = _whatsapp(client, admin)
    drain()
    with transaction(sessions) as session:
        while events_service.dispatch_pending(session, events_service.utcnow()):
            pass
    drain()
    with sessions() as session:
        orders = set(
            session.scalars(select(Order.id).where(Order.customer_email_hash == email_key(EMAIL)))
        )
        tiktok = session.scalar(select(Order.id).where(Order.external_id == placed["id"]))
        assert orders == {mine["order_id"], tiktok}
        ids = {
            "orders": orders,
            "other_order": other["order_id"],
            "inbox_conversations": {conversation_id},
            "inbox_messages": set(
                session.scalars(
                    select(Message.id).where(Message.conversation_id == conversation_id)
                )
            ),
            "analytics_touches": set(
                session.scalars(
                    select(Touch.id).where(
                        (Touch.visitor_id == VISITOR) | Touch.order_id.in_(orders)
                    )
                )
            ),
            "webhook_deliveries": set(
                session.scalars(
                    select(WebhookDelivery.id)
                    .join(Event, Event.id == WebhookDelivery.event_id)
                    .where(Event.key.in_(orders | {conversation_id}))
                )
            ),
            "mails": set(
                session.scalars(select(Mail.id).where(Mail.to_address_hash == email_key(EMAIL)))
            ),
            "inbound_events": set(
                session.scalars(
                    select(InboundEvent.id).where(InboundEvent.channel_id == channel_id)
                )
            ),
        }
    assert len(ids["inbox_messages"]) == 2
    assert len(ids["analytics_touches"]) >= 2 and ids["webhook_deliveries"] and ids["mails"]
    assert ids["inbound_events"]
    return ids


def _figures(client, admin, sessions) -> dict:
    with sessions() as session:
        revenue = session.execute(
            select(func.sum(Order.total), func.sum(Order.refunded_total), func.count(Order.id))
        ).one()
        stock = sorted(
            session.execute(
                select(StockLevel.variant_id, StockLevel.on_hand, StockLevel.reserved)
            ).all()
        )
        ledger = session.execute(
            select(Touch.kind, func.sum(Touch.value), func.count(Touch.id)).group_by(Touch.kind)
        ).all()
    kpis = client.get("/api/v1/analytics/kpis", headers=admin).json()
    return {"orders": tuple(revenue), "stock": stock, "ledger": sorted(ledger), "kpis": kpis}


def _dump(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as connection:
            return "\n".join(connection.iterdump())
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        ["pg_dump", "--data-only", plain], check=True, capture_output=True, text=True
    ).stdout


def _holds(text: str, value: str) -> bool:
    """The value as a whole token, or as the hex both dumps write bytes in.

    A whole token, because a five-digit postal code also turns up inside
    random identifiers and timestamps."""
    token = re.compile(rf"(?<![0-9a-z]){re.escape(value.lower())}(?![0-9a-z])")
    return bool(token.search(text.lower())) or value.encode().hex() in text.lower()


def test_export_holds_everything_and_erasure_leaves_nothing(
    client, admin, sessions, person, database_url, caplog
):
    caplog.set_level(logging.DEBUG)
    asked = client.post(
        "/api/v1/privacy/requests",
        headers=admin,
        json={"kind": "access", "regime": "gdpr", "email": EMAIL.upper()},
    )
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "open" and request["subject"] == {"email": EMAIL}
    export = client.post(f"/api/v1/privacy/requests/{request['id']}/export", headers=admin)
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    data = json.loads(archive.read("data.json"))["tables"]
    for table in (
        "orders",
        "inbox_conversations",
        "inbox_messages",
        "analytics_touches",
        "webhook_deliveries",
        "mails",
        "inbound_events",
    ):
        exported = {str(row["id"]) for row in data[table]}
        assert {str(i) for i in person[table]} <= exported, table
        assert f"{table}.csv" in archive.namelist()
    assert person["other_order"] not in {row["id"] for row in data["orders"]}
    assert {"checkouts", "payments", "events", "order_lines"} <= set(data)
    assert EMAIL in archive.read("orders.csv").decode()
    before = _figures(client, admin, sessions)

    erasure = client.post(
        "/api/v1/privacy/requests",
        headers=admin,
        json={"kind": "erasure", "regime": "lgpd", "phone": PHONE},
    ).json()
    erased = client.post(f"/api/v1/privacy/requests/{erasure['id']}/erase", headers=admin)
    assert erased.status_code == 200, erased.text
    done = erased.json()
    assert done["status"] == "completed" and done["outcome"]["erased"]["orders"] == 2
    assert done["subject"]["phone"].startswith("sha256:")

    dump = _dump(database_url)
    assert [v for v in PERSONAL if _holds(dump, v)] == []
    logged = "\n".join(
        r.getMessage() + (r.exc_text or "")
        for phase in ("setup", "call")
        for r in caplog.get_records(phase)
    )
    assert logged and [v for v in PERSONAL if _holds(logged, v)] == []
    assert not _holds(dump, OTHER)  # encrypted at rest, as everyone's
    after = _figures(client, admin, sessions)
    assert after == before
    with sessions() as session:
        # nobody else's data went with it
        assert session.get(Order, person["other_order"]).customer_email == OTHER
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
        orders = session.scalars(select(Order).where(Order.id.in_(person["orders"]))).all()
        assert len(orders) == 2 and all(o.customer_email is None for o in orders)
        assert {o.shipping_address.get("country") for o in orders} == {"US"}
        actions = session.execute(select(AuditEntry.action, AuditEntry.subject)).all()
        assert ("exported", request["id"]) in actions and ("erased", erasure["id"]) in actions
    again = client.post(f"/api/v1/privacy/requests/{erasure['id']}/erase", headers=admin)
    assert again.status_code == 409


def test_deadlines_follow_the_law_and_a_request_needs_someone(client, admin):
    made = {}
    for regime, days in (("gdpr", 30), ("ccpa", 45), ("lgpd", 15)):
        body = {"kind": "access", "regime": regime, "customer_id": "cus_1"}
        made[regime] = client.post("/api/v1/privacy/requests", headers=admin, json=body).json()
        received, due = (made[regime][k] for k in ("received_at", "due_at"))
        from datetime import datetime

        gap = datetime.fromisoformat(due) - datetime.fromisoformat(received)
        assert gap.days == days
    listed = client.get("/api/v1/privacy/requests", headers=admin).json()["items"]
    assert [r["regime"] for r in listed] == ["lgpd", "gdpr", "ccpa"]
    nobody = client.post(
        "/api/v1/privacy/requests", headers=admin, json={"kind": "erasure", "regime": "gdpr"}
    )
    assert nobody.status_code == 422 and nobody.json()["errors"][0]["field"] == "body.email"
    bad = client.post(
        "/api/v1/privacy/requests",
        headers=admin,
        json={"kind": "erasure", "regime": "gdpr", "phone": "12"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.phone"


def test_the_cli_opens_exports_and_erases(settings, sessions, tmp_path):
    from typer.testing import CliRunner

    from mercato.cli import app

    runner = CliRunner()
    opened = runner.invoke(app, ["privacy", "request", "erasure", "--email", EMAIL])
    assert opened.exit_code == 0, opened.output
    with sessions() as session:
        [request] = session.scalars(select(PrivacyRequest)).all()
    listed = runner.invoke(app, ["privacy", "list"])
    assert request.id in listed.output
    refused = runner.invoke(
        app, ["privacy", "export", request.id, "--out", str(tmp_path / "a.zip")]
    )
    assert refused.exit_code == 1 and "only access requests export" in refused.output
    erased = runner.invoke(app, ["privacy", "erase", request.id, "--yes"])
    assert erased.exit_code == 0 and "Erased:" in erased.output
