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


class CreatorCreate(_Input):
    handle: Handle
    name: Annotated[str, Field(min_length=1, max_length=200)]
    commission: Rate
    product_commissions: dict[Annotated[str, Field(max_length=40)], Rate] = {}


class CreatorCodeCreate(_Input):
    code: Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: Literal["percentage", "fixed", "free_shipping"] = "percentage"
    value: Annotated[int, Field(ge=0, le=10**9)] = 10
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    max_uses: Annotated[int, Field(ge=1)] | None = None


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


class PayoutPublic(_Output):
    id: str
    creator_id: str
    currency: str
    period_start: datetime
    period_end: datetime
    amount: int
    entries: int
    created_at: datetime
