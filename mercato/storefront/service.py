"""What the storefront shows: product pages in the visitor's currency (their market's, when
the shop has markets) with honest stock, carts rebuilt from a link, and the visitor's
currency and country."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog import collections
from mercato.catalog import service as catalog
from mercato.catalog.models import Product, Variant
from mercato.checkout import market_pricing, rates
from mercato.checkout import service as checkout
from mercato.checkout.schemas import LineInput
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.inventory import availability as stock
from mercato.markets.models import Market
from mercato.recommendations import serving as recommendations

CHANNEL = "storefront"
FEW_LEFT = 5
MAX_CART_LINES = 50


@dataclass
class VariantOption:
    variant: Variant
    price: int
    compare_at: int | None
    available: int

    @property
    def label(self) -> str:
        return " / ".join(self.variant.option_values) or "Default"

    @property
    def sold_out(self) -> bool:
        return self.available <= 0

    @property
    def stock_message(self) -> str:
        if self.sold_out:
            return "Sold out"
        if self.available <= FEW_LEFT:
            return f"Only {self.available} left"
        return "In stock"

    def stock_text(self, t) -> str:
        """``stock_message`` in the buyer's language (``t``: storefront.messages)."""
        if self.sold_out:
            return t("Sold out")
        if self.available <= FEW_LEFT:
            return t("Only {n} left", n=self.available)
        return t("In stock")


@dataclass
class ProductPage:
    product: Product
    currency: str
    options: list[VariantOption]
    taxes_included: bool

    @property
    def images(self) -> list[str]:
        return [m.url for m in self.product.media]

    @property
    def first_available(self) -> VariantOption | None:
        return next((o for o in self.options if not o.sold_out), None)


def visitor_currency(requested: str | None, country: str | None) -> str:
    table = rates.load()
    if requested and requested.upper() in table.currencies:
        return requested.upper()
    return table.currency_for(country)


def _prices(session: Session, variants, currency: str, table, market: Market | None):
    found = {v.id: checkout.unit_price(v, currency, table) for v in variants}
    return market_pricing.prices_in(session, market, variants, found) if market else found


def product_page(
    session: Session, handle: str, currency: str, country: str | None, market: Market | None = None
) -> ProductPage:
    """``market``: the visitor's (its currency is ``currency``), whose prices and tax mode
    the page shows."""
    product = catalog.get_product_by_handle(session, handle)
    if product.status != "active":
        raise NotFound(f"No product {handle!r}.")
    table = rates.load()
    levels = stock.read_stock(session, variant_ids=[v.id for v in product.variants])
    rule = None  # the storefront publishes all it has (no buffer of its own)
    prices = _prices(session, product.variants, currency, table, market)
    # A ring-fenced variant (a live event, a drop): the storefront's pool only.
    pools = stock.pool_units(session, "storefront", levels)
    options = [
        VariantOption(
            v,
            prices[v.id],
            _converted(v, v.compare_at_price, currency, table),
            stock.publishable(levels[v.id], rule, pools.get(v.id)) if v.id in levels else 0,
        )
        for v in product.variants
    ]
    tax = table.tax_for(country, None)
    included = market.tax_mode == "inclusive" if market else bool(tax and tax.included)
    return ProductPage(product, currency, options, included)


@dataclass
class Recommended:
    handle: str
    title: str
    image: str | None
    price: int


def recommended(
    session: Session,
    product_id: str,
    currency: str,
    market: Market | None = None,
    strategy: str = "together",
) -> tuple[str, list[Recommended]]:
    """The product page's row: often bought with it, else similar (or what an
    experiment's ``strategy`` shows), priced as the page is (the list's name says which)."""
    name, shown = recommendations.for_strategy(session, product_id, strategy)
    return name, _priced(session, shown, currency, market)


@dataclass
class CollectionPage:
    title: str
    description_html: str
    products: list[Recommended]


