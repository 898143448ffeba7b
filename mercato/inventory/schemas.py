"""Inventory input and output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mercato.events.service import EventPayload

Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Short name, e.g. default or berlin-store",
    ),
]
ChannelKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[\w.:-]+$",
        description="A channel connection id or e.g. storefront",
    ),
]
Sku = Annotated[str, Field(min_length=1, max_length=255)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]
Units = Annotated[int, Field(ge=0, le=1_000_000_000)]
HoldSeconds = Annotated[
    int, Field(ge=1, le=7 * 24 * 3600, description="How long the hold lasts, from now")
]
Allocation = Literal["priority", "most_stock"]
LocationKind = Literal["warehouse", "store"]
AdjustmentKind = Literal["receipt", "adjustment", "return"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _VariantRef(_Input):
    sku: Sku | None = None
    variant_id: str | None = None

    @model_validator(mode="after")
    def _one_reference(self):
        if (self.sku is None) == (self.variant_id is None):
            raise ValueError("give either sku or variant_id")
        return self


class LocationInput(_Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: LocationKind = "warehouse"
    priority: Annotated[int, Field(ge=0, le=1_000_000, description="Lower ranks ship first")] = 0


class ReservationLineInput(_VariantRef):
    quantity: Quantity


class ReservationCreate(_Input):
    channel: ChannelKey = "storefront"
    reference: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None,
        description="Your cart or order id; the same reference returns the same "
        "reservation. Defaults to the Idempotency-Key header.",
    )
    lines: Annotated[list[ReservationLineInput], Field(min_length=1, max_length=250)]
    ttl_seconds: HoldSeconds | None = Field(None, description="Default: 15 minutes")
    allocation: Allocation = "priority"
    commit: bool = Field(
        False,
        description="Sell the units at once (an order already paid "
        "on a platform): one request instead of reserve, then commit",
    )


class ReservationExtend(_Input):
    ttl_seconds: HoldSeconds


class AdjustmentCreate(_VariantRef):
    """Either ``quantity`` (units added, or removed when negative) or ``on_hand`` (the
    counted total, recorded as a correction)."""

    location: Code = "default"
    quantity: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)] | None = None
    on_hand: Units | None = None
    kind: AdjustmentKind = "adjustment"
    reason: Annotated[str, Field(max_length=500)] | None = None
    reference: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_change(self):
        if (self.quantity is None) == (self.on_hand is None):
            raise ValueError("give either quantity (a change) or on_hand (a counted total)")
        if self.quantity == 0:
            raise ValueError("quantity must not be 0")
        if self.kind in ("receipt", "return") and (self.quantity or 0) <= 0:
            raise ValueError(f"a {self.kind} adds units: give a positive quantity")
        return self


class ChannelRuleInput(_Input):
    buffer: Units = Field(0, description="Units held back from this channel")
    cap: Units | None = Field(None, description="Publish at most this many units")


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LocationPublic(_Output):
    id: str
    code: str
    name: str
    kind: str
    priority: int
    created_at: datetime


class ChannelRulePublic(_Output):
    channel: str
    buffer: int
    cap: int | None
    updated_at: datetime


class ReservationLinePublic(_Output):
    variant_id: str
    sku: str | None
    location: str | None = Field(
        description="Location code; empty when no stock is held (untracked variant or backorder)"
    )
    quantity: int
    state: str


class ReservationPublic(_Output):
    id: str
    channel: str
    reference: str
    status: str
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    lines: list[ReservationLinePublic]


class LocationStockPublic(_Output):
    location: str
    location_name: str
    on_hand: int
    reserved: int
    available: int


class ChannelStockPublic(_Output):
    channel: str
    buffer: int
    cap: int | None
    available: int


class InventoryPublic(_Output):
    variant_id: str
    sku: str | None
    tracked: bool
    policy: str
    on_hand: int
    reserved: int
    available: int = Field(description="On hand less unexpired holds, over all locations")
    published: int = Field(description="What a channel without rules may publish")
    locations: list[LocationStockPublic]
    channels: list[ChannelStockPublic]


class MovementPublic(_Output):
    id: str
    kind: str
    quantity: int
    on_hand_delta: int
    reserved_delta: int
    reason: str | None
    reference: str | None
    actor: str
    reservation_id: str | None
    created_at: datetime


class AdjustmentPublic(_Output):
    variant_id: str
    sku: str | None
    location: str
    on_hand: int
    reserved: int
    movement: MovementPublic | None = Field(description="Empty when nothing changed")


class ChannelAvailability(BaseModel):
    channel: str
    available: int


class InventoryChanged(EventPayload):
    """Payload of inventory.changed: the variant's stock and what each channel with rules
    may now publish (``published`` for every other channel)."""

    variant_id: str
    sku: str | None
    on_hand: int
    reserved: int
    available: int
    published: int
    channels: list[ChannelAvailability]
