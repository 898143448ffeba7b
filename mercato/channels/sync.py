"""Publishing, read-back and reconciliation: what should be on each platform, what was
sent, and what the platform itself says.

No database transaction is open while a platform is called (on SQLite a write transaction
is the whole database's write lock). Each run works in phases:

1. plan, in a read session: what to send, from the catalog and the listings;
2. write the permanent id map (new listings) and local verdicts, in a short transaction;
3. call the platform, with no transaction open;
4. write what the platform answered (hashes, verdicts, its ids), in a short transaction.

A crash between 3 and 4 leaves the last pushed hash unchanged, so the next run sends the
same items again, under the same item ids (upserts on the platform: never a duplicate).

- The platform item id comes from the listing (the permanent id map), never from a SKU.
- Only items whose content hash changed are sent; availability changes go first.
- A publish plans only what the change log holds (``changes``: variants changed since the
  channel's last publish), so its cost grows with what changed, not with the catalog. The
  first publish of a channel, and the first after its set-up changed, compare the whole
  catalog; so does reconciliation, on its own schedule.
- Verdicts are read back from the platform and stored with its reasons.
- Reconciliation compares what the platform holds with what it should hold, marks
  missing and stale items for sending again, deletes extra ones and publishes.

Why one module of ~900 lines: publish, read-back and reconciliation share the phases
above, the plan and the listing writes; split, each would hold half of one run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from mercato.catalog.models import Product, Variant
from mercato.channels import changes, platforms, service, tokens
from mercato.channels import http as channel_http
from mercato.channels.adapter import Outcome, Upsert, adapter_for
from mercato.channels.capabilities import capabilities
from mercato.channels.check import Prepared, prepare
from mercato.channels.media import ImageUploads
from mercato.channels.models import Channel, Exclusion, Listing
from mercato.channels.schemas import PublishResult
from mercato.channels.target import Target
from mercato.db import Sessions, new_id, transaction, utcnow
from mercato.errors import Conflict
from mercato.events import service as events
from mercato.inserts import insert_or_ignore

CHUNK = 500
LIVE = ("pending", "approved", "warning")


def content_hash(payload: dict) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def target_key(channel: Channel) -> str:
    """What a channel's items are shaped for: equal keys, equal payloads for equal variants."""
    target = Target.of(channel)
    return content_hash(
        {
            "kind": target.kind,
            "country": target.country,
            "language": target.language,
            "currency": target.currency,
            "settings": target.settings,
            # A changed rule changes items: the next publish compares the whole catalog.
            "feed_rules": target.feed_rules,
            "shop": target.base_url,
            "platform": channel.base_url,
            "catalog_by_api": takes_catalog_by_api(channel),
        }
    )


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


def _adapter(sessions: Sessions, channel: Channel, http: httpx.Client) -> tokens.Refreshing:
    """The channel's adapter; expired tokens are refreshed (and stored) where the platform
    allows it."""
    target = Target.of(channel)
    return tokens.for_channel(
        sessions,
        channel.id,
        channel.kind,
        lambda credentials: adapter_for(
            channel.kind, target, credentials, http, ImageUploads(sessions.write, channel.id)
        ),
        service.credentials(channel),
        http,
    )


def _on_platform(
    sessions: Sessions,
    channel: Channel,
    http: httpx.Client | None,
    result,
    work: Callable[[tokens.Refreshing, httpx.Client], None],
    stopped: str = "",
) -> None:
    """``work`` with the channel's adapter; what goes wrong is recorded on the channel for the
    merchant to see. Refused credentials set ``needs_reauth``; a set-up problem (settings,
    registration, permission) is raised as one clear line; any other failure stops the run
    (the next one carries on)."""
    with _client(channel, http) as client:
        try:
            try:
                adapter = _adapter(sessions, channel, client)
            except channel_http.PlatformError as exc:
                if isinstance(exc, channel_http.AuthExpired):
                    raise
                # An adapter that cannot even be built lacks settings: a set-up problem.
                raise channel_http.SetupError(str(exc)) from None
            work(adapter, client)
        except channel_http.AuthExpired as exc:
            _failed(sessions, channel.id, f"the platform refused the credentials: {exc}")
            _needs_reauth(sessions, channel.id, exc, result)
        except channel_http.SetupError as exc:
            _failed(sessions, channel.id, str(exc))
            raise Conflict(f"Channel {channel.name}: {exc}") from None
        except channel_http.PlatformError as exc:
            _failed(sessions, channel.id, str(exc))
            result.messages.append(f"Stopped: {exc}.{stopped}")
        else:
            if channel.failures:  # a good run after failing ones clears them
                with _write(sessions) as session:
                    service.record_success(session, channel.id)


