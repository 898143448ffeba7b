"""The dashboard's analytics page as a merchant reads it: the figures match the ledger's
KPIs and attribution, days are the store's, an empty ledger and a bad query say so."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest

from mercato.analytics import attribution_ledger, kpis, ledger
from mercato.analytics.attribution import Options
from mercato.analytics.reports import store_zone
from mercato.config import get_settings
from mercato.db import transaction
from tests.analytics.ledger_helpers import DAY1, DAY2, TEE, place_order, touch
from tests.helpers import log_in

PERIOD = {"from": "2026-11-02", "to": "2026-11-03", "grain": "day"}


@pytest.fixture
def orders(client, admin) -> list[str]:
    """Two orders through the shop's checkout, one placed in TikTok's shop (ids)."""
    client.post("/api/v1/products", json=TEE, headers=admin)
    return [
        place_order(client, admin, f"X-{n}", f"buyer{n}@example.com", channel=channel)["id"]
        for n, channel in enumerate(("storefront", "storefront", "tiktok-shop"))
    ]


@pytest.fixture
def shop_ledger(sessions, orders):
    """Two buyers' journeys (instagram then tiktok; pinterest), a direct visitor who did
    not buy, the funnel's steps and a refund."""
    usd = {"currency": "USD"}
    rows = [
        touch(1, "visit", DAY1, "instagram", visitor_id="visitor-a"),
        touch(2, "product_view", DAY1, None, visitor_id="visitor-a"),
        touch(3, "visit", DAY2, "tiktok", visitor_id="visitor-a"),
        touch(4, "add_to_cart", DAY2, None, visitor_id="visitor-a"),
        touch(5, "checkout_started", DAY2, "tiktok", **usd),
        touch(
            6,
            "purchase",
            DAY2,
            "tiktok",
            visitor_id="visitor-a",
            customer_id="A",
            order_id=orders[0],
            value=5000,
            **usd,
        ),
        touch(7, "visit", DAY1, "pinterest", visitor_id="visitor-b"),
        touch(8, "product_view", DAY1, None, visitor_id="visitor-b"),
        touch(9, "add_to_cart", DAY1, None, visitor_id="visitor-b"),
        touch(10, "checkout_started", DAY1, "pinterest", **usd),
        touch(
            11,
            "purchase",
            DAY1,
            "pinterest",
            visitor_id="visitor-b",
            customer_id="B",
            order_id=orders[1],
            value=3000,
            **usd,
        ),
        touch(12, "refund", DAY2, "pinterest", customer_id="B", value=-1000, **usd),
        touch(13, "visit", DAY2, "direct", visitor_id="visitor-c"),
        touch(14, "product_view", DAY2, None, visitor_id="visitor-c"),
    ]
    with transaction(sessions) as session:
        ledger.record(session, rows)


@pytest.fixture
def owner(client, sessions):
    assert log_in(client, sessions, "admin").status_code == 303
    return client


