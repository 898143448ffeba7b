"""What Meta's Ads Insights and Pinterest's campaign analytics accept and answer, judged
from their documentation (docs/platforms/meta.md "Ads Insights", docs/platforms/
pinterest.md "Campaign analytics"), not from Mercato's adapters. Meta's parameters are
checked against the official Business SDK's description of ``AdAccount.get_insights``;
Pinterest's requests and answers against its OpenAPI description (by the simulator)."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta

from facebook_business.adobjects.adsinsights import AdsInsights

_META_FIELDS = frozenset(
    v for k, v in vars(AdsInsights.Field).items() if not k.startswith("_") and isinstance(v, str)
)
_META_LEVELS = frozenset(
    v for k, v in vars(AdsInsights.Level).items() if not k.startswith("_") and isinstance(v, str)
)
_META_BREAKDOWNS = frozenset(
    v
    for k, v in vars(AdsInsights.Breakdowns).items()
    if not k.startswith("_") and isinstance(v, str)
)
# Rows a day's figures per campaign and placement carry besides the fields asked for.
_META_ALWAYS = ("date_start", "date_stop")
PINTEREST_MAX_DAYS = 90


def meta_refusals(query: dict) -> list[str]:
    """Why Meta would refuse these insights parameters, or []."""
    problems = []
    fields = [f for f in (query.get("fields") or "").split(",") if f]
    unknown = [f for f in fields if f not in _META_FIELDS]
    if unknown:
        problems.append(f"(#100) {unknown[0]} is not a valid insights field")
    if query.get("level") and query["level"] not in _META_LEVELS:
        problems.append(f"(#100) level must be one of {sorted(_META_LEVELS)}")
    for breakdown in (query.get("breakdowns") or "").split(","):
        if breakdown and breakdown not in _META_BREAKDOWNS:
            problems.append(f"(#100) {breakdown} is not a valid breakdown")
    increment = query.get("time_increment")
    if increment and not (
        increment in ("monthly", "all_days") or (increment.isdigit() and 1 <= int(increment) <= 90)
    ):
        problems.append("(#100) time_increment must be 1-90, monthly or all_days")
    try:
        window = json.loads(query.get("time_range") or "{}")
        since, until = date.fromisoformat(window["since"]), date.fromisoformat(window["until"])
        if since > until:
            problems.append("(#100) time_range: since must be before until")
    except (ValueError, KeyError, TypeError):
        problems.append("(#100) time_range must be a JSON object with since and until")
    return problems


def meta_page(rows: list[dict], query: dict) -> dict:
    """One page of an account's rows: those of the period (``time_increment=1``), the
    fields asked for, cursor paging (``after``; ``next`` while more remain)."""
    window = json.loads(query["time_range"])
    since, until = date.fromisoformat(window["since"]), date.fromisoformat(window["until"])
    wanted = [f for f in query.get("fields", "").split(",") if f]
    wanted += [b for b in (query.get("breakdowns") or "").split(",") if b]
    chosen = [r for r in rows if since <= date.fromisoformat(r["date_start"]) <= until]
    start = int(_cursor_value(query.get("after")) or -1) + 1
    limit = int(query.get("limit") or 25)
    page = chosen[start : start + limit]
    data = [{k: r[k] for k in (*wanted, *_META_ALWAYS) if k in r} for r in page]
    paging: dict = {}
    if page:
        paging["cursors"] = {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}
        if start + len(page) < len(chosen):
            paging["next"] = "https://graph.facebook.com/insights?after=" + _cursor(
                start + len(page) - 1
            )
    return {"data": data, "paging": paging}


def _cursor(n: int) -> str:
    return base64.urlsafe_b64encode(str(n).encode()).decode()


def _cursor_value(cursor: str | None) -> str | None:
    return base64.urlsafe_b64decode(cursor.encode()).decode() if cursor else None


def pinterest_refusals(query: dict, today: date) -> list[str]:
    """The description's date rules for a DAY report: from at most 90 days back, a range
    of at most 90 days."""
    start, end = date.fromisoformat(query["start_date"]), date.fromisoformat(query["end_date"])
    problems = []
    if start > end:
        problems.append("start_date must not be after end_date")
    if start < today - timedelta(days=PINTEREST_MAX_DAYS):
        problems.append("start_date cannot be more than 90 days back from today")
    if end - start > timedelta(days=PINTEREST_MAX_DAYS):
        problems.append("end_date cannot be more than 90 days past start_date")
    return problems


def pinterest_rows(rows: list[dict], query: list[tuple[str, str]]) -> list[dict]:
    """The rows of the campaigns and dates asked for, with the columns asked for."""
    pairs = dict(query)
    ids = {v for k, v in query if k == "campaign_ids"}
    columns = pairs["columns"].split(",")
    start, end = date.fromisoformat(pairs["start_date"]), date.fromisoformat(pairs["end_date"])
    return [
        {"DATE": r["DATE"], "CAMPAIGN_ID": r["CAMPAIGN_ID"]} | {c: r[c] for c in columns if c in r}
        for r in rows
        if r["CAMPAIGN_ID"] in ids and start <= date.fromisoformat(r["DATE"]) <= end
    ]
