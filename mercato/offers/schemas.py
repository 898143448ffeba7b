from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mercato.money import MAX_AMOUNT

Minor = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
# A cap on uses: an INTEGER column, so at most 2**31 - 1 on every database.
Uses = Annotated[int, Field(ge=1, le=2**31 - 1)]

Kind = Literal["percentage", "fixed", "free_shipping", "buy_x_get_y", "tiered", "bundle"]
Channel = Literal["storefront", "inbox", "pos", "import"]
# What a code may be made of, however it comes in (the API, the dashboard, an import).
CODE_PATTERN = r"^[A-Za-z0-9_-]{2,64}$"
CodeText = Annotated[str, Field(min_length=2, max_length=64, pattern=CODE_PATTERN)]
Ref = Annotated[str, Field(min_length=1, max_length=100)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tier(_Input):
    min_subtotal: Minor
    percentage: Annotated[int, Field(ge=1, le=100)] | None = None
    amount: Annotated[int, Field(gt=0, le=10**9)] | None = None


class BundleItem(_Input):
    """One item of a bundle: a variant, or any variant of a product; how many."""

    variant_id: Ref | None = None
    product_id: Ref | None = None
    quantity: Annotated[int, Field(ge=1, le=100)] = 1


class OfferCreate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Kind
    value: Annotated[int, Field(ge=0, le=10**9)] = Field(
        0,
        description="Percent (1-100) for percentage and buy_x_get_y (100: the Y items are "
        "free); minor units of currency for fixed, and for bundle the bundle's price",
    )
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    tiers: Annotated[list[Tier], Field(max_length=20)] = []
    bundle: Annotated[list[BundleItem], Field(max_length=20)] = Field(
        [], description="bundle: the items sold together for ``value`` when all are in the cart"
    )
    buy_quantity: Annotated[int, Field(ge=1, le=100)] | None = None
    get_quantity: Annotated[int, Field(ge=1, le=100)] | None = None
    product_ids: Annotated[list[Ref], Field(max_length=500)] = []
    variant_ids: Annotated[list[Ref], Field(max_length=500)] = []
    collection_ids: Annotated[list[Ref], Field(max_length=50)] = Field(
        [], description="Collections (id or handle) whose products the offer applies to"
    )
    channels: list[Channel] = Field([], description="Empty: redeemable everywhere")
    markets: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=32)]], Field(max_length=50)
    ] = Field(
        [],
        description="Market codes: redeemable only on a checkout priced in one of them "
        "(empty: in every market, and without one)",
    )
    segment_id: Ref | None = None
    first_order_only: bool = False
    min_subtotal: Minor | None = None
    combinable: bool | None = Field(
        None,
        description="Shorthand: true combines with every class of discount, false with none "
        "(the combines_with_* flags given win)",
    )
    combines_with_product: bool | None = Field(
        None, description="May go with product discounts (scoped to items, buy X get Y, bundles)"
    )
    combines_with_order: bool | None = Field(
        None, description="May go with order discounts (an unscoped percentage, amount or tier)"
    )
    combines_with_shipping: bool | None = Field(
        None, description="May go with shipping discounts (free shipping)"
    )
    starts_at: datetime | None = Field(
        None, description="Without a UTC offset, read in the store's time zone"
    )
    ends_at: datetime | None = None
    max_uses: Uses | None = Field(None, description="Cap on all uses")
    per_customer: Uses | None = None
    code: CodeText | None = Field(None, description="A public code that redeems it")
    code_max_uses: Uses | None = None
    creator_id: Ref | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class OfferUpdate(_Input):
    """What is given changes, for the redemptions from then on. Its kind, value and scope
    stay as made (the uses so far were priced on them): a new offer changes those."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    active: bool | None = None
    starts_at: datetime | None = Field(
        None, description="Without a UTC offset, read in the store's time zone"
    )
    ends_at: datetime | None = None
    max_uses: Uses | None = None
    per_customer: Uses | None = None
    channels: list[Channel] | None = Field(None, description="Empty: redeemable everywhere")
    first_order_only: bool | None = None
    min_subtotal: Minor | None = None
    combinable: bool | None = Field(
        None, description="Shorthand: every class of discount (true) or none (false)"
    )
    combines_with_product: bool | None = None
    combines_with_order: bool | None = None
    combines_with_shipping: bool | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OfferPublic(_Output):
    id: str
    name: str
    kind: str
    value: int
    currency: str | None
    tiers: list[dict]
    bundle: list[dict]
    buy_quantity: int | None
    get_quantity: int | None
    product_ids: list[str]
    variant_ids: list[str]
    collection_ids: list[str]
    channels: list[str]
    markets: list[str]
    segment_id: str | None
    first_order_only: bool
    min_subtotal: int | None
    discount_class: Literal["product", "order", "shipping"] = Field(
        description="product: off some items; order: off the order; shipping: off shipping"
    )
    combines_with_product: bool
    combines_with_order: bool
    combines_with_shipping: bool
    combinable: bool = Field(description="Combines with every class (all three flags true)")
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool
    max_uses: int | None
    used: int
    per_customer: int | None
    creator_id: str | None
    note: str | None
    created_at: datetime


class CodePublic(_Output):
    code: str
    offer_id: str
    max_uses: int | None
    used: int
    batch: str | None
    page_url: str | None = Field(
        None, description="The code's printable page (its address is signed: hand it out)"
    )


class CodesCreate(_Input):
    count: Annotated[int, Field(ge=1, le=100_000)]
    prefix: Annotated[str, Field(max_length=20, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    max_uses: Uses = 1


class CodesMade(BaseModel):
    batch: str
    count: int
    export_url: str


class PosLine(_Input):
    """One line of a till's ticket: the variant (its id or its SKU), how many, and the
    unit price charged (minor units of the ticket's currency)."""

    variant_id: Ref | None = None
    sku: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    unit_price: Minor

    @model_validator(mode="after")
    def _one_item(self) -> PosLine:
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give the line's variant_id or its sku (one of them)")
        return self


TicketLines = Annotated[
    list[PosLine],
    Field(
        max_length=500,
        description="The ticket's lines: with them the offer is priced on its items as the "
        "checkout prices a cart (products, collections, buy X get Y, bundles); an offer "
        "limited to products needs them",
    ),
]


class PosRedeem(_Input):
    code: CodeText
    location_id: Ref
    terminal_id: Ref | None = None
    ticket: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="The till's ticket or receipt number: one redemption per ticket and code"
    )
    subtotal: Minor | None = Field(
        None,
        description="What the ticket comes to before the offer (with lines: their sum, "
        "which it may be left out for)",
    )
    lines: TicketLines | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer_ref: Annotated[str, Field(max_length=255)] | None = Field(
        None, description="A loyalty card, email or phone: per-customer caps count it"
    )
    market: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        None, description="The market the till sells in: needed for an offer limited to markets"
    )


class PosValidate(_Input):
    code: CodeText
    location_id: Ref | None = None
    market: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    subtotal: Minor | None = None
    lines: TicketLines | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)]


class Validation(BaseModel):
    valid: bool
    code: str
    offer_id: str | None = None
    discount: int = 0
    free_shipping: bool = False
    currency: str
    reason: str | None = None
    remaining: int | None = Field(None, description="Uses left under the tightest cap")


class RedemptionPublic(_Output):
    id: str
    offer_id: str
    code: str
    channel: str
    reference: str
    status: str
    amount: int
    currency: str | None
    subtotal: int
    order_id: str | None
    location_id: str | None
    terminal_id: str | None
    created_at: datetime
    voided_at: datetime | None


class ImportRow(BaseModel):
    row: int
    code: str
    status: Literal["redeemed", "duplicate", "refused"]
    redemption_id: str | None = None
    reason: str | None = None


class ImportReport(BaseModel):
    redeemed: int
    duplicates: int
    refused: int
    rows: list[ImportRow]


class OfferSend(_Input):
    conversation_id: Ref
    items: Annotated[list[dict], Field(min_length=1, max_length=20)]
    code: CodeText | None = None
    text: Annotated[str, Field(max_length=1000)] | None = None
