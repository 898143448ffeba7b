"""Ad accounts' reports read into the ledger: Meta's Ads Insights per campaign, day and
placement, Pinterest's campaign analytics per campaign and day (its requests and answers
held to Pinterest's OpenAPI description), spend in minor units, impressions and clicks
as day totals; a day read again replaces what was read; refusals kept and shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mercato.analytics import ad_reports
from mercato.analytics.models import AdReportSource, AdSpend, Touch
from mercato.channels.ad_reports import AdAccount
from mercato.channels.meta import insights
from mercato.cli import app as cli_app
from mercato.config import get_settings
from mercato.db import transaction
from tests.helpers import SANDBOX

runner = CliRunner()
TODAY = datetime.now(UTC).date()
DAY1, DAY2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)


def meta_rows() -> list[dict]:
    """As Meta answers (numbers as strings), one row per campaign, day and placement."""
    rows = []
    for day in (DAY1, DAY2):
        for platform, spend, impressions, clicks in (
            ("facebook", "12.34", "1000", "20"),
            ("instagram", "5.5", "400", "9"),
        ):
            rows.append(
                {
                    "date_start": day.isoformat(),
                    "date_stop": day.isoformat(),
                    "campaign_id": "2385",
                    "campaign_name": "Spring drop",
                    "publisher_platform": platform,
                    "spend": spend,
                    "impressions": impressions,
                    "clicks": clicks,
                    "account_currency": "EUR",
                }
            )
    return rows


def pinterest_account(campaigns: int = 1) -> dict:
    ids = [str(600000 + n) for n in range(campaigns)]
    return {
        "currency": "USD",
        "name": "Shop",
        "campaigns": {cid: f"Pins {cid}" for cid in ids},
        "rows": [
            {
                "DATE": day.isoformat(),
                "CAMPAIGN_ID": cid,
                "SPEND_IN_MICRO_DOLLAR": 2_505_000,
                "TOTAL_IMPRESSION": 300,
                "TOTAL_CLICKTHROUGH": 7,
            }
            for day in (DAY1, DAY2)
            for cid in ids
        ],
    }


def _connect(client, admin, platform: str, account_id: str) -> str:
    created = client.post(
        "/api/v1/analytics/ad-accounts",
        json={
            "platform": platform,
            "account_id": account_id,
            "access_token": "tok",
            "base_url": f"{SANDBOX}/{platform}",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert "tok" not in created.text
    return created.json()["id"]


def _pull(client, admin, source_id: str, **period):
    params = {"from": DAY1.isoformat(), "to": DAY2.isoformat(), **period}
    return client.post(
        f"/api/v1/analytics/ad-accounts/{source_id}/pull", params=params, headers=admin
    )


def _spend(sessions) -> list[tuple]:
    with sessions() as session:
        rows = session.execute(
            select(
                AdSpend.day, AdSpend.channel, AdSpend.campaign, AdSpend.amount, AdSpend.currency
            ).order_by(AdSpend.day, AdSpend.channel, AdSpend.campaign)
        )
        return [tuple(r) for r in rows]


def _counts(sessions, kind: str) -> int:
    with sessions() as session:
        return sum(t.count for t in session.scalars(select(Touch).where(Touch.kind == kind)))


def test_meta_spend_per_campaign_day_and_placement(sandbox, client, admin, sessions):
    sandbox.put("/meta/_sandbox/insights/1234567", json=meta_rows())
    source = _connect(client, admin, "meta", "1234567")
    pulled = _pull(client, admin, source)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json() == {"campaign_days": 4, "spend_rows": 4, "touches": 8}
    assert _spend(sessions) == [
        (DAY1, "facebook", "Spring drop", 1234, "EUR"),
        (DAY1, "instagram", "Spring drop", 550, "EUR"),
        (DAY2, "facebook", "Spring drop", 1234, "EUR"),
        (DAY2, "instagram", "Spring drop", 550, "EUR"),
    ]
    assert (_counts(sessions, "impression"), _counts(sessions, "click")) == (2800, 58)
    # Meta revises a day: reading it again replaces it, nothing is counted twice.
    revised = meta_rows()
    revised[0]["spend"] = "20"
    sandbox.put("/meta/_sandbox/insights/1234567", json=revised)
    assert _pull(client, admin, source).status_code == 200
    assert _spend(sessions)[0] == (DAY1, "facebook", "Spring drop", 2000, "EUR")
    assert _counts(sessions, "impression") == 2800
    listed = client.get("/api/v1/analytics/ad-accounts", headers=admin).json()["items"]
    assert listed[0]["pulled_at"] is not None and listed[0]["last_error"] is None


def test_meta_pages_are_followed_by_cursor(sandbox, monkeypatch):
    sandbox.put("/meta/_sandbox/insights/42", json=meta_rows())
    monkeypatch.setattr(insights, "PAGE_SIZE", 3)
    account = AdAccount("42", "tok", f"{SANDBOX}/meta")
    days = insights.campaign_days(account, DAY1, DAY2)
    assert len(days) == 4
    assert {(d.channel, d.spend) for d in days} == {
        ("facebook", Decimal("12.34")),
        ("instagram", Decimal("5.5")),
    }


def test_pinterest_campaign_analytics_in_the_account_s_currency(sandbox, client, admin, sessions):
    # 260 campaigns: two pages of campaigns and two analytics requests (250 ids each at most).
    sandbox.put("/pinterest/_sandbox/ad_accounts/549755885175", json=pinterest_account(260))
    source = _connect(client, admin, "pinterest", "549755885175")
    pulled = _pull(client, admin, source)
    assert pulled.status_code == 200, pulled.text
    assert pulled.json()["campaign_days"] == 520
    spend = _spend(sessions)
    assert len(spend) == 520
    # 2,505,000 micro-dollars: $2.505, rounded half to even to 250 cents.
    assert spend[0] == (DAY1, "pinterest", "Pins 600000", 250, "USD")
    assert _counts(sessions, "click") == 520 * 7


def test_a_refusal_is_kept_and_changes_nothing(sandbox, client, admin, sessions):
    sandbox.put("/pinterest/_sandbox/ad_accounts/549755885175", json=pinterest_account())
    source = _connect(client, admin, "pinterest", "549755885175")
    # Pinterest keeps 90 days of daily figures.
    old = TODAY - timedelta(days=120)
    refused = _pull(
        client,
        admin,
        source,
        **{"from": old.isoformat(), "to": (old + timedelta(days=1)).isoformat()},
    )
    assert refused.status_code == 502
    assert "90 days" in refused.json()["detail"]
    assert _spend(sessions) == []
    with sessions() as session:
        assert "90 days" in session.get(AdReportSource, source).last_error
    # An unknown Meta account: Meta's own words, kept.
    unknown = _connect(client, admin, "meta", "999")
    assert "does not exist" in _pull(client, admin, unknown).json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "tiktok", "account_id": "1", "access_token": "t"}, "platform"),
        ({"platform": "meta", "account_id": "act_1", "access_token": "t"}, "account_id"),
        ({"platform": "meta", "account_id": "1", "access_token": ""}, "access_token"),
    ],
)
def test_bad_accounts_are_refused_by_field(client, admin, body, field):
    refused = client.post("/api/v1/analytics/ad-accounts", json=body, headers=admin)
    assert refused.status_code == 422
    assert field in str(refused.json()["errors"])


def test_periods_out_of_bounds_are_refused(client, admin, sandbox):
    source = _connect(client, admin, "meta", "1234567")
    backwards = _pull(client, admin, source, **{"from": DAY2.isoformat(), "to": DAY1.isoformat()})
    assert backwards.status_code == 422
    future = _pull(client, admin, source, to=(TODAY + timedelta(days=5)).isoformat())
    assert future.status_code == 422 and "future" in future.text


def test_the_daily_job_and_the_cli_read_every_account(
    sandbox, sessions, job_context, client, admin
):
    sandbox.put("/meta/_sandbox/insights/1234567", json=meta_rows())
    sandbox.put("/pinterest/_sandbox/ad_accounts/549755885175", json=pinterest_account())
    _connect(client, admin, "meta", "1234567")
    _connect(client, admin, "pinterest", "549755885175")
    outcomes = ad_reports.pull_recent(job_context.sessions, datetime.now(UTC))
    assert sorted(outcomes.values()) == ["2 campaign days", "4 campaign days"]
    assert {row[1] for row in _spend(sessions)} == {"facebook", "instagram", "pinterest"}
    listed = runner.invoke(cli_app, ["analytics", "ad-accounts"])
    assert listed.exit_code == 0 and "549755885175" in listed.stdout
    pulled = runner.invoke(cli_app, ["analytics", "pull-ads", "--from", DAY1.isoformat()])
    assert pulled.exit_code == 0, pulled.output
    assert "4 campaign days read" in pulled.stdout


def test_disconnecting_keeps_the_figures(sandbox, client, admin, sessions):
    sandbox.put("/meta/_sandbox/insights/1234567", json=meta_rows())
    source = _connect(client, admin, "meta", "1234567")
    assert _pull(client, admin, source).status_code == 200
    assert (
        client.delete(f"/api/v1/analytics/ad-accounts/{source}", headers=admin).status_code == 204
    )
    with transaction(sessions) as session:
        assert session.get(AdReportSource, source) is None
    assert len(_spend(sessions)) == 4


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"fields": "campaign_name,spendz"}, "spendz is not a valid insights field"),
        ({"breakdowns": "favourite_colour"}, "favourite_colour is not a valid breakdown"),
        ({"time_range": '{"since": "2026-11-03"}'}, "time_range"),
        ({"time_increment": "400"}, "time_increment"),
    ],
)
def test_the_meta_simulator_refuses_what_meta_refuses(sandbox, change, words):
    sandbox.put("/meta/_sandbox/insights/1234567", json=meta_rows())
    query = insights.params(DAY1, DAY2) | change
    refused = sandbox.get(
        f"/meta/{get_settings().meta_graph_version}/act_1234567/insights",
        params=query,
        headers={"Authorization": "Bearer tok"},
    )
    assert refused.status_code == 400 and words in refused.json()["error"]["message"]
