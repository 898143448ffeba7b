"""Customer profiles read whole: a person's contact points, addresses, lifetime figures,
channels, merges, suggestions, consent, and the timeline of their orders, messages,
checkouts and touches, across every row merged into the profile.

Everything is found through the profile's rows (``Customer.profile_id``): orders and
conversations by their ``customer_id``, checkouts by the buyer signed in or the order
they became, touches by the profile's orders, conversations, devices and the ledger's
key of each of its emails (``analytics.ledger.customer_key``)."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from mercato.analytics.ledger import customer_key
from mercato.analytics.models import Touch
from mercato.catalog.service import store_currency
from mercato.channels.models import Channel
from mercato.checkout.models import Checkout
from mercato.crypto import matching_terms
from mercato.customers import consent, identities, merges, profiles
from mercato.customers.models import Customer, Identity, value_key
from mercato.errors import NotFound
from mercato.inbox.models import Conversation, InboxAccount, Message
from mercato.money import format_plain
from mercato.orders.models import Order
from mercato.pagination import keyset_page
from mercato.profiles.schemas import (
    ConsentPublic,
    ContactPoint,
    LifetimeFigures,
    MergePublic,
    Money,
    Presence,
    ProfileDetail,
    ProfilePage,
    ProfileSummary,
    SuggestionPublic,
    TimelineEntry,
)
from mercato.segments import service as segments

TIMELINE_MOST = 200


def find(session: Session, customer_id: str) -> Customer:
    """The profile (its root row) of any of its rows."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id!r}.")
    return session.get(Customer, customer.profile_id) or customer


def _rows(profile_id: str) -> Select:
    return select(Customer.id).where(Customer.profile_id == profile_id)


# ---------------------------------------------------------------- list


def list_profiles(
    session: Session, q: str | None = None, cursor: str | None = None, limit: int = 50
) -> ProfilePage:
    """Profiles newest first; ``q`` matches a name whole or by whole words, without case,
    or a whole contact point (an email without case, a phone number, a platform id): names
    and contact points are encrypted at rest and found by keyed hashes only."""
    query = select(Customer).where(Customer.profile_id == Customer.id)
    if q and q.strip():
        text = q.strip()
        candidates = {text, text.lower()} | {
            v for v in (identities.normal_email(text), identities.normal_phone(text)) if v
        }
        holders = (
            select(Customer.profile_id)
            .join(Identity, Identity.customer_id == Customer.id)
            .where(
                Identity.value_hash.in_(sorted(map(value_key, candidates))),
                Identity.kind != "postal",
            )
        )
        query = query.where(
            or_(matching_terms(Customer.search_terms, text), Customer.id.in_(holders))
        )
    page = keyset_page(session, query, Customer.id, cursor, limit, newest_first=True)
    return ProfilePage(items=summaries(session, page.items), next_cursor=page.next_cursor)


def summaries(session: Session, customers: list[Customer]) -> list[ProfileSummary]:
    ids = [c.id for c in customers]
    sums = segments.figures(session, ids)
    tags = profiles.tags_of(session, ids)
    contacts: dict[str, dict[str, str]] = {p: {} for p in ids}
    if ids:
        query = (
            select(Customer.profile_id, Identity.kind, Identity.value)
            .join(Customer, Customer.id == Identity.customer_id)
            .where(Customer.profile_id.in_(ids), Identity.kind.in_(("email", "phone")))
            .order_by(Identity.verified.desc(), Identity.created_at, Identity.id)
        )
        for profile_id, kind, value in session.execute(query):
            contacts[profile_id].setdefault(kind, value)
    return [
        ProfileSummary(
            id=c.id,
            name=c.name,
            email=contacts[c.id].get("email") or c.email,
            phone=contacts[c.id].get("phone") or c.phone,
            tags=tags[c.id],
            orders=sums[c.id].orders,
            revenue=sums[c.id].revenue,
            currency=store_currency(),
            last_order_at=sums[c.id].last_order_at,
            created_at=c.created_at,
        )
        for c in customers
    ]


