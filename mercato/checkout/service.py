"""The checkout itself: started with a hold on its stock (``limits``: how much, how long),
priced (``pricing``, ``discounts``), the buyer's details set and checked for their
country (``contact``), shown, held again when the hold lapsed, expired. Paying and
placing the order is ``completion`` (a saga across transactions) with ``payment`` (its
steps inside one); the order is unique on (storefront, checkout id). A returning buyer
signs in through ``sign_in``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from mercato.catalog.models import Media, Product, Variant
from mercato.checkout import contact, discounts, limits, market_pricing, pricing, rates
from mercato.checkout.models import Checkout, CheckoutLine
from mercato.checkout.schemas import BuyerDetails, CheckoutCreate, CheckoutUpdate
from mercato.crypto import hash_token
from mercato.customers import service as customers
from mercato.db import insert_objects, new_id, random_token, utcnow
from mercato.errors import Conflict, FieldError, MercatoError, NotFound, ValidationFailed
from mercato.events import service as events
from mercato.inventory import reservations as stock
from mercato.inventory.availability import InsufficientStock
from mercato.inventory.models import Reservation
from mercato.inventory.schemas import ReservationLineInput
from mercato.markets import service as markets
from mercato.markets import taxes
from mercato.money import CURRENCIES
from mercato.offers.pricing import Line as OfferLine
from mercato.orders.models import Order

CHANNEL = "storefront"
HOLD = limits.HOLD
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
CLICK_KEYS = ("fbclid", "gclid", "ttclid", "epik", "cart_origin")


class CheckoutExpired(Conflict):
    slug = "checkout-expired"
    title = "Checkout expired"


@dataclass
class NewCheckout:
    checkout: Checkout
    token: str
    shown: View


def attribution_from_link(params: Mapping[str, str]) -> dict:
    """Attribution from a link's parameters: ``ch`` (channel), ``ref`` (creator or
    affiliate), ``post`` (content id), ``conv`` (the inbox conversation the link was sent
    in) and ``utm_*``."""
    # Platforms' click ids ride along with the UTM tags (Meta fbclid, Google gclid, TikTok
    # ttclid, Pinterest epik): the conversions sent back carry them.
    utm = {k: params[k][:255] for k in (*UTM_KEYS, *CLICK_KEYS) if params.get(k)}
    found = {
        "source": (params.get("ch") or utm.get("utm_source") or "")[:100] or None,
        "campaign": utm.get("utm_campaign"),
        "content_id": (params.get("post") or "")[:255] or None,
        "creator": (params.get("ref") or "")[:255] or None,
        "conversation_id": (params.get("conv") or "")[:40] or None,
        "utm": utm,
    }
    return {k: v for k, v in found.items() if v}


# ---------------------------------------------------------------- reading


def get_checkout(session: Session, token: str, *, lock: bool = False) -> Checkout:
    """The checkout behind a secret token; ``lock`` holds its row until the transaction
    ends (completion)."""
    return locked(session, Checkout.token_hash == hash_token(token), lock=lock)[0]


@dataclass(frozen=True)
class Hold:
    """The checkout's reservation as read with it (None: it has none)."""

    status: str | None
    expires_at: datetime | None

    def holds_at(self, now: datetime) -> bool:
        return self.status == "active" and self.expires_at is not None and self.expires_at > now


def locked(session: Session, where, *, lock: bool = True, also=()) -> tuple:
    """(checkout, hold, *also): the checkout that ``where`` picks, with its lines and its
    hold, and the scalar subqueries ``also``, in one query; ``lock`` holds its row (not
    its lines' or its hold's) until the transaction ends."""
    found = session.execute(_with_hold(where, lock, also)).unique().first()
    if found is None:
        raise NotFound("No such checkout.")
    checkout, status, expires_at, *extra = found
    return (checkout, Hold(status, expires_at), *extra)


def locked_all(session: Session, ids) -> dict[str, tuple[Checkout, Hold]]:
    """``locked`` for many checkouts, by id."""
    found = locked_where(session, Checkout.id.in_(sorted(set(ids))))
    return {checkout.id: (checkout, hold) for checkout, hold in found}


