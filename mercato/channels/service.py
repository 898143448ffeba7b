"""Channel connections and their listings: the rules. Plain functions taking a Session;
the caller owns the transaction."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mercato import events
from mercato.catalog.models import Media, Product, Variant
from mercato.catalog.service import store_currency
from mercato.channels import crypto
from mercato.channels.capabilities import as_dict, capabilities, feed_format
from mercato.channels.checkout_urls import checkout_url
from mercato.channels.models import Channel, Listing
from mercato.channels.rules import cause
from mercato.channels.schemas import ChannelCreate, ChannelPublic, ChannelUpdate
from mercato.config import get_settings
from mercato.crypto import hash_token
from mercato.db import random_token, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.money import CURRENCIES
from mercato.outbound import require_safe_url
from mercato.pagination import Page, keyset_page

# The real platforms' API roots; a connection may point at a simulator instead.
DEFAULT_BASE_URLS = {
    "meta": "https://graph.facebook.com",
    "google": "https://merchantapi.googleapis.com",
    "tiktok": "https://open-api.tiktokglobalshop.com",
    "pinterest": "https://api.pinterest.com",
    "snapchat": "https://adsapi.snapchat.com",
}
MAX_PAGE_SIZE = 500


# ---------------------------------------------------------------- connections


def create_channel(session: Session, data: ChannelCreate) -> Channel:
    currency = (data.currency or store_currency()).upper()
    _check_currency(currency, ("currency",))
    if session.scalar(select(Channel.id).where(Channel.name == data.name)):
        raise Conflict(
            f"A channel named {data.name!r} exists already.",
            [FieldError(("name",), "already taken", "unique")],
        )
    channel = Channel(
        kind=data.kind,
        name=data.name,
        country=data.country.upper(),
        language=data.language,
        currency=currency,
        # The platform's own address is trusted; any other is checked.
        base_url=require_safe_url(str(data.base_url).rstrip("/"), ("base_url",))
        if data.base_url
        else DEFAULT_BASE_URLS[data.kind].rstrip("/"),
        status="active",
        credentials_encrypted=crypto.encrypt(data.credentials),
        settings=dict(data.settings),
    )
    session.add(channel)
    session.flush()
    events.record(
        session,
        "channel.created",
        {"id": channel.id, "kind": channel.kind, "name": channel.name},
        key=channel.id,
    )
    return channel


def update_channel(session: Session, channel_id: str, data: ChannelUpdate) -> Channel:
    channel = get_channel(session, channel_id)
    changes = data.model_dump(exclude_unset=True)
    if (
        "name" in changes
        and changes["name"] != channel.name
        and session.scalar(select(Channel.id).where(Channel.name == changes["name"]))
    ):
        raise Conflict(
            f"A channel named {changes['name']!r} exists already.",
            [FieldError(("name",), "already taken", "unique")],
        )
    if changes.get("currency"):
        changes["currency"] = changes["currency"].upper()
        _check_currency(changes["currency"], ("currency",))
    if changes.get("country"):
        changes["country"] = changes["country"].upper()
    if "credentials" in changes:
        channel.credentials_encrypted = crypto.encrypt(changes.pop("credentials") or {})
        # New credentials are the way out of needs_reauth.
        if channel.status == "needs_reauth" and "status" not in changes:
            changes["status"] = "active"
    if changes.get("base_url"):
        changes["base_url"] = require_safe_url(str(changes["base_url"]).rstrip("/"), ("base_url",))
    old_status = channel.status
    for name, value in changes.items():
        if value is not None:
            setattr(channel, name, value)
    channel.updated_at = utcnow()
    if channel.status != old_status:
        _record_status(session, channel, old_status, "updated by the merchant")
    return channel


def remove_channel(session: Session, channel_id: str) -> Channel:
    """Stop syncing a channel for good. Its orders and listings stay as history; its name is
    freed (the removed row is renamed) so the merchant may connect it again."""
    channel = get_channel(session, channel_id)
    if channel.removed_at is not None:
        raise Conflict(f"Channel {channel.name!r} is removed already.")
    now = utcnow()
    old_name = channel.name
    channel.removed_at = now
    channel.name = f"{old_name[:80]}.removed-{now:%Y%m%d%H%M%S}"
    channel.updated_at = now
    events.record(
        session,
        "channel.removed",
        {"id": channel.id, "kind": channel.kind, "name": old_name},
        key=channel.id,
    )
    return channel


def get_channel(session: Session, channel_id: str) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound(f"No channel with id {channel_id!r}.")
    return channel


def find_channel(session: Session, reference: str) -> Channel:
    """A channel by name or id (what the CLI takes)."""
    channel = session.scalar(
        select(Channel).where(or_(Channel.name == reference, Channel.id == reference))
    )
    if channel is None:
        raise NotFound(f"No channel named {reference!r}.")
    return channel


def list_channels(session: Session, removed: bool = False) -> list[Channel]:
    """Connected channels (and, with ``removed``, the removed ones too)."""
    query = select(Channel).order_by(Channel.name)
    if not removed:
        query = query.where(Channel.removed_at.is_(None))
    return list(session.scalars(query))


def credentials(channel: Channel) -> dict[str, str]:
    return crypto.decrypt(channel.credentials_encrypted)


def to_public(channel: Channel) -> ChannelPublic:
    return ChannelPublic(
        id=channel.id,
        kind=channel.kind,
        name=channel.name,
        country=channel.country,
        language=channel.language,
        currency=channel.currency,
        base_url=channel.base_url,
        status=channel.status,
        settings=channel.settings or {},
        credential_keys=sorted(credentials(channel)),
        capabilities=as_dict(capabilities(channel.kind)),
        last_synced_at=channel.last_synced_at,
        failing=bool(channel.failures),
        failures=channel.failures or 0,
        last_error=channel.last_error,
        last_error_at=channel.last_error_at,
        removed_at=channel.removed_at,
        checkout_url=checkout_url(channel.kind, channel.id),
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def set_status(session: Session, channel: Channel, status: str, reason: str) -> None:
    """Change a channel's status and tell the rest of Mercato (in the same transaction)."""
    if channel.status == status:
        return
    old = channel.status
    channel.status = status
    channel.updated_at = utcnow()
    _record_status(session, channel, old, reason)


