"""Order input and output shapes. Amounts are integer minor units of the order's currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from mercato.events.service import EventPayload
from mercato.money import MAX_AMOUNT

Minor = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
Quantity = Annotated[int, Field(ge=1, le=100_000)]
Text255 = Annotated[str, Field(max_length=255)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(_Input):
    name: Text255 | None = None
    company: Text255 | None = None
    line1: Text255
    line2: Text255 | None = None
    city: Text255
    region: Text255 | None = Field(None, description="State, province or county")
    postal_code: Annotated[str, Field(max_length=32)] | None = None
    country: Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]
    phone: Annotated[str, Field(max_length=32)] | None = None


class Customer(_Input):
    name: Text255 | None = None
    email: EmailStr | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    external_id: Text255 | None = Field(
        None, description="The buyer's id on the order's channel (TikTok Shop's user_id)"
    )


class Attribution(_Input):
    source: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="Where the buyer came from, e.g. tiktok, instagram, pinterest"
    )
    campaign: Text255 | None = None
    content_id: Text255 | None = Field(None, description="The post, video or pin")
    creator: Text255 | None = Field(None, description="Creator or affiliate reference")
    conversation_id: Annotated[str, Field(max_length=40)] | None = Field(
        None, description="The inbox conversation whose link led to the sale"
    )
    utm: dict[str, str] = {}
    experiment: Annotated[str, Field(max_length=60)] | None = Field(
        None, description="The A/B arm the buyer was shown: <experiment id>:<arm>"
    )


class OrderLineCreate(_Input):
    variant_id: str | None = None
    sku: Annotated[str, Field(max_length=255)] | None = None
    title: Text255 | None = Field(None, description="Defaults to the product's title")
    external_id: Text255 | None = None
    quantity: Quantity
    unit_price: Minor | None = Field(None, description="Defaults to the variant's price")
    discount: Minor = 0
    tax: Minor = 0

    @model_validator(mode="after")
    def _needs_a_product_or_a_title(self):
        if not (self.variant_id or self.sku or self.title):
            raise ValueError("give variant_id, sku, or (for a custom item) title")
        if not (self.variant_id or self.sku) and self.unit_price is None:
            raise ValueError("a custom item needs a unit_price")
        return self


class DiscountCode(_Input):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Minor = Field(0, description="What this code took off the items")


class OrderCreate(_Input):
    channel: Annotated[str, Field(min_length=1, max_length=40)] = "manual"
    external_id: Text255 | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    lines: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=500)]
    shipping_total: Minor = 0
    taxes_included: bool = False
    duties_total: Minor = Field(0, description="Import duties charged with the order")
    discount_codes: Annotated[list[DiscountCode], Field(max_length=20)] = Field(
        [], description="The codes behind the lines' discounts, each with its amount"
    )
    market: Annotated[str, Field(max_length=32)] | None = None
    fx_rate: Decimal | None = Field(
        None, gt=0, description="Units of the currency per one of the store's base currency"
    )
    fx_date: date | None = None
    customer: Customer = Customer()
    shipping_address: Address | None = None
    billing_address: Address | None = None
    attribution: Attribution = Attribution()
    payment_status: Literal["pending", "authorized", "paid"] = "pending"
    note: str | None = None
    placed_at: datetime | None = None


class LineQuantity(_Input):
    line_id: str
    quantity: Quantity


class FulfillmentCreate(_Input):
    lines: list[LineQuantity] | None = Field(
        None, description="Lines and quantities shipped; all that is unfulfilled when omitted"
    )
    carrier: Annotated[str, Field(max_length=100)] | None = None
    tracking_number: Text255 | None = None
    tracking_url: Annotated[str, Field(max_length=2048)] | None = None


class TrackingUpdate(_Input):
    carrier: Annotated[str, Field(min_length=1, max_length=100)]
    tracking_number: Text255 | None = None
    tracking_url: Annotated[str, Field(max_length=2048)] | None = None


class RefundLine(LineQuantity):
    restock: bool | None = Field(
        None, description="Put this line's unshipped units back on hand (default: the refund's)"
    )


class RefundCreate(_Input):
    lines: list[RefundLine] | None = Field(
        None,
        description="Refund these lines (their paid amount); with neither lines nor "
        "amount, the whole remaining total",
    )
    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT)] | None = Field(
        None, description="An amount instead of lines, e.g. a goodwill refund"
    )
    shipping: bool = Field(False, description="Also refund shipping (with lines or an amount)")
    restock: bool = Field(False, description="Put refunded unshipped units back on hand")
    reason: str | None = None


class CancelRequest(_Input):
    reason: str | None = None
    restock: bool = True


class ReturnCreate(_Input):
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=500)]
    restock: bool = Field(True, description="Put the items back on hand when received")
    reason: str | None = None


class ReturnPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    order_id: str
    status: str
    lines: list[dict[str, Any]]
    restock: bool
    reason: str | None
    refund_id: str | None
    created_at: datetime
    updated_at: datetime


class HoldRequest(_Input):
    reason: Annotated[str, Field(min_length=1)]


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrderLinePublic(_Output):
    id: str
    position: int
    variant_id: str | None
    sku: str | None
    title: str
    variant_title: str | None
    external_id: str | None
    quantity: int
    unit_price: int
    discount: int
    tax: int
    total: int
    fulfilled_quantity: int
    refunded_quantity: int


class ActivityPublic(_Output):
    at: datetime
    actor: str
    kind: str
    message: str
    data: dict[str, Any]


class FulfillmentPublic(_Output):
    id: str
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    lines: list[dict[str, Any]]
    created_at: datetime


class RefundPublic(_Output):
    id: str
    amount: int
    currency: str
    reason: str | None
    lines: list[dict[str, Any]]
    restock: bool
    # pending: waiting for the payment provider; failed: refused (why in failure_message).
    status: str
    failure_message: str | None
    created_at: datetime


class OrderPublic(_Output):
    id: str
    number: int
    name: str
    channel: str
    external_id: str | None
    status: str
    payment_status: str
    fulfillment_status: str
    attention_reason: str | None
    external_status: str | None = None
    stock_state: str = "none"
    currency: str
    subtotal: int
    discount_total: int
    discount_codes: list[dict[str, Any]] = Field(
        [], description="The codes behind the discount: [{code, amount}]"
    )
    shipping_total: int
    tax_total: int
    duties_total: int = 0
    market: str | None = None
    fx_rate: Decimal | None = None
    fx_date: date | None = None
    taxes_included: bool
    total: int
    refunded_total: int
    customer_id: str | None = Field(
        None, description="The buyer's profile (GET /api/v1/customers/{id})"
    )
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    source: str | None
    campaign: str | None
    content_id: str | None
    creator: str | None
    attribution: dict[str, Any]
    note: str | None
    placed_at: datetime
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLinePublic]
    timeline: list[ActivityPublic]


class OrderDetail(OrderPublic):
    fulfillments: list[FulfillmentPublic]
    refunds: list[RefundPublic]
    returns: list[ReturnPublic] = []


class OrderPage(BaseModel):
    items: list[OrderPublic]
    next_cursor: str | None = None


class OrderChanged(EventPayload):
    """Payload of every order.* event."""

    order_id: str
    number: int
    channel: str
    external_id: str | None
    status: str
    payment_status: str
    fulfillment_status: str
    total: int
    currency: str
    detail: dict[str, Any] = {}
