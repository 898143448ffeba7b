"""The WhatsApp simulator: its contract checks and the signed webhooks it sends back."""

from __future__ import annotations

import orjson

from mercato.channels.meta.webhooks import SIGNATURE_HEADER, verify_signature
from mercato.channels.whatsapp.webhooks import parse
from mercato.sandbox import whatsapp as sim

CUSTOMER = "16505551234"
PATH = f"/whatsapp/v26.0/{sim.PHONE_NUMBER_ID}/messages"
AUTH = {"Authorization": f"Bearer {sim.ACCESS_TOKEN}"}


def _sim(sandbox) -> sim.WhatsAppSim:
    mount = next(r for r in sandbox.app.routes if getattr(r, "path", "") == "/whatsapp")
    return mount.app.state.sim


def _capture(sandbox) -> list[tuple[str, bytes, dict]]:
    got: list = []
    state = _sim(sandbox)
    state.transport = lambda url, raw, headers: got.append((url, raw, headers)) or 200
    sandbox.put("/whatsapp/_sandbox/webhook", json={"url": "https://shop.test/hooks/whatsapp"})
    return got


def _send(sandbox, body: dict, headers=AUTH):
    return sandbox.post(PATH, json=body, headers=headers)


def text(body="hi", to=CUSTOMER) -> dict:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def test_answer_shape_and_record(sandbox):
    sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": "hi"})
    answer = _send(sandbox, text())
    assert answer.status_code == 200
    body = answer.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": CUSTOMER, "wa_id": CUSTOMER}]
    assert body["messages"][0]["id"].startswith("wamid.")
    assert sandbox.get("/whatsapp/_sandbox/messages").json()["messages"][0]["to"] == CUSTOMER


def test_graph_errors_for_token_version_product_and_shape(sandbox):
    assert _send(sandbox, text(), headers={}).json()["error"]["code"] == 104
    bad = _send(sandbox, text(), headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == 190
    assert (
        sandbox.post(PATH.replace("v26.0", "v9.0"), json=text(), headers=AUTH).json()["error"][
            "code"
        ]
        == 2500
    )
    unknown = sandbox.post("/whatsapp/v26.0/123/messages", json=text(), headers=AUTH).json()[
        "error"
    ]
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)
    sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": "hi"})
    cases = [
        ({**text(), "messaging_product": "sms"}, 131009),
        ({**text(), "extra": 1}, 100),
        ({**text(), "type": "poll"}, 100),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text"}, 131008),
        (text("x" * 4097), 131009),
        (
            {
                "messaging_product": "whatsapp",
                "to": CUSTOMER,
                "type": "interactive",
                "interactive": {
                    "type": "product_list",
                    "body": {"text": "b"},
                    "action": {
                        "catalog_id": "c",
                        "sections": [{"product_items": [{"product_retailer_id": "A"}]}],
                    },
                },
            },
            131008,
        ),
    ]
    for body, code in cases:
        error = _send(sandbox, body).json()["error"]
        assert error["code"] == code, (body, error)
        assert set(error) >= {"message", "type", "code", "fbtrace_id"}
    assert (
        _send(sandbox, {**text(), "extra": 1}).json()["error"]["error_data"]["messaging_product"]
        == "whatsapp"
    )


def test_inbound_text_is_signed_and_parses_and_opens_the_window(sandbox):
    got = _capture(sandbox)
    assert _send(sandbox, text()).json()["error"]["code"] == 131047
    sent = sandbox.post(
        "/whatsapp/_sandbox/inbound",
        json={"wa_id": CUSTOMER, "name": "Ana", "text": "Size M?", "duplicates": 1},
    ).json()
    assert sent["deliveries"] == [200, 200]
    (url, raw, headers), (_, again, _) = got
    assert raw == again and url == "https://shop.test/hooks/whatsapp"
    assert verify_signature(sim.APP_SECRET, raw, headers[SIGNATURE_HEADER])
    (message,), _ = parse(orjson.loads(raw))
    assert (message.contact_id, message.contact_name, message.text) == (CUSTOMER, "Ana", "Size M?")
    assert _send(sandbox, text()).status_code == 200


def test_order_cart_message(sandbox):
    got = _capture(sandbox)
    order = {
        "catalog_id": "cat1",
        "product_items": [
            {"product_retailer_id": "TEE-M", "quantity": 2, "item_price": 25, "currency": "USD"}
        ],
    }
    sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "order": order})
    (message,), _ = parse(orjson.loads(got[0][1]))
    assert message.kind == "order" and message.content["order"] == order


def test_statuses_out_of_order_and_failed(sandbox):
    got = _capture(sandbox)
    sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": "hi"})
    wamid = _send(sandbox, text()).json()["messages"][0]["id"]
    sandbox.post("/whatsapp/_sandbox/statuses", json={"message_id": wamid, "reverse": True})
    seen = [parse(orjson.loads(raw))[1][0] for _, raw, _ in got[1:]]
    assert [s.status for s in seen] == ["read", "delivered", "sent"]
    assert all(s.message_id == wamid and s.contact_id == CUSTOMER for s in seen)
    error = sim.graph_error(131026, "Message undeliverable", "Unable to deliver message.")
    sandbox.post(
        "/whatsapp/_sandbox/statuses",
        json={"message_id": wamid, "statuses": ["failed"], "error": error},
    )
    failed = parse(orjson.loads(got[-1][1]))[1][0]
    assert failed.status == "failed" and failed.errors[0]["code"] == 131026


def test_payload_builders_batch_entries():
    payload = sim.notification(
        sim.message_value(CUSTOMER, {"type": "text", "text": {"body": "a"}}),
        sim.status_value("wamid.X", CUSTOMER, "delivered"),
    )
    messages, statuses = parse(payload)
    assert len(payload["entry"]) == 2 and len(messages) == len(statuses) == 1
    assert parse(sim.text_message(CUSTOMER, "yo", context_id="wamid.Y"))[0][0].reply_to == "wamid.Y"


def test_reply_buttons_and_lists_are_held_to_their_limits(sandbox):
    sandbox.post("/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": "hi"})

    def interactive(kind, action, body="Pick"):
        return {
            "messaging_product": "whatsapp",
            "to": CUSTOMER,
            "type": "interactive",
            "interactive": {"type": kind, "body": {"text": body}, "action": action},
        }

    def button(n, title):
        return {"type": "reply", "reply": {"id": f"b{n}", "title": title}}

    assert _send(sandbox, interactive("button", {"buttons": [button(1, "S")]})).status_code == 200
    four = {"buttons": [button(n, f"S{n}") for n in range(4)]}
    long_title = {"buttons": [button(1, "x" * 21)]}
    rows = [{"id": f"r{n}", "title": f"row {n}"} for n in range(11)]
    eleven_rows = {"button": "Open", "sections": [{"rows": rows}]}
    long_button = {"button": "x" * 21, "sections": [{"rows": rows[:2]}]}
    for kind, action in (
        ("button", four),
        ("button", long_title),
        ("list", eleven_rows),
        ("list", long_button),
    ):
        refused = _send(sandbox, interactive(kind, action))
        assert refused.status_code == 400, (kind, action)
        assert refused.json()["error"]["code"] == 131009  # a value out of its limits
