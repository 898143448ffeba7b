"""Every adapter against its simulator: publish, read-back, rejections with the platform's
reason, faults, drift repaired by one reconciliation, SKU edits."""

import pytest
from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import platforms, sync
from mercato.channels.models import Channel, Listing
from mercato.db import transaction
from mercato.events.models import Event
from tests.helpers import tee

KINDS = ("meta", "google", "pinterest")


def fault(sandbox, kind, fault_kind, count=1, **extra):
    response = sandbox.post(
        f"/{kind}/_sandbox/faults", json={"kind": fault_kind, "count": count, **extra}
    )
    assert response.status_code == 200 and "queued" in response.json(), response.text


def remote(sandbox, kind) -> dict:
    return sandbox.get(f"/{kind}/_sandbox/items").json()


def listings(sessions, channel_id) -> dict[str, Listing]:
    with sessions() as session:
        return {
            x.item_id: x
            for x in session.scalars(select(Listing).where(Listing.channel_id == channel_id))
        }


def publish_and_read(sessions, channel_id):
    result = sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)
    return result


def platform_refuses_gtins(sessions, product, kind, monkeypatch) -> None:
    """Every variant gets a bad GTIN and the local validator is bypassed, so that the
    platform itself refuses them."""
    monkeypatch.setattr(platforms.spec(kind), "validate", lambda row, item, target: [])
    with transaction(sessions) as session:
        catalog.update_product(
            session,
            product.id,
            ProductUpdate(
                variants=[
                    {
                        "id": v.id,
                        "sku": v.sku,
                        "option_values": v.option_values,
                        "price": v.price,
                        "barcode": "4006381333932",
                    }
                    for v in product.variants
                ]
            ),
        )


@pytest.mark.parametrize("kind", KINDS)
def test_publish_then_read_back_approves(kind, sessions, sandbox, make_products, make_channel):
    [product] = make_products(tee())
    channel_id = make_channel(kind)
    result = publish_and_read(sessions, channel_id)
    assert result.sent == 2 and result.status == "active"
    held = listings(sessions, channel_id)
    assert set(held) == {v.id for v in product.variants}
    assert {x.verdict for x in held.values()} == {"approved"}
    assert len(remote(sandbox, kind)["items"]) == 2
    # Nothing changed: nothing is sent again.
    assert sync.publish(sessions, channel_id).sent == 0


@pytest.mark.parametrize("kind", KINDS)
def test_platform_rejection_surfaces_with_its_reason(
    kind, sessions, sandbox, make_products, make_channel, monkeypatch
):
    [product] = make_products(tee())
    channel_id = make_channel(kind)
    platform_refuses_gtins(sessions, product, kind, monkeypatch)
    publish_and_read(sessions, channel_id)
    held = listings(sessions, channel_id)
    assert {x.verdict for x in held.values()} == {"rejected"}
    for listing in held.values():
        reasons = [i for i in listing.issues if i["source"] == "platform"]
        assert any("GTIN" in i["message"] and "4006381333932" in i["message"] for i in reasons)


@pytest.mark.parametrize("kind", KINDS)
def test_local_errors_are_held_back(kind, sessions, sandbox, make_products, make_channel):
    make_products(tee(barcode="123"))
    channel_id = make_channel(kind)
    result = sync.publish(sessions, channel_id)
    assert result.sent == 0 and result.skipped_invalid == 2
    assert remote(sandbox, kind)["items_received"] == 0
    for listing in listings(sessions, channel_id).values():
        assert listing.verdict == "rejected"
        assert listing.issues[0]["source"] == "local" and listing.issues[0]["field"] == "gtin"


@pytest.mark.parametrize("kind", KINDS)
def test_429_and_5xx_are_retried(kind, sessions, sandbox, make_products, make_channel):
    make_products(tee())
    channel_id = make_channel(kind)
    fault(sandbox, kind, "429", 2, retry_after=0)
    fault(sandbox, kind, "500", 1)
    fault(sandbox, kind, "slow", 1, seconds=0.05)
    assert publish_and_read(sessions, channel_id).sent == 2
    assert len(remote(sandbox, kind)["items"]) == 2


# Google mints its tokens again by itself: tests/channels/test_google.py.
@pytest.mark.parametrize("kind", ("meta", "pinterest"))
def test_expired_token_marks_channel_needs_reauth(
    kind, sessions, sandbox, make_products, make_channel, client, admin
):
    make_products(tee())
    channel_id = make_channel(kind)
    fault(sandbox, kind, "expired_token")
    result = sync.publish(sessions, channel_id)
    assert result.status == "needs_reauth" and result.sent == 0
    with sessions() as session:
        assert session.get(Channel, channel_id).status == "needs_reauth"
        event = session.scalar(select(Event).where(Event.type == "channel.status_changed"))
        assert event.payload["to"] == "needs_reauth"
    # New credentials through the API reactivate it.
    patched = client.patch(
        f"/api/v1/channels/{channel_id}",
        headers=admin,
        json={"credentials": {"access_token": "fresh"}},
    )
    assert patched.json()["status"] == "active"


