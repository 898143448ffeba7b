"""The merchant console: a product edited in place through the API's rules (a refusal
shows by its field and changes nothing), bulk edit of selected variants written once,
and the channel's issues as a to-do list grouped by cause, every item reachable."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mercato.auth import service as auth_service
from mercato.catalog import bulk
from mercato.catalog import service as catalog
from mercato.channels import service as channels
from mercato.channels import sync
from mercato.channels.models import Change, Listing
from mercato.db import transaction
from mercato.errors import ValidationFailed
from mercato.events.models import Event
from mercato.inventory import counts
from mercato.jobs.models import Job
from tests.helpers import GTIN, csrf_of, signed_in, tee

BAD_GTIN = "4006381333932"  # the check digit is wrong


def product_of(sessions, product_id):
    with sessions() as session:
        product = catalog.get_product(session, product_id)
        return product, [v.id for v in product.variants]


def form_of(client, product_id, **changes) -> dict:
    """What the product page's form posts: every field as shown, with ``changes``."""
    import re

    html = client.get(f"/admin/catalog/{product_id}").text
    fields = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', html))
    fields["csrf"] = csrf_of(html)
    fields["title"] = re.search(r'name="title" value="([^"]*)"', html).group(1)
    return {**fields, **changes}


# ---------------------------------------------------------------- service level


def test_changed_price_rounds_to_the_currencys_minor_unit_and_never_below_zero():
    assert bulk.changed_price(2500, "USD", Decimal(10)) == 2750
    assert bulk.changed_price(999, "USD", Decimal(10)) == 1099  # 1098.9 rounded
    assert bulk.changed_price(1500, "JPY", Decimal("3.3")) == 1550  # 1549.5 yen, to even
    assert bulk.changed_price(1234, "KWD", Decimal(-50)) == 617
    assert bulk.changed_price(100, "USD", Decimal(-100)) == 0


def test_a_bulk_price_change_is_one_product_update_each_and_one_change_per_channel(
    sessions, sandbox, make_products, make_channel
):
    tee_, cap = make_products(tee(), tee(handle="cap", skus=("CAP-1", "CAP-2", "CAP-3")))
    channel_ids = [make_channel("meta"), make_channel("google")]
    for channel_id in channel_ids:
        sync.publish(sessions, channel_id)
    chosen = [tee_.variants[0].id, cap.variants[1].id, cap.variants[2].id]
    with transaction(sessions) as session:
        assert bulk.edit_variants(session, bulk.BulkEdit(chosen, Decimal(10))) == 3
    with transaction(sessions) as session:
        prices = {
            v.id: v.price
            for p in catalog.get_products(session, [tee_.id, cap.id])
            for v in p.variants
        }
        assert prices == {
            tee_.variants[0].id: 2750,
            tee_.variants[1].id: 2500,
            cap.variants[0].id: 2500,
            cap.variants[1].id: 2750,
            cap.variants[2].id: 2750,
        }
        updated = session.scalars(select(Event).where(Event.type == "product.updated")).all()
        assert sorted(e.payload["product_id"] for e in updated) == sorted([tee_.id, cap.id])
    from mercato.db import utcnow
    from mercato.events import service as events_service

    with transaction(sessions) as session:
        events_service.dispatch_pending(session, utcnow())
    with sessions() as session:
        for channel_id in channel_ids:
            queued = session.scalars(
                select(Change.variant_id).where(Change.channel_id == channel_id)
            ).all()
            assert sorted(queued) == sorted(prices)  # every variant of the two products, once
            jobs = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.key == f"channels.publish:{channel_id}")
            )
            assert jobs == 1
    for channel_id in channel_ids:
        assert sync.publish(sessions, channel_id).sent == 3  # only the prices that changed
        assert sync.publish(sessions, channel_id).sent == 0


def test_a_bulk_edit_with_one_unknown_variant_changes_nothing(sessions, make_products):
    [product] = make_products(tee())
    with transaction(sessions) as session, pytest.raises(ValidationFailed) as refused:
        bulk.edit_variants(
            session, bulk.BulkEdit([product.variants[0].id, "var_nope"], Decimal(10), "draft")
        )
    assert [dotted for dotted in (e.loc for e in refused.value.errors)] == [("variant_ids",)]
    product, _ = product_of(sessions, product.id)
    assert product.status == "active" and product.variants[0].price == 2500


