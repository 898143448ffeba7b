"""WhatsApp webhooks: signature, subscription challenge, and the documented payloads parsed
(samples shaped as Meta's webhook reference, docs/platforms/whatsapp.md §2)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson
import pytest

from mercato.channels.meta.webhooks import (
    SIGNATURE_HEADER,
    signature,
    verify_challenge,
    verify_signature,
)
from mercato.channels.whatsapp.webhooks import parse

SECRET = "app-secret"
META = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
CONTACTS = [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}]


def _payload(*values: dict) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "102290129340398", "changes": [{"value": v, "field": "messages"}]}
            for v in values
        ],
    }


def _inbound(message: dict) -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": META,
        "contacts": CONTACTS,
        "messages": [
            {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1749416383",
                **message,
            }
        ],
    }


TEXT = _payload(_inbound({"type": "text", "text": {"body": "Does it come in another color?"}}))


def test_signature_accepts_the_raw_bytes_signed_with_the_app_secret():
    raw = orjson.dumps(TEXT)
    header = "sha256=" + __import__("hmac").new(SECRET.encode(), raw, "sha256").hexdigest()
    assert SIGNATURE_HEADER == "X-Hub-Signature-256"
    assert signature(SECRET, raw) == header
    assert verify_signature(SECRET, raw, header)


def test_signature_refuses_a_tampered_byte_a_wrong_secret_or_no_header():
    raw = orjson.dumps(TEXT)
    header = signature(SECRET, raw)
    tampered = raw.replace(b"color", b"colour")
    assert not verify_signature(SECRET, tampered, header)
    assert not verify_signature("other-secret", raw, header)
    assert not verify_signature(SECRET, raw, None)
    assert not verify_signature(SECRET, raw, "")
    assert not verify_signature(SECRET, raw, header.removeprefix("sha256="))
    assert not verify_signature("", raw, signature("", raw))


def test_challenge_echoed_only_for_a_subscribe_with_our_token():
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "tok"}
    assert verify_challenge(params, "tok") == "1158201444"
    assert verify_challenge({**params, "hub.verify_token": "nope"}, "tok") is None
    assert verify_challenge({**params, "hub.mode": "unsubscribe"}, "tok") is None
    assert verify_challenge({"hub.challenge": "1"}, "tok") is None
    assert verify_challenge({**params, "hub.verify_token": ""}, "") is None


def test_text_message():
    messages, statuses = parse(TEXT)
    assert statuses == []
    (m,) = messages
    assert m.account_ref == "106540352242922"
    assert m.contact_id == "16505551234"
    assert m.contact_name == "Sheena Nelson"
    assert m.message_id.startswith("wamid.")
    assert m.sent_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert (m.kind, m.text) == ("text", "Does it come in another color?")
    assert m.content == TEXT["entry"][0]["changes"][0]["value"]["messages"][0]
    assert m.reply_to is None


def test_interactive_replies_and_quick_reply_buttons_read_as_their_titles():
    button = _inbound(
        {
            "type": "interactive",
            "context": {"from": "15550783881", "id": "wamid.OURS"},
            "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}},
        }
    )
    row = _inbound(
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "r1", "title": "Blue", "description": "Size M"},
            },
        }
    )
    quick = _inbound({"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}})
    image = _inbound({"type": "image", "image": {"caption": "this one", "id": "1", "sha256": "x"}})
    messages, _ = parse(_payload(button, row, quick, image))
    assert [(m.kind, m.text) for m in messages] == [
        ("interactive", "Yes"),
        ("interactive", "Blue"),
        ("button", "Stop promotions"),
        ("image", "this one"),
    ]
    assert messages[0].reply_to == "wamid.OURS"


def test_order_cart():
    order = {
        "catalog_id": "194836987003835",
        "text": "Gift wrap please",
        "product_items": [
            {"product_retailer_id": "TEE-M", "quantity": 2, "item_price": 25, "currency": "USD"},
            {"product_retailer_id": "CAP", "quantity": 1, "item_price": 12.5, "currency": "USD"},
        ],
    }
    (m,), _ = parse(_payload(_inbound({"type": "order", "order": order})))
    assert m.kind == "order"
    assert m.text == "Gift wrap please"
    assert m.content["order"]["product_items"][1]["product_retailer_id"] == "CAP"


def _status(status: str, ts: str, **more) -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": META,
        "statuses": [
            {
                "id": "wamid.OURS",
                "status": status,
                "timestamp": ts,
                "recipient_id": "16505551234",
                **more,
            }
        ],
    }


def test_statuses_including_failed_with_errors_in_batched_entries():
    error = {
        "code": 131047,
        "title": "Re-engagement message",
        "message": "Re-engagement message",
        "error_data": {"details": "Message failed to send because more than 24 hours..."},
    }
    payload = _payload(
        _status("delivered", "1750263773"),
        _status("sent", "1750263770", pricing={"billable": True, "category": "utility"}),
        _status("failed", "1750263780", errors=[error]),
    )
    payload["entry"][0]["changes"].append({"field": "account_update", "value": {"x": 1}})
    messages, statuses = parse(payload)
    assert messages == []
    assert [s.status for s in statuses] == ["delivered", "sent", "failed"]
    assert statuses[0].contact_id == "16505551234"
    assert statuses[0].at == datetime.fromtimestamp(1750263773, UTC)
    assert statuses[2].errors == (error,)
    assert statuses[0].errors == ()


def test_messages_and_statuses_in_one_value():
    value = _inbound({"type": "text", "text": {"body": "hi"}})
    value["statuses"] = _status("read", "1750263790")["statuses"]
    messages, statuses = parse(_payload(value))
    assert len(messages) == len(statuses) == 1


def test_other_fields_are_skipped_and_other_objects_refused():
    skipped = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [{"field": "message_template_status_update", "value": {}}]}
        ],
    }
    assert parse(skipped) == ([], [])
    with pytest.raises(ValueError, match="object"):
        parse({**TEXT, "object": "page"})


@pytest.mark.parametrize(
    "damage,named",
    [
        (lambda p: p.pop("entry"), "entry"),
        (lambda p: p["entry"][0].pop("changes"), r"entry\[0\].changes"),
        (lambda p: p["entry"][0]["changes"][0]["value"].pop("metadata"), "metadata"),
        (lambda p: p["entry"][0]["changes"][0]["value"]["messages"][0].pop("from"), "from"),
        (
            lambda p: p["entry"][0]["changes"][0]["value"]["messages"][0].update(timestamp="soon"),
            r"messages\[0\].timestamp",
        ),
        (lambda p: p["entry"][0]["changes"][0]["value"].update(messages={}), "messages"),
    ],
)
def test_malformed_parts_are_named(damage, named):
    payload = copy.deepcopy(TEXT)
    damage(payload)
    with pytest.raises(ValueError, match=named):
        parse(payload)
