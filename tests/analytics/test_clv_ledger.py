"""Predicted lifetime value over the ledger (both databases): the purchases of known
customers, net of refunds, fitted by the worker; its holdout check, the customers worth
most and the totals through the API; refusals named."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from mercato.analytics import clv, clv_runs, ledger
from mercato.analytics.models import ClvRun, ClvScore
from mercato.db import transaction, utcnow
from mercato.money import format_plain
from tests.admin.test_analytics_page import rows_of
from tests.analytics.test_clv import cdnow_purchases
from tests.helpers import signed_in

NOW = utcnow()
# CDNOW's 78 weeks moved to end the day before NOW, 400 of its customers.
SHIFT = NOW.date() - timedelta(days=1) - max(p.day for p in cdnow_purchases())


def cdnow_ledger(sessions) -> list[clv.Purchase]:
    """400 CDNOW customers' purchases as purchase touches (one order each), and what the
    ledger should make of them."""
    chosen = [p for p in cdnow_purchases() if int(p.customer) <= 400]
    rows = []
    for n, p in enumerate(chosen):
        rows.append(
            {
                "event_id": f"clv-{n}",
                "kind": "purchase",
                "source": "server",
                "at": datetime.combine(p.day + SHIFT, datetime.min.time(), UTC)
                + timedelta(hours=12),
                "customer_id": f"c_{p.customer}",
                "order_id": f"o-{n}",
                "value": round(p.value * 100),
                "currency": "USD",
            }
        )
    # Customer 1's last order refunded in full: no purchase; their first, half refunded.
    last = max(i for i, p in enumerate(chosen) if p.customer == "1")
    first = min(i for i, p in enumerate(chosen) if p.customer == "1")
    for i, share in ((last, 1), (first, 2)):
        rows.append(
            {
                **rows[i],
                "event_id": f"clv-refund-{i}",
                "kind": "refund",
                "at": rows[i]["at"] + timedelta(days=3),
                "value": -(rows[i]["value"] // share),
            }
        )
    with transaction(sessions) as session:
        ledger.record(session, rows)
    expected = []
    for i, p in enumerate(chosen):
        if i == last:
            continue
        cents = round(p.value * 100)
        net = cents - cents // 2 if i == first else cents
        expected.append(clv.Purchase(f"c_{p.customer}", p.day + SHIFT, net / 100))
    return expected


def test_the_worker_fits_the_ledger_and_the_api_shows_it(client, admin, sessions, drain):
    expected = cdnow_ledger(sessions)
    with sessions() as session:
        read = clv_runs.ledger_purchases(session, "USD")
    assert sorted(read, key=_key) == sorted(expected, key=_key)

    asked = client.post(
        "/api/v1/analytics/clv/fits",
        json={"currency": "usd", "horizon_months": 6},
        headers=admin,
    )
    assert asked.status_code == 202, asked.text
    drain()

    shown = client.get("/api/v1/analytics/clv", params={"limit": 5}, headers=admin)
    assert shown.status_code == 200, shown.text
    run = shown.json()
    assert (run["status"], run["currency"], run["horizon_months"]) == ("fitted", "USD", 6)
    # The same fit as the models give on the purchases the ledger holds.
    until = date.fromisoformat(run["until"])
    direct = clv.fit(clv.summarise(expected, until))
    assert run["params"] == pytest.approx(direct.params, rel=1e-3)
    assert run["customers"] == 400
    holdout = run["holdout"]
    assert holdout["days"] == 180 and holdout["customers"] > 300
    assert holdout["actual"] > 0 and abs(holdout["error"]) < 0.5
    top = run["top_customers"]
    assert len(top) == 5
    assert [c["clv"] for c in top] == sorted((c["clv"] for c in top), reverse=True)
    assert all(c["customer_id"].startswith("c_") for c in top)
    with sessions() as session:
        scores = session.execute(
            select(func.count(), func.sum(ClvScore.clv), func.max(ClvScore.clv))
        ).one()
        one = session.get(ClvScore, (run["id"], "c_1"))
    assert run["totals"]["customers"] == scores[0] == 400
    assert run["totals"]["clv_total"] == scores[1]
    assert top[0]["clv"] == scores[2]
    # Customer 1's refunded order is no purchase; the half refunded one counts half.
    mine = [p for p in expected if p.customer == "c_1"]
    assert one.frequency == len({p.day for p in mine}) - 1
    assert "formula" not in run and run["formulas"]["clv"].startswith("Σ")


def test_a_new_fit_replaces_the_figures_of_the_last(client, admin, sessions, drain):
    cdnow_ledger(sessions)
    for _ in range(2):
        clv_runs.fit(sessions, clv_runs.Options("USD", holdout_days=60), NOW)
    with sessions() as session:
        runs = session.scalar(select(func.count()).select_from(ClvRun))
        kept = session.scalars(select(ClvScore.run_id).distinct()).all()
        latest = clv_runs.latest(session, "USD")
    assert runs == 2 and kept == [latest.id]


def test_too_few_purchases_are_said_and_bad_options_named(client, admin, sessions):
    run = clv_runs.fit(sessions, clv_runs.Options("USD"), NOW)
    assert run.status == "not_enough_data" and "0 customers" in run.detail
    shown = client.get("/api/v1/analytics/clv", params={"currency": "USD"}, headers=admin)
    assert shown.json()["status"] == "not_enough_data"
    assert shown.json()["top_customers"] == []

    refused = client.post(
        "/api/v1/analytics/clv/fits",
        json={"horizon_months": 0, "monthly_discount": 1.5, "holdout_days": 3},
        headers=admin,
    )
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"horizon_months", "monthly_discount", "holdout_days"}
    none = client.get("/api/v1/analytics/clv", params={"currency": "EUR"}, headers=admin)
    assert none.status_code == 404


def _key(p: clv.Purchase):
    return (p.customer, p.day, p.value)


def test_the_dashboard_shows_the_fit_and_its_holdout_check(client, sessions):
    cdnow_ledger(sessions)
    run = clv_runs.fit(sessions, clv_runs.Options("USD"), NOW)
    signed_in(client, sessions, "analytics:read")
    text = client.get("/admin/analytics").text
    section = " ".join(text[text.index('id="clv"') :].split())
    with sessions() as session:
        shown = clv_runs.as_json(session, session.get(ClvRun, run.id), 0)
    total = format_plain(shown["totals"]["clv_total"], "USD")
    assert f"worth <strong>{total} USD</strong>" in section
    assert f"where customers made {shown['holdout']['actual']:,}" in section
    rows = rows_of(section, "table-clv-holdout")
    assert [r[0] for r in rows] == [g["purchases"] for g in shown["holdout"]["groups"]]
    assert rows[0][1] == f"{shown['holdout']['groups'][0]['customers']:,}"
