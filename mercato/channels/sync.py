"""Publishing, read-back and reconciliation: what should be on each platform, what was
sent, and what the platform itself says. Plain functions taking a Session; the caller owns
the transaction (a run that hits an expired token still commits the channel's new status).

- The platform item id comes from the listing (the permanent id map), never from a SKU.
- Only items whose content hash changed are sent; availability changes go first.
- Verdicts are read back from the platform and stored with its reasons.
- Reconciliation compares what the platform holds with what it should hold, marks
  missing and stale items for sending again, deletes extra ones and publishes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import orjson
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Product, Variant
from mercato.channels import http as channel_http
from mercato.channels import platforms, service
from mercato.channels.adapter import Outcome, Upsert, adapter_for
from mercato.channels.capabilities import capabilities
from mercato.channels.check import Prepared, prepare
from mercato.channels.items import Target
from mercato.channels.models import Channel, Listing
from mercato.channels.schemas import PublishResult
from mercato.db import utcnow
from mercato.errors import Conflict

CHUNK = 500
LIVE = ("pending", "approved", "warning")


def content_hash(payload: dict) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def availability_key(item: dict) -> str:
    return f"{'in' if item['in_stock'] else 'out'}:{item['quantity']}"


@contextmanager
def _client(channel: Channel, http: httpx.Client | None) -> Iterator[httpx.Client]:
    if http is not None:
        yield http
        return
    client = channel_http.open_client(channel.base_url)
    try:
        yield client
    finally:
        client.close()


def _adapter(channel: Channel, http: httpx.Client):
    return adapter_for(channel.kind, Target.of(channel), service.credentials(channel), http)


@dataclass
class _Queue:
    first: list[tuple[Listing, Upsert]] = field(default_factory=list)  # availability changed
    rest: list[tuple[Listing, Upsert]] = field(default_factory=list)
    deletes: list[Listing] = field(default_factory=list)

    def ordered(self) -> list[tuple[Listing, Upsert]]:
        return self.first + self.rest


# ---------------------------------------------------------------- publish


def publish(session: Session, channel_id: str, dry_run: bool = False,
            http: httpx.Client | None = None) -> PublishResult:
    """Send every changed item (and deletions) to the channel's platform."""
    channel = service.get_channel(session, channel_id)
    result = PublishResult(channel_id=channel.id, dry_run=dry_run, checked=0,
                           status=channel.status)
    if not capabilities(channel.kind, channel.country).catalog_api:
        raise Conflict(f"{channel.kind} takes its catalog from a feed, not by API: use "
                       f"`mercato feeds build` or the feed pull URL.")
    if channel.status != "active" and not dry_run:
        result.messages.append(f"Channel is {channel.status}; nothing was sent.")
        return result
    target = Target.of(channel)
    queue = _plan(session, channel, target, result)
    result.would_send = len(queue.first) + len(queue.rest) + len(queue.deletes)
    if dry_run:
        return result
    with _client(channel, http) as client:
        adapter = _adapter(channel, client)
        try:
            _send(session, adapter, queue, result, capabilities(channel.kind).batch_size)
        except channel_http.AuthExpired as exc:
            _needs_reauth(session, channel, exc, result)
        except channel_http.PlatformError as exc:
            result.messages.append(f"Stopped: {exc}. What was sent is recorded; the rest "
                                   f"goes on the next run.")
    channel.last_synced_at = utcnow()
    result.status = channel.status
    return result


def _plan(session: Session, channel: Channel, target: Target, result: PublishResult) -> _Queue:
    mapping = platforms.mapping(channel.kind)
    queue = _Queue()
    chunk: list[Prepared] = []

    def flush():
        listings = {lst.variant_id: lst for lst in session.scalars(select(Listing).where(
            Listing.channel_id == channel.id,
            Listing.variant_id.in_([p.item["variant_id"] for p in chunk])))}
        for prepared in chunk:
            _plan_item(session, channel, target, mapping, prepared,
                       listings.get(prepared.item["variant_id"]), queue, result)
        chunk.clear()

    for prepared in prepare(session, target):
        result.checked += 1
        chunk.append(prepared)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    if capabilities(channel.kind).item_level == "product":
        _add_siblings(session, channel, target, mapping, queue, result)
    # Listed variants that are gone from the catalog or no longer active: delete them.
    active = exists().where(Variant.id == Listing.variant_id, Product.id == Variant.product_id,
                            Product.status == "active")
    queue.deletes = list(session.scalars(select(Listing).where(
        Listing.channel_id == channel.id, Listing.verdict != "deleted",
        Listing.pushed_hash.is_not(None) | Listing.batch_ref.is_not(None), ~active)))
    return queue


