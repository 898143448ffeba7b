"""Redeeming a code, the one way for every head (storefront checkout, inbox links, the
till, offline imports): validate, take a slot, confirm, void.

A slot is taken by conditional UPDATEs of the counters, in one order everywhere (the
code's row, the offer's, the buyer's): ``used = used + 1 WHERE used < max_uses``, each
row count checked, the ones already taken given back if a later one is full. No read
decides a cap: the database does, as for stock. A voided redemption gives its slots back.
Every change writes its event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mercato.db import new_id, utcnow
from mercato.errors import Conflict, FieldError, NotFound, ValidationFailed
from mercato.events import service as events
from mercato.inserts import insert_or_ignore
from mercato.offers import combining, rules
from mercato.offers.models import Offer, OfferCode, OfferCustomerUse, Redemption
from mercato.offers.rules import Buyer

ACTIVE = ("held", "redeemed")


class Refused(Conflict):
    slug = "offer-refused"
    title = "Code not redeemable"


@dataclass(frozen=True)
class Found:
    offer: Offer
    code: OfferCode


def find(session: Session, code: str) -> Found:
    row = session.execute(
        select(Offer, OfferCode)
        .join(OfferCode, OfferCode.offer_id == Offer.id)
        .where(OfferCode.code == rules.normalize(code))
    ).first()
    if row is None:
        raise NotFound(f"The code {code.strip()!r} is not valid.")
    return Found(*row)


def usable(
    session: Session,
    code: str,
    channel: str,
    buyer: Buyer,
    now: datetime | None = None,
    market: str | None = None,
) -> Found:
    """The code and its offer if this buyer may redeem it here now, in ``market`` (caps
    as last read); else a field error on ``discount_code``, as a buyer's form shows it."""
    now = now or utcnow()
    try:
        found = find(session, code)
        why = rules.refusal(session, found.offer, found.code, channel, buyer, now, market)
    except NotFound:
        why = "is not a valid code"
    if why is not None:
        raise ValidationFailed(
            f"The code {code.strip()!r} {why}.", [FieldError(("discount_code",), why)]
        )
    return found


def remaining(found: Found) -> int | None:
    left = [
        cap - used
        for cap, used in (
            (found.code.max_uses, found.code.used),
            (found.offer.max_uses, found.offer.used),
        )
        if cap is not None
    ]
    return min(left) if left else None


# ---------------------------------------------------------------- taking a slot


def redeem(
    session: Session,
    code: str,
    *,
    channel: str,
    reference: str,
    buyer: Buyer = Buyer(),
    status: str = "redeemed",
    amount: int = 0,
    subtotal: int = 0,
    currency: str | None = None,
    checkout_id: str | None = None,
    order_id: str | None = None,
    location_id: str | None = None,
    terminal_id: str | None = None,
    market: str | None = None,
    now: datetime | None = None,
) -> Redemption:
    """Redeem ``code`` for ``reference`` (a checkout, a ticket, an imported row) in
    ``market`` (None: in none): the redemption already made for it if any (a retry
    redeems once); else a slot under every cap, or ``Refused`` saying why."""
    now = now or utcnow()
    normal = rules.normalize(code)
    earlier = session.scalar(
        select(Redemption).where(
            Redemption.channel == channel,
            Redemption.reference == reference,
            Redemption.code == normal,
        )
    )
    if earlier is not None and earlier.status in ACTIVE:
        return earlier
    try:
        found = find(session, normal)
    except NotFound:
        raise Refused(
            f"The code {code.strip()!r} is not valid.", extra={"reason": "unknown"}
        ) from None
    offer = found.offer
    why = rules.refusal(session, offer, found.code, channel, buyer, now, market)
    if why is None:
        why = _not_combinable(session, offer, channel, reference, normal)
    if why is None:
        why = _take(session, offer, normal, buyer.key)
    if why is not None:
        raise Refused(f"The code {normal} {why}.", extra={"reason": why})
    if buyer.key and offer.per_customer is not None and buyer.customer_id:
        session.execute(
            update(OfferCustomerUse)
            .where(
                OfferCustomerUse.offer_id == offer.id,
                OfferCustomerUse.customer_key == buyer.key,
            )
            .values(customer_id=buyer.customer_id)
            .execution_options(synchronize_session=False)
        )
    values = dict(
        offer_id=offer.id,
        status=status,
        customer_key=buyer.key,
        customer_id=buyer.customer_id,
        checkout_id=checkout_id,
        order_id=order_id,
        amount=amount,
        subtotal=subtotal,
        currency=currency.upper() if currency else None,
        location_id=location_id,
        terminal_id=terminal_id,
        created_at=now,
        redeemed_at=now if status == "redeemed" else None,
        voided_at=None,
    )
    if earlier is not None:  # voided before: taken again
        for name, value in values.items():
            setattr(earlier, name, value)
        redemption = earlier
    else:
        redemption = Redemption(
            id=new_id("red"), code=normal, channel=channel, reference=reference, **values
        )
        session.add(redemption)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("This code is being redeemed for the same reference; retry.") from None
    events.record(session, f"redemption.{status}", payload(redemption), key=redemption.id)
    return redemption


