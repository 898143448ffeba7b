"""Meta's Ads Insights API: an ad account's spend, impressions and clicks per campaign,
day and placement, from ``GET /{version}/act_{ad_account_id}/insights``
(docs/platforms/meta.md "Ads Insights")."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

from mercato.channels import http as channel_http
from mercato.channels.ad_reports import AdAccount, CampaignDay, ReportRefused
from mercato.channels.conversions import answer_of
from mercato.config import get_settings
from mercato.money import check_currency

FIELDS = ("campaign_id", "campaign_name", "spend", "impressions", "clicks", "account_currency")
PAGE_SIZE = 500


def params(since: date, until: date, after: str | None = None) -> dict:
    """One row per campaign, day (``time_increment=1``) and placement
    (``breakdowns=publisher_platform``), over [since, until] in the account's zone."""
    found = {
        "level": "campaign",
        "fields": ",".join(FIELDS),
        "breakdowns": "publisher_platform",
        "time_increment": "1",
        "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
        "limit": str(PAGE_SIZE),
    }
    if after:
        found["after"] = after
    return found


def campaign_days(account: AdAccount, since: date, until: date) -> list[CampaignDay]:
    """Every page of the account's campaign days (cursor paging, ``after``)."""
    path = f"/{get_settings().meta_graph_version}/act_{account.account_id}/insights"
    days, after = [], None
    with channel_http.open_client(account.base_url) as http:
        while True:
            response = channel_http.send(
                http,
                "GET",
                path,
                params=params(since, until, after),
                headers={"Authorization": f"Bearer {account.access_token}"},
            )
            answer = answer_of(response)
            if response.status_code >= 400 or not isinstance(answer, dict):
                error = answer.get("error") if isinstance(answer, dict) else None
                message = error.get("message") if isinstance(error, dict) else answer
                raise ReportRefused(f"Meta: {message}", response.status_code)
            days.extend(_row(row) for row in answer.get("data") or [])
            paging = answer.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return days


def _row(row: dict) -> CampaignDay:
    """Meta sends numbers as strings; spend in the account's currency, major units."""
    try:
        return CampaignDay(
            day=date.fromisoformat(row["date_start"]),
            channel=row.get("publisher_platform") or "facebook",
            campaign=row.get("campaign_name") or row["campaign_id"],
            spend=Decimal(row.get("spend") or "0"),
            currency=check_currency(row["account_currency"]),
            impressions=int(row.get("impressions") or 0),
            clicks=int(row.get("clicks") or 0),
        )
    except (KeyError, ValueError, InvalidOperation) as exc:
        raise ReportRefused(f"Meta: an insights row could not be read ({exc!r}).") from None