def _failed(sessions: Sessions, channel_id: str, message: str) -> None:
    with _write(sessions) as session:
        service.record_failure(session, channel_id, message)


def _read_channel(sessions: Sessions, channel_id: str) -> Channel:
    """The channel as a detached snapshot (read only: changes go through _write)."""
    with sessions.read() as session:
        return service.get_channel(session, channel_id)


@contextmanager
def _write(sessions: Sessions) -> Iterator[Session]:
    with transaction(sessions.write) as session:
        yield session


def _needs_reauth(sessions: Sessions, channel_id: str, exc: Exception, result) -> None:
    with _write(sessions) as session:
        service.set_status(
            session,
            service.get_channel(session, channel_id),
            "needs_reauth",
            f"the platform refused the token: {exc}",
        )
    result.messages.append(
        f"The platform refused the token ({exc}); the channel needs re-authorisation."
    )


# ---------------------------------------------------------------- planning


@dataclass
class _Entry:
    """One item to send, as planned from a read snapshot."""

    item_id: str
    variant_id: str
    product_id: str
    upsert: Upsert
    digest: str
    summary: dict
    availability: str
    local_issues: list[dict]


@dataclass
class _Plan:
    first: list[_Entry] = field(default_factory=list)  # availability changed: sent first
    rest: list[_Entry] = field(default_factory=list)
    # (item id, what to delete on the platform) of items no longer for sale.
    deletes: list[tuple[str, str]] = field(default_factory=list)
    # Listings gone with a product that stays on the platform (its other variants are
    # sent again without them): only marked deleted here.
    dropped: list[str] = field(default_factory=list)
    # Listing rows to create (the permanent id map) and to update before anything is sent.
    new_listings: list[dict] = field(default_factory=list)
    listing_updates: list[dict] = field(default_factory=list)
    # Products to send again whole (product-level platforms).
    resend_products: set[str] = field(default_factory=set)

    def ordered(self) -> list[_Entry]:
        return self.first + self.rest


def _plan(
    session: Session,
    channel: Channel,
    target: Target,
    result: PublishResult,
    variant_ids: list[str] | None = None,
    availability_only: bool = False,
    resend: bool = False,
    pending: changes.Pending | None = None,
) -> _Plan:
    """What to send: the variants of ``variant_ids``, or those of the change log
    ``pending``, or (both None) the whole catalog with every listing compared."""
    mapping = platforms.mapping(channel.kind)
    product_level = capabilities(channel.kind).item_level == "product"
    plan = _Plan()
    chunk: list[Prepared] = []

    def flush(force: bool = False):
        listings = _listings(session, channel.id, [p.item["variant_id"] for p in chunk])
        for prepared in chunk:
            _plan_item(
                channel,
                target,
                mapping,
                prepared,
                listings.get(prepared.item["variant_id"]),
                plan,
                result,
                force,
                availability_only,
            )
        chunk.clear()

    if pending is not None:
        ids = pending.variant_ids
        batches = (ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK))
    else:
        batches = iter([variant_ids])
    for batch in batches:
        for prepared in prepare(session, target, variant_ids=batch):
            result.checked += 1
            chunk.append(prepared)
            if len(chunk) >= CHUNK:
                flush(resend)
    if chunk:
        flush(resend)
    if variant_ids is None:
        _plan_deletes(session, channel, plan, product_level, pending)
    if product_level:
        # Platforms that replace a whole product on edit get every variant of a changed
        # product, not only the changed ones.
        queued = {e.variant_id for e in plan.ordered()}
        products = {e.product_id for e in plan.ordered()} | plan.resend_products
        siblings = (
            [
                v
                for v in session.scalars(select(Variant.id).where(Variant.product_id.in_(products)))
                if v not in queued
            ]
            if products
            else []
        )
        for start in range(0, len(siblings), CHUNK):
            chunk.extend(prepare(session, target, variant_ids=siblings[start : start + CHUNK]))
            flush(force=True)
        # A product sent again without a dropped variant is sent whole.
        for entry in plan.ordered():
            if entry.product_id in plan.resend_products:
                entry.upsert.previous = None
    return plan