def locked_where(session: Session, where, *, lock: bool = True, also=()) -> list[tuple]:
    """``locked`` for every checkout ``where`` picks; their rows are locked lowest id
    first, so two transactions locking several never wait on each other in opposite
    orders."""
    query = _with_hold(where, lock, also).order_by(Checkout.id)
    return [
        (checkout, Hold(status, expires_at), *extra)
        for checkout, status, expires_at, *extra in session.execute(query).unique()
    ]


def _with_hold(where, lock: bool, also):
    query = (
        select(Checkout, Reservation.status, Reservation.expires_at, *also)
        .outerjoin(Reservation, Reservation.id == Checkout.reservation_id)
        .options(joinedload(Checkout.lines))
        .where(where)
    )
    if lock:
        query = query.with_for_update(of=Checkout).execution_options(populate_existing=True)
    return query


@dataclass(frozen=True)
class Shown:
    """What a checkout reads of a variant: its price, whether it is for sale, and how its
    line looks (its product's title, its own image or its product's first)."""

    id: str
    sku: str | None
    title: str
    variant_title: str | None
    image_url: str | None
    price: int
    currency: str
    attributes: dict | None
    for_sale: bool


@dataclass
class LineDetail:
    line: CheckoutLine
    shown: Shown

    @property
    def variant_id(self) -> str:
        return self.shown.id

    @property
    def sku(self) -> str | None:
        return self.shown.sku

    @property
    def title(self) -> str:
        return self.shown.title

    @property
    def variant_title(self) -> str | None:
        return self.shown.variant_title

    @property
    def image_url(self) -> str | None:
        return self.shown.image_url


@dataclass
class View:
    """Everything a head shows of a checkout."""

    checkout: Checkout
    lines: list[LineDetail]
    shipping_options: list[rates.ShippingRate]
    shipping_prices: dict[str, int]
    tax_name: str | None
    saved_payment_method: str | None
    order: Order | None
    now: datetime

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.checkout.expires_at - self.now).total_seconds()))


def view(
    session: Session,
    checkout: Checkout,
    now: datetime | None = None,
    variants: dict[str, Shown] | None = None,
) -> View:
    """``variants``: the lines' variants as ``shown`` reads them, when already read."""
    now = now or utcnow()
    variants = variants or shown(session, ids=[ln.variant_id for ln in checkout.lines])
    table = rates.load()
    country = country_of(checkout)
    goods = checkout.subtotal - checkout.discount_total
    options = table.shipping_rates(country)
    customer = customers.get(session, checkout.customer_id)
    tax = table.tax_for(country, (checkout.shipping_address or {}).get("region"))
    return View(
        checkout,
        [LineDetail(ln, variants[ln.variant_id]) for ln in checkout.lines],
        options,
        {r.code: pricing.shipping_amount(r, goods, checkout.currency, table) for r in options},
        tax.name if tax else None,
        customer.payment_method_label if customer and customer.payment_method_ref else None,
        session.get(Order, checkout.order_id) if checkout.order_id else None,
        now,
    )


def country_of(checkout: Checkout) -> str | None:
    return (checkout.shipping_address or {}).get("country") or checkout.attribution.get("_country")


# ---------------------------------------------------------------- creating


_FIRST_MEDIA = (
    select(Media.url)
    .where(Media.product_id == Product.id)
    .order_by(Media.position, Media.id)
    .limit(1)
    .scalar_subquery()
)
_OWN_IMAGE = select(Media.url).where(Media.id == Variant.image_id).scalar_subquery()
_SHOWN = select(
    Variant.id,
    Variant.sku,
    Product.title,
    Variant.option1,
    Variant.option2,
    Variant.option3,
    _OWN_IMAGE,
    _FIRST_MEDIA,
    Variant.price,
    Variant.currency,
    Variant.attributes,
    Product.status,
).join(Product, Product.id == Variant.product_id)


