"""Personalised product sets on ads platforms: for a segment of customers, the products
its members are most likely to buy, kept as a product set of a Meta catalog channel so an
ad shown to that audience shows them (PLATFORMS.md §1.3, product sets).

What goes in: the members' personal lists (only members who agreed to personalisation
have one) summed by rank (1/(rank+1) each), then what sells, until ``size`` products;
only active products the channel lists (its items not refused). The set is the catalog's
items of those products (``retailer_id`` is any of them). Pushed after every training,
and whenever asked; nothing is sent when the items have not changed. The platform is
called with no transaction open.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.catalog.models import Product
from mercato.channels import http as channel_http
from mercato.channels import service as channels
from mercato.channels.http import PlatformError
from mercato.channels.meta.client import Client as MetaClient
from mercato.channels.models import Channel, Listing
from mercato.channels.target import Target
from mercato.customers import consent
from mercato.customers.models import Customer
from mercato.db import Sessions, transaction, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.jobs import service as jobs
from mercato.recommendations.models import ProductSet, Recommendation
from mercato.recommendations.schemas import ProductSetCreate
from mercato.recommendations.serving import current_version, listed
from mercato.segments import service as segments

PUSH_JOB = "recommendations.push_product_sets"
DELETE_JOB = "recommendations.delete_product_set"
# Platforms that document product sets of their catalog made by a filter on item ids.
PLATFORMS = ("meta",)
PERSONALISATION = consent.Need("personalisation")


def create(session: Session, data: ProductSetCreate) -> ProductSet:
    channel = session.get(Channel, data.channel_id)
    if channel is None or channel.kind not in PLATFORMS:
        raise ValidationFailed(
            "A product set needs a Meta catalog channel.",
            [FieldError(("channel_id",), "not a Meta catalog channel of this shop")],
        )
    segment = segments.get(session, data.segment_id)
    product_set = ProductSet(
        channel_id=channel.id,
        segment_id=segment.id,
        name=data.name or f"{segment.name}: picked for them",
        size=data.size,
    )
    try:
        with session.begin_nested():
            session.add(product_set)
    except IntegrityError:
        raise Conflict(f"{channel.name} has a product set for {segment.name} already.") from None
    jobs.enqueue(session, PUSH_JOB, key=PUSH_JOB)
    return product_set


def get(session: Session, product_set_id: str) -> ProductSet:
    found = session.get(ProductSet, product_set_id)
    if found is None:
        raise NotFound(f"No product set {product_set_id!r}.")
    return found


def list_sets(session: Session) -> list[ProductSet]:
    return list(session.scalars(select(ProductSet).order_by(ProductSet.created_at, ProductSet.id)))


def remove(session: Session, product_set_id: str) -> None:
    """Gone here at once; gone from the platform when the worker gets to it."""
    product_set = get(session, product_set_id)
    if product_set.external_id:
        args = {"channel_id": product_set.channel_id, "external_id": product_set.external_id}
        jobs.enqueue(session, DELETE_JOB, args)
    session.delete(product_set)
    session.flush()


def queue_push(session: Session) -> str:
    return jobs.enqueue(session, PUSH_JOB, key=PUSH_JOB).id


# ---------------------------------------------------------------- what goes in


def chosen_products(session: Session, product_set: ProductSet) -> list[str]:
    """The products of the set, most likely first: the members' personal lists (those
    who agreed), then what sells; only products the channel lists and that are active."""
    members = segments.member_ids(session, product_set.segment_id)
    profiles = (
        select(Customer.profile_id)
        .where(
            Customer.id.in_(members),
            consent.granted_clause(Customer.profile_id, PERSONALISATION),
        )
        .distinct()
    )
    weight = func.sum(1.0 / (Recommendation.rank + 1))
    personal = session.execute(
        select(Recommendation.product_id, weight)
        .where(
            Recommendation.version_id == current_version(),
            Recommendation.list == "personal",
            Recommendation.subject.in_(profiles),
        )
        .group_by(Recommendation.product_id)
        .order_by(weight.desc(), Recommendation.product_id)
    ).all()
    ranked = list(dict.fromkeys([p for p, _ in personal] + _popular(session, product_set.size)))
    offered = set(
        session.scalars(
            select(Listing.product_id)
            .join(Product, Product.id == Listing.product_id)
            .where(
                Listing.channel_id == product_set.channel_id,
                Listing.product_id.in_(ranked),
                Listing.verdict != "rejected",
                Product.status == "active",
            )
        )
    )
    return [p for p in ranked if p in offered][: product_set.size]


def _popular(session: Session, size: int) -> list[str]:
    return [s.product_id for s in listed(session, "popular", "", size)]


def item_ids(session: Session, channel_id: str, product_ids: list[str]) -> list[str]:
    """The channel's item ids (Meta's ``retailer_id``) of every variant of the products."""
    return sorted(
        session.scalars(
            select(Listing.item_id).where(
                Listing.channel_id == channel_id,
                Listing.product_id.in_(product_ids),
                Listing.verdict != "rejected",
            )
        )
    )


# ---------------------------------------------------------------- pushing


@dataclass(frozen=True)
class _Push:
    set_id: str
    external_id: str | None
    name: str
    product_ids: list[str]
    item_ids: list[str]
    channel: Target
    base_url: str
    credentials: dict[str, str]


def push_all(sessions, http: httpx.Client | None = None) -> dict[str, str]:
    """Every product set brought up to date; each set's status by id."""
    sessions = Sessions.of(sessions)
    with sessions.read() as session:
        ids = [s.id for s in list_sets(session)]
    return {set_id: push(sessions, set_id, http) for set_id in ids}