def _add_siblings(session, channel, target, mapping, queue: _Queue, result) -> None:
    """Platforms that replace a whole product on edit get every variant of a changed
    product, not only the changed ones."""
    queued = {listing.variant_id for listing, _ in queue.ordered()}
    products = {listing.product_id for listing, _ in queue.ordered()}
    if not products:
        return
    siblings = [v for v in session.scalars(select(Variant.id).where(
        Variant.product_id.in_(products))) if v not in queued]
    listings = {x.variant_id: x for x in session.scalars(select(Listing).where(
        Listing.channel_id == channel.id, Listing.variant_id.in_(siblings)))}
    for prepared in prepare(session, target, variant_ids=siblings):
        listing = listings.get(prepared.item["variant_id"])
        if listing is not None:
            listing.pushed_hash = None  # resend with its product
        _plan_item(session, channel, target, mapping, prepared, listing, queue, result)


def _plan_item(session, channel, target, mapping, prepared: Prepared, listing, queue, result):
    item = prepared.item
    if listing is None:
        # First time on this channel: the item id is fixed here, for good.
        listing = Listing(channel_id=channel.id, variant_id=item["variant_id"],
                          product_id=item["product_id"], item_id=item["id"], verdict="pending",
                          issues=[])
        session.add(listing)
    local = prepared.issues
    if not prepared.valid:
        result.skipped_invalid += 1
        listing.verdict = "rejected"
        listing.issues = local
        listing.updated_at = utcnow()
        return
    payload = mapping.to_api(prepared.row, target)
    digest = content_hash(payload)
    listing.content_hash = digest
    if digest == listing.pushed_hash:
        return
    listing.issues = local
    entry = (listing, Upsert(listing.item_id, payload, item["product_id"], listing.platform_ref))
    if listing.pushed_hash is not None and listing.pushed_availability != availability_key(item):
        queue.first.append(entry)
    else:
        queue.rest.append(entry)
    listing.pushed_availability = availability_key(item)


def _send(session: Session, adapter, queue: _Queue, result: PublishResult,
          batch_size: int) -> None:
    size = max(batch_size, 1)
    for chunk in _chunks(queue.ordered(), size, capabilities(adapter.kind).item_level):
        outcomes = adapter.push([upsert for _, upsert in chunk], [])
        by_id = {o.item_id: o for o in outcomes}
        now = utcnow()
        for listing, upsert in chunk:
            outcome = by_id.get(listing.item_id) or Outcome(listing.item_id, "pending")
            listing.pushed_hash = listing.content_hash
            listing.pushed_summary = _summary(adapter, upsert.payload)
            listing.pushed_at = now
            listing.batch_ref = outcome.ref
            if outcome.platform_ref:
                listing.platform_ref = outcome.platform_ref
            _apply(listing, outcome)
            result.sent += 1
            result.rejected += outcome.verdict == "rejected"
        session.flush()
    for start in range(0, len(queue.deletes), size):
        chunk = queue.deletes[start:start + size]
        adapter.push([], [_delete_ref(adapter, listing) for listing in chunk])
        for listing in chunk:
            _mark_deleted(listing)
            result.deleted += 1
        session.flush()


def _chunks(ordered: list[tuple[Listing, Upsert]], size: int, item_level: str):
    """Batches of at most ``size`` items; a product's variants are never split where the
    platform takes whole products."""
    if item_level != "product":
        for start in range(0, len(ordered), size):
            yield ordered[start:start + size]
        return
    groups: dict[str | None, list[tuple[Listing, Upsert]]] = {}
    for entry in ordered:
        groups.setdefault(entry[1].group, []).append(entry)
    chunk: list[tuple[Listing, Upsert]] = []
    for members in groups.values():
        if chunk and len(chunk) + len(members) > size:
            yield chunk
            chunk = []
        chunk += members
    if chunk:
        yield chunk


def _delete_ref(adapter, listing: Listing) -> str:
    # Product-level platforms delete by their own product id.
    product_level = capabilities(adapter.kind).item_level == "product"
    return listing.platform_ref or listing.item_id if product_level else listing.item_id


