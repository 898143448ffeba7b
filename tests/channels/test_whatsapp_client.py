"""The WhatsApp client against the simulator, in-process (no database)."""

from __future__ import annotations

import orjson
import pytest

from mercato.channels import http as channel_http
from mercato.channels.http import AuthExpired, PlatformUnavailable
from mercato.channels.whatsapp import mapping
from mercato.channels.whatsapp.client import WhatsAppClient, WhatsAppError
from mercato.channels.whatsapp.webhooks import parse
from mercato.config import get_settings
from mercato.sandbox import whatsapp as sim
from tests.helpers import SANDBOX

BASE = f"{SANDBOX}/whatsapp"
CUSTOMER = "16505551234"


@pytest.fixture
def wa(sandbox):
    sandbox.put("/whatsapp/_sandbox/catalogs/cat1", json={"retailer_ids": ["TEE-S", "TEE-M"]})
    client = WhatsAppClient(BASE, sim.PHONE_NUMBER_ID, sim.ACCESS_TOKEN)
    yield client
    client.close()


def _open_window(sandbox, wa_id=CUSTOMER):
    assert sandbox.post(
        "/whatsapp/_sandbox/inbound", json={"wa_id": wa_id, "text": "hi"}
    ).is_success


def _sent(sandbox) -> list[dict]:
    return sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]


def test_send_in_the_window_returns_the_wamid_and_uses_the_configured_graph_version(
    sandbox, wa, monkeypatch
):
    _open_window(sandbox)
    wamid = wa.send(mapping.text(CUSTOMER, "Hello!"))
    assert wamid.startswith("wamid.")
    (sent,) = _sent(sandbox)
    assert sent["id"] == wamid
    assert sent["body"]["text"] == {"body": "Hello!", "preview_url": False}
    monkeypatch.setenv("MERCATO_META_GRAPH_VERSION", "v19.0")
    get_settings.cache_clear()
    with pytest.raises(WhatsAppError) as refused:
        WhatsAppClient(BASE, sim.PHONE_NUMBER_ID, sim.ACCESS_TOKEN).send(
            mapping.text(CUSTOMER, "x")
        )
    assert refused.value.code == 2500
    get_settings.cache_clear()


def test_window_closed_is_refused_with_131047(sandbox, wa):
    with pytest.raises(WhatsAppError) as refused:
        wa.send(mapping.text(CUSTOMER, "Hello?"))
    error = refused.value
    assert error.code == 131047 and error.window_closed
    assert not error.template_problem and not error.recipient_unreachable
    assert error.status == 400 and error.details and error.fbtrace_id
    # Interactive messages too; and the window shuts 24 hours after the last message.
    with pytest.raises(WhatsAppError, match="131047"):
        wa.send(mapping.product(CUSTOMER, "cat1", "TEE-M"))
    _open_window(sandbox)
    sandbox.put("/whatsapp/_sandbox/clock", json={"advance_hours": 23.9})
    wa.send(mapping.product(CUSTOMER, "cat1", "TEE-M"))
    sandbox.put("/whatsapp/_sandbox/clock", json={"advance_hours": 0.2})
    with pytest.raises(WhatsAppError) as late:
        wa.send(mapping.text(CUSTOMER, "Still there?"))
    assert late.value.window_closed


def test_approved_template_accepted_outside_the_window(sandbox, wa):
    for status, language in (("APPROVED", "en_US"), ("PENDING", "fr"), ("PAUSED", "de")):
        sandbox.post(
            "/whatsapp/_sandbox/templates",
            json={"name": "order_update", "language": language, "status": status},
        )
    assert wa.send(mapping.template(CUSTOMER, "order_update", "en_US")).startswith("wamid.")
    for language, code in (("en_GB", 132001), ("fr", 132001), ("de", 132015)):
        with pytest.raises(WhatsAppError) as refused:
            wa.send(mapping.template(CUSTOMER, "order_update", language))
        assert refused.value.code == code and refused.value.template_problem
    with pytest.raises(WhatsAppError, match="132001"):
        wa.send(mapping.template(CUSTOMER, "nope", "en_US"))


