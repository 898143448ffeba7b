"""Payment provider settings in and out. Secrets go in; only masked ones come out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Key = Annotated[str, Field(min_length=1, max_length=255)]


class ProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Literal["sandbox", "stripe"] = Field(description="The provider to take payments")
    secret_key: Key | None = Field(
        None, description="Stripe secret key (sk_... or rk_...); left out: the stored one is kept"
    )
    publishable_key: Key | None = Field(
        None,
        description="Stripe publishable key (pk_...), for the card element on the checkout page",
    )
    webhook_secret: Key | None = Field(
        None, description="Signing secret of the Stripe webhook endpoint (whsec_...)"
    )
    api_base: Annotated[str, Field(max_length=255)] | None = Field(
        None, description="Another address for Stripe's API (a local stand-in)"
    )


class ProviderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    active: bool
    publishable_key: str | None
    secret_key: str | None = Field(description="Masked")
    webhook_secret: str | None = Field(description="Masked")
    webhook_url: str | None = Field(description="Where the provider sends its webhooks")
    api_base: str | None
    updated_at: datetime | None