def lock_reference(session: Session, channel: str, reference: str) -> None:
    """Until commit, the only writer of this checkout's or ticket's redemptions (on
    PostgreSQL an advisory lock, taken again at no cost; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"redemptions:{channel}:{reference}"},
        )


def _not_combinable(
    session: Session, offer: Offer, channel: str, reference: str, code: str
) -> str | None:
    """The codes already redeemed for this checkout or ticket must each go with this one
    (``combining``: the same rule as when a buyer adds a code). Redemptions for one
    reference wait for each other here (on PostgreSQL a lock until commit; SQLite has one
    writer at a time), so two codes sent at once cannot both pass without seeing the
    other."""
    lock_reference(session, channel, reference)
    others = session.execute(
        select(Redemption.code, Offer)
        .join(Offer, Offer.id == Redemption.offer_id)
        .where(
            Redemption.channel == channel,
            Redemption.reference == reference,
            Redemption.code != code,
            Redemption.status.in_(ACTIVE),
        )
        .order_by(Redemption.created_at, Redemption.id)
    ).all()
    return combining.refusal(offer, code, [combining.Applied(c, o) for c, o in others])


def _take(session: Session, offer: Offer, code: str, customer_key: str | None) -> str | None:
    """Take one slot of the code, the offer and the buyer, in that order; None when all
    were taken, else why not (and the ones taken are given back)."""
    if not _bump(session, OfferCode, OfferCode.code == code):
        return "has been used up"
    if not _bump(session, Offer, Offer.id == offer.id):
        _unbump(session, OfferCode, OfferCode.code == code)
        return "has run out"
    if customer_key is not None and offer.per_customer is not None:
        session.execute(
            insert_or_ignore(session, OfferCustomerUse, ("offer_id", "customer_key")).values(
                offer_id=offer.id, customer_key=customer_key, used=0
            )
        )
        mine = and_(
            OfferCustomerUse.offer_id == offer.id, OfferCustomerUse.customer_key == customer_key
        )
        taken = session.execute(
            update(OfferCustomerUse)
            .where(mine, OfferCustomerUse.used < offer.per_customer)
            .values(used=OfferCustomerUse.used + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            _unbump(session, Offer, Offer.id == offer.id)
            _unbump(session, OfferCode, OfferCode.code == code)
            return "was already used as many times as one customer may"
    return None


def _bump(session: Session, model, where) -> bool:
    capped = or_(model.max_uses.is_(None), model.used < model.max_uses)
    done = session.execute(
        update(model)
        .where(where, capped)
        .values(used=model.used + 1)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def _unbump(session: Session, model, where) -> None:
    session.execute(
        update(model)
        .where(where, model.used > 0)
        .values(used=model.used - 1)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- after


def confirm(
    session: Session,
    redemption: Redemption,
    *,
    order_id: str | None,
    amount: int,
    subtotal: int,
    now: datetime | None = None,
) -> Redemption:
    """A held redemption made good (its checkout's order placed)."""
    now = now or utcnow()
    redemption.status, redemption.order_id = "redeemed", order_id
    redemption.amount, redemption.subtotal, redemption.redeemed_at = amount, subtotal, now
    events.record(session, "redemption.redeemed", payload(redemption), key=redemption.id)
    return redemption


def void(
    session: Session, redemption: Redemption, now: datetime | None = None, *, why: str = ""
) -> Redemption:
    """Give the redemption's slots back (the undo of ``redeem``); voiding twice is one."""
    if redemption.status == "voided":
        return redemption
    now = now or utcnow()
    offer = session.get(Offer, redemption.offer_id)
    _unbump(session, OfferCode, OfferCode.code == redemption.code)
    _unbump(session, Offer, Offer.id == redemption.offer_id)
    if redemption.customer_key and offer is not None and offer.per_customer is not None:
        _unbump(
            session,
            OfferCustomerUse,
            and_(
                OfferCustomerUse.offer_id == redemption.offer_id,
                OfferCustomerUse.customer_key == redemption.customer_key,
            ),
        )
    redemption.status, redemption.voided_at = "voided", now
    events.record(
        session, "redemption.voided", {**payload(redemption), "why": why}, key=redemption.id
    )
    return redemption


def get(session: Session, redemption_id: str, *, lock: bool = False) -> Redemption:
    found = session.get(Redemption, redemption_id, with_for_update=lock or None)
    if found is None:
        raise NotFound(f"No redemption {redemption_id!r}.")
    return found


def of_checkout(session: Session, checkout_ids, *, lock: bool = False) -> list[Redemption]:
    query = select(Redemption).where(
        Redemption.checkout_id.in_(list(checkout_ids)), Redemption.status.in_(ACTIVE)
    )
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query.order_by(Redemption.id)))


def payload(redemption: Redemption) -> dict:
    return {
        "redemption_id": redemption.id,
        "offer_id": redemption.offer_id,
        "code": redemption.code,
        "channel": redemption.channel,
        "reference": redemption.reference,
        "status": redemption.status,
        "amount": redemption.amount,
        "subtotal": redemption.subtotal,
        "currency": redemption.currency,
        "order_id": redemption.order_id,
        "checkout_id": redemption.checkout_id,
        "location_id": redemption.location_id,
        "terminal_id": redemption.terminal_id,
    }
