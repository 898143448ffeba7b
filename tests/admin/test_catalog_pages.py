"""The dashboard's catalog pages: images uploaded, described, ordered and shown for a
variant from the product page; collections made and filled; variants kept off a channel
from the bulk edit and the product page. Every refusal is said and changes nothing."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import func, select

from mercato.catalog import collections
from mercato.catalog import service as catalog
from mercato.channels.models import Exclusion
from mercato.events.models import Event
from tests.helpers import csrf_of, signed_in, tee


def png(color=(30, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "PNG")
    return out.getvalue()


def csrf(client, path="/admin/catalog") -> str:
    return csrf_of(client.get(path).text)


def product(sessions, product_id):
    with sessions() as session:
        return catalog.get_product(session, product_id)


def events(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_an_image_uploaded_described_moved_and_shown_for_a_variant(client, sessions, make_products):
    [tee_] = make_products(tee())
    signed_in(client, sessions, "admin")
    page = f"/admin/catalog/{tee_.id}"
    token = csrf(client, page)
    sent = client.post(
        f"{page}/media",
        data={"csrf": token, "alt": "Blue tee, folded"},
        files={"file": ("tee.png", png(), "image/png")},
    )
    assert sent.status_code == 200 and "Image added" in sent.text
    added = product(sessions, tee_.id).media[-1]
    assert added.alt == "Blue tee, folded" and added.position == 2
    assert f'src="{added.url}"' in sent.text
    assert client.get(added.url.split("testserver", 1)[-1]).status_code == 200

    variant = tee_.variants[1].id
    moved = client.post(
        f"{page}/media/{added.id}",
        data={
            "csrf": token,
            "alt": "Folded",
            "position": "1",
            "variants": "1",
            "variant_id": variant,
        },
    )
    assert "Image moved" in moved.text
    after = product(sessions, tee_.id)
    assert [m.id for m in after.media] == [added.id, tee_.media[0].id]
    assert after.media[0].alt == "Folded"
    assert {v.id: v.image_id for v in after.variants}[variant] == added.id
    assert "Shown for 1 variant" in moved.text

    removed = client.post(f"{page}/media/{added.id}/delete", data={"csrf": token})
    assert "Image removed" in removed.text
    assert [m.id for m in product(sessions, tee_.id).media] == [tee_.media[0].id]


def test_a_file_that_is_not_an_image_is_said_and_changes_nothing(client, sessions, make_products):
    [tee_] = make_products(tee())
    signed_in(client, sessions, "admin")
    page = f"/admin/catalog/{tee_.id}"
    token = csrf(client, page)
    before = events(sessions)
    refused = client.post(
        f"{page}/media",
        data={"csrf": token},
        files={"file": ("tee.jpg", b"GIF89a nope", "image/jpeg")},
    )
    assert "not an image the shop can read" in refused.text
    empty = client.post(f"{page}/media", data={"csrf": token})
    assert "choose an image file" in empty.text
    long_alt = client.post(
        f"{page}/media/{tee_.media[0].id}", data={"csrf": token, "alt": "x" * 600}
    )
    assert "at most 512" in long_alt.text
    assert events(sessions) == before
    assert len(product(sessions, tee_.id).media) == 1


def test_a_reader_sees_the_images_but_cannot_change_them(client, sessions, make_products):
    [tee_] = make_products(tee())
    signed_in(client, sessions, "catalog:read")
    page = client.get(f"/admin/catalog/{tee_.id}").text
    assert "Upload" not in page and "Save image" not in page
    refused = client.post(
        f"/admin/catalog/{tee_.id}/media",
        data={"csrf": csrf_of(page)},
        files={"file": ("tee.png", png(), "image/png")},
    )
    assert "catalog:write" in refused.text
    assert len(product(sessions, tee_.id).media) == 1


def test_collections_made_and_filled_from_the_dashboard(client, sessions, make_products):
    tee_, cap = make_products(
        tee(product_type="Shirts"), tee(handle="cap", title="Wool Cap", skus=("CAP-1",))
    )
    signed_in(client, sessions, "admin")
    token = csrf(client, "/admin/collections")
    made = client.post(
        "/admin/collections",
        data={"csrf": token, "title": "Gift ideas", "rule_field": "", "rule_value": ""},
    )
    assert "Collection Gift ideas created" in made.text and "<h1>Gift ideas</h1>" in made.text
    collection_id = re.search(r'action="/admin/collections/(col_\w+)"', made.text).group(1)
    added = client.post(
        f"/admin/collections/{collection_id}/products", data={"csrf": token, "product": "CAP-1"}
    )
    assert "Wool Cap added" in added.text
    client.post(
        f"/admin/collections/{collection_id}/products", data={"csrf": token, "product": "tee"}
    )
    moved = client.post(
        f"/admin/collections/{collection_id}/products/{tee_.id}/move",
        data={"csrf": token, "position": "1"},
    )
    assert moved.text.index("Organic Tee") < moved.text.index("Wool Cap")
    missing = client.post(
        f"/admin/collections/{collection_id}/products", data={"csrf": token, "product": "NOPE"}
    )
    assert "No product with handle, id or SKU" in missing.text

    # From the product page: out of the manual collection; a rule-picked one is shown.
    ruled = client.post(
        "/admin/collections",
        data={
            "csrf": token,
            "title": "Shirts",
            "rule_field": "product_type",
            "rule_value": "shirts",
        },
    )
    assert "picked by its rules" in ruled.text and "Organic Tee" in ruled.text
    page = client.get(f"/admin/catalog/{tee_.id}").text
    assert "(by its rules)" in page and "Gift ideas" in page
    saved = client.post(f"/admin/catalog/{tee_.id}/collections", data={"csrf": token})
    assert "taken out of 1" in saved.text
    with sessions() as session:
        held = collections.of_products(session, [tee_.id, cap.id])
    assert held[cap.id] == [collection_id] and collection_id not in held[tee_.id]
    assert len(held[tee_.id]) == 1  # the rule-picked one stays

    listing = client.get("/admin/collections").text
    assert "Gift ideas" in listing and "type is <strong>shirts</strong>" in listing
    bad = client.post(
        f"/admin/collections/{collection_id}",
        data={"csrf": token, "title": "X", "handle": "Bad Handle"},
    )
    assert "not a valid handle" in bad.text
    deleted = client.post(f"/admin/collections/{collection_id}/delete", data={"csrf": token})
    assert "Collection deleted" in deleted.text and "Gift ideas" not in deleted.text


def test_bulk_keeps_selected_variants_off_one_channel(
    client, sessions, make_products, make_channel
):
    tee_, cap = make_products(tee(), tee(handle="cap", title="Wool Cap", skus=("CAP-1",)))
    google = make_channel("google", name="google-us")
    make_channel("meta", name="meta-shop")
    signed_in(client, sessions, "admin")
    page = client.get("/admin/catalog").text
    assert '<option value="' + google + '">google-us</option>' in page
    token = csrf_of(page)
    chosen = [tee_.variants[0].id, cap.variants[0].id]
    done = client.post(
        "/admin/catalog/bulk",
        data={"csrf": token, "variant_id": chosen, "channel": google, "inclusion": "exclude"},
    )
    assert "2 variant(s) kept off google-us (2 changed)" in done.text
    assert "kept off google-us" in done.text
    with sessions() as session:
        kept = session.scalars(select(Exclusion.variant_id).where(Exclusion.channel_id == google))
        assert sorted(kept) == sorted(chosen)
    # The product page says so, and takes the product back with one button.
    page = client.get(f"/admin/catalog/{tee_.id}").text
    assert "1 of 2 variant(s) kept off this channel" in page
    back = client.post(
        f"/admin/catalog/{tee_.id}/channels/{google}", data={"csrf": token, "included": "1"}
    )
    assert "Taken back onto google-us" in back.text
    # A price change and an inclusion in one go; a half-filled choice is said.
    both = client.post(
        "/admin/catalog/bulk",
        data={
            "csrf": token,
            "variant_id": chosen,
            "percent": "10",
            "channel": google,
            "inclusion": "include",
        },
    )
    assert "2 variant(s) edited" in both.text and "taken onto google-us" in both.text
    half = client.post(
        "/admin/catalog/bulk", data={"csrf": token, "variant_id": chosen, "channel": google}
    )
    assert "choose a channel and include or exclude" in half.text


def test_bulk_channel_inclusion_needs_channels_write(client, sessions, make_products, make_channel):
    [tee_] = make_products(tee())
    google = make_channel("google", name="google-us")
    signed_in(client, sessions, "catalog:write", "channels:read")
    page = client.get("/admin/catalog").text
    assert 'name="inclusion"' not in page
    refused = client.post(
        "/admin/catalog/bulk",
        data={
            "csrf": csrf_of(page),
            "variant_id": [tee_.variants[0].id],
            "percent": "10",
            "channel": google,
            "inclusion": "exclude",
        },
    )
    assert "channels:write" in refused.text
    assert product(sessions, tee_.id).variants[0].price == 2500  # nothing half done


def test_the_collections_pages_ask_catalog_read(client, sessions):
    signed_in(client, sessions, "orders:read")
    assert client.get("/admin/collections").status_code == 403
    client.cookies.clear()
    signed_in(client, sessions, "catalog:read")
    page = client.get("/admin/collections")
    assert page.status_code == 200 and 'href="/admin/collections"' in page.text
    assert "Create collection" not in page.text  # reading only
