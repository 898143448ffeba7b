"""The dashboard's inbox: the conversation list, a thread beside the person's orders, a
composer that knows the reply window, the actions, and the scopes they ask."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mercato.auth import service as auth_service
from mercato.channels.meta.webhooks import SIGNATURE_HEADER, signature
from mercato.crypto import value_key
from mercato.db import transaction
from mercato.inbox import accounts
from mercato.inbox.models import Conversation, Message
from mercato.jobs.models import Job
from mercato.sandbox import whatsapp as sim
from tests.helpers import csrf_of, signed_in

ADA = "15551234567"
BEN = "15557654321"


@pytest.fixture
def number(client, admin, sessions):
    """A WhatsApp number with one approved and one pending template; its API shape."""
    response = client.post(
        "/api/v1/inbox/accounts",
        headers=admin,
        json={
            "name": "shop-whatsapp",
            "phone_number_id": sim.PHONE_NUMBER_ID,
            "business_account_id": sim.WABA_ID,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "v",
        },
    )
    assert response.status_code == 201, response.text
    found = response.json()
    with transaction(sessions) as session:
        accounts.replace_templates(
            session,
            found["id"],
            [
                {"name": "order_update", "language": "en_US", "status": "APPROVED"},
                {"name": "spring_sale", "language": "en_US", "status": "PENDING"},
            ],
        )
    return found


@pytest.fixture
def writes(client, number):
    """A customer's WhatsApp message, posted signed as Meta would; its platform id."""

    def post(wa_id: str, text: str, *, name: str = "Ada Buyer", at: datetime | None = None):
        payload = sim.text_message(wa_id, text, name=name, at=at)
        raw = json.dumps(payload).encode()
        headers = {SIGNATURE_HEADER: signature(sim.APP_SECRET, raw)}
        assert client.post(number["webhook_path"], content=raw, headers=headers).json()["stored"]
        return payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    return post


@pytest.fixture
def agent(client, sessions):
    return signed_in(client, sessions, "inbox:write", "orders:write", name="mia")


def conversation_of(sessions, wa_id: str) -> Conversation:
    with sessions() as session:
        return session.scalar(
            select(Conversation).where(Conversation.contact_id_hash == value_key(wa_id))
        )


def test_the_list_shows_latest_activity_first_with_excerpt_unread_and_window(
    agent, writes, sessions
):
    writes(BEN, "Do you ship to Lyon?", name="Ben", at=datetime.now(UTC) - timedelta(hours=30))
    writes(ADA, "Is the tee in M?")
    writes(ADA, "And in blue?")
    page = agent.get("/admin/inbox")
    assert page.status_code == 200
    html = page.text
    assert html.index("Ada Buyer") < html.index("Ben")  # latest activity first
    assert "+15551234567" in html and "And in blue?" in html and "Is the tee" not in html
    ada = re.search(r'data-conversation="[^"]+">(.*?)</li>', html, re.S).group(1)
    assert '<span class="count" title="Unread messages">2</span>' in ada
    assert "window open until" in ada and "UTC" in ada
    assert "template only" in html.split("Ben", 1)[1]
    # The navigation counts the conversations with unread messages.
    assert re.search(r'id="nav-unread"[^>]*>2</span>', html)

    unread_only = agent.get("/admin/inbox", params={"unread": "no"}).text
    assert "Ada Buyer" not in unread_only and "No conversations match." in unread_only


