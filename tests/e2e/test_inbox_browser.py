"""An agent in the dashboard's inbox, on a desktop and on a phone: a WhatsApp message
arrives (signed, as Meta posts it) and shows without a reload; the agent answers with a
product card, which the worker sends to the WhatsApp simulator as an interactive product
message; and refunds the customer's order from the thread."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mercato.auth import service as auth_service
from mercato.channels.meta.webhooks import SIGNATURE_HEADER, signature
from mercato.db import transaction
from mercato.inbox import accounts
from mercato.inbox.models import Conversation
from mercato.sandbox import messenger as messenger_sim
from mercato.sandbox import whatsapp as sim
from mercato.sandbox.cdn import png
from tests.e2e.conftest import PHONE
from tests.helpers import SANDBOX, list_in_meta_catalog, tee

CUSTOMER = "15551234567"
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def shop(server, sandbox, sessions, make_products, make_channel, make_token):
    """A number linked to a Meta catalog that lists TEE-M, the customer's paid order, and
    the agent's token (inbox and orders); (api client, number, order, token)."""
    [product] = make_products(tee())
    meta = make_channel("meta")
    list_in_meta_catalog(sessions, sandbox, product, meta)
    with transaction(sessions) as session:
        token = auth_service.create_token(session, "mia", ["inbox:write", "orders:write"]).secret
    api = httpx.Client(base_url=server, headers=make_token("admin"), timeout=30)
    number = api.post(
        "/api/v1/inbox/accounts",
        json={
            "name": "sim-number",
            "phone_number_id": sim.PHONE_NUMBER_ID,
            "business_account_id": sim.WABA_ID,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "v",
            "base_url": f"{SANDBOX}/whatsapp",
            "catalog_channel_id": meta,
        },
    ).json()
    order = api.post(
        "/api/v1/orders",
        json={
            "channel": "phone",
            "payment_status": "paid",
            "lines": [{"sku": "TEE-M", "quantity": 1}],
            "customer": {"name": "Ada Buyer", "phone": f"+{CUSTOMER}"},
        },
    ).json()
    yield api, number, order, token
    api.close()


def _post_signed(server: str, number: dict, payload: dict) -> None:
    """A notification as Meta posts it: signed with the app secret."""
    raw = json.dumps(payload).encode()
    answer = httpx.post(
        server + number["webhook_path"],
        content=raw,
        headers={SIGNATURE_HEADER: signature(sim.APP_SECRET, raw)},
    )
    assert answer.json()["stored"] == 1, answer.text


def _customer_writes(server, sandbox, number, text: str) -> None:
    """The simulator opens the window and hands over the notification Meta would post."""
    payload = sandbox.post(
        "/whatsapp/_sandbox/inbound", json={"wa_id": CUSTOMER, "name": "Ada Buyer", "text": text}
    ).json()["payload"]
    _post_signed(server, number, payload)


def _log_in(page, server: str, token: str) -> None:
    page.goto(f"{server}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/admin")


