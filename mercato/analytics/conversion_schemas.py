from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DestinationCreate(_Input):
    platform: Literal["meta", "tiktok", "pinterest"]
    source_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="Meta pixel (dataset) id, TikTok pixel code or Pinterest ad account id"
    )
    access_token: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description="Meta system-user token, TikTok Events API token, Pinterest conversion "
        "token; stored encrypted, never shown again"
    )
    test_code: Annotated[str, Field(max_length=64)] | None = Field(
        None,
        description="Meta/TikTok test_event_code; for Pinterest, any value sends ?test=true",
    )
    consent_implied: bool = Field(
        False,
        description="Buyers agreed to ad measurement before checkout (the merchant's "
        "consent banner): without it nothing is sent",
    )
    base_url: HttpUrl | None = Field(None, description="The platform's API root (a simulator)")


class DestinationUpdate(_Input):
    enabled: bool | None = None
    test_code: Annotated[str, Field(max_length=64)] | None = None
    consent_implied: bool | None = None


class DestinationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: str
    source_id: str
    base_url: str
    test_code: str | None
    consent_implied: bool
    enabled: bool
    created_at: datetime


class DestinationPage(BaseModel):
    items: list[DestinationPublic]


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    destination_id: str
    event_name: str
    event_id: str
    order_id: str
    status: str
    attempts: int
    answer: dict[str, Any] | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]


class AdAccountCreate(_Input):
    platform: Literal["meta", "pinterest"]
    account_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")] = Field(
        description="The ad account's number (Meta: without the act_ prefix)"
    )
    access_token: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description="A token that may read the account's reports (Meta ads_read, Pinterest "
        "ads:read); stored encrypted, never shown again"
    )
    base_url: HttpUrl | None = Field(None, description="The platform's API root (a simulator)")


class AdAccountPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: str
    account_id: str
    base_url: str
    enabled: bool
    pulled_at: datetime | None
    last_error: str | None
    created_at: datetime


class AdAccountPage(BaseModel):
    items: list[AdAccountPublic]


class AdAccountPulled(BaseModel):
    campaign_days: int
    spend_rows: int
    touches: int
