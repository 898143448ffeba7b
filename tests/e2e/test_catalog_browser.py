"""The catalog's images and channel inclusion in Chromium, at a desktop and a phone's
width: an image uploaded, described, moved first and shown for a variant, the channels'
verdict shown again; selected variants kept off one channel from the bulk edit, reaching
that channel once on its next sync and no other."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select

from mercato.catalog import service as catalog
from mercato.channels import sync
from mercato.channels.models import Change, Listing
from mercato.config import get_settings
from mercato.db import transaction, utcnow
from mercato.events import service as events_service
from mercato.jobs.models import Job
from tests.e2e.conftest import PHONE
from tests.e2e.test_console_browser import DESKTOP, fits, log_in
from tests.helpers import tee


def photo(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), color).save(out, "JPEG")
    return out.getvalue()


def test_an_image_uploaded_described_and_moved_first(
    server, sandbox, browser, sessions, make_products, make_channel, shots, monkeypatch
):
    # The shop's address is the server's: its uploaded images are served from there.
    monkeypatch.setenv("MERCATO_BASE_URL", server)
    get_settings.cache_clear()
    # No image at all: Google rejects the product for its missing image_link.
    [tee_] = make_products(tee(media=[]))
    make_channel("google", name="google-us")
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = log_in(context, server, sessions)
    page.goto(f"{server}/admin/catalog/{tee_.id}")
    row = page.locator("#channels + .scroll tr", has_text="google-us")
    assert "image_link" in row.inner_text()

    upload = page.locator("form.upload")
    # Checked as it is chosen: a file that is no image type taken is said at once.
    upload.locator("input[type=file]").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    said = page.evaluate("document.querySelector('form.upload input[type=file]').validationMessage")
    assert "JPEG, PNG, WebP or GIF" in said
    for name, color in (("front.jpg", (20, 60, 160)), ("back.jpg", (160, 40, 40))):
        upload = page.locator("form.upload")
        upload.locator("input[type=file]").set_input_files(
            files=[{"name": name, "mimeType": "image/jpeg", "buffer": photo(color)}]
        )
        upload.locator("input[name=alt]").fill(f"Organic Tee, {name[:-4]}")
        upload.locator("button:text-is('Upload')").click()
        assert "Image added; checked again on every channel." in page.content()
    # The new verdict: the image is there, Google's check passes.
    row = page.locator("#channels + .scroll tr", has_text="google-us")
    assert "image_link" not in row.inner_text() and "passes" in row.inner_text()
    assert page.locator("#images .image-row").count() == 2

    # The back view first, described anew and shown for the M.
    second = page.locator("#image-2")
    second.locator("input[name=alt]").fill("Organic Tee, back view")
    second.locator("summary").click()
    second.locator("label", has_text="TEE-M").locator("input").check()
    second.locator("button[aria-label='Move image 2 earlier']").click()
    assert "Image moved." in page.content()
    first = page.locator("#image-1")
    assert first.locator("input[name=alt]").input_value() == "Organic Tee, back view"
    assert "Shown for 1 variant" in first.inner_text()
    page.screenshot(path=shots / "catalog-images-desktop.png", full_page=True)
    with sessions() as session:
        saved = catalog.get_product(session, tee_.id)
        assert [m.alt for m in saved.media] == ["Organic Tee, back view", "Organic Tee, front"]
        assert saved.variants[1].image_id == saved.media[0].id
    # The images are served to the browser (and to the platforms).
    assert page.evaluate("document.querySelector('#image-1 img').naturalWidth") == 400
    context.close()

    phone = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    page = log_in(phone, server, sessions)
    page.goto(f"{server}/admin/catalog/{tee_.id}")
    fits(page)
    page.locator("#images").scroll_into_view_if_needed()
    page.screenshot(path=shots / "catalog-images-phone.png", full_page=True)
    # A collection made and filled from the phone.
    page.goto(f"{server}/admin/collections")
    fits(page)
    page.fill("#new input[name=title]", "Summer basics")
    page.click("button:text-is('Create collection')")
    assert "Collection Summer basics created." in page.content()
    page.fill("input[name=product]", "TEE-M")
    page.click("button:text-is('Add product')")
    assert "Organic Tee added." in page.content()
    fits(page)
    page.screenshot(path=shots / "collection-phone.png", full_page=True)
    page.goto(f"{server}/admin/collections")
    fits(page)
    page.screenshot(path=shots / "collections-phone.png", full_page=True)
    phone.close()


def test_selected_variants_kept_off_one_channel_reach_it_once(
    server, sandbox, browser, sessions, make_products, make_channel, shots
):
    tee_, cap = make_products(tee(), tee(handle="cap", title="Wool Cap", skus=("CAP-1", "CAP-2")))
    google, meta = make_channel("google", name="google-us"), make_channel("meta", name="meta-shop")
    for channel_id in (google, meta):
        assert sync.publish(sessions, channel_id).sent == 4
    with transaction(sessions) as session:
        events_service.dispatch_pending(session, utcnow())

    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="en-US")
        page = log_in(context, server, sessions)
        page.goto(f"{server}/admin/catalog")
        page.locator("tr", has_text="Wool Cap").locator(
            "input[aria-label^='Select every variant of']"
        ).check()
        page.select_option("select[name=channel]", label="google-us")
        page.select_option("select[name=inclusion]", "exclude")
        fits(page)
        page.screenshot(path=shots / f"catalog-bulk-channel-{name}.png", full_page=True)
        if name == "phone":
            context.close()
            continue
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:text-is('Apply to selected variants')")
        assert "2 variant(s) kept off google-us (2 changed)" in page.content()
        assert "kept off google-us" in page.locator("tr", has_text="Wool Cap").inner_text()
        page.screenshot(path=shots / "catalog-bulk-channel-done.png", full_page=True)
        page.goto(f"{server}/admin/catalog/{cap.id}")
        row = page.locator("#channels + .scroll tr", has_text="google-us")
        assert "2 of 2 variant(s) kept off this channel" in row.inner_text()
        assert "Take back onto google-us" in row.inner_text()
        context.close()

    with transaction(sessions) as session:
        events_service.dispatch_pending(session, utcnow())
    with sessions() as session:
        queued = session.scalars(select(Change.channel_id)).all()
        assert queued == [google, google]  # the two variants, on google only
        publishes = session.scalar(
            select(func.count()).select_from(Job).where(Job.key == f"channels.publish:{google}")
        )
        assert publishes == 1
    result = sync.publish(sessions, google)
    assert result.deleted == 2
    assert sync.publish(sessions, google).deleted == 0  # once
    assert sync.publish(sessions, meta).sent == 0
    with sessions() as session:
        gone = session.scalars(
            select(Listing.verdict).where(
                Listing.channel_id == google, Listing.product_id == cap.id
            )
        ).all()
    assert gone == ["deleted", "deleted"]
    items = sandbox.get("/google/_sandbox/items").json()["items"]
    assert sorted(i["offerId"] for i in items.values()) == sorted(v.id for v in tee_.variants)
