"""Recommendation shapes: versions with their evaluation, lists as served, rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ListName = Literal["fbt", "similar", "popular", "personal"]


class VersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    orders_read: int
    buyers_read: int
    params: dict[str, Any]
    evaluation: dict[str, Any] = Field(
        description="Per model: precision_at_10, recall_at_10, ndcg_at_10, coverage and "
        "buyers, on each buyer's held-out last order"
    )
    error: str | None


class RecommendedPublic(BaseModel):
    product_id: str
    handle: str
    title: str
    variant_id: str
    price: int = Field(description="Minor units of the variant's own currency")
    currency: str
    image: str | None
    score: float
    reason: str


class ListPublic(BaseModel):
    list: ListName
    subject: str
    products: list[RecommendedPublic]


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=40)
    action: Literal["exclude", "boost", "pin"]
    list: Literal["", "fbt", "similar", "popular", "personal"] = Field(
        "", description="One list, or every list when empty"
    )
    weight: float = Field(1.0, gt=0, le=100, description="boost: the score is multiplied by this")


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    product_id: str
    action: str
    list: str
    weight: float
    created_at: datetime


class TrainingQueued(BaseModel):
    job_id: str


class ProductSetCreate(BaseModel):
    """A segment's product set on a Meta catalog channel: the ``size`` products its
    members are most likely to buy."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel_id: str = Field(min_length=1, max_length=40)
    segment_id: str = Field(min_length=1, max_length=40)
    name: str | None = Field(None, min_length=1, max_length=120, description="The segment's")
    size: int = Field(50, ge=1, le=500)


class ProductSetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    channel_id: str
    segment_id: str
    name: str
    size: int
    external_id: str | None
    product_ids: list[str]
    item_ids: list[str]
    status: str
    pushed_at: datetime | None
    last_error: str | None


class ExperimentCreate(BaseModel):
    """An A/B experiment on the product page's recommendation row: what arm A and arm B
    show (``together``, ``similar``, ``popular`` or ``none``) and the percent of
    visitors who see B."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    arm_a: str = Field("together", max_length=16)
    arm_b: str = Field(max_length=16)
    share_b: int = Field(50, ge=1, le=99)
