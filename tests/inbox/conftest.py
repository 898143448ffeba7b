"""Inbox test helpers: a WhatsApp number connected through the API, and notifications in
the shape Meta documents (docs/platforms/whatsapp.md), signed with the app secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
APP_SECRET = "app-secret-1"
VERIFY_TOKEN = "verify-me"
BUYER = "15551234567"


def notification(messages=(), statuses=(), phone_number_id=PHONE_NUMBER_ID) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Ada Buyer"}, "wa_id": BUYER}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    }


def text_message(wamid: str, body: str, at: datetime, sender: str = BUYER) -> dict:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(int(at.timestamp())),
        "type": "text",
        "text": {"body": body},
    }


def status(wamid: str, state: str, at: datetime, errors=None) -> dict:
    found = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": BUYER,
    }
    if errors:
        found["errors"] = errors
    return found


def signed(payload: dict, secret: str = APP_SECRET) -> tuple[bytes, dict]:
    raw = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def account(client, admin, request):
    """A WhatsApp number connected through the API; its id."""
    base_url = getattr(request, "param", "https://graph.facebook.com")
    response = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "name": "shop-whatsapp",
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": WABA_ID,
            "access_token": "wa-token",
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "base_url": base_url,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def deliver(client, account):
    """POST a signed notification to the account's webhook; the response."""

    def post(payload: dict, secret: str = APP_SECRET):
        raw, headers = signed(payload, secret)
        return client.post(account["webhook_path"], content=raw, headers=headers)

    return post
