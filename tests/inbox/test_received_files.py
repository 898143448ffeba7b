"""Files people send (photos, documents...) are shown to the team, fetched from the
platform when asked: WhatsApp by media id (a 5-minute URL that needs the token),
Messenger and Instagram by the attachment's CDN URL."""

from __future__ import annotations

import base64
import re

from mercato.sandbox import whatsapp as sim
from mercato.sandbox.cdn import png
from tests.helpers import SANDBOX
from tests.inbox.conftest import signed
from tests.inbox.test_messenger_flow import PERSON, _connect, _hand_over
from tests.inbox.test_whatsapp_flow import CUSTOMER, number  # noqa: F401 - fixture

PHOTO = png("the label")


def _sends_file(client, sandbox, number, **media) -> str:  # noqa: F811 - the fixture
    """The customer sends a file; the id of the message it arrived in."""
    payload = sandbox.post(
        "/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "media": media}
    ).json()["payload"]
    raw, headers = signed(payload, sim.APP_SECRET)
    assert client.post(number["webhook_path"], content=raw, headers=headers).json()["stored"] == 1
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def _message(client, admin, kind: str) -> dict:
    [conversation] = client.get("/api/v1/conversations", headers=admin).json()["items"]
    thread = client.get(f"/api/v1/conversations/{conversation['id']}", headers=admin).json()
    [message] = [m for m in thread["messages"] if m["kind"] == kind]
    return message


def test_a_photo_sent_on_whatsapp_is_shown_as_the_customer_sent_it(
    client,
    admin,
    sandbox,
    number,  # noqa: F811
):
    data = base64.b64encode(PHOTO).decode()
    _sends_file(client, sandbox, number, type="image", data=data, caption="the label")
    message = _message(client, admin, "image")
    assert message["text"] == "the label"

    shown = client.get(f"/api/v1/inbox/messages/{message['id']}/media", headers=admin)
    assert shown.status_code == 200, shown.text
    assert shown.content == PHOTO
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"] == "inline"
    assert "sandbox" in shown.headers["content-security-policy"]


def test_a_document_is_downloaded_under_its_name_never_shown_as_a_page(
    client,
    admin,
    sandbox,
    number,  # noqa: F811
):
    page = b"<html><script>alert(1)</script></html>"
    data = base64.b64encode(page).decode()
    _sends_file(
        client,
        sandbox,
        number,
        type="document",
        mime_type="text/html",
        data=data,
        filename='invoice".html',
    )
    message = _message(client, admin, "document")
    shown = client.get(f"/api/v1/inbox/messages/{message['id']}/media", headers=admin)
    assert shown.content == page
    assert shown.headers["content-disposition"] == 'attachment; filename="invoice.html"'

    # An image that is not one (a page claiming to be a photo) is not shown inline either.
    _sends_file(client, sandbox, number, type="image", mime_type="text/html", data=data)
    image = _message(client, admin, "image")
    claimed = client.get(f"/api/v1/inbox/messages/{image['id']}/media", headers=admin)
    assert claimed.headers["content-disposition"] == "attachment"


def test_media_past_the_7_days_meta_keeps_it_is_refused_with_metas_words(
    client,
    admin,
    sandbox,
    number,  # noqa: F811
):
    _sends_file(client, sandbox, number, type="image", data=base64.b64encode(PHOTO).decode())
    message = _message(client, admin, "image")
    sandbox.put("/whatsapp/_sandbox/clock", json={"advance_hours": 7 * 24 + 1})
    gone = client.get(f"/api/v1/inbox/messages/{message['id']}/media", headers=admin)
    assert gone.status_code == 502
    assert gone.json()["error"]["code"] == 100
    assert "does not exist" in gone.json()["detail"]


def test_the_simulator_refuses_a_download_without_the_token_or_after_5_minutes(sandbox):
    shown = sim.MediaIn(type="image", data=base64.b64encode(PHOTO).decode())
    whatsapp = next(r.app for r in sandbox.app.routes if getattr(r, "path", "") == "/whatsapp")
    media_id = whatsapp.state.sim.keep_media(shown)["id"]
    token = {"Authorization": f"Bearer {sim.ACCESS_TOKEN}"}
    answer = sandbox.get(f"/whatsapp/v23.0/{media_id}", headers=token).json()
    assert answer["file_size"] == len(PHOTO) and answer["mime_type"] == "image/png"
    assert sandbox.get(answer["url"]).status_code == 401
    assert sandbox.get(answer["url"], headers=token).content == PHOTO
    tampered = re.sub(r"ext=\d+", "ext=9999999999", answer["url"])
    assert sandbox.get(tampered, headers=token).status_code == 404
    sandbox.put("/whatsapp/_sandbox/clock", json={"advance_hours": 0.1})
    assert sandbox.get(answer["url"], headers=token).status_code == 404


def test_a_photo_sent_on_instagram_is_fetched_from_its_link(client, admin, sandbox):
    account = _connect(client, admin, "instagram")
    attachment = {"type": "image", "payload": {"url": f"{SANDBOX}/cdn/dm/photo.png"}}
    answer = sandbox.post(
        "/messenger/_sandbox/inbound",
        json={"platform": "instagram", "sender": PERSON, "attachment": attachment},
    )
    assert _hand_over(client, account, answer)["stored"] == 1
    message = _message(client, admin, "image")
    shown = client.get(f"/api/v1/inbox/messages/{message['id']}/media", headers=admin)
    assert shown.status_code == 200
    assert shown.content == png("dm/photo.png")

    # A link that is gone (Meta's CDN links expire) is the platform's refusal.
    attachment["payload"]["url"] = f"{SANDBOX}/cdn/dm/missing.png"
    again = sandbox.post(
        "/messenger/_sandbox/inbound",
        json={"platform": "instagram", "sender": PERSON, "attachment": attachment},
    )
    _hand_over(client, account, again)
    [_, gone] = [
        m
        for m in client.get(
            f"/api/v1/conversations/{message['conversation_id']}", headers=admin
        ).json()["messages"]
        if m["kind"] == "image"
    ]
    assert (
        client.get(f"/api/v1/inbox/messages/{gone['id']}/media", headers=admin).status_code == 502
    )


def test_a_text_message_carries_no_file(client, admin, sandbox, number):  # noqa: F811
    payload = sandbox.post(
        "/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "text": "hi"}
    ).json()["payload"]
    raw, headers = signed(payload, sim.APP_SECRET)
    client.post(number["webhook_path"], content=raw, headers=headers)
    message = _message(client, admin, "text")
    assert (
        client.get(f"/api/v1/inbox/messages/{message['id']}/media", headers=admin).status_code
        == 404
    )