def _fits(page) -> None:
    """Nothing wider than the screen: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_an_agent_answers_with_a_product_card_and_refunds_from_the_thread(
    server, browser, phone, sandbox, shop, sessions, drain, shots
):
    api, number, order, token = shop
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, server, token)
    page.click("nav >> text=Inbox")
    expect(page.locator("#inbox-list")).to_contain_text("No conversations match.")
    expect(page.locator("#live")).to_have_class("live on")  # the stream is connected

    # The message arrives while the list is open: it shows without a reload.
    _customer_writes(server, sandbox, number, "Hi! Is the organic tee in M?")
    row = page.locator("#inbox-list li").first
    expect(row).to_contain_text("Is the organic tee in M?")
    expect(row).to_contain_text("Ada Buyer")
    expect(row.locator(".count")).to_have_text("1")
    expect(row).to_contain_text("open until")
    expect(page.locator("#nav-unread")).to_have_text("1")
    page.screenshot(path=str(shots / "inbox-desktop.png"), full_page=True)

    # Opening the thread with unread messages marks it read (the page's own POST).
    row.locator("a").click()
    expect(page.locator("#messages")).to_contain_text("Is the organic tee in M?")
    expect(page.locator("#mark-read")).to_have_count(0)
    with sessions() as session:
        assert session.scalar(select(Conversation.unread)) == 0
    conversation_url = page.url

    page.click("text=Send a product")
    page.fill("#composer input[name=sku]", "TEE-M")
    page.fill("#composer form:has(input[name=sku]) input[name=text]", "Yes, in M!")
    page.click("button:text-is('Send product')")
    expect(page.locator("[role=status]")).to_contain_text("Queued")
    reply = page.locator("#messages li.msg.out").last
    expect(reply).to_contain_text("Yes, in M!")
    expect(reply.locator(".status")).to_have_text("queued")

    # The worker sends it to the platform; its status follows on the page, no reload.
    drain()
    [sent] = sandbox.get("/whatsapp/_sandbox/messages").json()["messages"]
    assert (sent["to"], sent["body"]["type"]) == (CUSTOMER, "interactive")
    assert sent["body"]["interactive"]["type"] == "product"
    assert sent["body"]["interactive"]["action"] == {
        "catalog_id": "cat1",
        "product_retailer_id": "TEE-M",
    }
    expect(reply.locator(".status")).to_have_text("sent")

    # The customer answers while the thread is on screen: it shows, and is read.
    _customer_writes(server, sandbox, number, "Great, I'll take it")
    expect(page.locator("#messages li.msg.in").last).to_contain_text("Great, I'll take it")
    expect(page.locator("#mark-read")).to_have_count(0)

    # A photo they send shows in the thread, fetched from WhatsApp through Mercato.
    photo = {"type": "image", "data": base64.b64encode(png("the label")).decode()}
    payload = sandbox.post(
        "/whatsapp/_sandbox/inbound",
        json={
            "wa_id": CUSTOMER,
            "name": "Ada Buyer",
            "media": {**photo, "caption": "Which one is this?"},
        },
    ).json()["payload"]
    _post_signed(server, number, payload)
    image = page.locator("#messages li.msg.in").last.locator(".file img")
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    expect(page.locator("#messages li.msg.in").last).to_contain_text("Which one is this?")

    # The customer's order, beside the thread, refunded from there.
    orders = page.locator("#orders")
    expect(orders).to_contain_text(order["name"])
    orders.locator("summary", has_text="Refund").click()
    orders.locator("input[name=reason]").fill("Wrong size sent")
    page.once("dialog", lambda dialog: dialog.accept())
    orders.locator("button", has_text="Refund 25.00 USD").click()
    expect(page.locator("[role=status]")).to_contain_text("Refunded 25.00 USD.")
    expect(page.locator("#orders")).to_contain_text("refunded 25.00 USD")
    refunded = api.get(f"/api/v1/orders/{order['id']}").json()
    assert (refunded["refunded_total"], refunded["payment_status"]) == (2500, "refunded")
    page.screenshot(path=str(shots / "thread-desktop.png"), full_page=True)
    context.close()

    # The same pages on a phone: nothing wider than the screen, the composer in reach.
    mobile = phone.new_page()
    _log_in(mobile, server, token)
    mobile.goto(f"{server}/admin/inbox")
    expect(mobile.locator("#inbox-list")).to_contain_text("Ada Buyer")
    _fits(mobile)
    mobile.screenshot(path=str(shots / "inbox-phone.png"), full_page=True)
    mobile.goto(conversation_url)
    composer = mobile.locator("#composer textarea")
    composer.scroll_into_view_if_needed()
    expect(composer).to_be_visible()
    box = composer.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    _fits(mobile)
    mobile.screenshot(path=str(shots / "thread-phone.png"), full_page=True)
    mobile.screenshot(path=str(shots / "thread-phone-screen.png"))

    # The team's own words: a note in the thread, a label on the conversation.
    mobile.fill("#note-composer textarea", "Refunded: wrong size sent")
    mobile.click("#note-composer button")
    expect(mobile.locator("#messages li.msg.note")).to_contain_text("Refunded: wrong size sent")
    mobile.fill("input[name=labels]", "vip, wrong size")
    mobile.click("button:text-is('Label')")
    expect(mobile.locator("#thread-head .labels")).to_contain_text("wrong size")
    _fits(mobile)
    mobile.screenshot(path=str(shots / "thread-phone-team.png"), full_page=True)

    # A saved reply, kept on its own page and sent from the thread.
    mobile.goto(f"{server}/admin/inbox/replies")
    mobile.fill("input[name=name]", "thanks")
    mobile.fill("textarea[name=text]", "Thank you {name}! {order} is {order_status}.")
    mobile.click("button:text-is('Save reply')")
    expect(mobile.locator("[role=status]")).to_contain_text("Saved “thanks”.")
    _fits(mobile)
    mobile.screenshot(path=str(shots / "replies-phone.png"), full_page=True)
    mobile.goto(conversation_url)
    mobile.click("text=Send a saved reply")
    mobile.click("button:text-is('Send saved reply')")
    expect(mobile.locator("#messages li.msg.out").last).to_contain_text("Thank you Ada!")

    # A customer who wrote 25 hours ago: only the approved templates can be sent.
    with transaction(sessions) as session:
        accounts.replace_templates(
            session,
            number["id"],
            [
                {
                    "name": "order_update",
                    "language": "en_US",
                    "status": "APPROVED",
                    "components": [
                        {"type": "BODY", "text": "Hi {{1}}, order {{2}} is on its way."}
                    ],
                }
            ],
        )
    late = sim.text_message(
        "15557654321", "Any news?", name="Ben", at=datetime.now(UTC) - timedelta(hours=25)
    )
    _post_signed(server, number, late)
    mobile.goto(f"{server}/admin/inbox")
    ben = mobile.locator("#inbox-list li", has_text="Ben")
    expect(ben).to_contain_text("template only")
    # Opened by its address: the list may still be swapping in the event of Ben's message,
    # and a click on a row being replaced can land on nothing.
    mobile.goto(server + ben.locator("a").get_attribute("href"))
    composer = mobile.locator("#composer")
    expect(composer).to_contain_text("only an approved template")
    expect(composer.locator("details.template summary")).to_have_text(["order_update (en_US)"])
    expect(composer).to_contain_text("Hi {{1}}, order {{2}} is on its way.")
    expect(composer.locator("input[name=parameters]")).to_have_count(2)
    expect(composer.locator("textarea")).to_have_count(0)
    _fits(mobile)
    mobile.screenshot(path=str(shots / "thread-closed-phone.png"), full_page=True)


def test_an_agent_turns_an_instagram_comment_into_a_private_checkout_link_on_a_phone(
    server, phone, sandbox, sessions, make_products, make_token, drain, shots
):
    make_products(tee())
    with transaction(sessions) as session:
        token = auth_service.create_token(session, "mia", ["inbox:write"]).secret
    api = httpx.Client(base_url=server, headers=make_token("admin"), timeout=30)
    account = api.post(
        "/api/v1/inbox/accounts",
        json={
            "platform": "instagram",
            "name": "shop-instagram",
            "instagram_account_id": messenger_sim.INSTAGRAM_ID,
            "page_id": messenger_sim.PAGE_ID,
            "access_token": messenger_sim.ACCESS_TOKEN,
            "app_secret": messenger_sim.APP_SECRET,
            "verify_token": "v",
            "base_url": f"{SANDBOX}/messenger",
        },
    ).json()
    api.close()
    page = phone.new_page()
    page.goto(f"{server}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/admin/inbox")  # an inbox agent starts on the inbox
    expect(page.locator("#live")).to_have_class("live on")
    comment = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "instagram", "sender": "4455", "name": "ada.insta", "text": "Price??"},
    ).json()
    raw = json.dumps(comment["payload"]).encode()
    headers = {SIGNATURE_HEADER: signature(messenger_sim.APP_SECRET, raw)}
    assert httpx.post(server + account["webhook_path"], content=raw, headers=headers).is_success
    row = page.locator("#inbox-list li").first
    expect(row).to_contain_text("commented:")
    expect(row).to_contain_text("Instagram")
    row.locator("a").click()

    item = page.locator("#messages li.msg.in").first
    expect(item).to_contain_text("Price??")
    # An answer being typed under a comment survives the page's live update.
    item.locator("summary", has_text="Reply publicly").click()
    item.locator("textarea[aria-label='Public reply']").fill("Thanks! Sent you a DM")
    another = sandbox.post(
        "/messenger/_sandbox/comments",
        json={"platform": "instagram", "sender": "4455", "name": "ada.insta", "text": "Hello?"},
    ).json()
    raw = json.dumps(another["payload"]).encode()
    headers = {SIGNATURE_HEADER: signature(messenger_sim.APP_SECRET, raw)}
    assert httpx.post(server + account["webhook_path"], content=raw, headers=headers).is_success
    expect(page.locator("#messages li.msg.in")).to_have_count(2)
    expect(item.locator("textarea[aria-label='Public reply']")).to_have_value(
        "Thanks! Sent you a DM"
    )
    item.locator("summary", has_text="Reply privately").click()
    item.locator("input[name=items]").fill("TEE-M:1")
    item.locator("button", has_text="Send a checkout link privately").click()
    expect(page.locator("[role=status]")).to_contain_text("Checkout link queued.")
    drain()
    [sent] = sandbox.get("/messenger/_sandbox/messages").json()["messages"]
    assert sent["recipient"] == {"comment_id": comment["comment_id"]}
    assert "/shop/cart?items=TEE-M:1" in sent["body"]["message"]["text"]
    expect(page.locator("#messages li.msg.out").last.locator(".status")).to_have_text("sent")
    # One private reply per comment: the first comment offers none any more.
    expect(item.locator("summary", has_text="Reply privately")).to_have_count(0)

    page.locator("#messages li.msg.in").first.locator("button", has_text="Hide").click()
    expect(page.locator("[role=status]")).to_contain_text("Hidden.")
    assert sandbox.get("/messenger/_sandbox/comments").json()["comments"][comment["comment_id"]][
        "hidden"
    ]
    _fits(page)
    page.screenshot(path=str(shots / "comment-thread-phone.png"), full_page=True)