def test_a_bulk_edit_names_each_bad_value(sessions, make_products):
    [product] = make_products(tee())
    with transaction(sessions) as session, pytest.raises(ValidationFailed) as refused:
        bulk.edit_variants(session, bulk.BulkEdit([product.variants[0].id], Decimal("NaN"), "gone"))
    assert [e.loc for e in refused.value.errors] == [("percent",), ("status",)]


def test_the_to_do_list_groups_by_cause_names_products_and_pages_every_item(
    sessions, sandbox, make_products, make_channel
):
    made = make_products(
        *(
            tee(handle=f"tee-{n}", skus=(f"T{n}-S",), barcode=BAD_GTIN, title=f"Tee {n}")
            for n in range(11)
        ),
        tee(handle="cap", skus=("CAP-1",), barcode="12345", title="Cap"),
    )
    channel_id = make_channel("google")
    sync.publish(sessions, channel_id, dry_run=False)
    with sessions() as session:
        groups = channels.issue_groups(session, channel_id, shown=5)
        by_rule = {(g.field, g.rule): g for g in groups}
        check_digit = by_rule[("gtin", "invalid check digit")]
        assert check_digit.items == 11 and len(check_digit.affected) == 5
        assert check_digit.affected[0].title == "Tee 0"
        assert check_digit.affected[0].image_url == "https://cdn.example.com/tee.jpg"
        assert "check digit is 2" in check_digit.affected[0].said
        assert by_rule[("gtin", "wrong length")].items == 1
        first, after = channels.issue_page(
            session, channel_id, "gtin", "invalid check digit", limit=10
        )
        rest, last = channels.issue_page(
            session, channel_id, "gtin", "invalid check digit", after, 10
        )
        assert len(first) == 10 and len(rest) == 1 and last is None
        assert {a.title for a in first + rest} == {p.title for p in made[:11]}


# ---------------------------------------------------------------- the pages


def test_the_product_page_saves_an_edit_and_refuses_a_bad_one_by_its_field(
    client, sessions, make_products, make_channel
):
    [product] = make_products(tee(barcode=BAD_GTIN))
    make_channel("google")
    signed_in(client, sessions, "admin")
    page = client.get(f"/admin/catalog/{product.id}")
    assert "invalid check digit" not in page.text and "not a valid GTIN" in page.text
    # A price that is no price, then a SKU the catalog's rules refuse: each named beside
    # its field, what was typed kept, nothing saved.
    refused = client.post(
        f"/admin/catalog/{product.id}",
        data=form_of(client, product.id, **{"variants[0].price": "abc", "title": "New"}),
    )
    assert refused.status_code == 422
    assert (
        '<div class="field-error" data-error-for="variants[0].price" role="status">'
        "&#39;abc&#39; is not a price</div>"
    ) in refused.text
    assert 'value="abc"' in refused.text
    refused = client.post(
        f"/admin/catalog/{product.id}",
        data=form_of(client, product.id, **{"variants[1].sku": "TEE-S", "title": "New"}),
    )
    assert refused.status_code == 422
    assert "SKU &#39;TEE-S&#39; appears twice" in refused.text
    assert 'aria-label="SKU of TEE-M" size="12" id="f-' in refused.text
    saved, _ = product_of(sessions, product.id)
    assert saved.variants[0].price == 2500 and saved.title == "Organic Tee"
    # A good edit: title, barcode, price and stock; the check passes on the channel now.
    done = client.post(
        f"/admin/catalog/{product.id}",
        data=form_of(
            client,
            product.id,
            title="Organic Tee, recut",
            **{
                "variants[0].barcode": GTIN,
                "variants[1].barcode": GTIN,
                "variants[0].price": "27.50",
                "stock[0].default": "7",
            },
        ),
    )
    assert "Saved; checked again on every channel." in done.text
    assert "passes" in done.text and "not a valid GTIN" not in done.text
    saved, _ = product_of(sessions, product.id)
    assert saved.title == "Organic Tee, recut" and saved.variants[0].price == 2750
    assert saved.variants[0].barcode == GTIN
    with sessions() as session:
        assert counts.on_hand_at_default(session, [saved.variants[0].id]) == {
            saved.variants[0].id: 7
        }


