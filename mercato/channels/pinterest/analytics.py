"""Pinterest's campaign analytics: an ad account's spend, impressions and clicks per
campaign and day, from ``GET /v5/ad_accounts/{ad_account_id}/campaigns/analytics``, for
the campaigns listed by ``GET /v5/ad_accounts/{ad_account_id}/campaigns``, in the
currency of ``GET /v5/ad_accounts/{ad_account_id}`` (docs/platforms/pinterest.md
"Campaign analytics"; the requests and answers are in Pinterest's OpenAPI description)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx

from mercato.channels import http as channel_http
from mercato.channels.ad_reports import AdAccount, CampaignDay, ReportRefused
from mercato.channels.conversions import answer_of
from mercato.money import MoneyError, check_currency

CHANNEL = "pinterest"
# Pinterest's limits: 250 campaign ids per analytics request and per page of campaigns.
MAX_IDS = 250
COLUMNS = ("SPEND_IN_MICRO_DOLLAR", "TOTAL_IMPRESSION", "TOTAL_CLICKTHROUGH")
# Every state a campaign that spent may be in now (the default is ACTIVE and PAUSED).
STATUSES = ["ACTIVE", "PAUSED", "ARCHIVED"]
MICRO = Decimal(1_000_000)


def campaign_days(account: AdAccount, since: date, until: date) -> list[CampaignDay]:
    """[since, until] (UTC days; at most 90 days, none older than 90 days). Arrays in the
    query are repeated keys (the description's default style), but ``columns``, which it
    marks ``explode: false``."""
    root = f"/v5/ad_accounts/{account.account_id}"
    with channel_http.open_client(account.base_url) as http:
        currency = _currency(_get(http, account, root))
        names = _campaigns(http, account, root)
        days = []
        ids = list(names)
        for start in range(0, len(ids), MAX_IDS):
            rows = _get(
                http,
                account,
                f"{root}/campaigns/analytics",
                start_date=since.isoformat(),
                end_date=until.isoformat(),
                campaign_ids=ids[start : start + MAX_IDS],
                columns=",".join(COLUMNS),
                granularity="DAY",
            )
            days.extend(_row(row, names, currency) for row in rows)
    return days


def _currency(ad_account: dict) -> str:
    try:
        return check_currency(ad_account.get("currency"))
    except MoneyError as exc:
        raise ReportRefused(f"Pinterest: the ad account's currency: {exc}") from None


def _campaigns(http: httpx.Client, account: AdAccount, root: str) -> dict[str, str]:
    names, bookmark = {}, None
    while True:
        query: dict = {"page_size": str(MAX_IDS), "entity_statuses": STATUSES}
        if bookmark:
            query["bookmark"] = bookmark
        page = _get(http, account, f"{root}/campaigns", **query)
        names.update({c["id"]: c.get("name") or c["id"] for c in page.get("items") or []})
        bookmark = page.get("bookmark")
        if not bookmark:
            return names


def _get(http: httpx.Client, account: AdAccount, path: str, **query):
    response = channel_http.send(
        http,
        "GET",
        path,
        params=query or None,
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    if response.status_code >= 400:
        answer = answer_of(response)
        message = answer.get("message") if isinstance(answer, dict) else answer
        raise ReportRefused(f"Pinterest: {message}", response.status_code)
    try:
        return response.json()
    except ValueError:
        raise ReportRefused(f"Pinterest: {path} did not answer JSON.") from None


def _row(row: dict, names: dict[str, str], currency: str) -> CampaignDay:
    """Micro-units of the account's currency (the ``columns`` parameter's note); a
    column with no value may be left out."""
    try:
        return CampaignDay(
            day=date.fromisoformat(row["DATE"]),
            channel=CHANNEL,
            campaign=names.get(row["CAMPAIGN_ID"], row["CAMPAIGN_ID"]),
            spend=Decimal(row.get("SPEND_IN_MICRO_DOLLAR") or 0) / MICRO,
            currency=currency,
            impressions=int(row.get("TOTAL_IMPRESSION") or 0),
            clicks=int(row.get("TOTAL_CLICKTHROUGH") or 0),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ReportRefused(f"Pinterest: an analytics row could not be read ({exc!r}).") from None
