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
