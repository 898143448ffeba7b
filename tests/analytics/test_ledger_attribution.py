"""Attribution over the ledger: journeys per buyer up to each purchase, with touch times,
so every model (time decay and the lookback window too) runs without a journeys file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from mercato.analytics import ledger
from mercato.analytics.ledger_journeys import from_ledger
from mercato.cli import app
from mercato.db import transaction

runner = CliRunner()
BOUGHT = datetime(2026, 11, 10, 12, tzinfo=UTC)


def touch(n: int, kind: str, at: datetime, channel: str | None, **extra) -> dict:
    return {"event_id": f"t{n}", "kind": kind, "source": "server", "at": at, "channel": channel,
            **extra}  # fmt: skip


@pytest.fixture
def journeys_in_ledger(sessions):
    day = timedelta(days=1)
    rows = [
        # A: instagram 3 days before, tiktok 1 day before, then buys for $50.00.
        touch(1, "visit", BOUGHT - 3 * day, "instagram", customer_id="A"),
        touch(2, "product_view", BOUGHT - 3 * day, "instagram", customer_id="A"),
        touch(3, "visit", BOUGHT - day, "tiktok", customer_id="A"),
        touch(4, "purchase", BOUGHT, "tiktok", customer_id="A", value=5000, currency="USD"),
        # B bought with nothing recorded before: the purchase's own channel.
        touch(5, "purchase", BOUGHT, "email", customer_id="B", value=2000, currency="USD"),
        # A consented visitor who came from instagram and did not buy.
        touch(6, "visit", BOUGHT, "instagram", visitor_id="visitor-2"),
        # Imported figures belong to nobody's journey.
        {**touch(7, "reach", BOUGHT, "instagram"), "count": 900, "source": "import"},
    ]
    with transaction(sessions) as session:
        ledger.record(session, rows)


def test_journeys_are_built_per_buyer_with_days_before_the_purchase(sessions, journeys_in_ledger):
    with sessions() as session:
        found = from_ledger(session, BOUGHT - timedelta(days=30), BOUGHT + timedelta(1), "USD")
    by_path = {j.path: j for j in found}
    assert set(by_path) == {("instagram", "tiktok"), ("email",), ("instagram",)}
    a = by_path[("instagram", "tiktok")]
    assert (a.conversions, a.value, a.nulls, a.days_before) == (1, 50.0, 0, (3.0, 1.0))
    assert (by_path[("email",)].conversions, by_path[("email",)].value) == (1, 20.0)
    assert (by_path[("instagram",)].conversions, by_path[("instagram",)].nulls) == (0, 1)


def test_attribution_runs_on_the_ledger_from_the_api_and_the_command(
    client, admin, journeys_in_ledger
):
    params = {"from": "2026-11-01", "to": "2026-11-10"}
    response = client.get(
        "/api/v1/analytics/attribution", params={**params, "model": "first"}, headers=admin
    )
    assert response.status_code == 200, response.text
    credits = {c["channel"]: c for c in response.json()["models"]["first"]["channels"]}
    assert {k: (c["conversions"], c["value"]) for k, c in credits.items()} == {
        "instagram": (1.0, 50.0),
        "email": (1.0, 20.0),
    }
    # Touch times are known: time decay and a lookback window run.
    response = client.get(
        "/api/v1/analytics/attribution",
        params={**params, "model": "time-decay", "lookback": 2},
        headers=admin,
    )
    credits = {c["channel"]: c for c in response.json()["models"]["time-decay"]["channels"]}
    assert credits["tiktok"]["conversions"] == 1.0 and "instagram" not in credits

    result = runner.invoke(
        app,
        ["analytics", "attribution", "--model", "markov", "--format", "json",
         "--from", "2026-11-01", "--to", "2026-11-10"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    markov = json.loads(result.stdout)["models"]["markov"]
    assert markov["total_conversions"] == 2.0 and markov["total_value"] == 70.0


def test_an_empty_period_answers_with_a_note(client, admin):
    response = client.get("/api/v1/analytics/attribution", params={"model": "first"}, headers=admin)
    assert response.status_code == 200, response.text
    assert "no purchase" in response.json()["notes"][0]


def test_a_sale_through_a_conversation_s_link_joins_its_messages_to_the_buyer(sessions):
    """The comment that started it all is in the buyer's journey; another conversation's
    messages are not."""
    hour = timedelta(hours=1)
    with transaction(sessions) as session:
        ledger.record(
            session,
            [
                touch(1, "comment", BOUGHT - 2 * hour, "instagram", conversation_id="cnv_1"),
                touch(2, "message", BOUGHT - 2 * hour, "whatsapp", conversation_id="cnv_2"),
                touch(
                    3,
                    "visit",
                    BOUGHT - hour,
                    "instagram",
                    visitor_id="visitor-9",
                    conversation_id="cnv_1",
                ),  # fmt: skip
                touch(
                    4,
                    "purchase",
                    BOUGHT,
                    "instagram",
                    customer_id="M",
                    visitor_id="visitor-9",
                    conversation_id="cnv_1",
                    value=4500,
                    currency="USD",
                ),  # fmt: skip
            ],
        )
    with sessions() as session:
        found = from_ledger(session, BOUGHT - timedelta(days=1), BOUGHT + timedelta(1), "USD")
    assert [(j.path, j.conversions) for j in found] == [(("instagram", "instagram"), 1)]