def shown(session: Session, *, ids=(), skus=()) -> dict[str, Shown]:
    """The variants of these ids or SKUs as a checkout shows and prices them, by id: one
    query, whatever the number of lines."""
    found = {}
    query = _SHOWN.where(Variant.id.in_(set(ids)) | Variant.sku.in_(set(skus)))
    for vid, sku, title, o1, o2, o3, own, first, price, currency, attrs, status in session.execute(
        query
    ):
        options = [o for o in (o1, o2, o3) if o is not None]
        found[vid] = Shown(
            vid,
            sku,
            title,
            " / ".join(options) or None,
            own or first,
            price,
            currency,
            attrs,
            status == "active",
        )
    return found


def unit_price(variant: Variant | Shown, currency: str, table: rates.Rates) -> int:
    """The variant's price in ``currency``: its own price there if set (attributes
    "prices"), else converted from its currency with the configured rates."""
    if variant.currency == currency:
        return variant.price
    own = (variant.attributes or {}).get("prices", {}).get(currency)
    if isinstance(own, int) and own >= 0:
        return own
    return table.convert(variant.price, variant.currency, currency)


def _resolve_lines(lines, found: dict[str, Shown]) -> list[tuple[Shown, int]]:
    """The lines' variants among ``found`` (read once for the checkout and its view)."""
    found = found.values()
    by_ref = {**{v.sku: v for v in found if v.sku}, **{v.id: v for v in found}}
    wanted: dict[str, int] = {}
    variants: dict[str, Shown] = {}
    errors = []
    for index, line in enumerate(lines):
        variant = by_ref.get(line.sku or line.variant_id)
        field = "sku" if line.sku else "variant_id"
        if variant is None or not variant.for_sale:
            errors.append(FieldError(("lines", index, field), "is not for sale", "unknown"))
            continue
        variants[variant.id] = variant
        wanted[variant.id] = wanted.get(variant.id, 0) + line.quantity
    if errors:
        raise ValidationFailed("Some items cannot be bought.", errors)
    return [(variants[v], q) for v, q in wanted.items()]


def _shown_for(session: Session, starts) -> dict[str, Shown]:
    lines = [ln for data in starts for ln in data.lines]
    return shown(
        session,
        ids={ln.variant_id for ln in lines if ln.variant_id},
        skus={ln.sku for ln in lines if ln.sku},
    )


def create_checkout(
    session: Session,
    data: CheckoutCreate,
    *,
    customer_id: str | None = None,
    visitor: str | None = None,
    now: datetime | None = None,
    prices: Mapping[str, tuple[int, str]] | None = None,
    admission_ticket: str | None = None,
) -> NewCheckout:
    """Start a checkout: price the lines and hold their stock (limits.py: how much and
    how long; ``visitor`` is the hash of the shop's cookie, when there is one).
    ``prices``: variant id -> (price, currency) that replace the variant's own in that
    currency, set by the server (a live event's price for its pinned product);
    ``admission_ticket``: the live drop's admission it uses."""
    now = now or utcnow()
    checkout, token, found = _new_checkout(
        session, data, customer_id, visitor, now, _shown_for(session, [data]), prices
    )
    checkout.admission_ticket = admission_ticket
    session.add(checkout)
    seen = view(session, checkout, now, variants=found)
    events.record(session, "checkout.started", started_payload(checkout), key=checkout.id)
    # The hold comes last: from its UPDATE of the stock level to the commit, every
    # other buyer of the SKU waits, so nothing else happens in between.
    session.flush()
    _hold(session, checkout, now)
    return NewCheckout(checkout, token, seen)


def started_payload(checkout: Checkout) -> dict:
    """What a started checkout tells the rest (analytics: the funnel's checkout step)."""
    a = checkout.attribution or {}
    return {
        "checkout_id": checkout.id,
        "customer_id": checkout.customer_id,
        "currency": checkout.currency,
        "country": a.get("_country"),
        "attribution": {k: v for k, v in a.items() if not k.startswith("_")},
    }