def test_the_product_form_is_checked_as_typed_by_the_saves_rules_and_nothing_is_kept(
    client, sessions, make_products
):
    [product] = make_products(tee())
    signed_in(client, sessions, "admin")
    check = f"/admin/catalog/{product.id}/check"
    typed = form_of(client, product.id, **{"variants[1].sku": "TEE-S", "title": "Typed"})
    answer = client.post(check, data=typed).json()
    assert "appears twice" in answer["errors"]["variants[1].sku"]
    answer = client.post(check, data={**typed, "variants[1].sku": "TEE-L"}).json()
    assert answer == {"errors": {}}
    saved, _ = product_of(sessions, product.id)
    assert saved.title == "Organic Tee" and saved.variants[1].sku == "TEE-M"  # nothing kept
    reader = client.post(
        "/admin/login", data={"token": _token(sessions, "catalog:read")}, follow_redirects=False
    )
    assert reader.status_code == 303
    page = client.get(f"/admin/catalog/{product.id}").text
    assert "data-check" not in page
    refused = client.post(check, data={**typed, "csrf": csrf_of(page)}).json()
    assert "catalog:write" in refused["errors"][""]


def _token(sessions, *scopes) -> str:
    with transaction(sessions) as session:
        return auth_service.create_token(session, "reader", list(scopes)).secret


def test_editing_needs_catalog_write_and_the_dashboards_form(client, sessions, make_products):
    [product] = make_products(tee())
    signed_in(client, sessions, "catalog:read")
    page = client.get(f"/admin/catalog/{product.id}")
    assert "Save</button>" not in page.text and " disabled" in page.text
    refused = client.post(
        f"/admin/catalog/{product.id}", data=form_of(client, product.id, title="Hacked")
    )
    assert "lacks the &#39;catalog:write&#39; scope" in refused.text
    stale = client.post(f"/admin/catalog/{product.id}", data={"title": "Hacked", "csrf": "x"})
    assert stale.status_code == 403
    saved, _ = product_of(sessions, product.id)
    assert saved.title == "Organic Tee"


def test_stock_needs_inventory_write(client, sessions, make_products):
    [product] = make_products(tee())
    signed_in(client, sessions, "catalog:read", "catalog:write")
    refused = client.post(
        f"/admin/catalog/{product.id}",
        data=form_of(client, product.id, title="New", **{"stock[0].default": "5"}),
    )
    assert "inventory:write" in refused.text
    saved, _ = product_of(sessions, product.id)
    assert saved.title == "Organic Tee"


def test_the_catalog_bulk_form_and_the_channel_to_do_list(
    client, sessions, sandbox, make_products, make_channel
):
    [product] = make_products(tee(barcode=BAD_GTIN))
    channel_id = make_channel("google", name="google-us")
    sync.publish(sessions, channel_id)
    signed_in(client, sessions, "admin")
    catalog_page = client.get("/admin/catalog")
    done = client.post(
        "/admin/catalog/bulk",
        data={
            "csrf": csrf_of(catalog_page.text),
            "variant_id": [v.id for v in product.variants],
            "percent": "-10",
            "status": "draft",
        },
    )
    assert "2 variant(s) edited" in done.text
    saved, _ = product_of(sessions, product.id)
    assert saved.status == "draft" and {v.price for v in saved.variants} == {2250}
    todo = client.get(f"/admin/channels/{channel_id}").text
    assert "invalid check digit" in todo and "Organic Tee" in todo and "2 items" in todo
    assert f'href="/admin/catalog/{product.id}#f-{product.variants[0].id}-barcode">Fix' in todo
    assert f">{product.variants[0].id}<" not in todo  # items by title and SKU, not by id
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Listing)) == 2


def test_the_webhooks_empty_state_names_a_real_command(client, sessions):
    signed_in(client, sessions, "admin")
    assert "mercato webhooks create URL" in client.get("/admin/webhooks").text
