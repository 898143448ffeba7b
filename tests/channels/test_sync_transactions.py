"""Sync never holds a database transaction while a platform answers, and a crash between
sending and recording never leaves a duplicate on the platform."""

import pytest
from sqlalchemy import event, select

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import http as channel_http
from mercato.channels import sync
from mercato.channels.models import Listing
from mercato.config import Settings
from mercato.db import create_db_engine, make_sessionmaker, transaction
from tests.helpers import tee

KINDS = ("meta", "google", "tiktok", "pinterest")


@pytest.fixture
def open_transactions(engine):
    """How many transactions are open on the engine right now."""
    count = {"open": 0}

    def began(_connection):
        count["open"] += 1

    def ended(_connection):
        count["open"] -= 1

    event.listen(engine, "begin", began)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    yield lambda: count["open"]
    event.remove(engine, "begin", began)
    event.remove(engine, "commit", ended)
    event.remove(engine, "rollback", ended)


@pytest.fixture
def platform_calls(monkeypatch):
    """Runs ``during(method, url)`` inside every platform call, before it is sent."""
    hooks = []
    real_send = channel_http.send

    def send(http, method, url, **kwargs):
        for hook in hooks:
            hook(method, url)
        return real_send(http, method, url, **kwargs)

    for module in ("meta.client", "google.client", "tiktok.api", "pinterest.client"):
        monkeypatch.setattr(f"mercato.channels.{module}.send", send)
    return hooks


@pytest.mark.parametrize("kind", KINDS)
def test_no_transaction_is_open_while_the_platform_is_called(
    kind, sessions, sandbox, make_products, make_channel, open_transactions, platform_calls
):
    first, second = make_products(tee(), tee(handle="cap", skus=("CAP-1",)))
    channel_id = make_channel(kind)
    seen = []
    platform_calls.append(lambda method, url: seen.append((method, open_transactions())))
    assert sync.publish(sessions, channel_id).sent == 3
    sync.read_back(sessions, channel_id)
    with transaction(sessions) as session:
        catalog.update_product(session, second.id, ProductUpdate(status="archived"))
    assert sync.publish(sessions, channel_id).deleted == 1
    sync.reconcile(sessions, channel_id)
    assert {method for method, _ in seen} >= {"POST", "GET"}
    assert [open_count for _, open_count in seen] == [0] * len(seen)


def test_another_writer_commits_while_a_push_is_in_flight(
    database_url, sessions, sandbox, make_products, make_channel, platform_calls
):
    [product] = make_products(tee())
    channel_id = make_channel("meta")
    # A second process's writer that gives up quickly instead of queueing for the lock.
    other = create_db_engine(Settings(database_url=database_url, sqlite_busy_timeout_ms=200))
    committed = []

    def write_meanwhile(method, url):
        if method == "POST" and not committed:
            with transaction(make_sessionmaker(other)) as session:
                catalog.update_product(
                    session, product.id, ProductUpdate(title="Edited while the push was in flight")
                )
            committed.append(url)

    platform_calls.append(write_meanwhile)
    try:
        assert sync.publish(sessions, channel_id).sent == 2
    finally:
        other.dispose()
    assert committed
    # The edit made during the push is sent by the next run.
    assert sync.publish(sessions, channel_id).sent == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_crash_after_sending_resends_under_the_same_ids(
    kind, sessions, sandbox, make_products, make_channel, monkeypatch
):
    make_products(tee())
    channel_id = make_channel(kind)

    def crash(*args, **kwargs):
        raise RuntimeError("worker died after the platform answered")

    with monkeypatch.context() as patched:
        patched.setattr(sync, "_outcome_row", crash)
        with pytest.raises(RuntimeError):
            sync.publish(sessions, channel_id)
    held_before = sandbox.get(f"/{kind}/_sandbox/items").json()["items"]
    assert held_before
    # The id map was written before the push: the item ids stay.
    with sessions() as session:
        ids = set(session.scalars(select(Listing.item_id).where(Listing.channel_id == channel_id)))
    assert len(ids) == 2
    assert sync.publish(sessions, channel_id).sent == 2
    held_after = sandbox.get(f"/{kind}/_sandbox/items").json()["items"]
    assert len(held_after) == len(held_before)
    assert sync.publish(sessions, channel_id).sent == 0
