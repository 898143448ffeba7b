"""A publish follows the change log: an edit reaches every channel's next publish and only
that one, a change committed while a publish runs is kept for the next, a product edit
queues a publish of its own, and reconciliation still compares the whole catalog."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from mercato.catalog import service as catalog
from mercato.catalog.models import Variant
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import http as channel_http
from mercato.channels import service, sync, tasks
from mercato.channels.meta import client as meta_client
from mercato.channels.models import Change
from mercato.channels.schemas import ChannelUpdate
from mercato.db import transaction
from mercato.events import service as events_service
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
from mercato.jobs import registry
from mercato.jobs.models import Job
from tests.helpers import tee

KINDS = ("meta", "google", "pinterest", "tiktok")


def titles(sandbox, kind: str) -> dict[str, str]:
    """Item (or, on TikTok, product) id -> title as the platform holds it."""
    items = sandbox.get(f"/{kind}/_sandbox/items").json()["items"]
    if kind == "google":
        return {i["offerId"]: i["productAttributes"]["title"] for i in items.values()}
    return {key: item.get("attributes", item)["title"] for key, item in items.items()}


def retitle(sessions, product, title: str) -> None:
    with transaction(sessions) as session:
        catalog.update_product(session, product.id, ProductUpdate(title=title))


def catalog_of_three(make_products):
    return make_products(
        tee(), tee(handle="cap", skus=("CAP-1",)), tee(handle="hat", skus=("HAT-1", "HAT-2"))
    )


def test_an_edit_reaches_every_channels_next_publish_and_only_it(
    sessions, sandbox, make_products, make_channel
):
    tee_, cap, hat = catalog_of_three(make_products)
    channels = {kind: make_channel(kind) for kind in KINDS}
    for channel_id in channels.values():
        assert sync.publish(sessions, channel_id).sent == 5
    retitle(sessions, cap, "Cap, now in wool")
    for kind, channel_id in channels.items():
        result = sync.publish(sessions, channel_id)
        # Only the edited variant is looked at, not the catalog.
        assert (result.checked, result.sent) == (1, 1), kind
        assert "Cap, now in wool" in titles(sandbox, kind).values(), kind
        # Sent once: the publish after it has nothing to look at.
        again = sync.publish(sessions, channel_id)
        assert (again.checked, again.sent) == (0, 0), kind
    with sessions() as session:
        assert session.scalars(select(Change)).all() == []


def test_a_change_committed_during_a_publish_is_kept_for_the_next(
    sessions, sandbox, make_products, make_channel, monkeypatch
):
    tee_, cap, hat = catalog_of_three(make_products)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    retitle(sessions, cap, "Cap A")
    real_send = meta_client.send
    edited = []

    def send(http, method, url, **kwargs):
        if method == "POST" and not edited:
            # While the platform answers: the same variant edited again, another one too,
            # both handed to the channels (a worker's dispatch) before the publish ends.
            edited.append(True)
            retitle(sessions, cap, "Cap B")
            retitle(sessions, hat, "Hat B")
            with transaction(sessions) as session:
                events_service.dispatch_pending(session, datetime.now(UTC))
        return real_send(http, method, url, **kwargs)

    monkeypatch.setattr(meta_client, "send", send)
    first = sync.publish(sessions, channel_id)
    assert edited and first.sent == 1
    assert "Cap A" in titles(sandbox, "meta").values()
    second = sync.publish(sessions, channel_id)
    assert (second.checked, second.sent) == (3, 3)
    assert {"Cap B", "Hat B"} <= set(titles(sandbox, "meta").values())
    assert "Cap A" not in titles(sandbox, "meta").values()
    assert sync.publish(sessions, channel_id).checked == 0


def test_a_publish_stopped_by_the_platform_leaves_its_changes_for_the_next(
    sessions, sandbox, make_products, make_channel
):
    tee_, cap, hat = catalog_of_three(make_products)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    retitle(sessions, cap, "Cap, now in wool")
    # Every try of the push fails.
    sandbox.post("/meta/_sandbox/faults", json={"kind": "500", "count": channel_http.RETRIES + 1})
    stopped = sync.publish(sessions, channel_id)
    assert stopped.sent == 0 and stopped.messages
    result = sync.publish(sessions, channel_id)
    assert (result.checked, result.sent) == (1, 1)
    assert "Cap, now in wool" in titles(sandbox, "meta").values()


def test_removed_variants_and_archived_products_are_taken_off(
    sessions, sandbox, make_products, make_channel
):
    tee_, cap, hat = catalog_of_three(make_products)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    keep = hat.variants[0]
    with transaction(sessions) as session:
        catalog.update_product(
            session,
            hat.id,
            ProductUpdate(
                variants=[
                    {
                        "id": keep.id,
                        "sku": keep.sku,
                        "option_values": keep.option_values,
                        "price": keep.price,
                        "barcode": keep.barcode,
                    }
                ]
            ),
        )
        catalog.update_product(session, cap.id, ProductUpdate(status="archived"))
    result = sync.publish(sessions, channel_id)
    assert result.deleted == 2
    assert set(titles(sandbox, "meta")) == {v.id for v in tee_.variants} | {keep.id}


def test_a_stock_change_is_in_the_change_log(sessions, sandbox, make_products, make_channel):
    tee_, cap, hat = catalog_of_three(make_products)
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="CAP-1", on_hand=5))
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="CAP-1", on_hand=0))
    result = sync.publish(sessions, channel_id)
    assert (result.checked, result.sent) == (1, 1)
    item = sandbox.get("/meta/_sandbox/items").json()["items"][cap.variants[0].id]
    assert item["availability"] == "out of stock"


def test_a_product_edit_queues_one_publish_per_channel(
    job_context, sessions, sandbox, make_products, make_channel
):
    tee_, cap, hat = catalog_of_three(make_products)
    channels = {kind: make_channel(kind) for kind in ("meta", "google")}
    for channel_id in channels.values():
        sync.publish(sessions, channel_id)
    retitle(sessions, cap, "Cap one")
    retitle(sessions, hat, "Hat one")
    with transaction(sessions) as session:
        events_service.dispatch_pending(session, datetime.now(UTC))
    retitle(sessions, cap, "Cap two")
    with transaction(sessions) as session:
        events_service.dispatch_pending(session, datetime.now(UTC))
    with sessions() as session:
        queued = list(
            session.scalars(select(Job).where(Job.name == tasks.PUBLISH_JOB).order_by(Job.key))
        )
    # One waiting job per channel, however many edits.
    assert sorted(job.args["channel_id"] for job in queued) == sorted(channels.values())
    ctx = job_context
    for job in queued:
        registry.TASKS[job.name].fn(ctx, **job.args)
    for kind in channels:
        assert {"Cap two", "Hat one"} <= set(titles(sandbox, kind).values()), kind


def test_reconciliation_still_compares_the_whole_catalog(
    sessions, sandbox, make_products, make_channel
):
    tee_, cap, hat = catalog_of_three(make_products)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    # A change behind the services' back is in no change log ...
    with transaction(sessions) as session:
        session.execute(update(Variant).where(Variant.sku == "CAP-1").values(price=999))
    assert sync.publish(sessions, channel_id).sent == 0
    # ... and reconciliation, comparing everything, sends it.
    result = sync.reconcile(sessions, channel_id)
    assert result.publish.checked == 5 and result.publish.sent == 1
    item = sandbox.get("/meta/_sandbox/items").json()["items"][cap.variants[0].id]
    assert item["price"].startswith("9.99")


@pytest.mark.parametrize("change", [{"country": "DE"}, {"settings": {"catalog_id": "cat2"}}])
def test_a_set_up_change_compares_the_whole_catalog_again(
    change, sessions, sandbox, make_products, make_channel
):
    catalog_of_three(make_products)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    assert sync.publish(sessions, channel_id).checked == 0
    with transaction(sessions) as session:
        service.update_channel(session, channel_id, ChannelUpdate(**change))
    assert sync.publish(sessions, channel_id).checked == 5
    assert sync.publish(sessions, channel_id).checked == 0
