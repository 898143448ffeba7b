"""Sold out first: inventory.changed pushes the items whose availability changed to every
active channel at once; other items' content edits wait for the next full sync."""

from datetime import UTC, datetime

from sqlalchemy import select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import sync, tasks
from mercato.db import make_sessionmaker, transaction
from mercato.events import service as events_service
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
from mercato.jobs import registry
from mercato.jobs.models import Job
from tests.helpers import tee

KINDS = ("meta", "google", "pinterest", "tiktok")


def set_stock(sessions, sku: str, units: int) -> None:
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku=sku, on_hand=units))


def held(sandbox, kind: str) -> dict[str, dict]:
    """item id -> (title, in stock?, quantity) as each platform holds it."""
    items = sandbox.get(f"/{kind}/_sandbox/items").json()["items"]
    out = {}
    for key, item in items.items():
        if kind == "tiktok":
            for sku in item["skus"]:
                quantity = sku["inventory"][0]["quantity"]
                out[sku["external_sku_id"]] = (item["title"], quantity > 0, quantity)
        elif kind == "google":
            attributes = item["productAttributes"]
            out[item["offerId"]] = (
                attributes["title"],
                attributes["availability"] == "IN_STOCK",
                None,
            )
        else:
            attributes = item.get("attributes", item)
            out[key] = (
                attributes["title"],
                attributes["availability"] == "in stock",
                attributes.get("inventory"),
            )
    return out


def dispatch_and_run_jobs(engine, sessions) -> list[Job]:
    """What the worker does: hand events to consumers, then run the queued jobs."""
    with transaction(sessions) as session:
        while events_service.dispatch_pending(session, datetime.now(UTC)):
            pass
    with sessions() as session:
        queued = list(
            session.scalars(
                select(Job)
                .where(Job.name == tasks.AVAILABILITY_JOB, Job.state == "queued")
                .order_by(Job.created_at)
            )
        )
    ctx = registry.JobContext(
        job_id="job_test",
        attempt=1,
        now=datetime.now(UTC),
        sessions=sessions,
        read_sessions=make_sessionmaker(engine, read_only=True),
    )
    for job in queued:
        registry.TASKS[job.name].fn(ctx, **job.args)
    return queued


def test_a_sell_out_reaches_every_channel_before_content_edits(
    engine, sessions, sandbox, make_products, make_channel
):
    [product] = make_products(tee())
    small, medium = product.variants
    set_stock(sessions, "TEE-S", 5)
    set_stock(sessions, "TEE-M", 5)
    channel_ids = {kind: make_channel(kind) for kind in KINDS}
    for channel_id in channel_ids.values():
        assert sync.publish(sessions, channel_id).sent == 2
    dispatch_and_run_jobs(engine, sessions)  # the stock set above: nothing new to send
    # A content edit waits for the next full sync; the sell-out does not.
    with transaction(sessions) as session:
        catalog.update_product(session, product.id, ProductUpdate(title="Organic Tee, v2"))
    set_stock(sessions, "TEE-S", 0)

    jobs = dispatch_and_run_jobs(engine, sessions)

    assert {job.args["channel_id"] for job in jobs} == set(channel_ids.values())
    assert all(small.id in job.args["variant_ids"] for job in jobs)
    assert {job.key for job in jobs} == {f"channels.availability:{c}" for c in channel_ids.values()}
    for kind in KINDS:
        items = held(sandbox, kind)
        assert items[small.id][1] is False, kind
        assert items[medium.id][1] is True, kind
        if kind == "meta":
            assert items[small.id][2] == 0
        if kind != "tiktok":  # TikTok takes a product whole: the edit rides along
            # The sold-out item went with its current content; the other one waits.
            assert items[medium.id][0] == "Organic Tee", kind
    # The full sync then sends the content edit.
    for kind, channel_id in channel_ids.items():
        sent = sync.publish(sessions, channel_id).sent
        assert sent == (0 if kind == "tiktok" else 1), kind  # TikTok: already sent whole
        assert {title for title, _, _ in held(sandbox, kind).values()} == {"Organic Tee, v2"}


def test_unchanged_availability_sends_nothing(
    engine, sessions, sandbox, make_products, make_channel
):
    [product] = make_products(tee())
    set_stock(sessions, "TEE-S", 5)
    channel_id = make_channel("meta")
    sync.publish(sessions, channel_id)
    received = sandbox.get("/meta/_sandbox/items").json()["items_received"]
    result = sync.push_availability(sessions, channel_id, [v.id for v in product.variants])
    assert result.sent == 0
    assert sandbox.get("/meta/_sandbox/items").json()["items_received"] == received
    set_stock(sessions, "TEE-S", 3)  # a quantity change is an availability change
    assert sync.push_availability(sessions, channel_id, [product.variants[0].id]).sent == 1
