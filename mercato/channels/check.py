"""Validation before publishing: every variant shaped for a platform and checked against
its spec, without sending anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from mercato.catalog.service import store_currency
from mercato.channels import platforms, service
from mercato.channels.items import iter_items
from mercato.channels.models import KINDS
from mercato.channels.target import Target, storefront_url
from mercato.errors import NotFound


@dataclass(slots=True)
class Prepared:
    item: dict
    row: dict
    issues: list[dict]

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
    """Each variant as the platform's row, with what its spec says about it."""
    to_row = platforms.mapping(target.kind).to_row
    validate = platforms.spec(target.kind).validate
    currency = target.currency
    for item in iter_items(session, target, statuses, variant_ids):
        row = to_row(item, target)
        issues = validate(row, item, target)
        if item["currency"] != currency:
            issues.append(
                {
                    "field": "price",
                    "message": f"priced in {item['currency']}; the channel sells in {currency}",
                    "severity": "error",
                    "source": "local",
                }
            )
        yield Prepared(item, row, issues)


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
            f"Product links use MERCATO_BASE_URL={target.base_url}, which is not https: "
            f"platforms reject such links. Links were not checked item by item; set "
            f"MERCATO_BASE_URL to the shop's public https address before publishing to a "
            f"real platform."
        )
    return report
