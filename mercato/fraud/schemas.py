"""Fraud screening's input and output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mercato.money import MAX_AMOUNT

Points = Annotated[int, Field(ge=0, le=1000)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FraudSettingsUpdate(_Input):
    """Any of these; what is left out stays as it is."""

    enabled: bool | None = Field(None, description="Screen every new order (off by default)")
    hold_at: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="Hold an order for review when its score reaches this"
    )
    cancel_at: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="Cancel (and refund) an order when its score reaches this"
    )
    cancel_never: bool = Field(
        False, description="The rules never cancel on their own (cancel_at cleared)"
    )
    window_minutes: Annotated[int, Field(ge=1, le=43_200)] | None = Field(
        None, description="How far back velocity counts orders"
    )
    limits: dict[str, Annotated[int, Field(ge=1, le=10_000)]] | None = Field(
        None, description="Orders allowed per key in the window, by velocity rule"
    )
    weights: dict[str, Points] | None = Field(None, description="Points of each rule")
    first_order_amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None = Field(
        None, description="A buyer's first order above this (minor units) counts"
    )
    first_order_amounts: dict[str, Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None] | None = (
        Field(
            None,
            description='The same per currency (minor units of it: {"JPY": 30000}); '
            "null removes a currency's own amount",
        )
    )


class FraudSettingsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    enabled: bool
    hold_at: int
    cancel_at: int | None
    window_minutes: int
    limits: dict[str, int]
    weights: dict[str, int]
    first_order_amount: int
    first_order_amounts: dict[str, int] | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class Reason(BaseModel):
    rule: str
    points: int
    reason: str


class DecisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    decision: str
    why: str


class AssessmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    order_id: str
    order_number: int
    channel: str
    amount: int
    currency: str
    score: int
    decision: str
    status: str
    reasons: list[Reason]
    signals: dict
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    log: list[DecisionPublic] = []


class ReviewPage(BaseModel):
    items: list[AssessmentPublic]


class ReviewDecision(_Input):
    note: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="Why, in the reviewer's words (kept in the log)"
    )
