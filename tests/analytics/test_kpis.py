"""KPIs on a small known ledger: the figures a merchant would check by hand, and the
formula that each one names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from mercato.analytics import ledger
from mercato.cli import app
from mercato.config import get_settings
from mercato.db import transaction
from tests.analytics.ledger_helpers import record_known_ledger, touch

runner = CliRunner()


@pytest.fixture
def ledger_rows(sessions):
    record_known_ledger(sessions)


def _kpis(client, admin, **params):
    response = client.get(
        "/api/v1/analytics/kpis",
        params={"from": "2026-11-02", "to": "2026-11-03", **params},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_kpis_by_channel_on_a_known_ledger(client, admin, ledger_rows):
    found = _kpis(client, admin, by="channel")
    rows = {r["group"]: r for r in found["rows"]}
    instagram, tiktok = rows["instagram"], rows["tiktok"]
    assert found["formulas"]["conversion_rate_sessions"] == "orders ÷ sessions"
    assert found["formulas"]["conversion_rate_users"].startswith("orders ÷ users")
    assert (instagram["sessions"], instagram["users"], instagram["orders"]) == (4, 2, 2)
    assert instagram["conversion_rate_sessions"] == 0.5
    assert instagram["conversion_rate_users"] == 1.0
    assert (instagram["revenue_gross"], instagram["refunds"], instagram["revenue_net"]) == (
        8000,
        -1000,
        7000,
    )
    assert instagram["aov"] == 4000
    assert (instagram["spend"], instagram["roas"]) == (4000, 1.75)
    assert (instagram["new_customers"], instagram["cac"]) == (2, 2000)
    assert instagram["engagement_rate"] == 0.05
    # A bought again (on TikTok): one of instagram's two buyers repeats.
    assert instagram["repeat_rate"] == 0.5
    # A: 3000 - 1000 + 2000, B: 5000, over the two customers instagram brought.
    assert instagram["clv_historical"] == 4500
    assert (tiktok["sessions"], tiktok["orders"], tiktok["conversion_rate_sessions"]) == (2, 1, 0.5)
    assert tiktok["conversion_rate_users"] is None  # no consented visitor: not 0, unknown
    assert (tiktok["spend"], tiktok["roas"], tiktok["new_customers"], tiktok["cac"]) == (
        0,
        None,
        0,
        None,
    )
    total = found["total"]
    assert (total["sessions"], total["orders"], total["revenue_net"]) == (6, 3, 9000)


def test_days_are_cut_in_the_store_s_time_zone(client, admin, sessions, monkeypatch):
    monkeypatch.setenv("MERCATO_TIMEZONE", "Europe/Paris")
    get_settings.cache_clear()
    late = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already the 3rd in Paris
    with transaction(sessions) as session:
        ledger.record(session, [touch(1, "visit", late, "instagram")])
    found = _kpis(client, admin, bucket="day")
    assert [(r["period"], r["sessions"]) for r in found["rows"]] == [("2026-11-03", 1)]
    assert found["time_zone"] == "Europe/Paris"


def test_bad_groupings_are_refused_and_the_scope_is_needed(client, admin, make_token):
    response = client.get("/api/v1/analytics/kpis", params={"by": "colour"}, headers=admin)
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["by"]
    reader = make_token("analytics:read")
    assert client.get("/api/v1/analytics/kpis", headers=reader).status_code == 200
    other = make_token("orders:read")
    assert client.get("/api/v1/analytics/kpis", headers=other).status_code == 403


def test_the_kpis_command_prints_figures_and_formulas(ledger_rows):
    args = ["analytics", "kpis", "--by", "channel", "--from", "2026-11-02", "--to", "2026-11-03"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["orders"] == 3
    table = runner.invoke(app, args)
    assert "instagram" in table.stdout and "conversion_rate_sessions = orders ÷ sessions" in (
        table.stdout
    )
    csv_out = runner.invoke(app, [*args, "--format", "csv"]).stdout.splitlines()
    assert csv_out[0].startswith("period,group,sessions,users,orders,conversion_rate_sessions")
    assert csv_out[-1].startswith(",total,6,")