@pytest.mark.parametrize("kind", KINDS)
def test_delayed_verdicts_stay_pending_until_ready(
    kind, sessions, sandbox, make_products, make_channel
):
    make_products(tee(skus=("TEE-S",)))
    channel_id = make_channel(kind)
    fault(sandbox, kind, "delay_verdicts", 1)
    sync.publish(sessions, channel_id)
    first = sync.read_back(sessions, channel_id)
    assert first.confirmed == 0 and first.still_pending == 1
    assert sync.read_back(sessions, channel_id).confirmed == 1
    assert {x.verdict for x in listings(sessions, channel_id).values()} == {"approved"}


@pytest.mark.parametrize("kind", KINDS)
def test_one_reconciliation_repairs_drift(kind, sessions, sandbox, make_products, make_channel):
    make_products(tee(skus=("TEE-S", "TEE-M", "TEE-L")))
    channel_id = make_channel(kind)
    publish_and_read(sessions, channel_id)
    ids = sorted(remote(sandbox, kind)["items"])
    # Drift: one item lost, one changed behind our back, one the platform should not hold.
    sandbox.delete(f"/{kind}/_sandbox/items/{ids[0]}")
    stale_body = (
        {"productAttributes": {"title": "Tampered"}} if kind == "google" else {"title": "Tampered"}
    )
    sandbox.put(f"/{kind}/_sandbox/items/{ids[1]}", json=stale_body)
    extra_id = "en~US~ghost" if kind == "google" else "ghost"
    sandbox.put(
        f"/{kind}/_sandbox/items/{extra_id}",
        json={
            "offerId": "ghost",
            "contentLanguage": "en",
            "feedLabel": "US",
            "dataSource": "accounts/123/dataSources/ds1",
            "productAttributes": {},
        }
        if kind == "google"
        else {"title": "Ghost"},
    )
    result = sync.reconcile(sessions, channel_id)
    # Pinterest is read back by id (PLATFORMS.md §4.4): an item Mercato never sent stays.
    extra = 0 if kind == "pinterest" else 1
    assert (result.missing, result.stale, result.extra) == (1, 1, extra)
    assert result.publish.sent == 2
    after = remote(sandbox, kind)["items"]
    assert len(after) == 3 + 1 - extra
    # A second cycle finds nothing to repair.
    again = sync.reconcile(sessions, channel_id)
    assert (again.missing, again.stale, again.extra, again.publish.sent) == (0, 0, 0, 0)


@pytest.mark.parametrize("kind", KINDS)
def test_silently_dropped_items_are_found_by_reconciliation(
    kind, sessions, sandbox, make_products, make_channel
):
    make_products(tee())
    channel_id = make_channel(kind)
    # Google takes one item a request: drop both of them.
    fault(sandbox, kind, "drop", 2 if kind == "google" else 1)
    sync.publish(sessions, channel_id)
    assert remote(sandbox, kind)["items"] == {}
    result = sync.reconcile(sessions, channel_id)
    assert result.missing == 2 and result.publish.sent == 2
    assert len(remote(sandbox, kind)["items"]) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_sku_edit_leaves_exactly_one_item(kind, sessions, sandbox, make_products, make_channel):
    [product] = make_products(tee(skus=("TEE-S",)))
    channel_id = make_channel(kind)
    publish_and_read(sessions, channel_id)
    before = set(remote(sandbox, kind)["items"])
    variant = product.variants[0]
    with transaction(sessions) as session:
        catalog.update_product(
            session,
            product.id,
            ProductUpdate(
                variants=[
                    {
                        "id": variant.id,
                        "sku": "TEE-SMALL",
                        "option_values": variant.option_values,
                        "price": 2600,
                        "barcode": variant.barcode,
                        "mpn": variant.mpn,
                    }
                ]
            ),
        )
    assert sync.publish(sessions, channel_id).sent == 1
    assert set(remote(sandbox, kind)["items"]) == before and len(before) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_deactivated_product_is_deleted_and_availability_goes_first(
    kind, sessions, sandbox, make_products, make_channel
):
    first, second = make_products(tee(), tee(handle="cap", skus=("CAP-1",)))
    channel_id = make_channel(kind)
    publish_and_read(sessions, channel_id)
    with transaction(sessions) as session:
        catalog.update_product(session, second.id, ProductUpdate(status="archived"))
    result = sync.publish(sessions, channel_id)
    assert result.deleted == 1
    assert len(remote(sandbox, kind)["items"]) == 2
    assert listings(sessions, channel_id)[second.variants[0].id].verdict == "deleted"


def test_dry_run_sends_nothing(sessions, sandbox, make_products, make_channel, client, admin):
    make_products(tee())
    channel_id = make_channel("meta")
    response = client.post(
        f"/api/v1/channels/{channel_id}/publish", headers=admin, json={"dry_run": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["would_send"] == 2 and response.json()["sent"] == 0
    assert remote(sandbox, "meta")["items_received"] == 0
    real = client.post(f"/api/v1/channels/{channel_id}/publish", headers=admin)
    assert real.json()["sent"] == 2
    pending = client.get(
        f"/api/v1/channels/{channel_id}/listings", headers=admin, params={"verdict": "pending"}
    ).json()
    assert len(pending["items"]) == 2
    assert (
        client.get(
            f"/api/v1/channels/{channel_id}/listings", headers=admin, params={"verdict": "approved"}
        ).json()["items"]
        == []
    )