def _listings(session: Session, channel_id: str, variant_ids: list[str]) -> dict[str, Listing]:
    return {
        x.variant_id: x
        for x in session.scalars(
            select(Listing).where(
                Listing.channel_id == channel_id, Listing.variant_id.in_(variant_ids)
            )
        )
    }


def _plan_item(
    channel,
    target,
    mapping,
    prepared: Prepared,
    listing: Listing | None,
    plan: _Plan,
    result,
    force: bool,
    availability_only: bool,
) -> None:
    item = prepared.item
    now = utcnow()
    local = prepared.issues
    if listing is None:
        # First time on this channel: the item id is fixed here, for good.
        row = {
            "id": new_id("lst"),
            "channel_id": channel.id,
            "variant_id": item["variant_id"],
            "product_id": item["product_id"],
            "item_id": item["id"],
            "verdict": "pending",
            "issues": local,
            "updated_at": now,
        }
        plan.new_listings.append(row)
        pushed_hash = pushed_availability = platform_ref = previous = None
    else:
        row = None
        pushed_hash, pushed_availability = listing.pushed_hash, listing.pushed_availability
        platform_ref, previous = listing.platform_ref, listing.pushed_summary
        if listing.verdict == "deleted":
            # Deleted there (a variant kept off the channel, now back): the platform's id
            # of it is gone; the platform gives a new one.
            platform_ref = None
    if not prepared.valid:
        result.skipped_invalid += 1
        if row is not None:
            row["verdict"] = "rejected"
        elif listing.verdict != "rejected" or listing.issues != local:
            plan.listing_updates.append(
                {
                    "b_item_id": listing.item_id,
                    "verdict": "rejected",
                    "issues": local,
                    "updated_at": now,
                }
            )
        return
    payload = mapping.to_api(prepared.row, target)
    digest = content_hash(payload)
    if row is not None:
        row["content_hash"] = digest
    elif listing.content_hash != digest:
        plan.listing_updates.append({"b_item_id": listing.item_id, "content_hash": digest})
    if digest == pushed_hash and not force:
        return
    availability = availability_key(item)
    availability_changed = pushed_hash is not None and pushed_availability != availability
    if availability_only and not (availability_changed or force):
        return
    entry = _Entry(
        item["id"],
        item["variant_id"],
        item["product_id"],
        Upsert(item["id"], payload, item["product_id"], platform_ref, previous),
        digest,
        platforms.mapping(channel.kind).summary(payload),
        availability,
        local,
    )
    (plan.first if availability_changed else plan.rest).append(entry)


def _plan_deletes(
    session: Session,
    channel: Channel,
    plan: _Plan,
    product_level: bool,
    pending: changes.Pending | None = None,
) -> None:
    """Listed variants that are gone from the catalog, no longer active or kept off the
    channel by the merchant are deleted:
    among all listings, or (``pending``) among those of the changed variants and products.

    Where the platform lists products (TikTok), a variant removed from a product that stays
    for sale is taken off by sending the product again without it."""
    active = exists().where(
        Variant.id == Listing.variant_id,
        Product.id == Variant.product_id,
        Product.status == "active",
        ~exists().where(Exclusion.channel_id == channel.id, Exclusion.variant_id == Variant.id),
    )
    query = select(Listing.item_id, Listing.product_id, Listing.platform_ref).where(
        Listing.channel_id == channel.id,
        Listing.verdict != "deleted",
        Listing.pushed_hash.is_not(None) | Listing.batch_ref.is_not(None),
        ~active,
    )
    if pending is None:
        gone = session.execute(query).all()
    else:
        found = {}
        for column, ids in (
            (Listing.variant_id, pending.variant_ids),
            (Listing.product_id, sorted(pending.product_ids)),
        ):
            for start in range(0, len(ids), CHUNK):
                for row in session.execute(query.where(column.in_(ids[start : start + CHUNK]))):
                    found[row.item_id] = row
        gone = sorted(found.values())
    if not product_level:
        plan.deletes = [(item_id, item_id) for item_id, _, _ in gone]
        return
    staying = (
        set(
            session.scalars(
                select(Listing.product_id).where(
                    Listing.channel_id == channel.id,
                    Listing.product_id.in_({g[1] for g in gone}),
                    active,
                )
            )
        )
        if gone
        else set()
    )
    for item_id, product_id, platform_ref in gone:
        if product_id in staying:
            plan.dropped.append(item_id)
            plan.resend_products.add(product_id)
        else:
            plan.deletes.append((item_id, platform_ref or item_id))


