"""The shop browser's touches: strictly checked, never money, and a purchase seen by the
browser and by the server counted once."""

from mercato.analytics import ledger
from tests.analytics.ledger_helpers import TEE, dispatch, place_order, touches

URL = "/api/v1/analytics/touches"


def test_a_visit_is_recorded_with_its_link_and_twice_sent_is_once(client, sessions):
    body = {
        "kind": "visit",
        "event_id": "a1b2c3d4e5",
        "visitor_id": "visitor-123456",
        "params": {"ch": "instagram", "post": "post-7", "ref": "@maker", "utm_campaign": "spring"},
    }
    first = client.post(URL, json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {"event_id": "web:a1b2c3d4e5", "recorded": True}
    assert client.post(URL, json=body).json()["recorded"] is False
    [visit] = touches(sessions)
    assert (visit.channel, visit.post, visit.creator, visit.campaign) == (
        "instagram",
        "post-7",
        "@maker",
        "spring",
    )
    assert visit.visitor_id == "visitor-123456" and visit.source == "browser"


def test_a_visit_without_a_link_is_direct_and_without_consent_has_no_visitor(client, sessions):
    assert client.post(URL, json={"kind": "visit", "event_id": "zzzzzzzz"}).status_code == 200
    [visit] = touches(sessions)
    assert (visit.channel, visit.visitor_id) == ("direct", None)


def test_bad_touches_are_refused_by_field_and_nothing_is_written(client, sessions):
    for body, field in (
        ({"kind": "refund", "event_id": "abcdefgh"}, "kind"),
        ({"kind": "visit", "event_id": "ab"}, "event_id"),
        ({"kind": "visit", "event_id": "abcdefgh", "value": 100}, "value"),
        ({"kind": "visit", "event_id": "abcdefgh", "visitor_id": "<script>"}, "visitor_id"),
        ({"kind": "purchase", "event_id": "order:ord_nope:purchase"}, "event_id"),
    ):
        response = client.post(URL, json=body)
        assert response.status_code == 422, (body, response.text)
        assert any(field in e["loc"] for e in response.json()["errors"]), response.json()
    assert client.post(URL, content=b"{" + b" " * 10_000 + b"}").status_code == 413
    assert touches(sessions) == []


def test_a_purchase_seen_by_the_browser_and_the_server_is_counted_once(client, admin, sessions):
    assert client.post("/api/v1/products", json=TEE, headers=admin).status_code == 201
    visit = {"kind": "visit", "event_id": "visit-0001", "visitor_id": "visitor-abcdefgh"}
    assert client.post(URL, json={**visit, "params": {"ch": "tiktok"}}).status_code == 200
    order = place_order(client, admin, "B-1", "cy@example.com")
    event_id = ledger.purchase_event_id(order["id"])
    # The thank-you page reports the sale before the worker has seen the order.
    seen = client.post(
        URL, json={"kind": "purchase", "event_id": event_id, "visitor_id": "visitor-abcdefgh"}
    )
    assert seen.json() == {"event_id": event_id, "recorded": True}
    dispatch(sessions)
    again = client.post(URL, json={"kind": "purchase", "event_id": event_id})
    assert again.json()["recorded"] is False
    [purchase] = touches(sessions, kind="purchase")
    assert (purchase.value, purchase.source) == (order["total"], "server")
    # The visitor said yes (the browser sent its id): the visit is now the buyer's.
    [earlier] = touches(sessions, kind="visit")
    assert earlier.customer_id == purchase.customer_id is not None


def test_the_shop_pages_load_the_touch_script_and_name_the_product(client, admin):
    assert client.post("/api/v1/products", json=TEE, headers=admin).status_code == 201
    page = client.get("/shop/p/tee")
    assert page.status_code == 200
    assert '<script src="/shop/static/touches.js" defer>' in page.text
    assert '<meta name="mercato-product"' in page.text
    assert 'id="consent"' in page.text
    script = client.get("/shop/static/touches.js").text
    assert "mercato_analytics_consent" in script and "/api/v1/analytics/touches" in script
