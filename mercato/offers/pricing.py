"""What an offer takes off a cart: pure functions over integer minor units.

Each line gets its exact share (they add up to the discount); a line outside the offer's
scope gets nothing. Fixed amounts and tier thresholds are converted to the cart's
currency by the caller's ``convert`` (the checkout's rates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

Convert = Callable[[int, str, str], int]


@dataclass(frozen=True)
class Line:
    variant_id: str
    product_id: str | None
    unit_price: int
    quantity: int

    @property
    def gross(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Terms:
    """An offer as pricing reads it (``rules.terms_of`` makes one from a row)."""

    kind: str
    value: int = 0
    currency: str | None = None
    tiers: tuple[dict, ...] = ()
    buy_quantity: int | None = None
    get_quantity: int | None = None
    product_ids: frozenset[str] = frozenset()
    variant_ids: frozenset[str] = frozenset()
    min_subtotal: int | None = None


@dataclass(frozen=True)
class Applied:
    """What the offer takes off each line, and whether shipping is free."""

    lines: tuple[int, ...]
    free_shipping: bool = False
    why_not: str | None = None

    @property
    def amount(self) -> int:
        return sum(self.lines)


def whole(minor: Decimal) -> int:
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` in proportion to ``weights`` (largest remainder): exact parts."""
    total = sum(weights)
    if not total or not amount:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: -(amount * weights[i] % total))
    for i in remainders[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def in_scope(terms: Terms, line: Line) -> bool:
    if not terms.product_ids and not terms.variant_ids:
        return True
    return line.variant_id in terms.variant_ids or line.product_id in terms.product_ids


def apply(terms: Terms, lines: Sequence[Line], currency: str, convert: Convert) -> Applied:
    eligible = [in_scope(terms, ln) for ln in lines]
    weights = [ln.gross if ok else 0 for ln, ok in zip(lines, eligible, strict=True)]
    base = sum(weights)
    none = (0,) * len(lines)
    if not base:
        return Applied(none, why_not="applies to none of these items")
    if terms.min_subtotal is not None:
        floor = convert(terms.min_subtotal, terms.currency or currency, currency)
        if base < floor:
            return Applied(none, why_not="the items it applies to do not reach its minimum")
    if terms.kind == "free_shipping":
        return Applied(none, free_shipping=True)
    if terms.kind == "percentage":
        amount = whole(Decimal(base) * terms.value / 100)
    elif terms.kind == "fixed":
        amount = convert(terms.value, terms.currency or currency, currency)
    elif terms.kind == "tiered":
        tier = _tier(terms, base, currency, convert)
        if tier is None:
            return Applied(none, why_not="the items it applies to reach none of its tiers")
        if "percentage" in tier:
            amount = whole(Decimal(base) * int(tier["percentage"]) / 100)
        else:
            amount = convert(int(tier["amount"]), terms.currency or currency, currency)
    elif terms.kind == "buy_x_get_y":
        return _buy_x_get_y(terms, lines, eligible)
    else:
        raise ValueError(f"unknown offer kind {terms.kind!r}")
    return Applied(tuple(spread(min(amount, base), weights)))


def _tier(terms: Terms, base: int, currency: str, convert: Convert) -> dict | None:
    reached = [
        t
        for t in terms.tiers
        if convert(int(t["min_subtotal"]), terms.currency or currency, currency) <= base
    ]
    return max(reached, key=lambda t: int(t["min_subtotal"]), default=None)


def _buy_x_get_y(terms: Terms, lines: Sequence[Line], eligible: list[bool]) -> Applied:
    """Every ``buy + get`` units in scope, dearest first: the ``get`` cheapest of each
    group come ``value`` percent off (100: free)."""
    buy, get = terms.buy_quantity or 1, terms.get_quantity or 1
    units = sorted(
        (
            (ln.unit_price, i)
            for i, ln in enumerate(lines)
            if eligible[i]
            for _ in range(ln.quantity)
        ),
        key=lambda u: -u[0],
    )
    off = [0] * len(lines)
    group = buy + get
    for start in range(0, len(units) - group + 1, group):
        for price, index in units[start + buy : start + group]:
            off[index] += whole(Decimal(price) * terms.value / 100)
    if not any(off):
        return Applied(tuple(off), why_not=f"buy {buy} to get {get}")
    return Applied(tuple(off))
