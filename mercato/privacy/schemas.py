"""Data subject request shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[str, Field(min_length=1, max_length=320)]


class PrivacyRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["access", "erasure"]
    regime: Literal["gdpr", "ccpa", "lgpd"] = Field(
        description="The law it is made under: its deadline (GDPR 30 days, CCPA 45, LGPD 15)"
    )
    email: Identifier | None = None
    phone: Identifier | None = Field(None, description="In international form, +...")
    customer_id: Identifier | None = None
    platform_user_id: Identifier | None = Field(
        None, description="The person's id on a platform (e.g. a Messenger or WhatsApp id)"
    )


class PrivacyRequestPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    regime: str
    subject: dict[str, Any] = Field(description="Keyed hashes once the person is erased")
    source: str
    status: str
    outcome: dict[str, Any] | None
    received_at: datetime
    due_at: datetime
    completed_at: datetime | None


class PrivacyRequestPage(BaseModel):
    items: list[PrivacyRequestPublic]


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    subject: str
    detail: str | None


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