# ---------------------------------------------------------------- writing


def _insert_ignoring_existing(session: Session, rows: list[dict]) -> None:
    """Insert listings; one created meanwhile by another run (same variant) is kept."""
    if not rows:
        return
    keys = set().union(*rows)
    session.execute(insert_or_ignore(session, Listing), [{k: r.get(k) for k in keys} for r in rows])


def _update_listings(session: Session, channel_id: str, rows: list[dict]) -> None:
    """UPDATE listings by item id; each row holds b_item_id and the columns to set."""
    by_columns: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(k for k in row if k != "b_item_id")), []).append(row)
    for columns, group in by_columns.items():
        statement = (
            update(Listing.__table__)
            .where(
                Listing.__table__.c.channel_id == channel_id,
                Listing.__table__.c.item_id == bindparam("b_item_id"),
            )
            .values({c: bindparam(c) for c in columns})
        )
        session.execute(statement, group)


def _record_plan(sessions: Sessions, channel_id: str, plan: _Plan) -> None:
    """The id map and local verdicts, before anything is sent: short transactions."""
    for start in range(0, max(len(plan.new_listings), len(plan.listing_updates)), CHUNK):
        with _write(sessions) as session:
            _insert_ignoring_existing(session, plan.new_listings[start : start + CHUNK])
            _update_listings(session, channel_id, plan.listing_updates[start : start + CHUNK])


def _outcome_row(entry: _Entry, outcome: Outcome, now) -> dict:
    """The listing's columns after a push: what was sent, and the platform's answer."""
    row = {
        "b_item_id": entry.item_id,
        "pushed_hash": entry.digest,
        "pushed_summary": entry.summary,
        "pushed_availability": entry.availability,
        "pushed_at": now,
        **_verdict_columns(entry.local_issues, outcome, now),
    }
    row["batch_ref"] = outcome.ref if outcome.verdict == "pending" else None
    if outcome.platform_ref:
        row["platform_ref"] = outcome.platform_ref
    return row


def _verdict_columns(issues: list[dict], outcome: Outcome, now) -> dict:
    """A verdict: the platform's issues replace earlier platform issues; local ones stay."""
    local = [i for i in issues or [] if i["source"] == "local"]
    columns = {"verdict": outcome.verdict, "issues": local + outcome.issues, "updated_at": now}
    if outcome.verdict != "pending":
        columns["confirmed_at"] = now
        columns["batch_ref"] = None
    return columns


def _deleted_row(item_id: str, now) -> dict:
    return {
        "b_item_id": item_id,
        "verdict": "deleted",
        "pushed_hash": None,
        "pushed_summary": None,
        "batch_ref": None,
        "issues": [],
        "updated_at": now,
    }


# ---------------------------------------------------------------- publish


def publish(
    sessions: Sessions | sessionmaker[Session],
    channel_id: str,
    dry_run: bool = False,
    http: httpx.Client | None = None,
    full: bool = False,
) -> PublishResult:
    """Send every changed item (and deletions) to the channel's platform: those of the
    change log, or (``full``, or the channel's first publish for its set-up) every item
    compared with its listing."""
    return _publish(Sessions.of(sessions), channel_id, dry_run, http, full=full)


def push_availability(
    sessions: Sessions | sessionmaker[Session],
    channel_id: str,
    variant_ids: list[str],
    http: httpx.Client | None = None,
    resend: bool = False,
) -> PublishResult:
    """Send, ahead of the next full publish, the given variants whose availability or
    quantity changed since they were last sent (a sell-out shows promptly). ``resend``:
    send their stock even if unchanged (the platform may have changed its count, as when
    it takes back the units of an order it cancelled)."""
    return _publish(
        Sessions.of(sessions),
        channel_id,
        False,
        http,
        variant_ids=variant_ids,
        availability_only=True,
        resend=resend,
    )


