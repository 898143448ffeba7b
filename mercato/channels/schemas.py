"""Channel input and output shapes. Credentials go in, never out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["meta", "google", "tiktok", "pinterest", "snapchat"]
ChannelStatus = Literal["active", "needs_reauth", "paused"]
Verdict = Literal["pending", "approved", "rejected", "warning", "deleted"]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.-]+$")]
HttpUrl = Annotated[str, Field(max_length=500, pattern=r"^https?://\S+$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChannelCreate(_Input):
    kind: Kind
    name: Name
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] = "US"
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")] | None = None
    base_url: HttpUrl | None = None
    credentials: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


class ChannelUpdate(_Input):
    name: Name | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")] | None = None
    base_url: HttpUrl | None = None
    status: ChannelStatus | None = None
    # Replaces the stored credentials as a whole (e.g. after re-authorising).
    credentials: dict[str, str] | None = None
    settings: dict[str, Any] | None = None


class ChannelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: Kind
    name: str
    country: str
    language: str
    currency: str
    base_url: str
    status: ChannelStatus
    settings: dict[str, Any]
    # Which credential keys are set; their values never leave the server.
    credential_keys: list[str]
    capabilities: dict[str, Any]
    last_synced_at: datetime | None
    # Sync keeps failing: how many runs in a row, the platform's last message and when.
    failing: bool = False
    failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    removed_at: datetime | None = None
    # Where the platform sends buyers to check out on the storefront: register it there.
    checkout_url: str | None = None
    created_at: datetime
    updated_at: datetime


class ChannelRemoved(BaseModel):
    channel: ChannelPublic
    # Items deleted on the platform first (delete_items).
    deleted_items: int


class ChannelList(BaseModel):
    items: list[ChannelPublic]


class FeedTokenPublic(BaseModel):
    token: str
    url: str


class IssuePublic(BaseModel):
    field: str
    message: str
    severity: Literal["error", "warning"]
    source: Literal["local", "platform"]


class ListingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    channel_id: str
    variant_id: str
    product_id: str
    item_id: str
    verdict: Verdict
    issues: list[IssuePublic]
    pushed_at: datetime | None
    confirmed_at: datetime | None


class ListingPage(BaseModel):
    items: list[ListingPublic]
    next_cursor: str | None


class PublishRequest(_Input):
    dry_run: bool = False


class PublishResult(BaseModel):
    channel_id: str
    dry_run: bool
    checked: int
    would_send: int = 0
    sent: int = 0
    deleted: int = 0
    rejected: int = 0
    skipped_invalid: int = 0
    status: ChannelStatus
    messages: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- feed rules (feed_rules.py)

# Fields a rule may change: the item's texts and attributes, never its price, stock,
# identifiers or links (those come from the catalog). A condition or a template may also
# read the others named here.
RULE_FIELDS = (
    "title",
    "description",
    "brand",
    "color",
    "size",
    "material",
    "pattern",
    "gender",
    "age_group",
    "product_type",
    "condition",
    "mpn",
)
READ_FIELDS = (*RULE_FIELDS, "sku", "gtin", "handle", "in_stock", "price", "currency")
RuleField = Literal[RULE_FIELDS]
ReadField = Literal[READ_FIELDS]


class FeedCondition(_Input):
    field: ReadField
    op: Literal["empty", "not_empty", "equals", "not_equals", "contains", "not_contains"]
    value: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _value_when_compared(self):
        if self.op not in ("empty", "not_empty") and not self.value:
            raise ValueError(f"{self.op} needs a value")
        return self


class FeedAction(_Input):
    action: Literal["set", "append", "prepend", "replace", "template", "map", "exclude"]
    field: RuleField | None = None
    value: Annotated[str, Field(max_length=5000)] | None = None
    find: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    template: Annotated[str, Field(min_length=1, max_length=5000)] | None = None
    mapping: (
        dict[Annotated[str, Field(max_length=500)], Annotated[str, Field(max_length=500)]] | None
    ) = None

    @model_validator(mode="after")
    def _complete(self):
        needs = {
            "set": ("field", "value"),
            "append": ("field", "value"),
            "prepend": ("field", "value"),
            "replace": ("field", "find"),
            "template": ("field", "template"),
            "map": ("field", "mapping"),
            "exclude": (),
        }[self.action]
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"{self.action} needs {' and '.join(missing)}")
        if self.template:
            unknown = sorted(set(re.findall(r"\{(\w+)\}", self.template)) - set(READ_FIELDS))
            if unknown:
                raise ValueError(f"the template names unknown fields: {', '.join(unknown)}")
        return self


class FeedRule(_Input):
    name: Annotated[str, Field(max_length=100)] | None = None
    when: list[FeedCondition] = Field(
        default_factory=list, max_length=10, description="All must hold; none: every item"
    )
    then: FeedAction


class FeedRulesUpdate(_Input):
    rules: list[FeedRule] = Field(max_length=100, description="In order: the first runs first")


class FeedPreviewRequest(FeedRulesUpdate):
    variant_ids: list[Annotated[str, Field(max_length=40)]] | None = Field(
        None, max_length=100, description="These variants; else the first ones"
    )
    limit: int = Field(20, ge=1, le=100)


class FeedRulesPublic(BaseModel):
    channel_id: str
    version: int
    rules: list[FeedRule]


class FeedPreviewItem(BaseModel):
    variant_id: str
    sku: str | None
    title: str
    changes: dict[str, tuple[Any, Any]] = Field(description="field: [before, after]")
    notes: list[str]
    excluded: str | None
    issues_before: int
    issues_after: int


class FeedPreview(BaseModel):
    items: list[FeedPreviewItem]
    items_changed: int
    items_excluded: int


class InclusionUpdate(_Input):
    """Variants (and every variant of products) taken onto the channel or kept off it."""

    included: bool
    variant_ids: Annotated[list[str], Field(max_length=1000)] = []
    product_ids: Annotated[list[str], Field(max_length=1000)] = []


class InclusionResult(BaseModel):
    channel_id: str
    included: bool
    selected: int = Field(description="Variants selected")
    changed: int = Field(description="Of them, those whose inclusion changed")


class ExclusionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    variant_id: str
    product_id: str
    created_at: datetime


class ExclusionList(BaseModel):
    items: list[ExclusionPublic]


class ChannelMarketSet(_Input):
    market: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        None, description="A market's code; null: the channel sells in no market"
    )


class MarketVerdictPublic(BaseModel):
    """One channel of a market, checked now against its platform's rules."""

    market: str
    channel: str
    kind: str
    country: str
    language: str
    currency: str
    localized: bool
    verdict: str = Field(description="ready, errors or empty")
    checked: int
    valid: int
    errors: int
    listed: dict[str, int]
    issues: dict[str, int]