def _summary(adapter, payload: dict) -> dict:
    return platforms.mapping(adapter.kind).summary(payload)


def _apply(listing: Listing, outcome: Outcome) -> None:
    """Store a verdict: the platform's issues replace earlier platform issues; local
    warnings stay."""
    local = [i for i in listing.issues or [] if i["source"] == "local"]
    listing.verdict = outcome.verdict
    listing.issues = local + outcome.issues
    if outcome.verdict != "pending":
        listing.confirmed_at = utcnow()
        listing.batch_ref = None
    listing.updated_at = utcnow()


def _mark_deleted(listing: Listing) -> None:
    listing.verdict = "deleted"
    listing.pushed_hash = None
    listing.pushed_summary = None
    listing.batch_ref = None
    listing.issues = []
    listing.updated_at = utcnow()


def _needs_reauth(session: Session, channel: Channel, exc: Exception, result) -> None:
    service.set_status(session, channel, "needs_reauth", f"the platform refused the token: {exc}")
    result.messages.append(f"The platform refused the token ({exc}); the channel needs "
                           f"re-authorisation.")


# ---------------------------------------------------------------- read-back


@dataclass
class ReadBackResult:
    polled: int = 0
    confirmed: int = 0
    still_pending: int = 0
    messages: list[str] = field(default_factory=list)


def read_back(session: Session, channel_id: str, http: httpx.Client | None = None
              ) -> ReadBackResult:
    """Ask the platform for the verdict of every item still pending and store it."""
    channel = service.get_channel(session, channel_id)
    result = ReadBackResult()
    pending = list(session.scalars(select(Listing).where(
        Listing.channel_id == channel.id, Listing.verdict == "pending",
        Listing.batch_ref.is_not(None))))
    by_ref: dict[str, list[Listing]] = {}
    for listing in pending:
        by_ref.setdefault(listing.batch_ref, []).append(listing)
    if not by_ref:
        return result
    with _client(channel, http) as client:
        adapter = _adapter(channel, client)
        try:
            for ref, listings in by_ref.items():
                result.polled += 1
                outcomes = {o.item_id: o for o in adapter.poll(ref, [x.item_id for x in listings])}
                for listing in listings:
                    outcome = outcomes.get(listing.item_id)
                    if outcome is None or outcome.verdict == "pending":
                        result.still_pending += 1
                        continue
                    _apply(listing, outcome)
                    result.confirmed += 1
        except channel_http.AuthExpired as exc:
            _needs_reauth(session, channel, exc, result)
        except channel_http.PlatformError as exc:
            result.messages.append(f"Stopped: {exc}")
    return result


# ---------------------------------------------------------------- reconciliation


@dataclass
class ReconcileResult:
    missing: int = 0
    stale: int = 0
    extra: int = 0
    publish: PublishResult | None = None
    messages: list[str] = field(default_factory=list)


def reconcile(session: Session, channel_id: str, http: httpx.Client | None = None
              ) -> ReconcileResult:
    """Compare the platform with what it should hold and repair the drift in one cycle."""
    channel = service.get_channel(session, channel_id)
    result = ReconcileResult()
    if channel.status != "active":
        result.messages.append(f"Channel is {channel.status}; not reconciled.")
        return result
    live = {x.item_id: x for x in session.scalars(select(Listing).where(
        Listing.channel_id == channel.id, Listing.verdict.in_(LIVE),
        Listing.pushed_hash.is_not(None)))}
    with _client(channel, http) as client:
        adapter = _adapter(channel, client)
        try:
            remote = adapter.remote_items(list(live))
            if remote is None:
                result.messages.append("The platform cannot list its items.")
                return result
            for item_id, listing in live.items():
                held = remote.get(item_id)
                if held is None:
                    result.missing += 1
                elif held != listing.pushed_summary:
                    result.stale += 1
                else:
                    continue
                listing.pushed_hash = None  # send again on the publish below
            known = set(session.scalars(select(Listing.item_id).where(
                Listing.channel_id == channel.id, Listing.verdict != "deleted")))
            extra = [item_id for item_id in remote if item_id not in known]
            if extra:
                adapter.push([], extra)
                result.extra = len(extra)
            session.flush()
            result.publish = publish(session, channel.id, http=client)
        except channel_http.AuthExpired as exc:
            _needs_reauth(session, channel, exc, result)
        except channel_http.PlatformError as exc:
            result.messages.append(f"Stopped: {exc}")
    return result
