"""Touches the server records from other domains' events: purchases with the order's
attribution, refunds as negative values, checkouts started, inbox messages."""

from mercato.analytics import ledger
from mercato.db import transaction, utcnow
from tests.analytics.ledger_helpers import TEE, dispatch, place_order, touches


def test_a_paid_order_is_one_purchase_with_its_attribution_and_a_refund_a_negative_one(
    client, admin, sessions
):
    assert client.post("/api/v1/products", json=TEE, headers=admin).status_code == 201
    order = place_order(
        client,
        admin,
        "A-1",
        "Ada@Example.com",
        attribution={
            "source": "instagram",
            "campaign": "spring",
            "content_id": "post-7",
            "creator": "@maker",
            "utm": {"utm_medium": "social"},
        },
    )
    dispatch(sessions)
    dispatch(sessions)  # nothing twice, whatever runs again
    [purchase] = touches(sessions, kind="purchase")
    assert purchase.event_id == ledger.purchase_event_id(order["id"])
    assert (purchase.value, purchase.currency, purchase.country) == (order["total"], "USD", "FR")
    assert (purchase.channel, purchase.campaign, purchase.post, purchase.creator) == (
        "instagram",
        "spring",
        "post-7",
        "@maker",
    )
    assert purchase.utm_medium == "social"
    # The email's digest, the same for any case: never the address itself.
    assert purchase.customer_id == ledger.customer_key("ada@example.com", "x")
    assert "example" not in purchase.customer_id

    response = client.post(
        f"/api/v1/orders/{order['id']}/refunds", headers=admin, json={"amount": 1000}
    )
    assert response.status_code == 201, response.text
    dispatch(sessions)
    [refund] = touches(sessions, kind="refund")
    assert (refund.value, refund.channel, refund.order_id) == (-1000, "instagram", order["id"])


def test_an_order_with_no_attribution_is_credited_to_the_platform_it_was_placed_on(
    client, admin, sessions
):
    assert client.post("/api/v1/products", json=TEE, headers=admin).status_code == 201
    place_order(client, admin, "A-2", "bo@example.com", channel="storefront")
    dispatch(sessions)
    [purchase] = touches(sessions, kind="purchase")
    assert purchase.channel == "direct"


def test_the_same_event_id_is_stored_once_and_the_server_figures_win(sessions):
    now = utcnow()
    browser = {
        "event_id": "order:ord_1:purchase",
        "kind": "purchase",
        "source": "browser",
        "at": now,
        "visitor_id": "v1",
        "value": 1,
        "currency": "USD",
    }
    server = {**browser, "source": "server", "visitor_id": None, "value": 5000}
    server.update(customer_id="c_1", channel="instagram")
    earlier_visit = {
        "event_id": "visit:1",
        "kind": "visit",
        "source": "browser",
        "at": now,
        "visitor_id": "v1",
    }
    with transaction(sessions) as session:
        assert ledger.record(session, [earlier_visit, browser]) == 2
        assert ledger.record(session, [server, browser]) == 0
    [purchase] = touches(sessions, kind="purchase")
    assert (purchase.value, purchase.visitor_id, purchase.channel) == (5000, "v1", "instagram")
    # The visitor consented (the browser sent an id): their earlier visit is the buyer's.
    [visit] = touches(sessions, kind="visit")
    assert visit.customer_id == "c_1"