def replace_credentials(session: Session, channel_id: str, new: dict[str, str]) -> None:
    """Credentials a refresh returned, stored encrypted (the status is left as it is)."""
    channel = get_channel(session, channel_id)
    channel.credentials_encrypted = crypto.encrypt(new)
    channel.updated_at = utcnow()


def record_failure(session: Session, channel_id: str, message: str) -> None:
    """A sync run failed: count it and keep the platform's message, for the merchant."""
    channel = get_channel(session, channel_id)
    channel.failures = (channel.failures or 0) + 1
    channel.last_error = message[:2000]
    channel.last_error_at = utcnow()
    if channel.failures == 1:
        events.record(
            session,
            "channel.failing",
            {"id": channel.id, "kind": channel.kind, "error": channel.last_error},
            key=channel.id,
        )


def record_success(session: Session, channel_id: str) -> None:
    channel = get_channel(session, channel_id)
    if channel.failures:
        channel.failures = 0


def _record_status(session: Session, channel: Channel, old: str, reason: str) -> None:
    events.record(
        session,
        "channel.status_changed",
        {
            "id": channel.id,
            "kind": channel.kind,
            "from": old,
            "to": channel.status,
            "reason": reason,
        },
        key=channel.id,
    )


def _check_currency(currency: str, loc: tuple) -> None:
    if currency not in CURRENCIES:
        raise ValidationFailed("Invalid channel.", [FieldError(loc, "not an ISO 4217 code")])


# ---------------------------------------------------------------- feed pull URL


def rotate_feed_token(session: Session, channel_id: str) -> tuple[str, str]:
    """A new secret feed token (shown once; only its hash is kept) and the pull URL path."""
    channel = get_channel(session, channel_id)
    token = random_token(24)
    channel.feed_token_hash = hash_token(token)
    channel.updated_at = utcnow()
    return token, feed_url(channel, token)


def feed_url(channel: Channel, token: str) -> str:
    base = get_settings().base_url.rstrip("/")
    return f"{base}/feeds/{channel.id}/{token}.{feed_format(channel.kind)}"


def channel_for_feed_token(session: Session, channel_id: str, token: str) -> Channel:
    """The channel whose feed this token opens; NotFound otherwise (never say which part
    was wrong)."""
    channel = session.get(Channel, channel_id)
    expected = channel.feed_token_hash if channel else None
    # Compare hashes in constant time; a missing channel still pays for one compare.
    given = hash_token(token)
    if not hmac.compare_digest(given, expected or "0" * 64) or channel is None:
        raise NotFound("No such feed.")
    return channel


# ---------------------------------------------------------------- listings


@dataclass
class ListingFilters:
    verdict: str | None = None


def list_listings(
    session: Session,
    channel_id: str,
    filters: ListingFilters,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[Listing]:
    get_channel(session, channel_id)
    query = select(Listing).where(Listing.channel_id == channel_id)
    if filters.verdict:
        query = query.where(Listing.verdict == filters.verdict)
    return keyset_page(session, query, Listing.id, cursor, limit, most=MAX_PAGE_SIZE)


def verdict_counts(session: Session, channel_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Listing.verdict, func.count())
        .where(Listing.channel_id == channel_id)
        .group_by(Listing.verdict)
    )
    return {verdict: count for verdict, count in rows}


@dataclass
class Affected:
    """An item a cause concerns, as the merchant knows it: the product's title."""

    product_id: str
    variant_id: str
    title: str
    sku: str | None
    image_url: str | None
    verdict: str
    said: str  # the platform's (or Mercato's check's) own words for this item


