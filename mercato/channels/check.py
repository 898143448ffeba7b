"""Validation before publishing: every variant shaped for a platform and checked against
its spec, without sending anything."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from mercato.catalog.service import store_currency
from mercato.channels import feed_rules, inclusion, platforms, service
from mercato.channels import markets as channel_markets
from mercato.channels.items import iter_items
from mercato.channels.models import KINDS, Channel
from mercato.channels.schemas import (
    RULE_FIELDS,
    FeedPreview,
    FeedPreviewItem,
    FeedPreviewRequest,
)
from mercato.channels.target import Target, storefront_url
from mercato.errors import NotFound


@dataclass(slots=True)
class Prepared:
    item: dict
    row: dict
    issues: list[dict]
    # What the channel's feed rules changed ("title set by rule 2").
    ruled: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(i["severity"] == "error" for i in self.issues)


def resolve_target(session: Session, reference: str) -> Target:
    """A channel by name or id; a bare kind ("google") with no such channel checks against
    that platform's defaults (US, English, the store currency)."""
    try:
        return Target.of(service.find_channel(session, reference))
    except NotFound:
        if reference not in KINDS:
            raise
        return Target(kind=reference, currency=store_currency(), base_url=storefront_url())


def prepare(
    session: Session,
    target: Target,
    statuses: tuple[str, ...] | None = ("active",),
    variant_ids: list[str] | None = None,
) -> Iterator[Prepared]:
    """Each variant as the platform's row, after the channel's feed rules, with what its
    spec says about it."""
    to_row = platforms.mapping(target.kind).to_row
    validate = platforms.spec(target.kind).validate
    currency = target.currency
    market, market_issue = channel_markets.in_market(session, target, variant_ids)
    for item in iter_items(session, target, statuses, variant_ids):
        # A market's price first: the channel's rules then see what the buyer pays there.
        priced = market.apply(item) if market is not None else market_issue
        applied = feed_rules.apply(item, target.feed_rules)
        row = to_row(item, target)
        issues = validate(row, item, target)
        if priced is not None:
            issues.append(dict(priced))
        if applied.excluded:
            issues.append(feed_rules.exclusion_issue(applied.excluded))
        if item["currency"] != currency and priced is None:
            issues.append(
                {
                    "field": "price",
                    "message": f"priced in {item['currency']}; the channel sells in {currency}",
                    "severity": "error",
                    "source": "local",
                }
            )
        yield Prepared(item, row, issues, applied.notes)


@dataclass
class CheckReport:
    target: Target
    checked: int = 0
    valid: int = 0
    # Items with at least one issue: (item, issues).
    flagged: list[Prepared] = field(default_factory=list)
    # Findings about the channel as a whole rather than one item.
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.flagged if not p.valid)


def check(session: Session, target: Target, statuses: tuple[str, ...] | None = None) -> CheckReport:
    """Dry run over the catalog (every product status by default, so drafts can be fixed
    before they go live)."""
    report = CheckReport(target)
    for prepared in prepare(session, target, statuses):
        report.checked += 1
        if prepared.valid:
            report.valid += 1
        if prepared.issues:
            report.flagged.append(prepared)
    if not target.links_are_https:
        report.notes.append(
            f"Product links and uploaded images use MERCATO_BASE_URL={target.base_url}, "
            f"which is not https: platforms reject such links. They were not checked item "
            f"by item; set "
            f"MERCATO_BASE_URL to the shop's public https address before publishing to a "
            f"real platform."
        )
    return report


# The catalog field each platform attribute is made from, where the merchant can edit it
# on the product page (the channel's to-do list links there).
CATALOG_FIELDS = {
    "title": "title",
    "description": "description_html",
    "gtin": "barcode",
    "identifier_code": "barcode",
    "price": "price",
    "sale_price": "compare_at_price",
    "seller_sku": "sku",
    "color": "option_values",
    "size": "option_values",
    "material": "option_values",
    "pattern": "option_values",
    "sales_attributes": "option_values",
    "package_weight": "weight",
    "shipping_weight": "weight",
    "inventory": "stock",
    "availability": "stock",
}