def test_the_list_filters_by_status_and_assignee_and_pages_with_the_cursor(
    agent, writes, sessions, client, admin
):
    writes(ADA, "hi")
    writes(BEN, "hello", name="Ben")
    ben = conversation_of(sessions, BEN)
    client.patch(
        f"/api/v1/conversations/{ben.id}",
        headers=admin,
        json={"status": "pending", "assignee": "mia"},
    )
    pending = agent.get("/admin/inbox", params={"status": "pending"}).text
    assert "Ben" in pending and "Ada Buyer" not in pending
    mine = agent.get("/admin/inbox", params={"assignee": "mia"}).text
    assert "Ben" in mine and "Ada Buyer" not in mine and "→ mia" in mine

    # 51 more customers: the first page holds 50, the cursor link gives the rest.
    values = [
        sim.message_value(f"1555000{n:04d}", {"type": "text", "text": {"body": f"n{n}"}})
        for n in range(51)
    ]
    raw = json.dumps(sim.notification(*values)).encode()
    headers = {SIGNATURE_HEADER: signature(sim.APP_SECRET, raw)}
    assert client.post(f"/webhooks/whatsapp/{ben.account_id}", content=raw, headers=headers)
    first = agent.get("/admin/inbox").text
    assert first.count("data-conversation=") == 50
    cursor = re.search(r'cursor=([^"&]+)">Older conversations', first).group(1)
    rest = agent.get("/admin/inbox", params={"cursor": cursor}).text
    assert rest.count("data-conversation=") == 3
    assert "Older conversations" not in rest


def test_the_thread_shows_messages_oldest_first_statuses_errors_and_the_orders(
    agent, writes, sessions, client, admin, number
):
    client.post(
        "/api/v1/products",
        headers=admin,
        json={"handle": "mug", "title": "Mug", "variants": [{"sku": "MUG-1", "price": 1200}]},
    )
    order = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "phone",
            "payment_status": "paid",
            "lines": [{"sku": "MUG-1", "quantity": 2}],
            "customer": {"name": "Ada", "phone": "+15551234567"},
        },
    ).json()
    writes(ADA, "Where is my mug?")
    conversation = conversation_of(sessions, ADA)
    queued = client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        headers=admin,
        json={"type": "text", "text": "Shipped today!", "author": "mia"},
    ).json()
    # The platform refused it afterwards: its words are shown on the message.
    with transaction(sessions) as session:
        session.get(Message, queued["id"]).platform_message_id = "wamid.out1"
    failed = sim.notification(
        sim.status_value(
            "wamid.out1",
            ADA,
            "failed",
            errors=[sim.graph_error(131026, "Message undeliverable", "Receiver is incapable")],
        )
    )
    raw = json.dumps(failed).encode()
    client.post(
        number["webhook_path"],
        content=raw,
        headers={SIGNATURE_HEADER: signature(sim.APP_SECRET, raw)},
    )

    html = agent.get(f"/admin/inbox/{conversation.id}").text
    assert html.index("Where is my mug?") < html.index("Shipped today!")
    assert 'class="msg in received"' in html and 'class="msg out failed"' in html
    # Meta's title, code and its explanation (error_data.details).
    assert '<div class="error">Message undeliverable (131026): Receiver is incapable</div>' in html
    assert "· mia ·" in html
    assert f'href="/admin/orders/{order["id"]}">{order["name"]}</a>' in html
    assert "24.00 USD" in html and "Refund 24.00 USD" in html
    # Looking at a thread changes nothing: it is marked read by an explicit POST.
    assert conversation_of(sessions, ADA).unread == 1
    assert 'id="mark-read"' in html


def test_an_open_window_offers_text_product_and_checkout_link(agent, writes, sessions):
    writes(ADA, "hi")
    html = agent.get(f"/admin/inbox/{conversation_of(sessions, ADA).id}").text
    assert 'data-window="open"' in html
    assert 'name="text"' in html and "Send product" in html and "Send checkout link" in html
    assert 'name="template"' not in html


