"""The checkout's side of offers (``mercato.offers``): the codes the buyer enters (up to
``combining.MAX_CODES``) are checked for them and this channel and against each other
(``combining``), priced together on the checkout's lines (fixed amounts converted to its
currency), their slots held while the buyer pays (``hold``, before any money moves),
made good with the order (``redeemed``) and given back when the checkout lapses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.checkout import rates
from mercato.checkout.models import Checkout
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.offers import combining, redemptions, rules
from mercato.offers import pricing as offer_pricing
from mercato.offers.models import Offer, OfferCode


def channel_of(checkout: Checkout | None) -> str:
    """A checkout reached from a link sent in a conversation redeems in the inbox."""
    if checkout is not None and (checkout.attribution or {}).get("conversation_id"):
        return "inbox"
    return "storefront"


def buyer_of(checkout: Checkout) -> rules.Buyer:
    return rules.Buyer(checkout.customer_id, checkout.email or checkout.phone)


def choose(
    session: Session,
    checkout: Checkout,
    codes: Sequence[str],
    now: datetime,
    field: Callable[[int], tuple] = lambda i: ("discount_codes", i),
) -> list[FieldError]:
    """The checkout's codes become ``codes`` (the same code twice counts once), each
    usable by this buyer here and combining with the ones before it (``combining``, the
    till's rule too); else what was wrong with each, under ``field(index)``, and the
    checkout's codes are left as they were."""
    buyer, channel = buyer_of(checkout), channel_of(checkout)
    chosen: list[combining.Applied] = []
    errors: list[FieldError] = []
    for index, code in enumerate(codes):
        normal = rules.normalize(code)
        if not normal or any(a.code == normal for a in chosen):
            continue
        try:
            found = redemptions.usable(session, normal, channel, buyer, now, checkout.market)
        except ValidationFailed as exc:
            errors += [FieldError(field(index), e.message) for e in exc.errors]
            continue
        why = combining.refusal(found.offer, normal, chosen)
        if why is None and len(chosen) >= combining.MAX_CODES:
            why = f"is one code too many: at most {combining.MAX_CODES} apply together"
        if why is not None:
            errors.append(FieldError(field(index), f"{normal} {why}", "not_combinable"))
            continue
        chosen.append(combining.Applied(normal, found.offer))
    if not errors:
        checkout.discount_codes = [
            {"code": a.code, "amount": 0, "free_shipping": False} for a in chosen
        ]
    return errors


def applied(
    session: Session,
    codes: Sequence[str],
    lines: Sequence[offer_pricing.Line],
    currency: str,
    table: rates.Rates,
    market: str | None = None,
) -> list[tuple[str, offer_pricing.Applied]]:
    """What each code's offer takes off these lines in ``market``, applied together
    (product discounts, then order, then shipping); a code no longer known is left out."""
    if not codes:
        return []
    offers = dict(
        session.execute(
            select(OfferCode.code, Offer)
            .join(Offer, Offer.id == OfferCode.offer_id)
            .where(OfferCode.code.in_(list(codes)))
        ).all()
    )
    known = [c for c in codes if c in offers]
    done = rules.priced_together(
        session, [offers[c] for c in known], lines, currency, table.convert, market
    )
    return list(zip(known, done, strict=True))


def discount_preview(
    session: Session,
    code: str,
    currency: str,
    lines: Sequence[offer_pricing.Line],
    now: datetime | None = None,
) -> tuple[int, str | None]:
    """What ``code`` would take off these lines (a cart shown before any checkout exists):
    (amount, None), or (0, why it does not apply)."""
    try:
        found = redemptions.usable(
            session, code, "storefront", rules.Buyer(), now or utcnow(), rules.ANY_MARKET
        )
    except ValidationFailed as exc:
        return 0, exc.detail
    done = rules.priced(session, found.offer, lines, currency, rates.load().convert)
    return done.amount, done.why_not


def hold(session: Session, checkout: Checkout, now: datetime) -> bool:
    """Before the buyer pays: each code's slot taken for this checkout (kept if taken by
    an earlier attempt), a code no longer applied given back. False when a code can no
    longer be used (run out meanwhile, or not for this buyer): it comes off the checkout
    and the caller prices it again, so the buyer sees the new total and nothing is
    charged."""
    codes = checkout.codes
    for held in redemptions.of_checkout(session, [checkout.id]):
        if held.code not in codes:
            redemptions.void(session, held, now, why="code changed")
    kept = []
    for entry in checkout.discount_codes:
        try:
            redemptions.redeem(
                session,
                entry["code"],
                channel=channel_of(checkout),
                reference=checkout.id,
                buyer=buyer_of(checkout),
                status="held",
                amount=entry["amount"],
                subtotal=checkout.subtotal,
                currency=checkout.currency,
                checkout_id=checkout.id,
                market=checkout.market,
                now=now,
            )
        except redemptions.Refused:
            continue
        kept.append(entry)
    if len(kept) == len(checkout.discount_codes):
        return True
    checkout.discount_codes = kept
    return False


def redeemed(session: Session, checkout: Checkout, order_id: str, now: datetime) -> None:
    """The order is placed: each held slot is made good, with what its code took off. A
    code not held (a path that skipped ``hold``) is redeemed now, or the order is refused
    (its charge goes back)."""
    if not checkout.discount_codes:
        return
    active = redemptions.of_checkout(session, [checkout.id])
    for entry in checkout.discount_codes:
        code = entry["code"]
        mine = [r for r in active if r.code == code]
        if any(r.status == "redeemed" for r in mine):
            continue
        held = [r for r in mine if r.status == "held"] or [
            redemptions.redeem(
                session,
                code,
                channel=channel_of(checkout),
                reference=checkout.id,
                buyer=buyer_of(checkout),
                status="held",
                checkout_id=checkout.id,
                currency=checkout.currency,
                market=checkout.market,
                now=now,
            )
        ]
        for redemption in held:
            redemptions.confirm(
                session,
                redemption,
                order_id=order_id,
                amount=entry["amount"],
                subtotal=checkout.subtotal,
                now=now,
            )


def release(session: Session, checkout_ids: Sequence[str], now: datetime) -> None:
    """Lapsed checkouts give their held slots back."""
    if not checkout_ids:
        return
    for held in redemptions.of_checkout(session, checkout_ids):
        if held.status == "held":
            redemptions.void(session, held, now, why="checkout expired")
