"""Which offers may be applied together, the one rule for every head (a checkout's codes,
a till's ticket): each offer has a discount class read from its kind and scope, and
says which classes it combines with; two offers go together only if each allows the
other's class. Two codes of one offer never stack.

Classes (as Shopify has them): ``product`` takes money off some items (an offer scoped
to products, variants or collections; buy X get Y; a bundle), ``order`` off the whole
order (an unscoped percentage, fixed amount or tier), ``shipping`` off its shipping.
Together they apply in that order (``rules.priced_together``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mercato.offers.models import Offer

CLASSES = ("product", "order", "shipping")
# How many codes one checkout takes (as Shopify).
MAX_CODES = 5


def class_of(offer: Offer) -> str:
    return offer.discount_class


def combines_with(offer: Offer, cls: str) -> bool:
    return bool(getattr(offer, f"combines_with_{cls}"))


def flags(combinable: bool) -> dict[str, bool]:
    """Every class or none (the old single yes/no)."""
    return {f"combines_with_{cls}": combinable for cls in CLASSES}


@dataclass(frozen=True)
class Applied:
    """An offer already on the checkout or ticket, by the code that brought it."""

    code: str
    offer: Offer


def conflict(new: Offer, code: str, other: Applied) -> str | None:
    """Why ``new`` (by ``code``) may not go with ``other``; None: it may."""
    if new.id == other.offer.id:
        return f"is for the same offer as {other.code}, already applied"
    mine, theirs = class_of(new), class_of(other.offer)
    if not combines_with(new, theirs):
        return f"cannot be combined with {other.code}: it does not combine with {theirs} discounts"
    if not combines_with(other.offer, mine):
        return (
            f"cannot be combined with {other.code}: {other.code} does not combine with "
            f"{mine} discounts"
        )
    return None


def refusal(new: Offer, code: str, applied: Sequence[Applied]) -> str | None:
    """Why ``new`` may not join the offers ``applied`` (the first that conflicts)."""
    for other in applied:
        if other.code == code:
            continue
        if (why := conflict(new, code, other)) is not None:
            return why
    return None


def in_order(offers: Sequence[Offer]) -> list[int]:
    """The positions of ``offers`` in the order they apply: product discounts on the
    items first, then order discounts on what is left, then shipping (stable within a
    class: the order the codes were entered)."""
    return sorted(range(len(offers)), key=lambda i: CLASSES.index(class_of(offers[i])))
