"""Variants kept off one channel: not sent, deleted there by the next publish (and only on
that channel), sent again once taken back; one publish queued per channel changed."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from mercato.channels import feeds, service, sync
from mercato.channels.models import Change
from mercato.channels.target import Target
from mercato.db import transaction, utcnow
from mercato.events import service as events_service
from mercato.jobs.models import Job
from tests.helpers import tee

KINDS = ("meta", "google", "pinterest", "tiktok")


def on_platform(sandbox, kind: str) -> int:
    items = sandbox.get(f"/{kind}/_sandbox/items").json()["items"]
    if kind == "tiktok":
        return sum(len(p.get("skus", [])) for p in items.values())
    return len(items)


def hand_over(sessions) -> None:
    with transaction(sessions) as session:
        events_service.dispatch_pending(session, utcnow())


@pytest.mark.parametrize("kind", KINDS)
def test_kept_off_one_channel_is_deleted_there_by_the_next_publish(
    kind, client, admin, sessions, sandbox, make_products, make_channel
):
    tee_, cap = make_products(tee(), tee(handle="cap", title="Wool Cap", skus=("CAP-1",)))
    channel_id = make_channel(kind)
    other = make_channel("google" if kind != "google" else "meta", name="other")
    for cid in (channel_id, other):
        assert sync.publish(sessions, cid).sent == 3
    hand_over(sessions)
    assert on_platform(sandbox, kind) == 3

    response = client.post(
        f"/api/v1/channels/{channel_id}/inclusion",
        json={"included": False, "variant_ids": [tee_.variants[0].id], "product_ids": [cap.id]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json() | {"channel_id": None} == {
        "channel_id": None,
        "included": False,
        "selected": 2,
        "changed": 2,
    }
    listed = client.get(f"/api/v1/channels/{channel_id}/exclusions", headers=admin).json()
    assert sorted(e["variant_id"] for e in listed["items"]) == sorted(
        [tee_.variants[0].id, cap.variants[0].id]
    )
    hand_over(sessions)
    with sessions() as session:
        queued = session.scalars(select(Change.channel_id).distinct()).all()
        assert queued == [channel_id]  # the other channel is not touched
        publishes = session.scalar(
            select(func.count()).select_from(Job).where(Job.key == f"channels.publish:{channel_id}")
        )
        assert publishes == 1
    result = sync.publish(sessions, channel_id)
    assert on_platform(sandbox, kind) == 1, result
    assert sync.publish(sessions, channel_id).sent == 0  # once
    assert sync.publish(sessions, other).sent == 0

    # Taken back: sent again on the next publish.
    client.post(
        f"/api/v1/channels/{channel_id}/inclusion",
        json={"included": True, "product_ids": [tee_.id, cap.id]},
        headers=admin,
    )
    hand_over(sessions)
    sync.publish(sessions, channel_id)
    assert on_platform(sandbox, kind) == 3


def test_a_variant_kept_off_a_feed_channel_is_not_in_its_feed(
    client, admin, sessions, make_products, make_channel
):
    tee_, cap = make_products(tee(), tee(handle="cap", title="Wool Cap", skus=("CAP-1",)))
    channel_id = make_channel("snapchat")
    client.post(
        f"/api/v1/channels/{channel_id}/inclusion",
        json={"included": False, "product_ids": [cap.id]},
        headers=admin,
    )
    with sessions() as session:
        feed = io.BytesIO()
        feeds.write_feed(session, Target.of(service.get_channel(session, channel_id)), feed, "csv")
    text = feed.getvalue().decode()
    assert "TEE-S" in text and "TEE-M" in text and "CAP-1" not in text


def test_bad_selections_are_refused_whole(client, admin, make_products, make_channel):
    [tee_] = make_products(tee())
    channel_id = make_channel("google")
    bad = client.post(
        f"/api/v1/channels/{channel_id}/inclusion",
        json={"included": False, "variant_ids": [tee_.variants[0].id, "var_nope"]},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["variant_ids"]
    empty = client.post(
        f"/api/v1/channels/{channel_id}/inclusion", json={"included": False}, headers=admin
    )
    assert empty.status_code == 422
    listed = client.get(f"/api/v1/channels/{channel_id}/exclusions", headers=admin).json()
    assert listed["items"] == []
