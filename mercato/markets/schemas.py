from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MarketCreate(BaseModel):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=255)
    countries: list[str] = Field(min_length=1, max_length=250)
    currency: str = Field(min_length=3, max_length=3)
    languages: list[str] = Field(min_length=1, max_length=20)
    tax_mode: Literal["inclusive", "exclusive"]
    duties: Literal["ddp", "dap"] = "dap"
    price_ending: str | None = Field(default=None, max_length=8)
    payment_methods: list[str] = Field(default=["card"], max_length=20)
    active: bool = True


class MarketUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    countries: list[str] | None = Field(default=None, min_length=1, max_length=250)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    languages: list[str] | None = Field(default=None, min_length=1, max_length=20)
    tax_mode: Literal["inclusive", "exclusive"] | None = None
    duties: Literal["ddp", "dap"] | None = None
    price_ending: str | None = Field(default=None, max_length=8)
    payment_methods: list[str] | None = Field(default=None, max_length=20)
    active: bool | None = None


class MarketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    countries: list[str]
    currency: str
    languages: list[str]
    tax_mode: str
    duties: str
    price_ending: str | None
    payment_methods: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class PriceSet(BaseModel):
    sku: str = Field(min_length=1, max_length=255)
    price: str = Field(min_length=1, max_length=32, description='decimal, e.g. "19.95"')


class PriceListPut(BaseModel):
    prices: list[PriceSet] = Field(max_length=10_000)


class PricePublic(BaseModel):
    sku: str | None
    variant_id: str
    amount: int
    currency: str


class FxRatePublic(BaseModel):
    currency: str
    rate: str
    date: str | None