@dataclass(frozen=True)
class Start:
    """A checkout to start, as ``start_many`` takes it."""

    data: CheckoutCreate
    visitor: str | None = None
    # Server-set prices (``create_checkout``'s), e.g. a live event's for its pinned product.
    prices: Mapping[str, tuple[int, str]] | None = None
    admission_ticket: str | None = None  # ``create_checkout``'s


def start_many(
    session: Session, starts: Sequence[Start], now: datetime | None = None
) -> list[NewCheckout | MercatoError]:
    """``create_checkout`` for checkouts started at the same moment (a drop), in one
    transaction: their variants read in one query, their stock held in one go
    (``reserve_many``), then the checkouts written, those refused (sold out, unknown
    items) not at all. Each gets its own answer."""
    now = now or utcnow()
    outcomes: list = [None] * len(starts)
    found = _shown_for(session, [start.data for start in starts])
    active_markets = markets.list_markets(session, active_only=True)  # once for the batch
    made = []
    for index, start in enumerate(starts):
        try:
            made.append(
                (
                    index,
                    *_new_checkout(
                        session,
                        start.data,
                        None,
                        start.visitor,
                        now,
                        found,
                        start.prices,
                        active_markets,
                    ),
                )
            )
        except MercatoError as refused:
            outcomes[index] = refused
    if not made:
        return outcomes
    wanted = [[(ln.variant_id, ln.quantity) for ln in c.lines] for _, c, _, _ in made]
    held = stock.reserve_many(
        session,
        [
            stock.ReservationRequest(
                [ReservationLineInput(variant_id=v, quantity=q) for v, q in lines],
                channel=CHANNEL,
                reference=f"{checkout.id}:{checkout.holds}",
                ttl_seconds=int(ttl.total_seconds()),
                actor=CHANNEL,
            )
            for (_, checkout, _, _), lines, ttl in zip(
                made, wanted, limits.hold_times(session, wanted, now), strict=True
            )
        ],
        now,
    )
    # Written after the holds, with them: the stock level stays locked until the commit
    # either way, and a refused checkout is then never written. As rows (one COPY each of
    # checkouts and lines on PostgreSQL): their ORM flush was 6% of a drop's server CPU.
    written = []
    for (index, checkout, token, variants), hold in zip(made, held, strict=True):
        if isinstance(hold, MercatoError):
            outcomes[index] = hold
            continue
        checkout.reservation_id, checkout.expires_at = hold.id, hold.expires_at
        checkout.admission_ticket = starts[index].admission_ticket
        written.append(checkout)
        outcomes[index] = NewCheckout(checkout, token, view(session, checkout, now, variants))
    session.flush()  # what the holds left pending, before the rows
    insert_objects(session, written, [line for checkout in written for line in checkout.lines])
    # Only the checkouts written: two multi-row inserts for the whole batch.
    events.record_many(
        session,
        (
            ("checkout.started", started_payload(o.checkout), o.checkout.id)
            for o in outcomes
            if isinstance(o, NewCheckout)
        ),
    )
    return outcomes


