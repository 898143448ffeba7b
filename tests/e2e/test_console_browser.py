"""The merchant console in Chromium, at a desktop and a phone's width: a rejected barcode
fixed from the channel's to-do list and approved after the next sync; a 10 % price change
on selected variants written once and queued once for every channel."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from mercato.auth import service as auth_service
from mercato.catalog import service as catalog
from mercato.channels import sync
from mercato.channels.models import Change, Listing
from mercato.db import transaction, utcnow
from mercato.events import service as events_service
from mercato.jobs.models import Job
from tests.e2e.conftest import PHONE
from tests.helpers import GTIN, tee

BAD_GTIN = "4006381333932"
DESKTOP = {"width": 1280, "height": 900}


def log_in(context, server, sessions):
    with transaction(sessions) as session:
        token = auth_service.create_token(session, "owner", ["admin"]).secret
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{server}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/admin")
    return page


def fits(page) -> None:
    """No horizontal page scroll: the page is no wider than the viewport."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


def verdicts(sessions, channel_id) -> list[str]:
    with sessions() as session:
        return sorted(
            session.scalars(select(Listing.verdict).where(Listing.channel_id == channel_id))
        )


def test_a_rejected_barcode_is_fixed_from_the_channels_to_do_list(
    server, sandbox, browser, sessions, make_products, make_channel, shots
):
    sizes = ("S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL", "6XL", "7XL", "8XL", "9XL")
    tee_, _ = make_products(
        tee(barcode=BAD_GTIN, skus=tuple(f"TEE-{s}" for s in sizes)),
        tee(handle="cap", title="Wool Cap", skus=("CAP-1",)),
    )
    channel_id = make_channel("google", name="google-us")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    assert verdicts(sessions, channel_id).count("rejected") == 12

    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport, locale="en-US")
        page = log_in(context, server, sessions)
        page.goto(f"{server}/admin/channels/{channel_id}")
        todo = page.locator("#todo")
        cause = todo.locator(".cause", has_text="invalid check digit")
        assert "12 items" in cause.inner_text() and "gtin" in cause.inner_text()
        assert "Organic Tee" in cause.inner_text() and "check digit is 2" in cause.inner_text()
        assert cause.locator("img").count() == 5  # the first five, each with its image
        page.evaluate("document.getElementById('todo').scrollIntoView()")
        page.screenshot(path=shots / f"console-todo-{name}.png")
        cause.locator("text=All 12 items").click()
        assert page.locator("#todo .affected").count() == 12  # nothing cut
        fits(page)
        page.screenshot(path=shots / f"console-cause-{name}.png", full_page=True)
        page.go_back()
        context.close()

    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = log_in(context, server, sessions)
    page.goto(f"{server}/admin/channels/{channel_id}")
    page.locator("#todo .cause >> text=Fix").first.click()
    page.wait_for_url(f"**/admin/catalog/{tee_.id}#f-*-barcode")
    focused = page.evaluate("document.activeElement.name")
    assert focused == "variants[0].barcode"
    # A 12-variant product stays a compact table.
    assert page.evaluate("document.documentElement.scrollHeight") < 2000
    for index in range(12):
        page.fill(f"input[name='variants[{index}].barcode']", GTIN)
    page.click("button:text-is('Save')")
    assert "Saved; checked again on every channel." in page.content()
    row = page.locator("#channels + .scroll tr", has_text="google-us")
    assert "passes" in row.inner_text() and "12 rejected" in row.inner_text()
    page.screenshot(path=shots / "console-product-desktop.png", full_page=True)

    # The next sync: sent, and Google approves every item.
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    page.reload()
    assert (
        "12 approved" in page.locator("#channels + .scroll tr", has_text="google-us").inner_text()
    )
    page.goto(f"{server}/admin/channels/{channel_id}")
    assert "Nothing to do" in page.locator("#todo").inner_text()
    assert verdicts(sessions, channel_id) == ["approved"] * 13
    context.close()

    phone = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    page = log_in(phone, server, sessions)
    page.goto(f"{server}/admin/catalog/{tee_.id}")
    fits(page)
    page.screenshot(path=shots / "console-product-phone.png", full_page=True)
    pages = (
        "/admin",
        "/admin/catalog",
        "/admin/collections",
        "/admin/channels",
        f"/admin/channels/{channel_id}",
        "/admin/orders",
        "/admin/inventory",
        "/admin/inbox",
        "/admin/analytics",
        "/admin/customers",
        "/admin/offers",
        "/admin/creators",
        "/admin/markets",
        "/admin/live",
        "/admin/recommendations",
        "/admin/webhooks",
        "/admin/mail",
        f"/admin/catalog/{tee_.id}/translations?locale=nl",
    )
    for path in pages:
        page.goto(f"{server}{path}")
        assert page.locator("h1").count() >= 1, path
        fits(page)
    page.screenshot(path=shots / "console-translations-phone.png", full_page=True)
    phone.close()


