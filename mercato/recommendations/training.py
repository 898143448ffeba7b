"""Training: read the orders once, build every list, evaluate each model on held-out
orders, and store a new version whose lists serving reads.

The version row is committed first (status "training"), the models are computed with no
transaction open, and the lists are written and the version marked "ready" in one
transaction: a reader sees the previous version until then. Only the newest
``KEEP_VERSIONS`` are kept.

Personal lists are stored only for profiles that agreed to personalisation (and have
not withdrawn); everyone's orders still count in the shop-wide lists (often bought with,
similar, popular), which name no one. Besides orders, the analytics ledger's product views
and add-to-carts of the last ``POPULAR_DAYS`` count towards a profile's collaborative
filtering (``INTEREST``, a share of one purchase): only touches already joined to a
customer, which the ledger does only for a visitor who consented to analytics. A profile
that browsed but never bought gets a list from them too.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from mercato.analytics import ledger
from mercato.analytics.models import Touch
from mercato.catalog.models import Product, Variant
from mercato.customers import consent
from mercato.customers.models import Customer
from mercato.db import insert_rows, transaction, utcnow
from mercato.jobs import service as jobs
from mercato.orders.models import Order, OrderLine
from mercato.recommendations import baskets, collaborative, evaluation, repurchase, similar
from mercato.recommendations.models import Recommendation, Version
from mercato.recommendations.repurchase import Purchase

TRAIN_JOB = "recommendations.train"
KEEP_VERSIONS = 3
# A product page shows 4 and a buyer's list 10; serving reads 3 times that (OVERFETCH)
# to have enough left once sold-out products are taken out.
PER_PRODUCT = 12
PER_BUYER = 30
POPULAR_DAYS = 90
# "Often bought with": a pair seen in fewer orders than this is chance, not a habit.
MIN_TOGETHER = 2
MIN_CONFIDENCE = 0.05
PERSONALISATION = consent.Need("personalisation")
# What browsing adds to collaborative filtering, as a share of one purchase.
INTEREST = {"product_view": 0.2, "add_to_cart": 0.5}


@dataclass
class Orders:
    """What training reads: baskets, each buyer's history, and recent sales per channel."""

    counts: baskets.Counts = field(default_factory=baskets.Counts)
    histories: dict[str, list[Purchase]] = field(default_factory=dict)
    popular: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    orders: int = 0


