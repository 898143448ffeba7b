"""The merchant looks at a customer in the dashboard, on a desktop and on a phone: one
profile made of a TikTok Shop buyer, a WhatsApp sender and a storefront buyer, with its
lifetime figures, contact points, consent, the timeline of orders, messages and touches,
a suggested merge to decide, and an unmerge."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from mercato.analytics import ledger
from mercato.auth import service as auth_service
from mercato.customers import consent, profiles
from mercato.customers.models import Merge
from mercato.db import transaction
from mercato.orders import creation
from mercato.orders.models import Order
from mercato.orders.schemas import OrderCreate
from tests.e2e.conftest import PHONE
from tests.inbox.conftest import account, deliver, notification, now, text_message  # noqa: F401

DESKTOP = {"width": 1280, "height": 900}
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def _order(session, channel: str, actor: str, **customer) -> Order:
    order, _ = creation.create_order(
        session,
        OrderCreate(
            channel=channel,
            currency="USD",
            lines=[{"title": "Organic tee", "unit_price": 2500, "quantity": 1}],
            customer={"name": "Ada Lovelace", **customer},
            shipping_address=ADDRESS,
            payment_status="paid",
        ),
        actor=actor,
    )
    return order


def _log_in(page, server: str, token: str) -> None:
    page.goto(f"{server}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/admin")


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_a_customer_profile_with_its_timeline_on_a_desktop_and_a_phone(
    server,
    browser,
    phone,
    sessions,
    deliver,  # noqa: F811
    shots,
):
    with transaction(sessions) as session:
        tiktok = _order(
            session, "tiktok", "channel:tiktok", email="ada@example.com", external_id="7001"
        )
        token = auth_service.create_token(session, "mia", ["customers:write", "orders:read"])
    message = text_message("wamid.P1", "Hi! Where is my tee?", now(), sender="14155550123")
    assert deliver(notification([message])).status_code == 200
    with transaction(sessions) as session:
        shop = _order(
            session, "storefront", "storefront", email="ada@example.com", phone="+14155550123"
        )
        # Someone typing a similar email with the same name and address: only suggested.
        _order(session, "manual", "api", email="ada.lovelace@example.org", name="ADA lovelace")
        root = session.get(Order, tiktok.id).customer_id
        consent.record(
            session,
            root,
            consent.Need("marketing", "email"),
            True,
            source="storefront_checkout",
            wording="Email me news and offers. You can unsubscribe at any time.",
            reference=f"checkout:{shop.id}",
        )
        profiles.update(
            session, root, fields={"notes": "Prefers WhatsApp."}, tags=["vip"], actor="cli"
        )
        ledger.record(
            session,
            [
                {
                    "event_id": ledger.purchase_event_id(shop.id),
                    "kind": "purchase",
                    "source": "server",
                    "at": shop.placed_at,
                    "channel": "instagram",
                    "campaign": "spring-drop",
                    "order_id": shop.id,
                    "value": shop.total,
                    "currency": shop.currency,
                }
            ],
        )
        [merge] = session.scalars(select(Merge)).all()

    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _log_in(page, server, token.secret)
    page.goto(f"{server}/admin/customers")
    rows = page.locator("table.customers tbody tr")
    expect(rows).to_have_count(2)  # Ada's profile, and the look-alike's
    expect(page.locator(".flash.warn")).to_contain_text("1 suggested merge")
    page.screenshot(path=str(shots / "customers-desktop.png"), full_page=True)
    page.fill("input[name=q]", "+1 415 555 0123")
    page.click("form.filters button")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ada@example.com")
    expect(rows.first).to_contain_text("50.00 USD")
    rows.first.locator("a").click()

    expect(page.locator("h1")).to_have_text("Ada Lovelace")
    expect(page.locator(".figures")).to_contain_text("50.00 USD")
    contacts = page.locator(".contacts")
    expect(contacts).to_contain_text("ada@example.com")
    expect(contacts).to_contain_text("+14155550123")
    timeline = page.locator(".profile-timeline")
    expect(timeline.locator("li.order")).to_have_count(2)
    expect(timeline.locator("li.message")).to_contain_text("Where is my tee?")
    expect(timeline.locator("li.touch")).to_contain_text("spring-drop")
    expect(page.locator(".consent")).to_contain_text("Email me news and offers")
    expect(page.locator(".merges")).to_contain_text("active")
    expect(page.get_by_role("button", name="Merge", exact=True)).to_be_visible()
    page.screenshot(path=str(shots / "customer-desktop.png"), full_page=True)

    # On a phone: nothing wider than the screen.
    mobile = phone.new_page()
    _log_in(mobile, server, token.secret)
    mobile.goto(f"{server}/admin/customers")
    _fits(mobile)
    mobile.screenshot(path=str(shots / "customers-phone.png"), full_page=True)
    mobile.goto(page.url)
    expect(mobile.locator(".profile-timeline li.order")).to_have_count(2)
    _fits(mobile)
    mobile.screenshot(path=str(shots / "customer-phone.png"), full_page=True)
    assert PHONE["width"] == mobile.viewport_size["width"]

    # The merchant unmerges: the WhatsApp side is a profile of its own again.
    page.locator(".merges button", has_text="Unmerge").click()
    expect(page.locator(".flash")).to_contain_text("Unmerged")
    expect(page.locator(".profile-timeline li.message")).to_have_count(0)
    with sessions() as session:
        assert session.get(Merge, merge.id).status == "undone"
    context.close()