@dataclass
class ProductCheck:
    """A product on one channel: what its listings say, and Mercato's check of it now."""

    channel: Channel
    listed: dict[str, int]  # verdict -> variants
    # Variants the check finds issues with now, or the channel's feed rules changed.
    flagged: list[Prepared]
    # The product's variants the merchant keeps off this channel.
    excluded: set[str] = field(default_factory=set)


def check_product(session: Session, product_id: str, variant_ids: list[str]) -> list[ProductCheck]:
    """The product's variants checked against each connected channel (any status), beside
    the verdicts its listings hold."""
    out = []
    listed: dict[str, Counter] = {}
    for listing in service.listings_of_product(session, product_id):
        listed.setdefault(listing.channel_id, Counter())[listing.verdict] += 1
    excluded = inclusion.excluded_of_product(session, product_id)
    for channel in service.list_channels(session):
        prepared = prepare(session, Target.of(channel), None, variant_ids)
        out.append(
            ProductCheck(
                channel,
                dict(listed.get(channel.id, {})),
                [p for p in prepared if p.issues or p.ruled],
                excluded.get(channel.id, set()),
            )
        )
    return out


def preview_rules(session: Session, channel_ref: str, data: FeedPreviewRequest) -> FeedPreview:
    """What ``data``'s rules would make of the channel's items (the first ``limit``, drafts
    included as the check reads them, or those named), against what its saved rules make
    now: nothing is saved or sent."""
    variant_ids, limit = data.variant_ids, data.limit
    channel = service.find_channel(session, channel_ref)
    now = Target.of(channel)
    proposed = Target.of(channel)
    proposed.feed_rules = [r.model_dump(mode="json", exclude_none=True) for r in data.rules]
    before = _first(prepare(session, now, None, variant_ids), limit)
    after = _first(prepare(session, proposed, None, variant_ids), limit)
    items = []
    for old, new in zip(before, after, strict=True):
        changes = {
            f: (old.item.get(f), new.item.get(f))
            for f in RULE_FIELDS
            if old.item.get(f) != new.item.get(f)
        }
        excluded = next((i["message"] for i in new.issues if i.get("source") == "rule"), None)
        items.append(
            FeedPreviewItem(
                variant_id=new.item["variant_id"],
                sku=new.item["sku"],
                title=new.item["title"] or "",
                changes=changes,
                notes=new.ruled,
                excluded=excluded,
                issues_before=len(old.issues),
                issues_after=len(new.issues),
            )
        )
    return FeedPreview(
        items=items,
        items_changed=sum(1 for i in items if i.changes),
        items_excluded=sum(1 for i in items if i.excluded),
    )


def _first(prepared: Iterator[Prepared], limit: int) -> list[Prepared]:
    out = []
    for entry in prepared:
        out.append(entry)
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------- verdicts per market


@dataclass
class MarketVerdict:
    """One channel of a market: what Mercato's check of its items says now, and what the
    platform said of what was sent."""

    market: str
    channel: str
    kind: str
    country: str
    language: str
    currency: str
    localized: bool
    checked: int = 0
    valid: int = 0
    errors: int = 0
    listed: dict[str, int] = field(default_factory=dict)
    # The most common issues: "title: too long" -> how many items.
    issues: dict[str, int] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.checked == 0:
            return "empty"
        if self.errors or self.listed.get("rejected"):
            return "errors"
        return "ready"


def verdicts(session: Session, market: str | None = None) -> list[MarketVerdict]:
    """Each channel set to a market (or to ``market``), checked against its platform."""
    out = []
    for channel in service.list_channels(session):
        target = Target.of(channel)
        if not target.market or (market and target.market != market):
            continue
        report = check(session, target, ("active",))
        found = MarketVerdict(
            target.market,
            channel.name,
            channel.kind,
            channel.country,
            target.locale,
            channel.currency,
            target.localized,
            report.checked,
            report.valid,
            report.errors,
            service.verdict_counts(session, channel.id),
        )
        for prepared in report.flagged:
            for issue in prepared.issues:
                key = f"{issue['field']}: {issue['message']}"
                found.issues[key] = found.issues.get(key, 0) + 1
        out.append(found)
    return sorted(out, key=lambda v: (v.market, v.kind, v.channel))
