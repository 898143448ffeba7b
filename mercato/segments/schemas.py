"""Segment shapes: the filters as data (saved as they are), the segment in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Purpose = Literal["marketing", "analytics", "personalisation"]
Channel = Literal["email", "whatsapp", "messenger", "instagram", "sms", ""]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentNeed(_Input):
    purpose: Purpose
    channel: Channel = ""


class SegmentFilters(_Input):
    """Every filter given must hold (AND); a list holds when any of its values does."""

    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        [], description="Customers with any of these tags"
    )
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        [], description="ISO 3166-1 alpha-2: an order shipped there, or their saved address"
    )
    min_orders: Annotated[int, Field(ge=0)] | None = None
    max_orders: Annotated[int, Field(ge=0)] | None = None
    min_revenue: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Revenue net of refunds, minor units of the store's currency"
    )
    max_revenue: Annotated[int, Field(ge=0)] | None = None
    last_order_after: datetime | None = None
    last_order_before: datetime | None = None
    consent: list[ConsentNeed] = Field(
        [], description="Consents in force now (given and not withdrawn), all of them"
    )


class SegmentCreate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    filters: SegmentFilters = SegmentFilters()


class SegmentUpdate(_Input):
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    filters: SegmentFilters | None = None


class SegmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str | None
    filters: SegmentFilters
    created_at: datetime
    updated_at: datetime