# ---------------------------------------------------------------- one profile


def detail(session: Session, customer_id: str) -> ProfileDetail:
    root = find(session, customer_id)
    rows = list(session.scalars(select(Customer).where(Customer.profile_id == root.id)))
    rows.sort(key=lambda c: (c.id != root.id, c.created_at, c.id))
    found = identities.of_profile(session, root.id)
    sums = segments.figures(session, [root.id])[root.id]
    return ProfileDetail(
        id=root.id,
        rows=[c.id for c in rows],
        name=root.name or next((c.name for c in rows if c.name), None),
        language=root.language or next((c.language for c in rows if c.language), None),
        notes=root.notes,
        tags=profiles.tags_of(session, [root.id])[root.id],
        contact_points=[
            ContactPoint.model_validate(i) for i in found if i.kind not in ("postal", "device")
        ],
        addresses=_addresses(session, root.id, rows),
        figures=LifetimeFigures(
            orders=sums.orders,
            revenue=sums.revenue,
            currency=store_currency(),
            revenue_by_currency=[
                Money(currency=k, amount=v) for k, v in sorted(sums.revenue_by_currency.items())
            ],
            last_order_at=sums.last_order_at,
        ),
        channels=_presence(session, root.id, found),
        merges=[MergePublic.model_validate(m) for m in merges.of_profile(session, root.id)],
        suggestions=[
            SuggestionPublic.model_validate(s) for s in merges.suggestions(session, root.id)
        ],
        consent=[
            ConsentPublic.model_validate(c) for c in consent.current(session, root.id).values()
        ],
        remembered=any(c.payment_method_ref or c.email for c in rows),
        created_at=min(c.created_at for c in rows),
        updated_at=max(c.updated_at for c in rows),
    )


def _addresses(session: Session, profile_id: str, rows: list[Customer]) -> list[dict]:
    """Distinct postal addresses: saved ones, then those orders were shipped to (latest
    first)."""
    seen: dict[tuple, dict] = {}
    shipped = session.scalars(
        select(Order.shipping_address)
        .where(Order.customer_id.in_(_rows(profile_id)))
        .order_by(Order.placed_at.desc())
        .limit(50)
    )
    for address in [c.address for c in rows] + list(shipped):
        if not isinstance(address, dict):
            continue
        key = tuple(
            str(address.get(k) or "").strip().casefold()
            for k in ("name", "line1", "line2", "city", "postal_code", "country")
        )
        seen.setdefault(key, address)
    return list(seen.values())


def _presence(session: Session, profile_id: str, found: list[Identity]) -> list[Presence]:
    """Where the person is: channels they bought on, inbox accounts they wrote to, and
    platforms that know them by an id."""
    where: dict[str, tuple[str, set[str]]] = {}
    kinds = dict(session.execute(select(Channel.id, Channel.kind)).all())
    for channel_id in session.scalars(
        select(Order.channel).where(Order.customer_id.in_(_rows(profile_id))).distinct()
    ):
        where.setdefault(channel_id, (kinds.get(channel_id, channel_id), set()))[1].add("orders")
    accounts = session.execute(
        select(InboxAccount.id, InboxAccount.platform)
        .join(Conversation, Conversation.account_id == InboxAccount.id)
        .where(Conversation.customer_id.in_(_rows(profile_id)))
        .distinct()
    )
    for account_id, platform in accounts:
        where.setdefault(account_id, (platform, set()))[1].add("conversations")
    for identity in found:
        if identity.kind == "platform":
            platform, _, place = identity.scope.partition(":")
            where.setdefault(place or platform, (platform, set()))[1].add("identity")
    return [
        Presence(channel=channel, kind=kind, via=sorted(via))
        for channel, (kind, via) in sorted(where.items(), key=lambda item: item[1][0])
    ]


# ---------------------------------------------------------------- timeline