def test_a_closed_window_offers_only_the_approved_templates_and_says_why(agent, writes, sessions):
    writes(ADA, "hi", at=datetime.now(UTC) - timedelta(hours=25))
    conversation = conversation_of(sessions, ADA)
    html = agent.get(f"/admin/inbox/{conversation.id}").text
    composer = re.search(r'<section class="card composer".*?</section>', html, re.S).group(0)
    assert 'data-window="closed"' in composer
    assert "more than 24 hours ago" in composer and "only an approved template" in composer
    assert '<input type="hidden" name="template" value="order_update|en_US">' in composer
    assert "spring_sale" not in composer  # pending: not sendable
    assert 'name="text"' not in composer and "Send product" not in composer
    assert "Send checkout link" not in composer

    # A text posted anyway is refused before any platform call, and the page says why.
    refused = agent.post(
        f"/admin/inbox/{conversation.id}/messages",
        data={"csrf": csrf_of(html), "type": "text", "text": "Still there?"},
    )
    assert "only an approved template" in refused.text
    sent = agent.post(
        f"/admin/inbox/{conversation.id}/messages",
        data={"csrf": csrf_of(html), "type": "template", "template": "order_update|en_US"},
    )
    assert "Queued" in sent.text and "[order_update]" in sent.text


def test_a_templates_variables_are_filled_in_from_the_composer(agent, writes, sessions, number):
    with transaction(sessions) as session:
        accounts.replace_templates(
            session,
            number["id"],
            [
                {
                    "name": "back_in_stock",
                    "language": "en",
                    "status": "APPROVED",
                    "components": [{"type": "BODY", "text": "Hi {{name}}, {{item}} is back!"}],
                }
            ],
        )
    writes(ADA, "hi", at=datetime.now(UTC) - timedelta(hours=25))
    conversation = conversation_of(sessions, ADA)
    html = agent.get(f"/admin/inbox/{conversation.id}").text
    assert "Hi {{name}}, {{item}} is back!" in html
    assert html.count('name="parameters"') == 2
    post = {"csrf": csrf_of(html), "type": "template", "template": "back_in_stock|en"}
    missing = agent.post(f"/admin/inbox/{conversation.id}/messages", data=post)
    assert "the body has 2 ({{name}}, {{item}}); 0 given" in missing.text
    sent = agent.post(
        f"/admin/inbox/{conversation.id}/messages",
        data={**post, "parameters": ["Ada", "the green tee"]},
    )
    assert "Queued" in sent.text and "Hi Ada, the green tee is back!" in sent.text


def test_replies_products_and_checkout_links_are_queued_for_the_worker(
    agent, writes, sessions, make_products
):
    from tests.helpers import tee

    make_products(tee())
    writes(ADA, "Is the tee in M?")
    conversation = conversation_of(sessions, ADA)
    path = f"/admin/inbox/{conversation.id}"
    csrf = csrf_of(agent.get(path).text)

    text = agent.post(f"{path}/messages", data={"csrf": csrf, "type": "text", "text": "Yes!"})
    assert text.url.path == path and "Queued" in text.text
    product = agent.post(
        f"{path}/messages", data={"csrf": csrf, "type": "product", "sku": "TEE-M", "text": ""}
    )
    assert "Queued" in product.text
    link = agent.post(
        f"{path}/checkout-links",
        data={"csrf": csrf, "items": "TEE-M:2, TEE-S", "coupon": "", "text": "Here you go"},
    )
    assert "Checkout link queued." in link.text
    assert "items=TEE-M:2,TEE-S:1" in link.text
    unknown = agent.post(f"{path}/messages", data={"csrf": csrf, "type": "product", "sku": "NOPE"})
    assert "no SKU" in unknown.text
    bad_cart = agent.post(f"{path}/checkout-links", data={"csrf": csrf, "items": "TEE-M:two"})
    assert "is not SKU:quantity" in bad_cart.text

    with sessions() as session:
        out = list(
            session.scalars(select(Message).where(Message.direction == "out").order_by(Message.at))
        )
        jobs = session.scalars(select(Job).where(Job.name == "inbox.send_message")).all()
    assert [(m.status, m.author) for m in out] == [("queued", "mia")] * 3
    assert len(jobs) == 3


