"""Customer profile shapes for the API: a summary per list row, the whole profile, its
timeline, merges, suggestions and consent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mercato.segments.schemas import Channel, Purpose

LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactPoint(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(description="email, phone, platform, device or postal")
    scope: str = Field(description="Where a platform id is valid: <platform>:<channel or account>")
    value: str
    verified: bool
    source: str = Field(description="What it was first seen on: order:, conversation:, checkout:")
    customer_id: str = Field(description="The row of the profile that holds it")
    created_at: datetime


class Presence(BaseModel):
    channel: str = Field(description="A channel or inbox account id, or storefront")
    kind: str = Field(description="tiktok, whatsapp, messenger, instagram, storefront, ...")
    via: list[str] = Field(description="orders, conversations, identity")


class Money(BaseModel):
    currency: str
    amount: int


class LifetimeFigures(BaseModel):
    orders: int = Field(description="Orders not cancelled")
    revenue: int = Field(description="Net of refunds, minor units of the store's currency")
    currency: str
    revenue_by_currency: list[Money]
    last_order_at: datetime | None


class MergePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    survivor_id: str
    merged_id: str
    rule: str
    reason: str
    actor: str
    evidence: dict[str, Any]
    merged_rows: list[str]
    status: str
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None


class SuggestionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    other_id: str
    rule: str
    reason: str
    evidence: dict[str, Any]
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    merge_id: str | None


class ConsentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    purpose: str
    channel: str
    granted: bool
    source: str
    wording: str
    reference: str | None
    recorded_at: datetime


class ProfileSummary(BaseModel):
    id: str
    name: str | None
    email: str | None = Field(description="The first email on record")
    phone: str | None = Field(description="The first phone on record (E.164)")
    tags: list[str]
    orders: int
    revenue: int
    currency: str
    last_order_at: datetime | None
    created_at: datetime


class ProfilePage(BaseModel):
    items: list[ProfileSummary]
    next_cursor: str | None = None


class ProfileDetail(BaseModel):
    id: str
    rows: list[str] = Field(description="The customer rows merged into this profile, itself first")
    name: str | None
    language: str | None
    notes: str | None
    tags: list[str]
    contact_points: list[ContactPoint]
    addresses: list[dict[str, Any]]
    figures: LifetimeFigures
    channels: list[Presence]
    merges: list[MergePublic]
    suggestions: list[SuggestionPublic]
    consent: list[ConsentPublic] = Field(description="The answer in force per purpose and channel")
    remembered: bool = Field(description="Signs in with a saved address or payment method")
    created_at: datetime
    updated_at: datetime


class TimelineEntry(BaseModel):
    at: datetime
    kind: Literal["order", "message", "touch", "checkout"]
    title: str
    detail: str | None = None
    ref: str = Field(description="The order, message, touch or checkout id")
    link: str | None = Field(None, description="Its dashboard page")


class ProfileUpdate(_Input):
    name: Annotated[str, Field(max_length=255)] | None = None
    language: (
        Annotated[str, Field(max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None
    ) = None
    notes: Annotated[str, Field(max_length=20_000)] | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(
        None, description="Exactly these tags (replacing the profile's)", max_length=100
    )


class MergeCreate(_Input):
    other_id: str = Field(description="The profile merged into this one")
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ConsentCreate(_Input):
    purpose: Purpose
    channel: Channel = ""
    granted: bool
    wording: Annotated[str, Field(min_length=1, max_length=5000)] = Field(
        description="The exact words the person was shown"
    )
    source: Literal["api", "import", "inbox", "storefront_checkout"] = "api"
    reference: Annotated[str, Field(max_length=100)] | None = None
