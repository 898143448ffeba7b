"""What an offer takes off a cart: pure functions over integer minor units.

Each line gets its exact share (they add up to the discount); a line outside the offer's
scope gets nothing. Fixed amounts and tier thresholds are converted to the cart's
currency by the caller's ``convert`` (the checkout's rates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal

Convert = Callable[[int, str, str], int]


@dataclass(frozen=True)
class Line:
    variant_id: str
    product_id: str | None
    unit_price: int
    quantity: int
    # The collections holding the line's product (``rules.priced`` fills them in for an
    # offer scoped by collection).
    collections: frozenset[str] = frozenset()
    # What offers applied before this one already took off the line (``together``).
    taken: int = 0

    @property
    def gross(self) -> int:
        return self.unit_price * self.quantity

    @property
    def left(self) -> int:
        return max(0, self.gross - self.taken)


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
    collection_ids: frozenset[str] = frozenset()
    min_subtotal: int | None = None
    bundle: tuple[dict, ...] = ()


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
    if not (terms.product_ids or terms.variant_ids or terms.collection_ids):
        return True
    return (
        line.variant_id in terms.variant_ids
        or line.product_id in terms.product_ids
        or bool(terms.collection_ids & line.collections)
    )


def apply(terms: Terms, lines: Sequence[Line], currency: str, convert: Convert) -> Applied:
    eligible = [in_scope(terms, ln) for ln in lines]
    weights = [ln.left if ok else 0 for ln, ok in zip(lines, eligible, strict=True)]
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
    elif terms.kind == "bundle":
        return _bundle(terms, lines, currency, convert)
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


def _bundle(terms: Terms, lines: Sequence[Line], currency: str, convert: Convert) -> Applied:
    """As many whole bundles as the cart holds, each sold for the bundle's price (converted
    to the cart's currency): each bundle takes off what its units cost minus that price.
    Units are taken dearest first (a product item takes any of its variants; items naming
    a variant are filled before items naming a product), so the first bundle saves the
    most; a bundle that would not cost less than its units is not made. The discount is
    spread over the lines in proportion to what their units put into bundles."""
    price = convert(terms.value, terms.currency or currency, currency)
    none = (0,) * len(lines)
    items = sorted(terms.bundle, key=lambda item: not item.get("variant_id"))
    left = [ln.quantity for ln in lines]
    put_in = [0] * len(lines)
    amount = made = 0
    while (units := _one_bundle(items, lines, left)) is not None:
        worth = sum(lines[i].unit_price for i in units)
        if worth <= price:
            break
        amount, made = amount + worth - price, made + 1
        for i in units:
            left[i] -= 1
            put_in[i] += lines[i].unit_price
    if not made:
        if units is not None:
            return Applied(none, why_not="its bundle price is not below its items' price here")
        return Applied(none, why_not="needs every item of the bundle in the cart")
    return Applied(tuple(spread(amount, put_in)))


def _one_bundle(items: Sequence[dict], lines: Sequence[Line], left: list[int]) -> list[int] | None:
    """The line of each unit of one more bundle (dearest first), or None: not all left."""
    free, units = list(left), []
    for item in items:
        for _ in range(int(item.get("quantity") or 1)):
            fits = [i for i, ln in enumerate(lines) if free[i] > 0 and _is(item, ln)]
            if not fits:
                return None
            pick = max(fits, key=lambda i: (lines[i].unit_price, -i))
            free[pick] -= 1
            units.append(pick)
    return units


def _is(item: dict, line: Line) -> bool:
    if item.get("variant_id"):
        return line.variant_id == item["variant_id"]
    return line.product_id is not None and line.product_id == item.get("product_id")


def together(
    lines: Sequence[Line], appliers: Sequence[Callable[[Sequence[Line]], Applied]]
) -> list[Applied]:
    """Several offers on the same lines, one after another (``combining.in_order``:
    product, then order, then shipping): each applier is given what the ones before left
    of each line and never takes more than that, so no line goes below zero."""
    taken = [0] * len(lines)
    done: list[Applied] = []
    for apply_one in appliers:
        now = [replace(ln, taken=t) for ln, t in zip(lines, taken, strict=True)]
        got = apply_one(now)
        shares = tuple(min(share, ln.left) for share, ln in zip(got.lines, now, strict=True))
        taken = [t + share for t, share in zip(taken, shares, strict=True)]
        done.append(Applied(shares, got.free_shipping, got.why_not))
    return done