@dataclass
class IssueGroup:
    """One cause of rejections or warnings on a channel: a field and the rule it breaks."""

    field: str
    rule: str
    severity: str
    source: str
    items: int = 0
    # The first items it concerns (all of them: ``issue_page``).
    affected: list[Affected] = dataclass_field(default_factory=list)


FLAGGED = ("rejected", "warning")


def _flagged(session: Session, channel_id: str, after: str = ""):
    """The channel's rejected and warned listings, in id order, read in batches."""
    query = (
        select(Listing.id, Listing.product_id, Listing.variant_id, Listing.verdict, Listing.issues)
        .where(
            Listing.channel_id == channel_id,
            Listing.verdict.in_(FLAGGED),
            Listing.id > after,
        )
        .order_by(Listing.id)
    )
    return session.execute(query.execution_options(yield_per=1000))


def _causes(issues: list[dict]) -> dict[tuple[str, str, str, str], str]:
    """Each cause of an item's issues (field, rule, severity, source) -> its words."""
    found: dict[tuple[str, str, str, str], str] = {}
    for one in issues or []:
        key = (one.get("field", ""), cause(one), one.get("severity", ""), one.get("source", ""))
        found.setdefault(key, one.get("message", ""))
    return found


def issue_groups(session: Session, channel_id: str, shown: int = 5) -> list[IssueGroup]:
    """Every cause of the channel's rejections and warnings with how many items it
    concerns and the first ``shown`` of them; errors first, then the most frequent."""
    groups: dict[tuple[str, str, str, str], IssueGroup] = {}
    wanted: list[tuple[IssueGroup, tuple, str]] = []
    for row in _flagged(session, channel_id):
        for key, said in _causes(row.issues).items():
            group = groups.get(key) or groups.setdefault(key, IssueGroup(*key))
            group.items += 1
            if group.items <= shown:
                wanted.append((group, row, said))
    _name(session, wanted)
    return sorted(groups.values(), key=lambda g: (g.severity != "error", -g.items, g.field))


def issue_page(
    session: Session,
    channel_id: str,
    field: str,
    rule: str,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Affected], str | None]:
    """The items of one cause (any severity or source), ``limit`` at a time; the cursor
    of the next page (None on the last)."""
    wanted, more = [], False
    for row in _flagged(session, channel_id, cursor or ""):
        causes = _causes(row.issues).items()
        said = next((w for (f, r, *_), w in causes if (f, r) == (field, rule)), None)
        if said is None:
            continue
        if len(wanted) == limit:
            more = True
            break
        wanted.append((None, row, said))
    return _name(session, wanted), wanted[-1][1].id if more else None


def _name(session: Session, wanted: list) -> list[Affected]:
    """(group or None, listing row, words) as Affected items, with the product's title,
    the variant's SKU and the product's first image, in three queries."""
    product_ids = {row.product_id for _, row, _ in wanted}
    titles = dict(
        session.execute(select(Product.id, Product.title).where(Product.id.in_(product_ids))).all()
    )
    skus = dict(
        session.execute(
            select(Variant.id, Variant.sku).where(
                Variant.id.in_({row.variant_id for _, row, _ in wanted})
            )
        ).all()
    )
    images: dict[str, str] = {}
    for product_id, url in session.execute(
        select(Media.product_id, Media.url)
        .where(Media.product_id.in_(product_ids))
        .order_by(Media.product_id, Media.position)
    ):
        images.setdefault(product_id, url)
    out = []
    for group, row, said in wanted:
        affected = Affected(
            row.product_id,
            row.variant_id,
            titles.get(row.product_id, "(deleted product)"),
            skus.get(row.variant_id),
            images.get(row.product_id),
            row.verdict,
            said,
        )
        if group is not None:
            group.affected.append(affected)
        out.append(affected)
    return out


def listings_of_product(session: Session, product_id: str) -> list[Listing]:
    """A product's items on every channel."""
    return list(
        session.scalars(
            select(Listing)
            .where(Listing.product_id == product_id)
            .order_by(Listing.channel_id, Listing.variant_id)
        )
    )


def parse_pairs(pairs: list[str], what: str) -> dict[str, Any]:
    """KEY=VALUE options from the CLI."""
    out: dict[str, Any] = {}
    errors = []
    for i, pair in enumerate(pairs):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            errors.append(FieldError((what, i), f"{pair!r} is not KEY=VALUE"))
        out[key.strip()] = value
    if errors:
        raise ValidationFailed(f"Invalid --{what}.", errors)
    return out


def named_listings(session: Session, listings: list[Listing]) -> dict[str, Affected]:
    """Listing id -> the item by its product's title, SKU and image."""
    named = _name(session, [(None, listing, "") for listing in listings])
    return {listing.id: item for listing, item in zip(listings, named, strict=True)}