def timeline(session: Session, customer_id: str, most: int = TIMELINE_MOST) -> list[TimelineEntry]:
    """The person's orders, messages, checkouts and touches, newest first."""
    root = find(session, customer_id)
    rows = _rows(root.id)
    entries: list[TimelineEntry] = []
    orders = list(
        session.scalars(
            select(Order)
            .where(Order.customer_id.in_(rows))
            .order_by(Order.placed_at.desc())
            .limit(most)
        )
    )
    names = dict(session.execute(select(Channel.id, Channel.name)).all())
    for o in orders:
        entries.append(
            TimelineEntry(
                at=o.placed_at,
                kind="order",
                title=f"Order {o.name} on {names.get(o.channel, o.channel)}",
                detail=f"{format_plain(o.total, o.currency)} {o.currency} · {o.status} · "
                f"{o.payment_status} · {o.fulfillment_status}",
                ref=o.id,
                link=f"/admin/orders/{o.id}",
            )
        )
    conversations = list(
        session.scalars(select(Conversation).where(Conversation.customer_id.in_(rows)))
    )
    platform = dict(session.execute(select(InboxAccount.id, InboxAccount.platform)).all())
    by_id = {c.id: c for c in conversations}
    if by_id:
        for m in session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(list(by_id)))
            .order_by(Message.at.desc())
            .limit(most)
        ):
            where = platform.get(by_id[m.conversation_id].account_id, "inbox")
            said = {"in": "wrote", "out": "answered", "note": "noted"}.get(m.direction, "")
            entries.append(
                TimelineEntry(
                    at=m.at,
                    kind="message",
                    title=f"{'They' if m.direction == 'in' else 'The shop'} {said} on {where}",
                    detail=(m.text or f"[{m.kind}]")[:300],
                    ref=m.id,
                    link=f"/admin/inbox/{m.conversation_id}",
                )
            )
    order_ids = [o.id for o in orders]
    checkouts = select(Checkout).where(
        or_(Checkout.customer_id.in_(rows), Checkout.order_id.in_(order_ids or [""]))
    )
    for c in session.scalars(checkouts.order_by(Checkout.created_at.desc()).limit(most)):
        entries.append(
            TimelineEntry(
                at=c.created_at,
                kind="checkout",
                title=f"Checkout {c.status}",
                detail=f"{format_plain(c.total, c.currency)} {c.currency}",
                ref=c.id,
                link=f"/admin/orders/{c.order_id}" if c.order_id else None,
            )
        )
    entries += _touches(session, root.id, order_ids, list(by_id), most)
    entries.sort(key=lambda e: (e.at, e.ref), reverse=True)
    return entries[:most]


def _touches(
    session: Session, profile_id: str, order_ids: list[str], conversation_ids: list[str], most: int
) -> list[TimelineEntry]:
    found = identities.of_profile(session, profile_id)
    keys = [customer_key(i.value, "") for i in found if i.kind == "email"]
    devices = [i.value for i in found if i.kind == "device"]
    theirs = [
        clause
        for clause in (
            Touch.order_id.in_(order_ids) if order_ids else None,
            Touch.conversation_id.in_(conversation_ids) if conversation_ids else None,
            Touch.customer_id.in_(keys) if keys else None,
            Touch.visitor_id.in_(devices) if devices else None,
        )
        if clause is not None
    ]
    if not theirs:
        return []
    touches = session.scalars(
        select(Touch).where(or_(*theirs)).order_by(Touch.at.desc()).limit(most)
    )
    entries = []
    for t in touches:
        words = [t.channel, t.campaign, t.post]
        if t.value is not None and t.currency:
            words.append(f"{format_plain(t.value, t.currency)} {t.currency}")
        entries.append(
            TimelineEntry(
                at=t.at,
                kind="touch",
                title=t.kind.replace("_", " ").capitalize(),
                detail=" · ".join(w for w in words if w) or None,
                ref=str(t.id),
                link=None,
            )
        )
    return entries
