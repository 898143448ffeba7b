"""The product page's form: read into the catalog's ``ProductUpdate`` and the stock counted
per location, and saved through the catalog and inventory services, the API's rules, in
the request's one transaction. Every refusal names its field as the form does
(``variants[0].barcode``), so the page shows it next to the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from pydantic import ValidationError
from sqlalchemy.orm import Session

from mercato.catalog import service as catalog
from mercato.catalog.models import Product
from mercato.catalog.schemas import ProductUpdate
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.inventory import availability, counts, locations
from mercato.inventory.locations import DEFAULT_LOCATION
from mercato.money import MoneyError, to_minor

Loc = tuple[str | int, ...]


@dataclass
class ProductEdit:
    update: ProductUpdate
    # (form field, variant id, location code, units counted there) of the changed counts.
    stock: list[tuple[Loc, str, str, int]] = field(default_factory=list)


def refusal(exc: ValidationError) -> ValidationFailed:
    """A schema's refusal as the services word theirs: one FieldError per field."""
    return ValidationFailed(
        "The product cannot be saved.",
        [FieldError(tuple(e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors()],
    )


def read_form(form, product: Product, on_hand: dict[tuple[str, str], int]) -> ProductEdit:
    """The posted form as an update of ``product``; ``on_hand``: (variant id, location
    code) -> units, the counts the form showed (a count left as shown is not written)."""
    errors: list[FieldError] = []

    def text(name: str, current):
        value = form.get(name)
        return current if value is None else str(value).strip()

    variants = []
    for index, variant in enumerate(product.variants):
        loc: Loc = ("variants", index)
        values = catalog.variant_input(variant).model_dump()
        values["option_values"] = [
            text(f"variants[{index}].option_values[{n}]", value)
            for n, value in enumerate(variant.option_values)
        ]
        for name in ("sku", "barcode"):
            values[name] = text(f"variants[{index}].{name}", getattr(variant, name)) or None
        for name in ("price", "compare_at_price"):
            typed = text(f"variants[{index}].{name}", None)
            if typed is None:
                continue
            try:
                values[name] = to_minor(typed, variant.currency) if typed else None
            except MoneyError as exc:
                errors.append(FieldError((*loc, name), str(exc)))
        weight = text(f"variants[{index}].weight", None)
        if weight is not None:
            try:
                values["weight"] = Decimal(weight) if weight else None
            except InvalidOperation:
                errors.append(FieldError((*loc, "weight"), f"{weight!r} is not a number"))
        variants.append(values)
    stock = []
    for index, variant in enumerate(product.variants):
        for (variant_id, location), shown in on_hand.items():
            if variant_id != variant.id:
                continue
            loc = ("stock", index, location)
            typed = text(f"stock[{index}].{location}", str(shown))
            if not typed.isdigit():
                errors.append(FieldError(loc, f"{typed!r} is not a count of units (0 or more)"))
            elif int(typed) != shown:
                stock.append((loc, variant.id, location, int(typed)))
    fields = {
        "title": text("title", product.title),
        "description_html": text("description_html", product.description_html),
        "status": text("status", product.status),
        "variants": variants,
    }
    try:
        update = ProductUpdate.model_validate(fields)
    except ValidationError as exc:
        errors += refusal(exc).errors
    if errors:
        raise ValidationFailed("The product cannot be saved.", errors)
    return ProductEdit(update, stock)


def stock_shown(session: Session, product: Product) -> tuple[list, dict[tuple[str, str], int]]:
    """The locations (the default one when none is used yet) and each variant's units on
    hand at each: (variant id, location code) -> units."""
    shown = locations.list_locations(session) or [
        SimpleNamespace(code=DEFAULT_LOCATION, name="Default location")
    ]
    levels = availability.read_stock(session, [v.id for v in product.variants])
    on_hand = {(v.id, where.code): 0 for v in product.variants for where in shown}
    for stock in levels.values():
        for level in stock.levels:
            on_hand[(stock.variant_id, level.location)] = level.on_hand
    return shown, on_hand


def save(session: Session, product_id: str, edit: ProductEdit, actor: str) -> None:
    """The catalog's update, then each changed count, in the caller's transaction (which
    the caller rolls back on any refusal: nothing half saved)."""
    catalog.update_product(session, product_id, edit.update)
    for loc, variant_id, location, units in edit.stock:
        try:
            counts.set_on_hand(
                session, {variant_id: units}, location, reason="dashboard edit", actor=actor
            )
        except MercatoError as exc:
            raise ValidationFailed(
                exc.detail,
                [FieldError(loc, e.message) for e in exc.errors] or [FieldError(loc, exc.detail)],
            ) from None