def test_a_bulk_price_change_reaches_every_channel_once(
    server, sandbox, browser, sessions, make_products, make_channel, shots
):
    tee_, cap = make_products(tee(), tee(handle="cap", title="Wool Cap", skus=("CAP-1", "CAP-2")))
    channel_ids = [make_channel("google"), make_channel("meta")]
    for channel_id in channel_ids:
        sync.publish(sessions, channel_id)
    with transaction(sessions) as session:
        events_service.dispatch_pending(session, utcnow())
    chosen = [tee_.variants[1].id, cap.variants[0].id, cap.variants[1].id]

    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="en-US")
        page = log_in(context, server, sessions)
        page.goto(f"{server}/admin/catalog")
        fits(page)
        page.screenshot(path=shots / f"console-catalog-{name}.png", full_page=True)
        context.close()

    page = log_in(browser.new_context(viewport=DESKTOP), server, sessions)
    page.goto(f"{server}/admin/catalog")
    page.locator("tr", has_text="Wool Cap").locator(
        "input[aria-label^='Select every variant of']"
    ).check()
    tee_row = page.locator("tr", has_text="Organic Tee")
    tee_row.locator("summary").click()
    tee_row.locator(f"input[value='{tee_.variants[1].id}']").check()
    page.fill("input[name=percent]", "10")
    page.once("dialog", lambda dialog: dialog.accept())  # "Apply to 3 selected variant(s)?"
    page.click("button:text-is('Apply to selected variants')")
    assert "3 variant(s) edited" in page.content()
    page.screenshot(path=shots / "console-bulk-done.png", full_page=True)

    with sessions() as session:
        prices = {
            v.id: v.price
            for p in catalog.get_products(session, [tee_.id, cap.id])
            for v in p.variants
        }
    assert prices == {tee_.variants[0].id: 2500, **{v: 2750 for v in chosen}}
    with transaction(sessions) as session:
        events_service.dispatch_pending(session, utcnow())
    with sessions() as session:
        for channel_id in channel_ids:
            queued = session.scalars(
                select(Change.variant_id).where(Change.channel_id == channel_id)
            ).all()
            assert sorted(queued) == sorted(prices)  # each variant of the two products, once
            publishes = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.key == f"channels.publish:{channel_id}")
            )
            assert publishes == 1
    for channel_id in channel_ids:
        assert sync.publish(sessions, channel_id).sent == 3
        assert sync.publish(sessions, channel_id).sent == 0


def test_a_rule_fixes_missing_colours_for_google_on_every_affected_item(
    server, sandbox, browser, sessions, make_products, make_channel, shots
):
    plain = {
        "options": ["Size"],
        "variants": [
            {"sku": f"PLAIN-{s}", "option_values": [s], "price": 2500, "barcode": GTIN}
            for s in ("S", "M", "L")
        ],
    }
    make_products(
        tee(handle="plain", title="Plain Tee", **plain), tee(handle="cap", skus=("CAP-1",))
    )
    channel_id = make_channel("google", name="google-us")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    assert verdicts(sessions, channel_id).count("rejected") == 3

    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="en-US")
        page = log_in(context, server, sessions)
        page.goto(f"{server}/admin/channels/{channel_id}")
        assert "3 items" in page.locator("#todo .cause", has_text="color").inner_text()
        form = page.locator("#rules form.rule-form")
        form.locator("input[name=name]").fill("Colour for apparel")
        form.locator("select[name=when_field]").select_option("color")
        form.locator("select[name=when_op]").select_option("empty")
        form.locator("select[name=action]").select_option("set")
        form.locator("select[name=field]").select_option("color")
        form.locator("input[name=value]").fill("Multicolor")
        form.locator("button[value=preview]").click()
        preview = page.locator("#preview")
        assert "3 of 4 items checked would change" in preview.inner_text()
        assert preview.locator("tr", has_text="PLAIN-M").inner_text().count("Multicolor") == 1
        fits(page)
        page.screenshot(path=shots / f"console-rule-preview-{name}.png", full_page=True)
        if name == "phone":
            context.close()
            continue
        page.locator("#rules button[value=save]").click()
        assert "Rule 1 added" in page.content()
        assert "Colour for apparel" in page.locator("#rules ol.rules").inner_text()
        context.close()

    # The next sync sends the three items with their colour, and Google approves them.
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    assert verdicts(sessions, channel_id) == ["approved"] * 4


def test_a_refused_value_is_said_under_its_field_as_it_is_typed(
    server, browser, sessions, make_products, shots
):
    [product] = make_products(tee())
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    page = log_in(context, server, sessions)
    page.goto(f"{server}/admin/catalog/{product.id}")
    said = page.locator("[data-error-for='variants[1].sku']")
    page.fill("input[name='variants[1].sku']", "TEE-S")
    expect(said).to_contain_text("appears twice")
    field = page.locator("input[name='variants[1].sku']")
    assert field.get_attribute("aria-invalid") == "true"
    page.screenshot(path=shots / "console-check-as-typed-phone.png", full_page=True)
    page.fill("input[name='variants[1].sku']", "TEE-L")
    expect(said).to_have_text("")
    assert field.get_attribute("aria-invalid") is None
    with sessions() as session:
        assert catalog.get_product(session, product.id).variants[1].sku == "TEE-M"
    context.close()