def tile(page: str, key: str) -> str:
    found = re.search(rf'id="kpi-{key}">.*?<div class="value">(.*?)</div>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def rows_of(page: str, table: str) -> list[list[str]]:
    """The table's body as its cells' words."""
    body = re.search(rf'<table id="{table}"[^>]*>.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    words = lambda cell: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())  # noqa: E731
    return [
        [words(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_tiles_are_the_ledger_s_kpis_each_with_its_formula(owner, sessions, shop_ledger):
    page = owner.get("/admin/analytics", params=PERIOD)
    assert page.status_code == 200
    text = page.text
    assert 'href="/admin/analytics" class="on"' in text
    assert tile(text, "revenue_net") == "70.00 USD"  # 50 + 30 - 10 refunded
    assert tile(text, "orders") == "2"
    assert tile(text, "sessions") == "4"
    assert tile(text, "conversion_rate_sessions") == "50.0%"
    assert tile(text, "aov") == "40.00 USD"
    assert tile(text, "roas") == "–"  # no spend imported: unknown, not 0
    with sessions() as session:
        period = kpis.Period(date(2026, 11, 2), date(2026, 11, 3), store_zone())
        total = kpis.kpis(session, period, "USD").total.values
    assert tile(text, "refunds") == "-10.00 USD" and total["refunds"] == -1000
    assert tile(text, "new_customers") == str(total["new_customers"])
    for formula in ("orders ÷ sessions", "revenue_gross + refunds", "revenue_net ÷ spend"):
        assert formula in html.unescape(text)


def test_revenue_and_orders_by_channel_per_day_in_the_chart_and_the_table(owner, shop_ledger):
    text = owner.get("/admin/analytics", params=PERIOD).text
    # Net revenue per channel, most first, then orders, per day: what the table says.
    assert re.search(r"<th[^>]*>Day</th><th[^>]*>tiktok</th><th[^>]*>pinterest</th>", text)
    assert rows_of(text, "table-by-channel") == [
        ["Nov 2", "0.00 0 orders", "30.00 1 order", "30.00 1 order"],
        ["Nov 3", "50.00 1 order", "-10.00 0 orders", "40.00 1 order"],
    ]
    # The charts are inline SVG drawn from the same figures, and fetch nothing.
    charts = re.findall(r"<svg class=\"chart\".*?</svg>", text, re.S)
    assert len(charts) == 4
    assert "<title>Nov 3 · pinterest: -10</title>" in charts[0]
    assert "<title>Nov 2 · pinterest: 1</title>" in charts[1]
    assert not re.search(r"https?://|<script", "".join(charts))


def test_the_funnel_with_its_step_rates(owner, sessions, orders, shop_ledger):
    # An order placed in TikTok's shop took none of the shop's steps: not in the funnel.
    with transaction(sessions) as session:
        ledger.record(
            session,
            [touch(20, "purchase", DAY2, "tiktok", order_id=orders[2], value=100, currency="USD")],
        )
    text = owner.get("/admin/analytics", params=PERIOD).text
    assert rows_of(text, "table-funnel") == [
        ["Sessions", "4", ""],
        ["Product views", "3", "75.0%"],
        ["Add to cart", "2", "66.7%"],
        ["Checkout started", "2", "100.0%"],
        ["Orders through the shop", "2", "100.0%"],
    ]
    assert tile(text, "orders") == "3"
    assert "1 order of the period placed elsewhere" in text


def test_the_models_side_by_side_are_the_ledger_s_attribution(owner, sessions, shop_ledger):
    text = owner.get("/admin/analytics", params=PERIOD).text
    with sessions() as session:
        period = kpis.Period(date(2026, 11, 2), date(2026, 11, 3), store_zone())
        report = attribution_ledger.attribute_period(session, period, "USD", "all", Options())
    heads = re.search(r'<table id="table-attribution"[^>]*>.*?<thead>(.*?)</thead>', text, re.S)
    assert "Last non-direct" in heads.group(1) and "Markov (removal effects)" in heads.group(1)
    shown = {row[0]: row[1:] for row in rows_of(text, "table-attribution")}
    for index, result in enumerate(report.attributions):
        for credit in result.credits:
            figures = f"{credit.value:,.2f} {credit.conversions:,.2f}"
            assert shown[credit.channel][index] == figures
    # Last non-direct gives the journey instagram > tiktok to tiktok; linear splits it.
    last = [m.model for m in report.attributions].index("last-non-direct")
    linear = [m.model for m in report.attributions].index("linear")
    assert shown["instagram"][last] == "0.00 0.00"
    assert shown["instagram"][linear] == "25.00 0.50"


def test_days_are_the_store_s(owner, sessions, monkeypatch):
    monkeypatch.setenv("MERCATO_TIMEZONE", "America/New_York")
    get_settings.cache_clear()
    late = datetime(2026, 11, 3, 3, 30, tzinfo=UTC)  # still the 2nd in New York
    with transaction(sessions) as session:
        ledger.record(
            session,
            [touch(1, "purchase", late, "tiktok", customer_id="A", value=900, currency="USD")],
        )
    text = owner.get("/admin/analytics", params=PERIOD).text
    assert "midnight America/New_York" in text
    assert rows_of(text, "table-by-channel") == [["Nov 2", "9.00 1 order", "9.00 1 order"]]
    weekly = owner.get("/admin/analytics", params={**PERIOD, "grain": "week"}).text
    assert rows_of(weekly, "table-by-channel")[0][0] == "Nov 2"  # the week's Monday


def test_an_empty_ledger_says_how_it_fills(owner):
    page = owner.get("/admin/analytics")
    assert page.status_code == 200
    assert "No touches in the ledger for this period" in page.text
    assert "mercato analytics import-touches" in page.text
    assert "<svg" not in page.text and 'id="kpi-' not in page.text


@pytest.mark.parametrize(
    "params,said",
    [
        ({"grain": "hour"}, "grain: one of day, week, month, not &#39;hour&#39;"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, "to: on or after from (2026-11-05)"),
        ({"from": "2026-13-01"}, "from: &#39;2026-13-01&#39; is not a day (YYYY-MM-DD)"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "grain: more than 400 days"),
    ],
)
def test_a_bad_query_is_named_on_the_page(owner, params, said):
    page = owner.get("/admin/analytics", params=params)
    assert page.status_code == 400
    assert "This period cannot be shown." in page.text and said in page.text
    assert 'name="grain"' in page.text  # the form is still there to fix it


def test_the_page_asks_for_analytics_read(client, sessions, shop_ledger):
    assert log_in(client, sessions, "orders:read").status_code == 303
    refused = client.get("/admin/analytics", params=PERIOD)
    assert refused.status_code == 403 and "70.00" not in refused.text
    assert 'href="/admin/analytics"' not in client.get("/admin").text
    client.cookies.clear()
    signed_in = log_in(client, sessions, "analytics:read")
    assert signed_in.headers["location"] == "/admin/analytics"
    assert client.get("/admin/analytics", params=PERIOD).status_code == 200
    assert client.get("/admin/orders").status_code == 403
