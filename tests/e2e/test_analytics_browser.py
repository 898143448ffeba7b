"""The analytics page in Chromium, on a desktop and on a phone: the charts are drawn, fit
the screen (the page never scrolls sideways) and scale with it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from mercato.analytics import clv_runs
from mercato.auth import service as auth_service
from mercato.db import transaction, utcnow
from tests.admin.test_analytics_page import PERIOD, orders, shop_ledger  # noqa: F401
from tests.analytics.test_clv_ledger import cdnow_ledger
from tests.e2e.conftest import PHONE

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def token(sessions):
    with transaction(sessions) as session:
        return auth_service.create_token(session, "analyst", ["analytics:read"]).secret


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_charts_fit_desktop_and_phone(server, browser, token, shots, size, shop_ledger):  # noqa: F811
    if size == "phone":
        context = browser.new_context(
            viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
        )
    else:
        context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{server}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/admin/analytics")
    page.goto(f"{server}/admin/analytics?{urlencode(PERIOD)}")
    assert page.locator("#kpi-revenue_net .value").inner_text() == "70.00 USD"
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    viewport = page.viewport_size["width"]
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box["width"] > 200 and box["x"] >= 0 and box["x"] + box["width"] <= viewport
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    page.screenshot(path=shots / f"admin-analytics-{size}.png", full_page=True)

    # A bad query: said on the page, the form kept.
    page.goto(f"{server}/admin/analytics?grain=hour")
    assert "grain: one of day, week, month" in page.locator("#problem").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    context.close()


def test_the_predicted_lifetime_value_reads_on_a_phone(server, phone, token, shots, sessions):
    cdnow_ledger(sessions)
    clv_runs.fit(sessions, clv_runs.Options("USD"), utcnow())
    page = phone.new_page()
    page.goto(f"{server}/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/admin/analytics")
    section = page.locator("#clv")
    expect(section).to_contain_text("Over the next 12 months, the 400 customers")
    expect(section.locator("#table-clv-holdout tbody tr")).to_have_count(7)
    viewport = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    section.scroll_into_view_if_needed()
    section.screenshot(path=shots / "admin-analytics-clv-phone.png")
