"""Discount codes: made by the merchant, checked when a buyer enters one (active, within
its dates), and what one takes off as ``pricing`` applies it (a fixed amount converted
to the checkout's currency)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.checkout import pricing, rates
from mercato.checkout.models import DiscountCode
from mercato.checkout.schemas import DiscountCreate
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed


def create_discount(session: Session, data: DiscountCreate) -> DiscountCode:
    errors = []
    if data.kind == "percentage" and data.value > 100:
        errors.append(FieldError(("value",), "a percentage is at most 100"))
    if data.kind == "fixed" and not data.currency:
        errors.append(FieldError(("currency",), "a fixed discount needs its currency"))
    if session.get(DiscountCode, data.code.upper()) is not None:
        errors.append(FieldError(("code",), "already exists", "taken"))
    if errors:
        raise ValidationFailed("The discount code cannot be created.", errors)
    code = DiscountCode(
        code=data.code.upper(),
        kind=data.kind,
        value=data.value,
        currency=data.currency.upper() if data.currency else None,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        note=data.note,
        active=True,
    )
    session.add(code)
    session.flush()
    return code


def list_discounts(session: Session) -> list[DiscountCode]:
    return list(session.scalars(select(DiscountCode).order_by(DiscountCode.code)))


def find_usable(session: Session, code: str, currency: str, now: datetime) -> DiscountCode:
    found = session.get(DiscountCode, code.strip().upper())
    usable = (
        found is not None
        and found.active
        and (found.starts_at is None or found.starts_at <= now)
        and (found.ends_at is None or now < found.ends_at)
    )
    if not usable:
        raise ValidationFailed(
            f"The code {code.strip()!r} is not valid.",
            [FieldError(("discount_code",), "is not a valid code")],
        )
    return found


def discount_preview(
    session: Session, code: str, currency: str, subtotal: int, now: datetime | None = None
) -> tuple[int, str | None]:
    """What ``code`` would take off ``subtotal`` (a cart shown before any checkout exists):
    (amount, None), or (0, why it does not apply)."""
    try:
        found = find_usable(session, code, currency, now or utcnow())
    except ValidationFailed as exc:
        return 0, exc.detail
    return pricing.discount_amount(as_priced(found, currency, rates.load()), subtotal), None


def as_priced(code: DiscountCode, currency: str, table: rates.Rates) -> pricing.Discount:
    value = (
        code.value
        if code.kind == "percentage"
        else table.convert(code.value, code.currency, currency)
    )
    return pricing.Discount(code.code, code.kind, value)