def _publish(
    sessions: Sessions,
    channel_id: str,
    dry_run: bool,
    http: httpx.Client | None,
    variant_ids: list[str] | None = None,
    availability_only: bool = False,
    resend: bool = False,
    full: bool = False,
) -> PublishResult:
    channel = _read_channel(sessions, channel_id)
    result = PublishResult(channel_id=channel.id, dry_run=dry_run, checked=0, status=channel.status)
    if not takes_catalog_by_api(channel):
        raise Conflict(
            f"{channel.kind} takes its catalog from a feed, not by API: use "
            f"`mercato feeds build` or the feed pull URL."
        )
    if channel.removed_at is not None and not dry_run:
        raise Conflict(f"Channel {channel.name} is removed; nothing is sent to it any more.")
    if channel.status != "active" and not dry_run:
        result.messages.append(f"Channel is {channel.status}; nothing was sent.")
        return result
    key = target_key(channel)
    whole = variant_ids is None and (full or channel.compared_for != key)
    if variant_ids is None:
        _hand_over_events(sessions)
    with sessions.read() as session:
        # The change log is read before the catalog: what its rows stand for is then in
        # what the plan reads (a whole comparison covers them too).
        pending = None if variant_ids is not None else changes.read(session, channel.id)
        plan = _plan(
            session,
            channel,
            Target.of(channel),
            result,
            variant_ids,
            availability_only,
            resend,
            None if whole else pending,
        )
    result.would_send = len(plan.ordered()) + len(plan.deletes) + len(plan.dropped)
    if dry_run:
        return result
    _record_plan(sessions, channel.id, plan)
    finished = []

    def work(adapter, _):
        _send(sessions, channel.id, adapter, plan, result)
        finished.append(True)

    _on_platform(
        sessions,
        channel,
        http,
        result,
        work,
        " What was sent is recorded; the rest goes on the next run.",
    )
    with _write(sessions) as session:
        written = service.get_channel(session, channel.id)
        written.last_synced_at = utcnow()
        result.status = written.status
        if finished and pending:
            # Only now: a run stopped halfway leaves its changes for the next one.
            changes.consume(session, channel.id, pending)
        if finished and whole:
            # The key read at the start: a set-up changed meanwhile compares again.
            written.compared_for = key
    return result


def _hand_over_events(sessions: Sessions) -> None:
    """Hand the events still in the outbox to their consumers first (as the worker does), so
    that a change committed before this publish is in the change log even where no worker
    runs (the CLI on its own). On PostgreSQL a dispatcher busy elsewhere is not waited for:
    its changes are in the log for the next publish, which it queues."""
    while True:
        with _write(sessions) as session:
            if events.dispatch_pending(session, utcnow()) < events.DISPATCH_BATCH:
                return


def _send(sessions: Sessions, channel_id: str, adapter, plan: _Plan, result: PublishResult) -> None:
    """Each batch: the platform call with no transaction open, then its answer written."""
    size = max(capabilities(adapter.kind).batch_size, 1)
    for chunk in _chunks(plan.ordered(), size, capabilities(adapter.kind).item_level):
        outcomes = {o.item_id: o for o in adapter.push([e.upsert for e in chunk], [])}
        now = utcnow()
        rows = []
        for entry in chunk:
            outcome = outcomes.get(entry.item_id) or Outcome(entry.item_id, "pending")
            rows.append(_outcome_row(entry, outcome, now))
            result.sent += 1
            result.rejected += outcome.verdict == "rejected"
        with _write(sessions) as session:
            _update_listings(session, channel_id, rows)
    if plan.dropped:
        # Their products were just sent again without them.
        with _write(sessions) as session:
            _update_listings(
                session, channel_id, [_deleted_row(item_id, utcnow()) for item_id in plan.dropped]
            )
        result.deleted += len(plan.dropped)
    for start in range(0, len(plan.deletes), size):
        chunk = plan.deletes[start : start + size]
        adapter.push([], sorted({ref for _, ref in chunk}))
        with _write(sessions) as session:
            _update_listings(
                session, channel_id, [_deleted_row(item_id, utcnow()) for item_id, _ in chunk]
            )
        result.deleted += len(chunk)