def push(sessions, product_set_id: str, http: httpx.Client | None = None) -> str:
    """One set brought up to date on its platform; its status."""
    sessions = Sessions.of(sessions)
    with sessions.read() as session:
        product_set = get(session, product_set_id)
        channel = session.get(Channel, product_set.channel_id)
        products = chosen_products(session, product_set)
        items = item_ids(session, channel.id, products)
        if items == product_set.item_ids and product_set.external_id:
            return product_set.status  # nothing changed: nothing sent
        work = _Push(
            product_set.id,
            product_set.external_id,
            product_set.name,
            products,
            items,
            Target.of(channel),
            channel.base_url,
            channels.credentials(channel),
        )
    if not items:
        return _record(sessions, work, None, "pending", "No product of this set is listed yet.")
    try:
        external_id = _send(work, http)
    except PlatformError as exc:
        return _record(sessions, work, work.external_id, "failed", str(exc))
    return _record(sessions, work, external_id, "synced", None)


def _send(work: _Push, http: httpx.Client | None) -> str:
    client = http or channel_http.open_client(work.base_url)
    try:
        meta = MetaClient(work.channel, work.credentials, client)
        return meta.save_product_set(work.external_id, work.name, work.item_ids)
    finally:
        if http is None:
            client.close()


def _record(sessions: Sessions, work: _Push, external_id, status: str, error) -> str:
    with transaction(sessions.write) as session:
        product_set = session.get(ProductSet, work.set_id)
        if product_set is None:  # removed meanwhile
            return status
        product_set.status, product_set.last_error = status, error
        if status == "synced":
            product_set.external_id = external_id
            product_set.product_ids, product_set.item_ids = work.product_ids, work.item_ids
            product_set.pushed_at = utcnow()
    return status


def delete_remote(sessions, channel_id: str, external_id: str) -> None:
    sessions = Sessions.of(sessions)
    with sessions.read() as session:
        channel = session.get(Channel, channel_id)
        if channel is None:
            return
        target, base_url = Target.of(channel), channel.base_url
        credentials = channels.credentials(channel)
    client = channel_http.open_client(base_url)
    try:
        MetaClient(target, credentials, client).delete_product_set(external_id)
    finally:
        client.close()