def test_status_assignee_and_read_are_changed_from_the_thread(agent, writes, sessions):
    writes(ADA, "hi")
    conversation = conversation_of(sessions, ADA)
    path = f"/admin/inbox/{conversation.id}"
    csrf = csrf_of(agent.get(path).text)

    assert (
        "Status: snoozed."
        in agent.post(f"{path}/update", data={"csrf": csrf, "status": "snoozed"}).text
    )
    assert (
        "Assigned to mia."
        in agent.post(f"{path}/update", data={"csrf": csrf, "assignee": "mia"}).text
    )
    marked = agent.post(f"{path}/update", data={"csrf": csrf, "read": "on"})
    assert "Marked read." in marked.text and 'id="mark-read"' not in marked.text
    found = conversation_of(sessions, ADA)
    assert (found.status, found.assignee, found.unread) == ("snoozed", "mia", 0)
    assert "Unassigned." in agent.post(f"{path}/update", data={"csrf": csrf, "assignee": ""}).text
    assert conversation_of(sessions, ADA).assignee is None

    # Without the dashboard's CSRF token nothing changes.
    forged = agent.post(f"{path}/update", data={"csrf": "forged", "status": "resolved"})
    assert forged.status_code == 403
    assert conversation_of(sessions, ADA).status == "snoozed"


def test_an_order_is_refunded_from_the_thread_by_the_orders_refund(
    agent, writes, sessions, client, admin
):
    client.post(
        "/api/v1/products",
        headers=admin,
        json={"handle": "mug", "title": "Mug", "variants": [{"sku": "MUG-1", "price": 1200}]},
    )
    order = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "phone",
            "payment_status": "paid",
            "lines": [{"sku": "MUG-1", "quantity": 2}],
            "customer": {"phone": "+15551234567"},
        },
    ).json()
    writes(ADA, "The mug arrived broken")
    path = f"/admin/inbox/{conversation_of(sessions, ADA).id}"
    csrf = csrf_of(agent.get(path).text)
    done = agent.post(
        f"{path}/orders/{order['id']}/refund",
        data={"csrf": csrf, "reason": "broken", "restock": "on"},
    )
    assert done.url.path == path and "Refunded 24.00 USD." in done.text
    assert "refunded 24.00 USD" in done.text and "Refund 24.00 USD" not in done.text
    refunded = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert (refunded["refunded_total"], refunded["payment_status"]) == (2400, "refunded")
    again = agent.post(f"{path}/orders/{order['id']}/refund", data={"csrf": csrf})
    assert again.url.path == path and 'role="alert"' in again.text


def test_a_token_without_inbox_read_sees_no_inbox(client, sessions, writes):
    writes(ADA, "private question")
    conversation = conversation_of(sessions, ADA)
    signed_in(client, sessions, "orders:read", name="agent")
    overview = client.get("/admin")
    assert overview.status_code == 200 and 'href="/admin/inbox"' not in overview.text
    for path in (
        "/admin/inbox",
        f"/admin/inbox/{conversation.id}",
        f"/admin/inbox/stream?conversation={conversation.id}",
    ):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "private question" not in page.text


def test_a_reader_sees_the_inbox_and_cannot_act(client, sessions, writes, admin):
    writes(ADA, "hi")
    conversation = conversation_of(sessions, ADA)
    signed_in(client, sessions, "inbox:read", name="agent")
    assert client.get("/admin/login", follow_redirects=False).status_code == 200
    page = client.get(f"/admin/inbox/{conversation.id}")
    assert page.status_code == 200 and "hi" in page.text
    assert 'id="composer"' not in page.text and "inbox:write scope" in page.text
    assert "Refund" not in page.text
    refused = client.post(
        f"/admin/inbox/{conversation.id}/messages",
        data={"csrf": csrf_of(page.text), "type": "text", "text": "sneaky"},
    )
    assert "lacks the &#39;inbox:write&#39; scope" in refused.text
    with sessions() as session:
        assert session.scalar(select(Message).where(Message.direction == "out")) is None