def _chunks(ordered: list[_Entry], size: int, item_level: str) -> Iterator[list[_Entry]]:
    """Batches of at most ``size`` items; a product's variants are never split where the
    platform takes whole products."""
    if item_level != "product":
        for start in range(0, len(ordered), size):
            yield ordered[start : start + size]
        return
    groups: dict[str | None, list[_Entry]] = {}
    for entry in ordered:
        groups.setdefault(entry.upsert.group, []).append(entry)
    chunk: list[_Entry] = []
    for members in groups.values():
        if chunk and len(chunk) + len(members) > size:
            yield chunk
            chunk = []
        chunk += members
    if chunk:
        yield chunk


# ---------------------------------------------------------------- read-back


@dataclass
class ReadBackResult:
    polled: int = 0
    confirmed: int = 0
    still_pending: int = 0
    # Items whose fate the platform could not tell: marked to be sent again.
    resent: int = 0
    messages: list[str] = field(default_factory=list)


def read_back(
    sessions: Sessions | sessionmaker[Session], channel_id: str, http: httpx.Client | None = None
) -> ReadBackResult:
    """Ask the platform for the verdict of every item still pending and store it."""
    sessions = Sessions.of(sessions)
    channel = _read_channel(sessions, channel_id)
    result = ReadBackResult()
    if channel.removed_at is not None:
        return result
    with sessions.read() as session:
        pending = session.execute(
            select(Listing.item_id, Listing.batch_ref, Listing.issues, Listing.variant_id).where(
                Listing.channel_id == channel.id,
                Listing.verdict == "pending",
                Listing.batch_ref.is_not(None),
            )
        ).all()
    by_ref: dict[str, list[tuple[str, list[dict]]]] = {}
    variant_of = {}
    for item_id, ref, issues, variant_id in pending:
        by_ref.setdefault(ref, []).append((item_id, issues))
        variant_of[item_id] = variant_id
    if not by_ref:
        return result
    answers: list[tuple[str, str, list[dict], Outcome]] = []

    def work(adapter, _):
        for ref, listed in by_ref.items():
            result.polled += 1
            outcomes = {o.item_id: o for o in adapter.poll(ref, [i for i, _ in listed])}
            for item_id, issues in listed:
                outcome = outcomes.get(item_id)
                if outcome is None or outcome.verdict == "pending":
                    result.still_pending += 1
                    continue
                answers.append((item_id, ref, issues, outcome))
                if outcome.verdict == "resend":
                    result.resent += 1
                else:
                    result.confirmed += 1

    _on_platform(sessions, channel, http, result, work)
    now = utcnow()
    with _write(sessions) as session:
        again = {}
        for item_id, ref, issues, outcome in answers:
            values = _verdict_columns(issues, outcome, now)
            if outcome.verdict == "resend":
                # Never assumed accepted: the next publish sends it again.
                values.update(verdict="pending", pushed_hash=None, batch_ref=None)
                values.pop("confirmed_at")
            # Only if no newer push replaced the batch meanwhile.
            written = session.execute(
                update(Listing)
                .where(
                    Listing.channel_id == channel.id,
                    Listing.item_id == item_id,
                    Listing.batch_ref == ref,
                )
                .values(values)
            )
            if outcome.verdict == "resend" and written.rowcount:
                again[variant_of[item_id]] = None
        # In the change log: the next publish takes them.
        changes.record(session, [channel.id], again)
    return result


# ---------------------------------------------------------------- reconciliation


@dataclass
class ReconcileResult:
    missing: int = 0
    stale: int = 0
    extra: int = 0
    publish: PublishResult | None = None
    messages: list[str] = field(default_factory=list)