def read_orders(session: Session, now: datetime) -> Orders:
    """Every order not cancelled, its products, buyer profile and channel; streamed."""
    rows = session.execute(
        select(Order.id, Order.placed_at, Order.channel, Customer.profile_id, Variant.product_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(Order.status != "cancelled")
        .order_by(Order.placed_at, Order.id)
        .execution_options(yield_per=5000)
    )
    found = Orders()
    since = now - timedelta(days=POPULAR_DAYS)
    for order in _orders(rows):
        order_id, placed_at, channel, profile_id, products = order
        found.orders += 1
        found.counts.add(products)
        if profile_id:
            found.histories.setdefault(profile_id, []).append(Purchase(placed_at, products))
        if placed_at >= since:
            found.popular[""].update(products)
            found.popular[f"channel:{channel}"].update(products)
    return found


def _orders(rows) -> Iterator[tuple]:
    current, products = None, set()
    for order_id, placed_at, channel, profile_id, product_id in rows:
        if current is not None and current[0] != order_id:
            yield (*current, frozenset(products))
            products = set()
        current = (order_id, placed_at, channel, profile_id)
        products.add(product_id)
    if current is not None:
        yield (*current, frozenset(products))


@dataclass
class Lists:
    rows: list[dict] = field(default_factory=list)

    def add(self, name: str, subject: str, ranked, reason) -> None:
        for rank, (product_id, score) in enumerate(ranked, start=1):
            self.rows.append(
                {
                    "list": name,
                    "subject": subject,
                    "rank": rank,
                    "product_id": product_id,
                    "score": float(score),
                    "reason": reason(product_id)[:200],
                }
            )


def personal_scores(
    histories: dict[Hashable, list[Purchase]],
    now_of,
    per_buyer: int,
    interest: dict[Hashable, Counter] | None = None,
) -> dict[Hashable, dict[Hashable, float]]:
    """Each buyer's blend of their own repurchase cycle and collaborative filtering over
    their purchases and (``interest``) their browsing."""
    counts: dict[Hashable, Counter] = {
        b: Counter(p for purchase in history for p in purchase.products)
        for b, history in histories.items()
    }
    for b, browsed in (interest or {}).items():
        counts.setdefault(b, Counter()).update(browsed)
    cf = collaborative.scores(counts, per_buyer)
    return {
        b: repurchase.blend(repurchase.cycle_scores(histories.get(b, []), now_of(b)), cf.get(b, {}))
        for b in counts
    }


def read_interest(session: Session, now: datetime) -> dict[str, Counter]:
    """Profile id -> product -> weight, from the ledger's views and add-to-carts joined to
    a customer (the ledger names a customer by a digest of their email)."""
    profiles = {
        ledger.customer_key(email, ""): profile
        for profile, email in session.execute(
            select(Customer.profile_id, Customer.email).where(Customer.email.is_not(None))
        )
    }
    rows = session.execute(
        select(Touch.customer_id, Touch.product_id, Touch.kind, func.sum(Touch.count))
        .where(
            Touch.kind.in_(tuple(INTEREST)),
            Touch.product_id.is_not(None),
            Touch.customer_id.is_not(None),
            Touch.at >= now - timedelta(days=POPULAR_DAYS),
        )
        .group_by(Touch.customer_id, Touch.product_id, Touch.kind)
    )
    interest: dict[str, Counter] = defaultdict(Counter)
    for key, product, kind, count in rows:
        if (profile := profiles.get(key)) is not None:
            interest[profile][product] += INTEREST[kind] * int(count)
    return dict(interest)


def evaluate(histories: dict[Hashable, list[Purchase]]) -> dict[str, dict]:
    """Each model against the held-out last orders, beside "own top-10" and popularity."""
    split = evaluation.hold_out_last(histories)
    if not split.held_out:
        return {}
    popular = Counter(p for h in split.train.values() for o in h for p in o.products)
    top_popular = [p for p, _ in repurchase.ranked(popular, evaluation.K)]
    own = {
        b: repurchase.ranked(Counter(p for o in h for p in o.products), evaluation.K)
        for b, h in split.train.items()
    }
    personal = personal_scores(split.train, lambda b: split.held_out_at[b], 50)
    cf_only = collaborative.scores(
        {b: Counter(p for o in h for p in o.products) for b, h in split.train.items()}, 50
    )
    bought = {b: {p for o in h for p in o.products} for b, h in split.train.items()}
    models = {
        "own_top_10": lambda b: [p for p, _ in own[b]],
        "popular": lambda b: top_popular,
        "personal": lambda b: [p for p, _ in repurchase.ranked(personal[b], evaluation.K)],
        "collaborative_new_only": lambda b: [
            p for p, _ in repurchase.ranked(cf_only.get(b, {}), 50) if p not in bought[b]
        ],
    }
    return {name: evaluation.evaluate(split, fn).as_dict() for name, fn in models.items()}


def build(session: Session, found: Orders, now: datetime) -> tuple[Lists, dict]:
    """Every list of a version (rows to insert) and its evaluation."""
    lists = Lists()
    rules = baskets.pair_rules(found.counts, min_count=MIN_TOGETHER, min_confidence=MIN_CONFIDENCE)
    for product, best in baskets.bought_with(rules, PER_PRODUCT).items():
        by = {r.consequent: r for r in best}
        lists.add(
            "fbt",
            product,
            [(r.consequent, float(r.confidence)) for r in best],
            lambda p, by=by: (
                f"bought together {by[p].both} times; confidence {float(by[p].confidence):.2f},"
                f" lift {float(by[p].lift):.2f}"
            ),
        )
    catalog = [
        similar.Described(pid, similar.tokens_of(title, kind, vendor, tags or [], category))
        for pid, title, kind, vendor, tags, category in session.execute(
            select(
                Product.id,
                Product.title,
                Product.product_type,
                Product.vendor,
                Product.tags,
                Product.google_category_id,
            ).where(Product.status != "archived")
        )
    ]
    for product, best in similar.similar(
        catalog, found.counts.pairs, found.counts.singles, PER_PRODUCT
    ).items():
        lists.add("similar", product, best, lambda p: "alike, or bought by the same orders")
    for key, counter in found.popular.items():
        lists.add(
            "popular",
            key,
            repurchase.ranked(counter, PER_BUYER),
            lambda p, c=counter: f"in {c[p]} orders in the last {POPULAR_DAYS} days",
        )
    interest = read_interest(session, now)
    agreed = _agreed(session, set(found.histories) | set(interest))
    if agreed:
        histories = {b: found.histories[b] for b in agreed if b in found.histories}
        browsed = {b: interest[b] for b in agreed if b in interest}
        for buyer, scores in personal_scores(histories, lambda b: now, 100, browsed).items():
            own = Counter(p for o in histories.get(buyer, []) for p in o.products)
            lists.add(
                "personal",
                buyer,
                repurchase.ranked(scores, PER_BUYER),
                lambda p, own=own: (
                    f"bought {own[p]} times before" if own[p] else "bought by similar buyers"
                ),
            )
    return lists, evaluate(found.histories)


def _agreed(session: Session, buyers: set[str]) -> list[str]:
    if not buyers:
        return []
    profile = Customer.profile_id
    agreed = session.scalars(
        select(profile)
        .where(Customer.id == profile, consent.granted_clause(profile, PERSONALISATION))
        .distinct()
    )
    return sorted(set(agreed) & buyers)


def versions(session: Session) -> list[Version]:
    """Trained versions, newest first (the newest ready one is served)."""
    return list(
        session.scalars(select(Version).order_by(Version.started_at.desc(), Version.id.desc()))
    )


def queue(session: Session) -> str:
    """Train a new version as soon as the worker can (one at a time); the job's id."""
    return jobs.enqueue(session, TRAIN_JOB, key=TRAIN_JOB).id


def train(sessions: sessionmaker[Session], now: datetime | None = None) -> Version:
    """A new version from every order so far; the previous stays served until it is ready."""
    now = now or utcnow()
    with transaction(sessions) as session:
        version = Version(started_at=now)
        session.add(version)
    started = time.perf_counter()
    try:
        with sessions() as session:
            found = read_orders(session, now)
            lists, scores = build(session, found, now)
    except Exception as exc:
        with transaction(sessions) as session:
            failed = session.get(Version, version.id)
            failed.status, failed.finished_at = "failed", utcnow()
            failed.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    with transaction(sessions) as session:
        ready = session.get(Version, version.id)
        insert_rows(
            session,
            Recommendation.__table__,
            ({"version_id": ready.id, **row} for row in lists.rows),
        )
        ready.status, ready.finished_at = "ready", utcnow()
        ready.orders_read, ready.buyers_read = found.orders, len(found.histories)
        ready.evaluation = scores
        ready.params = {
            "per_product": PER_PRODUCT,
            "per_buyer": PER_BUYER,
            "popular_days": POPULAR_DAYS,
            "min_together": MIN_TOGETHER,
            "min_confidence": MIN_CONFIDENCE,
            "decay": repurchase.DECAY,
            "frequency": repurchase.FREQUENCY,
            "due": repurchase.DUE,
            "collaborative": repurchase.COLLABORATIVE,
            "factors": collaborative.FACTORS,
            "seconds": round(time.perf_counter() - started, 2),
        }
        old = session.scalars(
            select(Version.id)
            .where(Version.status != "training")
            .order_by(Version.started_at.desc(), Version.id.desc())
            .offset(KEEP_VERSIONS)
        ).all()
        if old:
            session.execute(delete(Version).where(Version.id.in_(old)))
    return ready
