"""Analytics input and output shapes. Amounts are integer minor units of their currency."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# A browser's random id (or a touch's): letters, digits, '-' and '_' only.
Token = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Param = Annotated[str, Field(max_length=255)]


class LinkParams(BaseModel):
    """The landing link's parameters, as the storefront's links carry them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ch: Param | None = None
    ref: Param | None = None
    post: Param | None = None
    conv: Annotated[str, Field(max_length=40)] | None = None
    utm_source: Param | None = None
    utm_medium: Param | None = None
    utm_campaign: Param | None = None
    utm_content: Param | None = None
    utm_term: Param | None = None


class BrowserTouchCreate(BaseModel):
    """What a shop visitor's browser reports. No money: a purchase from the browser
    only names its order, whose figures the server records."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["visit", "product_view", "add_to_cart", "purchase"]
    # Random per touch; for a purchase, the order's purchase event id (order:<id>:purchase).
    event_id: Annotated[str, Field(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_:-]+$")]
    # Only when the visitor consented: without it their touches stay anonymous counts.
    visitor_id: Token | None = None
    params: LinkParams = LinkParams()
    product_id: Annotated[str, Field(max_length=40)] | None = None


class TouchRecorded(BaseModel):
    event_id: str
    recorded: bool = Field(description="False when this event id was already in the ledger")


class ClvFitCreate(BaseModel):
    """A fit of the predicted lifetime value over the ledger, run by the worker."""

    currency: str | None = Field(
        None, min_length=3, max_length=3, description="Default: the store's"
    )
    horizon_months: int = Field(12, description="Months of future purchases valued")
    monthly_discount: float = Field(0.01, description="Discount rate per month")
    holdout_days: int | None = Field(
        None, description="Days held out to check the fit: half the ledger's span, at most 180"
    )


class ClvFitQueued(BaseModel):
    job_id: str