def reconcile(
    sessions: Sessions | sessionmaker[Session], channel_id: str, http: httpx.Client | None = None
) -> ReconcileResult:
    """Compare the platform with what it should hold and repair the drift in one cycle."""
    sessions = Sessions.of(sessions)
    channel = _read_channel(sessions, channel_id)
    result = ReconcileResult()
    if channel.status != "active" or channel.removed_at is not None:
        result.messages.append(f"Channel is {_state(channel)}; not reconciled.")
        return result
    with sessions.read() as session:
        live = {
            item_id: (summary, ref)
            for item_id, summary, ref in session.execute(
                select(Listing.item_id, Listing.pushed_summary, Listing.platform_ref).where(
                    Listing.channel_id == channel.id,
                    Listing.verdict.in_(LIVE),
                    Listing.pushed_hash.is_not(None),
                )
            )
        }
        known = set(
            session.scalars(
                select(Listing.item_id).where(
                    Listing.channel_id == channel.id, Listing.verdict != "deleted"
                )
            )
        )

    def work(adapter, client):
        remote = adapter.remote_items({item_id: ref for item_id, (_, ref) in live.items()})
        if remote is None:
            result.messages.append("The platform cannot list its items.")
            return
        resend = []
        for item_id, (summary, _) in live.items():
            held = remote.get(item_id)
            if held is None:
                result.missing += 1
            # What the platform shows of an item may be less than what was sent.
            elif any((summary or {}).get(key) != value for key, value in held.items()):
                result.stale += 1
            else:
                continue
            resend.append(item_id)
        if resend:
            with _write(sessions) as session:
                _update_listings(
                    session,
                    channel.id,
                    [
                        {"b_item_id": item_id, "pushed_hash": None, "pushed_summary": None}
                        for item_id in resend
                    ],
                )
        extra = [item_id for item_id in remote if item_id not in known]
        if extra:
            adapter.push([], extra)
            result.extra = len(extra)
        result.publish = _publish(sessions, channel.id, False, client, full=True)

    _on_platform(sessions, channel, http, result, work)
    return result


@dataclass
class WithdrawResult:
    deleted: int = 0
    messages: list[str] = field(default_factory=list)


def withdraw(
    sessions: Sessions | sessionmaker[Session], channel_id: str, http: httpx.Client | None = None
) -> WithdrawResult:
    """Delete every item the channel holds on its platform (before the channel is removed);
    each deleted batch is recorded as it goes."""
    sessions = Sessions.of(sessions)
    channel = _read_channel(sessions, channel_id)
    result = WithdrawResult()
    product_level = capabilities(channel.kind).item_level == "product"
    with sessions.read() as session:
        held = [
            (item_id, (ref if product_level and ref else item_id))
            for item_id, ref in session.execute(
                select(Listing.item_id, Listing.platform_ref).where(
                    Listing.channel_id == channel.id,
                    Listing.verdict != "deleted",
                    Listing.pushed_hash.is_not(None) | Listing.batch_ref.is_not(None),
                )
            )
        ]
    if not held or not capabilities(channel.kind).catalog_api:
        return result

    def work(adapter, _):
        size = max(capabilities(channel.kind).batch_size, 1)
        for start in range(0, len(held), size):
            chunk = held[start : start + size]
            adapter.push([], sorted({ref for _, ref in chunk}))
            with _write(sessions) as session:
                _update_listings(
                    session, channel.id, [_deleted_row(item_id, utcnow()) for item_id, _ in chunk]
                )
            result.deleted += len(chunk)

    _on_platform(sessions, channel, http, result, work)
    return result


def active_channel_ids(sessions: Sessions | sessionmaker[Session]) -> list[str]:
    """Channels that take their catalog by API and are active."""
    with Sessions.of(sessions).read() as session:
        return active_channel_ids_in(session)


def active_channel_ids_in(session: Session) -> list[str]:
    return [
        c.id
        for c in service.list_channels(session)
        if c.status == "active" and takes_catalog_by_api(c)
    ]


def followed_channel_ids_in(session: Session) -> list[str]:
    """Channels whose change log is kept: every one not removed that takes its catalog by
    API, active or not (a paused channel publishes what changed meanwhile once resumed)."""
    return [c.id for c in service.list_channels(session) if takes_catalog_by_api(c)]


def takes_catalog_by_api(channel: Channel) -> bool:
    """Its platform takes a catalog by API, and the channel did not choose a feed instead
    (``catalog_mode: feed``: Pinterest refuses API upserts beside a feed data source)."""
    return (
        capabilities(channel.kind).catalog_api
        and (channel.settings or {}).get("catalog_mode") != "feed"
    )


def _state(channel: Channel) -> str:
    return "removed" if channel.removed_at is not None else channel.status


def variants_of_events(payloads: Iterable[dict[str, Any]]) -> list[str]:
    return sorted({p["variant_id"] for p in payloads if p.get("variant_id")})