def test_an_inbox_reader_starts_on_the_inbox(client, sessions):
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "support", ["inbox:read"]).secret
    signed_in = client.post("/admin/login", data={"token": secret}, follow_redirects=False)
    assert signed_in.headers["location"] == "/admin/inbox"
    assert client.get("/admin/orders").status_code == 403


def test_notes_labels_saved_replies_and_search_from_the_dashboard(agent, writes, sessions):
    writes(ADA, "My parcel never came")
    writes(BEN, "Do you ship to Lyon?", name="Ben")
    ada = conversation_of(sessions, ADA)
    path = f"/admin/inbox/{ada.id}"
    csrf = csrf_of(agent.get(path).text)

    noted = agent.post(
        f"{path}/notes", data={"csrf": csrf, "text": "Asked UPS for a trace"}, follow_redirects=True
    )
    assert "Note added." in noted.text and "internal note" in noted.text
    assert "seen by the team only" in noted.text
    labelled = agent.post(
        f"{path}/update", data={"csrf": csrf, "labels": "VIP, lost parcel"}, follow_redirects=True
    )
    assert "Labels: lost parcel, vip." in labelled.text

    saved = agent.post(
        "/admin/inbox/replies",
        data={"csrf": csrf, "name": "sorry", "text": "Sorry {name}, we are on it."},
        follow_redirects=True,
    )
    assert "Saved “sorry”." in saved.text
    wrong = agent.post(
        "/admin/inbox/replies",
        data={"csrf": csrf, "name": "bad", "text": "Hi {firstname}"},
        follow_redirects=True,
    )
    assert "unknown firstname" in wrong.text and "<strong>bad</strong>" not in wrong.text
    sent = agent.post(
        f"{path}/messages",
        data={"csrf": csrf, "type": "canned", "canned_reply": "sorry"},
        follow_redirects=True,
    )
    assert "Sorry Ada, we are on it." in sent.text
    assert "waiting since" not in sent.text.split('id="messages"')[0]  # answered

    found = agent.get("/admin/inbox", params={"q": "parcel"}).text
    assert "Ada Buyer" in found and "Ben" not in found
    vip = agent.get("/admin/inbox", params={"label": "vip"}).text
    assert "Ada Buyer" in vip and "Ben" not in vip
    waiting = agent.get("/admin/inbox", params={"waiting": "yes"}).text
    assert "Ben" in waiting and "Ada Buyer" not in waiting


def test_choices_are_offered_from_the_composer(agent, writes, sessions):
    writes(ADA, "Which sizes are left?")
    path = f"/admin/inbox/{conversation_of(sessions, ADA).id}"
    page = agent.get(path).text
    sent = agent.post(
        f"{path}/messages",
        data={"csrf": csrf_of(page), "type": "buttons", "text": "Pick one", "choices": "S, M"},
        follow_redirects=True,
    )
    assert "Queued" in sent.text and "Pick one" in sent.text
    four = agent.post(
        f"{path}/messages",
        data={"csrf": csrf_of(page), "type": "buttons", "text": "Pick", "choices": "S,M,L,XL"},
        follow_redirects=True,
    )
    assert "1 to 3 buttons" in four.text


def test_a_conversation_past_its_resolution_target_says_so_in_the_list_and_thread(
    agent, writes, sessions, client, admin, number
):
    client.put(
        f"/api/v1/inbox/accounts/{number['id']}/automation",
        headers=admin,
        json={"resolution_minutes": 60},
    )
    writes(BEN, "Still no parcel", name="Ben", at=datetime.now(UTC) - timedelta(hours=3))
    writes(ADA, "Is the tee in M?")
    html = agent.get("/admin/inbox").text
    ben = html.split("Ben", 1)[1].split("</li>", 1)[0]
    ada = html.split("Ada Buyer", 1)[1].split("</li>", 1)[0]
    assert "resolution overdue since" in ben and "resolution overdue" not in ada
    thread = agent.get(f"/admin/inbox/{conversation_of(sessions, ADA).id}").text
    assert "resolve by" in thread