def test_unknown_product_refused(sandbox, wa):
    _open_window(sandbox)
    with pytest.raises(WhatsAppError) as refused:
        wa.send(mapping.product(CUSTOMER, "cat1", "GHOST"))
    assert refused.value.code == 131009 and "GHOST" in refused.value.details
    body = mapping.product_list(
        CUSTOMER, "cat1", header="Picks", body="b", sections=[("A", ["TEE-S"]), ("B", ["X"])]
    )
    with pytest.raises(WhatsAppError, match="X"):
        wa.send(body)
    body = mapping.product_list(
        CUSTOMER, "cat1", header="Picks", body="b", sections=[("A", ["TEE-S", "TEE-M"])]
    )
    assert wa.send(body)


def test_unknown_fields_refused_as_meta_does(sandbox, wa):
    _open_window(sandbox)
    body = mapping.text(CUSTOMER, "hi")
    body["text"]["color"] = "red"
    with pytest.raises(WhatsAppError) as refused:
        wa.send(body)
    assert refused.value.code == 100 and 'Unexpected key "color"' in refused.value.details


def test_retries_on_429_and_500_then_sends(sandbox, wa):
    _open_window(sandbox)
    sandbox.post("/whatsapp/_sandbox/faults", json={"kind": "429", "count": 2})
    sandbox.post("/whatsapp/_sandbox/faults", json={"kind": "500", "count": 1})
    assert wa.send(mapping.text(CUSTOMER, "hi"))
    assert len(_sent(sandbox)) == 1
    sandbox.post(
        "/whatsapp/_sandbox/faults", json={"kind": "500", "count": channel_http.RETRIES + 1}
    )
    with pytest.raises(PlatformUnavailable):
        wa.send(mapping.text(CUSTOMER, "hi"))


def test_expired_token_is_auth_expired(sandbox, wa):
    sandbox.post("/whatsapp/_sandbox/faults", json={"kind": "expired_token"})
    with pytest.raises(AuthExpired) as refused:
        wa.send(mapping.text(CUSTOMER, "hi"))
    assert isinstance(refused.value, WhatsAppError) and refused.value.code == 190
    bad = WhatsAppClient(BASE, sim.PHONE_NUMBER_ID, "stolen")
    with pytest.raises(AuthExpired):
        bad.send(mapping.text(CUSTOMER, "hi"))


def test_templates_listed_across_pages(sandbox, wa):
    for n in range(130):
        sandbox.post(
            "/whatsapp/_sandbox/templates",
            json={
                "name": f"t{n}",
                "language": "en_US",
                "status": "REJECTED" if n == 7 else "APPROVED",
            },
        )
    listed = wa.templates(sim.WABA_ID)
    assert len(listed) == 130
    assert {t["name"]: t["status"] for t in listed}["t7"] == "REJECTED"
    assert set(listed[0]) == {"id", "name", "language", "status", "category", "components"}
    with pytest.raises(WhatsAppError):
        wa.templates("999")


def test_window_closed_reported_by_status_webhook_when_meta_accepts_first(sandbox, wa):
    """Meta documents errors in the answer, in a failed status, or both: the second way
    carries the same code, read through the same error type."""
    state = next(
        r for r in sandbox.app.routes if getattr(r, "path", "") == "/whatsapp"
    ).app.state.sim
    posted: list[bytes] = []
    state.transport = lambda url, raw, headers: posted.append(raw) or 200
    sandbox.put("/whatsapp/_sandbox/webhook", json={"url": "https://shop.test/wa"})
    sandbox.put("/whatsapp/_sandbox/settings", json={"window_refusal": "async"})
    wamid = wa.send(mapping.text(CUSTOMER, "Hello?"))
    (status,) = parse(orjson.loads(posted[0]))[1]
    assert (status.message_id, status.status) == (wamid, "failed")
    assert WhatsAppError.from_error(status.errors[0]).window_closed