def _new_checkout(
    session: Session,
    data: CheckoutCreate,
    customer_id: str | None,
    visitor: str | None,
    now: datetime,
    found: dict[str, Shown],
    live_prices: Mapping[str, tuple[int, str]] | None = None,
    active_markets: list | None = None,
) -> tuple[Checkout, str, dict[str, Shown]]:
    """A priced checkout, not yet in the session nor holding anything; its token; its
    variants. Refuses a visitor with too many open, a currency not sold in, an item not
    for sale, a code that is not valid."""
    limits.check_visitor(session, visitor, now)
    table = rates.load()
    where = data.country or (data.shipping_address.country if data.shipping_address else None)
    market = market_pricing.market_for(session, data.market, where, active_markets)
    currency = (market.currency if market else data.currency or table.currency_for(where)).upper()
    if currency not in CURRENCIES or currency not in table.currencies:
        raise ValidationFailed(
            f"{currency} is not sold in.", [FieldError(("currency",), f"one of {table.currencies}")]
        )
    resolved = _resolve_lines(data.lines, found)
    prices = {v.id: unit_price(v, currency, table) for v, _ in resolved}
    if market:
        prices = market_pricing.prices_in(session, market, [v for v, _ in resolved], prices)
    for variant_id, (amount, in_currency) in (live_prices or {}).items():
        if variant_id in prices and in_currency == currency:  # set by the server, never a buyer
            prices[variant_id] = amount
    token = random_token()
    attribution = data.attribution.model_dump(exclude_none=True, exclude_defaults=True)
    if where:
        attribution["_country"] = where.upper()
    customer = customers.get(session, customer_id)
    checkout_id = new_id("chk")
    checkout = Checkout(
        id=checkout_id,
        token_hash=hash_token(token),
        status="open",
        currency=currency,
        locale=data.locale,
        market=market.code if market else None,
        expires_at=now + HOLD,
        attribution=attribution,
        customer_id=customer.id if customer else None,
        visitor=visitor,
        remember=customer is not None,
        holds=1,
        email=customer.email if customer else None,
        phone=customer.phone if customer else None,
        shipping_address=customer.address if customer else None,
        lines=[
            CheckoutLine(
                checkout_id=checkout_id,
                position=i + 1,
                variant_id=v.id,
                quantity=q,
                unit_price=prices[v.id],
            )
            for i, (v, q) in enumerate(resolved)
        ],
    )
    market_pricing.record_rate(checkout, table)
    if errors := _set_details(checkout, data, table):
        raise ValidationFailed("Some details need another look.", errors)
    codes = data.given_codes()
    if codes and (errors := discounts.choose(session, checkout, codes, now, data.code_field)):
        raise ValidationFailed("Some codes cannot be applied.", errors)
    redo_totals(session, checkout, table, now)
    return checkout, token, {v.id: v for v, _ in resolved}


def _hold(session: Session, checkout: Checkout, now: datetime) -> None:
    """Hold the checkout's stock (each hold its own inventory reference)."""
    held = stock.reserve(
        session,
        [
            ReservationLineInput(variant_id=ln.variant_id, quantity=ln.quantity)
            for ln in checkout.lines
        ],
        channel=CHANNEL,
        reference=f"{checkout.id}:{checkout.holds}",
        ttl_seconds=int(
            limits.hold_time(
                session, [(ln.variant_id, ln.quantity) for ln in checkout.lines], now
            ).total_seconds()
        ),
        actor=CHANNEL,
        now=now,
    )
    checkout.reservation_id, checkout.expires_at = held.id, held.expires_at


def _choose_default_shipping(checkout: Checkout, table: rates.Rates) -> None:
    codes = [r.code for r in table.shipping_rates(country_of(checkout))]
    if checkout.shipping_rate not in codes:
        checkout.shipping_rate = codes[0] if codes else None


# ---------------------------------------------------------------- changing


def _open(checkout: Checkout) -> None:
    if checkout.status != "open":
        raise Conflict(f"This checkout is {checkout.status}.", extra={"status": checkout.status})


def update_checkout(
    session: Session, token: str, data: CheckoutUpdate, now: datetime | None = None
) -> Checkout:
    """Set the buyer's details; each is checked for its country, totals are redone."""
    now = now or utcnow()
    return _update(session, get_checkout(session, token), data, now)


def update_many(
    session: Session, updates: Sequence[tuple[str, CheckoutUpdate]], now: datetime | None = None
) -> list[View]:
    """``update_checkout`` for checkouts updated at the same moment (buyers typing their
    details during a drop), in one transaction, each as the buyer sees it after: their
    rows read in one query, their lines' variants in one, their changes flushed together.
    A refusal raises; the caller then updates each alone, where it is refused by itself.
    One checkout at most once per call."""
    now = now or utcnow()
    digests = [hash_token(token) for token, _ in updates]
    found = {
        checkout.token_hash: checkout
        for checkout, _ in locked_where(session, Checkout.token_hash.in_(digests), lock=False)
    }
    if len(found) != len(set(digests)):
        raise NotFound("No such checkout.")
    updated = [
        _update(session, found[digest], data, now)
        for digest, (_, data) in zip(digests, updates, strict=True)
    ]
    variants = shown(session, ids={line.variant_id for c in updated for line in c.lines})
    return [view(session, checkout, now, variants) for checkout in updated]


