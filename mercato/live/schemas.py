"""Live event input and output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from mercato.checkout.schemas import AddressInput, AttributionInput

ChannelKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[\w.:-]+$",
        description='"storefront" or a channel connection id',
    ),
]
Units = Annotated[int, Field(ge=0, le=1_000_000_000)]
Price = Annotated[int, Field(ge=0, le=10**12, description="Minor units of the event's currency")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VariantRef(_Input):
    """A variant by SKU or by id."""

    sku: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    variant_id: Annotated[str, Field(min_length=1, max_length=40)] | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.sku is None) == (self.variant_id is None):
            raise ValueError("give either sku or variant_id")
        return self


class PlatformInput(_Input):
    channel: ChannelKey
    url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = Field(
        None, description="The stream's or post's URL on that platform"
    )


class LiveEventCreate(_Input):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    host: Annotated[str, Field(max_length=200)] | None = None
    scheduled_at: datetime | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")] | None = None
    per_buyer_limit: Annotated[int, Field(ge=1, le=100)] = 2
    auto_rebalance: bool = Field(
        False, description="Spread unsold pool units by sales every few minutes while live"
    )
    platforms: Annotated[list[PlatformInput], Field(max_length=20)] = []
    products: Annotated[
        list[VariantRef], Field(max_length=200, description="In running order")
    ] = []


class PinInput(VariantRef):
    live_price: Price | None = Field(
        None, description="The pinned product's price during the event; none: its own price"
    )


class PriceInput(_Input):
    live_price: Price | None = Field(..., description="None: back to the product's own price")


class PoolsInput(VariantRef):
    pools: Annotated[
        dict[ChannelKey, Units],
        Field(description="Unsold units per channel, e.g. {chn_1: 40, storefront: 50}"),
    ]


class MoveInput(VariantRef):
    from_channel: ChannelKey | None = Field(None, description="None: the held-back units")
    to_channel: ChannelKey | None = Field(None, description="None: hold the units back")
    units: Annotated[int, Field(ge=1, le=1_000_000_000)]


class GateInput(VariantRef):
    units: Annotated[int, Field(ge=0, le=1_000_000_000, description="Units to let in")]


Quantity = Annotated[int, Field(ge=1, le=10)]


class AdmissionInput(_Input):
    quantity: Quantity = 1


class BuyInput(_Input):
    quantity: Quantity | None = Field(None, description="None: the pass's, or 1")
    admission_pass: Annotated[str, Field(max_length=300)] | None = Field(
        None,
        description="From POST .../admission: start the checkout without queueing again "
        "(none: queue now, then start it)",
    )
    email: EmailStr | None = None
    shipping_address: AddressInput | None = None
    attribution: AttributionInput | None = Field(
        None, description="Where the buyer came from; none: the live itself"
    )
    discount_code: Annotated[str, Field(max_length=64)] | None = None


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AdmissionPublic(BaseModel):
    """You're in: the pass to start the checkout with, and your place in the queue."""

    admission_pass: str
    expires_at: datetime
    place: int | None = Field(None, description="First come, first served; none: no queue")
    variant_id: str
    quantity: int


class PlatformPublic(_Output):
    channel: str
    url: str | None


class ProductPublic(_Output):
    variant_id: str
    sku: str | None
    title: str
    price: int
    position: int


class PoolPublic(_Output):
    channel: str
    units: int = Field(description="Unsold units fenced for the channel")
    held: int
    sold: int


class StockPublic(_Output):
    variant_id: str
    sku: str | None
    free: int = Field(description="On hand and not held")
    held_back: int = Field(description="Free units in no pool")
    pools: list[PoolPublic]


class LiveEventPublic(_Output):
    id: str
    title: str
    host: str | None
    scheduled_at: datetime | None
    state: Literal["scheduled", "live", "ended"]
    started_at: datetime | None
    ended_at: datetime | None
    currency: str
    per_buyer_limit: int
    auto_rebalance: bool
    pinned_variant_id: str | None
    live_price: int | None
    platforms: list[PlatformPublic]
    products: list[ProductPublic]
    created_at: datetime


class LiveEventPage(BaseModel):
    items: list[LiveEventPublic]


class MomentPublic(_Output):
    kind: str
    variant_id: str | None
    channel: str | None
    quantity: int | None
    amount: int | None
    reference: str | None
    actor: str
    created_at: datetime


class CountersPublic(BaseModel):
    """What viewers see move: the pinned product's units left and sales, and viewers."""

    event_id: str
    state: str
    pinned_variant_id: str | None
    sku: str | None = None
    title: str | None = None
    price: int | None = None
    live_price: int | None = None
    currency: str
    left: int = 0
    left_by_channel: dict[str, int] = {}
    sold: int = 0
    sold_by_channel: dict[str, int] = {}
    viewers: int = 0
    seq: int = 0
