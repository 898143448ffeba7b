"""The checkout's side of offers (``mercato.offers``): a code the buyer enters is checked
for them and this channel, priced on the checkout's lines (fixed amounts converted to
its currency), its slot held while the buyer pays (``hold``, before any money moves),
made good with the order (``redeemed``) and given back when the checkout lapses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from mercato.checkout import rates
from mercato.checkout.models import Checkout
from mercato.db import utcnow
from mercato.errors import ValidationFailed
from mercato.offers import pricing as offer_pricing
from mercato.offers import redemptions, rules
from mercato.offers.models import Offer, OfferCode


def channel_of(checkout: Checkout | None) -> str:
    """A checkout reached from a link sent in a conversation redeems in the inbox."""
    if checkout is not None and (checkout.attribution or {}).get("conversation_id"):
        return "inbox"
    return "storefront"


def buyer_of(checkout: Checkout) -> rules.Buyer:
    return rules.Buyer(checkout.customer_id, checkout.email or checkout.phone)


def find_usable(session: Session, code: str, checkout: Checkout | None, now: datetime) -> OfferCode:
    """The code if this checkout's buyer may use it here; else a field error."""
    buyer = buyer_of(checkout) if checkout is not None else rules.Buyer()
    market = checkout.market if checkout is not None else rules.ANY_MARKET
    return redemptions.usable(session, code, channel_of(checkout), buyer, now, market).code


def applied(
    session: Session,
    code: str | None,
    lines: Sequence[offer_pricing.Line],
    currency: str,
    table: rates.Rates,
    market: str | None = None,
) -> offer_pricing.Applied | None:
    """What the code's offer takes off these lines in ``market`` (None: no code, or no
    such code)."""
    if not code:
        return None
    found = session.get(OfferCode, code)
    offer = session.get(Offer, found.offer_id) if found is not None else None
    if offer is None:
        return None
    return rules.priced(session, offer, lines, currency, table.convert, market)


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
    """Before the buyer pays: the code's slot taken for this checkout (kept if taken by an
    earlier attempt), any other code's given back. False when the code can no longer be
    used (run out meanwhile, or not for this buyer): it comes off the checkout and the
    caller prices it again, so the buyer sees the new total and nothing is charged."""
    for held in redemptions.of_checkout(session, [checkout.id]):
        if held.code != checkout.discount_code:
            redemptions.void(session, held, now, why="code changed")
    if not checkout.discount_code:
        return True
    try:
        redemptions.redeem(
            session,
            checkout.discount_code,
            channel=channel_of(checkout),
            reference=checkout.id,
            buyer=buyer_of(checkout),
            status="held",
            amount=checkout.discount_total,
            subtotal=checkout.subtotal,
            currency=checkout.currency,
            checkout_id=checkout.id,
            market=checkout.market,
            now=now,
        )
    except redemptions.Refused:
        checkout.discount_code = None
        return False
    return True


def redeemed(session: Session, checkout: Checkout, order_id: str, now: datetime) -> None:
    """The order is placed: the held slot is made good. A code not held (a path that
    skipped ``hold``) is redeemed now, or the order is refused (its charge goes back)."""
    code = checkout.discount_code
    if not code:
        return
    active = [r for r in redemptions.of_checkout(session, [checkout.id]) if r.code == code]
    if any(r.status == "redeemed" for r in active):
        return
    held = [r for r in active if r.status == "held"] or [
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
            amount=checkout.discount_total,
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