def _update(session: Session, checkout: Checkout, data: CheckoutUpdate, now: datetime) -> Checkout:
    _open(checkout)
    table = rates.load()
    errors = _set_details(checkout, data, table)
    if (codes := data.given_codes()) is not None:
        errors += discounts.choose(session, checkout, codes, now, data.code_field)
    if data.remember is not None:
        checkout.remember = data.remember
    if data.marketing_opt_in is not None:
        checkout.marketing_opt_in = data.marketing_opt_in
    if data.personalisation_opt_in is not None:
        checkout.personalisation_opt_in = data.personalisation_opt_in
    if errors:
        raise ValidationFailed("Some details need another look.", errors)
    redo_totals(session, checkout, table, now)
    checkout.updated_at = now
    return checkout


def _set_details(checkout: Checkout, data: BuyerDetails, table: rates.Rates) -> list[FieldError]:
    """The buyer's details given in ``data`` set on the checkout, each checked for the
    country (the address's, else the checkout's); what was wrong with them."""
    errors: list[FieldError] = []
    fields = data.model_fields_set
    country = data.shipping_address.country if data.shipping_address else country_of(checkout)
    if "email" in fields:
        checkout.email = str(data.email) if data.email else None
    if "phone" in fields:
        checkout.phone = None
        if data.phone:
            checkout.phone, found = contact.normalize_phone(data.phone, country, ("phone",))
            errors += found
    if data.shipping_address is not None:
        address, found = contact.normalize_postal(
            data.shipping_address.model_dump(), ("shipping_address",)
        )
        errors += found
        if address is not None:
            checkout.shipping_address = address
    if data.shipping_rate is not None:
        codes = [r.code for r in table.shipping_rates(country)]
        if data.shipping_rate not in codes:
            errors.append(FieldError(("shipping_rate",), f"one of {codes}"))
        else:
            checkout.shipping_rate = data.shipping_rate
    if "tax_id" in fields:
        checkout.tax_id = None
        if data.tax_id:
            try:
                checkout.tax_id = taxes.normalise_tax_id(data.tax_id, country or "")
            except ValidationFailed as exc:
                errors += exc.errors
    return errors


def reprice(session: Session, checkout: Checkout, now: datetime) -> bool:
    """Totals again from the current rates (a discount may have ended meanwhile); True
    when they changed."""
    return _reprice(session, checkout, rates.load(), now)


def redo_totals(session: Session, checkout: Checkout, table: rates.Rates, now: datetime) -> None:
    """The buyer's details changed: a shipping method their country has, fresh totals."""
    _choose_default_shipping(checkout, table)
    _reprice(session, checkout, table, now)