def collection_page(
    session: Session, handle: str, currency: str, market: Market | None = None
) -> CollectionPage:
    """A collection's products for sale, in its order, each at its first variant's price."""
    found = collections.get_collection(session, handle)
    if found.handle != handle:
        raise NotFound(f"No collection {handle!r}.")
    order = {p.id: n for n, p in enumerate(collections.shown_products(session, found))}
    products = sorted(
        (
            p
            for p in catalog.get_products(session, list(order))
            if p.status == "active" and p.variants
        ),
        key=lambda p: order[p.id],
    )
    prices = _prices(session, [p.variants[0] for p in products], currency, rates.load(), market)
    return CollectionPage(
        found.title,
        found.description_html,
        [
            Recommended(
                p.handle, p.title, p.media[0].url if p.media else None, prices[p.variants[0].id]
            )
            for p in products
        ],
    )


def goes_with(
    session: Session, variant_ids: list[str], currency: str, market: Market | None = None
) -> list[Recommended]:
    """A cart's or an order's row: often bought with what it holds."""
    products = dict(
        session.execute(
            select(Variant.id, Variant.product_id).where(Variant.id.in_(variant_ids))
        ).all()
    )
    product_ids = list(dict.fromkeys(products[v] for v in variant_ids if v in products))
    return _priced(session, recommendations.with_products(session, product_ids), currency, market)


def _priced(
    session: Session, shown: list[recommendations.Shown], currency: str, market: Market | None
) -> list[Recommended]:
    prices = _prices(session, [s.variant for s in shown], currency, rates.load(), market)
    return [Recommended(s.handle, s.title, s.image, prices[s.variant.id]) for s in shown]


def _converted(
    variant: Variant, amount: int | None, currency: str, table: rates.Rates
) -> int | None:
    if amount is None:
        return None
    return (
        amount
        if variant.currency == currency
        else table.convert(amount, variant.currency, currency)
    )


@dataclass
class CartLink:
    lines: list[LineInput] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


def parse_cart_items(items: str) -> CartLink:
    """``SKU:QTY,SKU:QTY`` (quantity 1 when omitted) into checkout lines."""
    link = CartLink()
    for index, part in enumerate(p for p in items.split(",") if p.strip()):
        sku, _, quantity = part.strip().rpartition(":") if ":" in part else (part, "", "1")
        sku = sku.strip()
        if not sku or not quantity.strip().isdigit() or not 1 <= int(quantity) <= 100:
            link.errors.append(FieldError(("items", index), f"{part.strip()!r} is not SKU:QTY"))
            continue
        link.lines.append(LineInput(sku=sku, quantity=int(quantity)))
    if not link.lines and not link.errors:
        link.errors.append(FieldError(("items",), "the link names no items"))
    if len(link.lines) > MAX_CART_LINES:
        link.errors.append(FieldError(("items",), f"at most {MAX_CART_LINES} items"))
    return link


@dataclass
class CartLine:
    variant: Variant
    quantity: int
    price: int
    available: int


def cart_preview(
    session: Session, link: CartLink, currency: str, market: Market | None = None
) -> list[CartLine]:
    if link.errors:
        raise ValidationFailed("This cart link is not valid.", link.errors)
    table = rates.load()
    skus = [ln.sku for ln in link.lines]
    levels = stock.read_stock(session, skus=skus)
    by_sku = {s.sku: s for s in levels.values()}
    lines = []
    for index, line in enumerate(link.lines):
        found = catalog.find_variants_by_sku(session, line.sku)
        if not found or found[0].product.status != "active":
            raise ValidationFailed(
                "This cart link is not valid.",
                [FieldError(("items", index), f"{line.sku!r} is not for sale")],
            )
        variant = found[0]
        level = by_sku.get(line.sku)
        lines.append(
            CartLine(
                variant,
                line.quantity,
                _prices(session, [variant], currency, table, market)[variant.id],
                stock.publishable(level, None) if level else 0,
            )
        )
    return lines
