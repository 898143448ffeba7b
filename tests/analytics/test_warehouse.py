"""The ledger in DuckDB: SQL over the documented views gives the KPI API's figures, days
follow the store's zone, a query cannot reach files, and Parquet files hold every row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from mercato.analytics import ledger
from mercato.cli import app
from mercato.config import get_settings
from mercato.db import transaction
from tests.analytics.ledger_helpers import record_known_ledger, touch

runner = CliRunner()
PERIOD = ["--from", "2026-11-02", "--to", "2026-11-03"]


def _sql(query: str, *extra: str) -> list[dict]:
    result = runner.invoke(app, ["analytics", "sql", query, *PERIOD, "--format", "json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_channel_days_agree_with_the_kpis(client, admin, sessions):
    record_known_ledger(sessions)
    rows = _sql(
        "SELECT channel, currency, sum(sessions) AS sessions, sum(orders) AS orders, "
        "sum(revenue_net) AS revenue_net, sum(spend) AS spend "
        "FROM channel_days GROUP BY ALL ORDER BY channel",
        "--currency",
        "USD",
    )
    kpis = client.get(
        "/api/v1/analytics/kpis",
        params={"from": "2026-11-02", "to": "2026-11-03", "by": "channel", "currency": "USD"},
        headers=admin,
    ).json()
    expected = {
        r["group"]: {k: r[k] for k in ("sessions", "orders", "revenue_net", "spend")}
        for r in kpis["rows"]
    }
    assert {r["channel"]: {k: int(r[k]) for k in expected["tiktok"]} for r in rows} == expected
    assert expected["instagram"] == {
        "sessions": 4,
        "orders": 2,
        "revenue_net": 7000,
        "spend": 4000,
    }
    # Euros are summed when asked for, never added to dollars.
    euros = _sql(
        "SELECT channel, sum(orders) AS orders, sum(revenue_gross) AS revenue "
        "FROM channel_days GROUP BY ALL HAVING orders > 0",
        "--currency",
        "EUR",
    )
    assert euros == [{"channel": "tiktok", "orders": 1, "revenue": 9999}]


def test_purchases_and_journeys_are_there_to_query(sessions):
    record_known_ledger(sessions)
    purchases = _sql("SELECT order_id, kind, value, day FROM purchases ORDER BY value")
    assert [(p["kind"], p["value"]) for p in purchases] == [
        ("refund", -1000),
        ("purchase", 2000),
        ("purchase", 3000),
        ("purchase", 5000),
        ("purchase", 9999),
    ]
    journeys = _sql(
        "SELECT path, conversions, CAST(value AS VARCHAR) AS value, nulls FROM journeys "
        "ORDER BY path, value",
        "--currency",
        "USD",
    )
    # A bought on Instagram ($30) then TikTok ($20), B on Instagram ($50); visitor v2
    # left Instagram without buying, v1 came back to it and left again (visitors never
    # stitched to a customer). Identical paths are one row, in dollars.
    assert [tuple(j.values()) for j in journeys] == [
        ("instagram", 2, "80.000000", 1),
        ("instagram>instagram", 0, "0.000000", 1),
        ("tiktok", 1, "20.000000", 0),
    ]


def test_days_are_the_store_s(sessions, monkeypatch):
    monkeypatch.setenv("MERCATO_TIMEZONE", "Europe/Paris")
    get_settings.cache_clear()
    late = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already the 3rd in Paris
    with transaction(sessions) as session:
        ledger.record(
            session,
            [touch(1, "purchase", late, "instagram", value=1200, currency="EUR", order_id="o1")],
        )
    rows = _sql("SELECT CAST(day AS VARCHAR) AS day, orders FROM channel_days", "--currency", "EUR")
    assert rows == [{"day": "2026-11-03", "orders": 1}]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/hostname')",
        "COPY touches TO '{target}' (FORMAT csv)",
        "SET enable_external_access = true",
    ],
)
def test_a_query_reaches_no_file(sessions, tmp_path, query):
    record_known_ledger(sessions)
    target = tmp_path / "leak.csv"
    result = runner.invoke(app, ["analytics", "sql", query.format(target=target), *PERIOD])
    assert result.exit_code == 1
    assert "sql:" in result.output
    assert not target.exists()


def test_a_bad_query_names_what_is_wrong(sessions):
    result = runner.invoke(app, ["analytics", "sql", "SELECT nope FROM touches", *PERIOD])
    assert result.exit_code == 1
    assert "nope" in result.output


def test_parquet_files_hold_every_row_typed(sessions, tmp_path):
    record_known_ledger(sessions)
    out = tmp_path / "ledger"
    result = runner.invoke(app, ["analytics", "export-parquet", str(out), *PERIOD])
    assert result.exit_code == 0, result.output
    assert "13 rows written" in result.output
    con = duckdb.connect()
    touches = out / "touches.parquet"
    assert con.execute(f"SELECT count(*) FROM '{touches}'").fetchone() == (13,)
    types = dict(
        con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{touches}')"
        ).fetchall()
    )
    assert (types["at"], types["value"], types["count"]) == (
        "TIMESTAMP WITH TIME ZONE",
        "BIGINT",
        "INTEGER",
    )
    refund = con.execute(f"SELECT value, \"at\" FROM '{touches}' WHERE kind = 'refund'").fetchone()
    assert refund[0] == -1000 and refund[1].astimezone(UTC) == datetime(2026, 11, 3, 10, tzinfo=UTC)
    spend = con.execute(f"SELECT day, amount FROM '{out / 'ad_spend.parquet'}'").fetchall()
    assert [(str(d), a) for d, a in spend] == [("2026-11-02", 4000)]
    assert con.execute(f"SELECT count(*) FROM '{out / 'journeys.parquet'}'").fetchone()[0] >= 2


def test_the_api_gives_one_table_as_a_file(client, admin, sessions):
    record_known_ledger(sessions)
    period = {"from": "2026-11-02", "to": "2026-11-03"}
    got = client.get("/api/v1/analytics/export/touches.csv", params=period, headers=admin)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    lines = got.text.splitlines()
    assert lines[0].startswith("event_id,kind,source,at,channel") and len(lines) == 14
    parquet = client.get("/api/v1/analytics/export/ad_spend.parquet", params=period, headers=admin)
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    assert 'filename="ad_spend.parquet"' in parquet.headers["content-disposition"]
    unknown = client.get("/api/v1/analytics/export/orders.parquet", headers=admin)
    assert unknown.status_code == 404 and "touches, ad_spend, journeys" in unknown.json()["detail"]