def _reprice(session: Session, checkout: Checkout, table: rates.Rates, now: datetime) -> bool:
    """Price the checkout; only what changed is written (nothing, mostly, when paying)."""
    country = country_of(checkout)
    shipping = next(
        (r for r in table.shipping_rates(country) if r.code == checkout.shipping_rate), None
    )
    # In a market: its taxes (each line's category) and duties (markets.taxes, .duties).
    here = market_pricing.in_market(session, checkout, table, country)
    priced = [
        pricing.PricedLine(ln.unit_price, ln.quantity, rate=here.line_rates[i] if here else None)
        for i, ln in enumerate(checkout.lines)
    ]
    offers = discounts.applied(
        session,
        checkout.codes,
        _offer_lines(session, checkout),
        checkout.currency,
        table,
        checkout.market,
    )
    totals = pricing.price(
        priced,
        checkout.currency,
        table,
        discount=pricing.Discount(
            tuple(map(sum, zip(*(a.lines for _, a in offers), strict=True))),
            any(a.free_shipping for _, a in offers),
        )
        if offers
        else None,
        shipping=shipping,
        tax=here.tax
        if here
        else table.tax_for(country, (checkout.shipping_address or {}).get("region")),
    )
    found = {
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "shipping_total": totals.shipping_total,
        "tax_total": totals.tax_total,
        "taxes_included": totals.taxes_included,
        "total": totals.total,
    }
    if here:
        landed = here.landed(checkout, priced, table, country)
        found |= {
            "duties_total": landed.duties,
            "duties_mode": here.market.duties,
            "duties_known": landed.known,
            "tax_reason": here.tax.reason if here.tax else None,
        }
        if here.market.duties == "ddp":
            found["total"] += landed.duties
    # Each code with what it took off, as shown and as its redemption records it.
    found["discount_codes"] = [
        {"code": code, "amount": a.amount, "free_shipping": a.free_shipping} for code, a in offers
    ]
    changed = False
    for line, done in zip(checkout.lines, priced, strict=True):
        if (line.discount, line.tax) != (done.discount, done.tax):
            line.discount, line.tax = done.discount, done.tax
            changed = True
    for name, value in found.items():
        if getattr(checkout, name) != value:
            setattr(checkout, name, value)
            changed = True
    if changed:
        checkout.updated_at = now
    return changed


def _offer_lines(session: Session, checkout: Checkout) -> list[OfferLine]:
    """The checkout's lines as an offer's scope reads them (with their products), only
    when it has a code."""
    if not checkout.discount_codes:
        return []
    products = dict(
        session.execute(
            select(Variant.id, Variant.product_id).where(
                Variant.id.in_({ln.variant_id for ln in checkout.lines})
            )
        ).all()
    )
    return [
        OfferLine(ln.variant_id, products.get(ln.variant_id), ln.unit_price, ln.quantity)
        for ln in checkout.lines
    ]


def renew_hold(
    session: Session, checkout: Checkout, now: datetime, hold: Hold | None = None
) -> None:
    """Hold the stock again after the hold lapsed, or say that it is gone. ``hold``: the
    hold as read with the checkout (``locked``); only its word that the hold is alive is
    taken: a lock that waited for another transaction read the hold as of before it, so
    a lapsed-looking one is read again here."""
    if hold is None or not hold.holds_at(now):
        held = stock.get_reservation(session, checkout.reservation_id)
        hold = Hold(held.status, held.expires_at)
    if hold.holds_at(now):
        return
    checkout.holds += 1
    try:
        _hold(session, checkout, now)
    except InsufficientStock:
        raise CheckoutExpired(
            "Your items were held for 15 minutes and some sold out meanwhile."
        ) from None
    checkout.status = "open"  # the sweeper may have expired it


# ---------------------------------------------------------------- expiry


def client_of_order(session: Session, order_id: str) -> dict:
    """What the request that paid the order's checkout said of the buyer's client
    (``web.clients``: IP address, user agent, device), or nothing for an order placed
    some other way."""
    attribution = session.scalar(select(Checkout.attribution).where(Checkout.order_id == order_id))
    return (attribution or {}).get("_client") or {}


def expired_unpaid(admission_ticket):
    """An EXISTS clause: a checkout started with ``admission_ticket`` (a column or value)
    expired unpaid, so the live drop's gate may have its units back."""
    return (
        select(Checkout.id)
        .where(Checkout.admission_ticket == admission_ticket, Checkout.status == "expired")
        .exists()
    )


def expire_lapsed(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Mark open checkouts whose hold lapsed as expired and give their stock back."""
    now = now or utcnow()
    lapsed = list(
        session.scalars(
            select(Checkout)
            .where(Checkout.status == "open", Checkout.expires_at <= now)
            .order_by(Checkout.expires_at)
            .limit(limit)
            .with_for_update()
        )
    )
    discounts.release(session, [c.id for c in lapsed if c.discount_codes], now)
    for checkout in lapsed:
        if checkout.reservation_id:
            stock.release(session, checkout.reservation_id, actor=CHANNEL, now=now)
        checkout.status, checkout.updated_at = "expired", now
    session.flush()
    return len(lapsed)
