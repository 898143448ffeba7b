"""Bulk edit of selected variants: a price change by a percentage and a status, every
selected variant or none, through the same plan-and-apply path as any product update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog import service
from mercato.catalog.models import Variant
from mercato.catalog.schemas import ProductUpdate, Status
from mercato.errors import FieldError, ValidationFailed
from mercato.money import round_minor, to_decimal

MAX_VARIANTS = 1000


@dataclass(frozen=True)
class BulkEdit:
    variant_ids: Sequence[str]
    # -10 lowers each price by 10 %; None leaves prices alone.
    percent: Decimal | None = None
    # The products of the selected variants take this status; None leaves it.
    status: Status | None = None


def changed_price(minor: int, currency: str, percent: Decimal) -> int:
    """``minor`` changed by ``percent``, rounded to the currency's minor unit, never
    below zero."""
    return max(0, round_minor(to_decimal(minor, currency) * (100 + percent) / 100, currency))


def edit_variants(session: Session, edit: BulkEdit) -> int:
    """Apply ``edit`` to every selected variant (one product update each product, so one
    product.updated event each); returns how many variants were edited."""
    errors = []
    wanted = list(dict.fromkeys(edit.variant_ids))
    if not wanted:
        errors.append(FieldError(("variant_ids",), "select at least one variant"))
    elif len(wanted) > MAX_VARIANTS:
        errors.append(FieldError(("variant_ids",), f"at most {MAX_VARIANTS} variants at once"))
    if edit.percent is None and edit.status is None:
        errors.append(FieldError(("percent",), "give a price change or a status"))
    elif edit.percent is not None and not (
        edit.percent.is_finite() and -100 <= edit.percent <= 1000
    ):
        errors.append(FieldError(("percent",), "a change between -100 % and +1000 %"))
    if edit.status is not None and edit.status not in get_args(Status):
        errors.append(FieldError(("status",), f"{edit.status!r} is not one of {get_args(Status)}"))
    found = dict(
        session.execute(select(Variant.id, Variant.product_id).where(Variant.id.in_(wanted))).all()
    )
    errors += [FieldError(("variant_ids",), f"no variant {v!r}") for v in wanted if v not in found]
    if errors:
        raise ValidationFailed("The selected variants cannot be edited.", errors)
    selected = set(wanted)
    for product in service.get_products(session, sorted(set(found.values()))):
        fields = {} if edit.status is None else {"status": edit.status}
        if edit.percent is not None:
            variants = [service.variant_input(v) for v in product.variants]
            for variant in variants:
                if variant.id in selected:
                    variant.price = changed_price(variant.price, variant.currency, edit.percent)
            fields["variants"] = variants
        service.update_product(session, product.id, ProductUpdate(**fields))
    return len(wanted)
