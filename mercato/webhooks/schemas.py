"""Outbound webhook shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mercato.events.service import EventPayload

Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^https?://\S+$")]
EventTypes = Annotated[
    list[Annotated[str, Field(max_length=100)]],
    Field(min_length=1, max_length=100, description='Event types, "<resource>.*" or "*"'),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EndpointCreate(_Input):
    url: Url
    description: Annotated[str, Field(max_length=500)] = ""
    event_types: EventTypes = ["*"]
    secret: str | None = Field(None, description="A whsec_ secret; generated when omitted")


class EndpointUpdate(_Input):
    url: Url | None = None
    description: Annotated[str, Field(max_length=500)] | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = Field(None, description="Re-enabling resumes pending deliveries")


class SecretRotate(_Input):
    secret: str | None = Field(None, description="The new whsec_ secret; generated if omitted")
    overlap_seconds: Annotated[int, Field(ge=0, le=7 * 86400)] = Field(
        86400, description="How long the previous secret keeps signing beside the new one"
    )


class Redeliver(_Input):
    """Send again one event, or every matching event created in [since, until)."""

    event_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Redeliver:
        if (self.event_id is None) == (self.since is None):
            raise ValueError("give either event_id or since (with an optional until)")
        if self.event_id is not None and self.until is not None:
            raise ValueError("until goes with since, not with event_id")
        return self


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EndpointPublic(_Output):
    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str


class EndpointPage(BaseModel):
    items: list[EndpointPublic]


class SecretPublic(BaseModel):
    secret: str
    previous_secret_expires_at: datetime | None = None


class RedeliverResult(BaseModel):
    deliveries: int
    endpoint_enabled: bool


class AttemptPublic(_Output):
    id: str
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None
    succeeded: bool


class DeliveryPublic(_Output):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    event_key: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryDetail(DeliveryPublic):
    attempt_log: list[AttemptPublic]


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None = None


class EndpointDisabled(EventPayload):
    """Payload of webhook_endpoint.disabled."""

    endpoint_id: str
    url: str
    reason: str
