from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Handle = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z0-9_-]+$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rate(_Input):
    kind: Literal["percentage", "fixed"]
    value: Annotated[int, Field(ge=0, le=10**9)] = Field(
        description="percentage: basis points (1000 = 10%); fixed: minor units per unit sold"
    )


class Tier(_Input):
    above: Annotated[int, Field(gt=0, le=10**15)] = Field(
        description="minor units of the creator's attributed net revenue in the month"
    )
    value: Annotated[int, Field(ge=0, le=10_000)] = Field(
        description="basis points on the revenue above the threshold (1500 = 15%)"
    )


StripeAccount = Annotated[str, Field(max_length=255, pattern=r"^acct_[A-Za-z0-9]+$")]
Rates = dict[Annotated[str, Field(max_length=255)], Rate]


class CreatorCreate(_Input):
    handle: Handle
    name: Annotated[str, Field(min_length=1, max_length=200)]
    commission: Rate
    product_commissions: Rates = {}
    collection_commissions: Rates = Field(
        {}, description="by collection id or handle; under a product's own rate"
    )
    tiers: list[Tier] = Field(
        [], max_length=20, description="over a percentage default: higher rates above"
    )
    stripe_account: StripeAccount | None = Field(
        None, description="their connected Stripe account: payouts are sent to it"
    )


class CreatorUpdate(_Input):
    """What is given changes; new rates apply to the orders credited from then on."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    active: bool | None = None
    commission: Rate | None = None
    product_commissions: Rates | None = None
    collection_commissions: Rates | None = None
    tiers: list[Tier] | None = Field(None, max_length=20)
    stripe_account: StripeAccount | Literal[""] | None = Field(
        None, description='"" removes it (payouts CSV-only again)'
    )


class CreatorCodeCreate(_Input):
    code: Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: Literal["percentage", "fixed", "free_shipping"] = "percentage"
    value: Annotated[int, Field(ge=0, le=10**9)] = 10
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    max_uses: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CreatorPublic(_Output):
    id: str
    handle: str
    name: str
    active: bool
    commission_kind: str
    commission_value: int
    product_commissions: dict
    collection_commissions: dict
    tiers: list
    stripe_account: str | None
    created_at: datetime
    link: str = Field(description="Their link: the shop with ?ref=<handle>")


class CreatorCreated(CreatorPublic):
    page_url: str = Field(description="Their private page; shown once, send it to them")


class Figures(BaseModel):
    currency: str
    clicks: int
    orders: int
    revenue: int
    earned: int
    clawed_back: int
    earnings: int
    paid: int


class CommissionPublic(_Output):
    id: str
    order_id: str
    kind: str
    basis: str
    code: str | None
    currency: str
    revenue: int
    amount: int
    at: datetime
    payout_id: str | None


class PayoutCreate(_Input):
    period_start: datetime
    period_end: datetime
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None


class TransferPublic(_Output):
    id: str
    destination: str
    amount: int
    currency: str
    status: str = Field(description="pending (asked, no answer yet), paid or refused")
    transfer_ref: str | None = Field(description="Stripe's transfer id (tr_...) once paid")
    error: str | None = Field(description="Stripe's words when it refused")
    attempts: int
    idempotency_key: str
    updated_at: datetime


class PayoutPublic(_Output):
    id: str
    creator_id: str
    currency: str
    period_start: datetime
    period_end: datetime
    amount: int
    entries: int
    created_at: datetime
    transfer: TransferPublic | None = Field(
        None, description="the Stripe transfer, when the creator has a connected account"
    )


class PostCreate(_Input):
    reference: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="the post's id as the ledger's touches carry it (a link's content_id, "
        "a platform's post id)"
    )
    creator_id: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None, description="the creator's post; none for the shop's own"
    )
    channel: Annotated[str, Field(max_length=100)] | None = None
    url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None
    title: Annotated[str, Field(max_length=200)] | None = None
    product_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field([], max_length=50)


class PostProducts(_Input):
    product_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(max_length=50)


class TaggedProduct(BaseModel):
    id: str
    title: str


class PostPublic(BaseModel):
    id: str
    reference: str
    creator_id: str | None
    channel: str | None
    url: str | None
    title: str | None
    created_at: datetime
    products: list[TaggedProduct]
