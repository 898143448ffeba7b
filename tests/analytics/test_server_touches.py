"""Touches the server records from other domains' events: purchases with the order's
attribution, refunds as negative values, checkouts started, inbox messages."""

from sqlalchemy import event

from mercato.analytics import ledger
from mercato.db import transaction, utcnow
from mercato.events import service as events
from mercato.inbox.models import InboxAccount
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
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


def _browser_purchase(order_id: str, visitor_id: str, now) -> dict:
    """A purchase as the buyer's browser reports it (its value not to be trusted)."""
    return {
        "event_id": f"order:{order_id}:purchase",
        "kind": "purchase",
        "source": "browser",
        "at": now,
        "visitor_id": visitor_id,
        "value": 1,
    }


def test_the_same_event_id_is_stored_once_and_the_server_figures_win(sessions):
    now = utcnow()
    browser = {**_browser_purchase("ord_1", "v1", now), "currency": "USD"}
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


def test_a_browser_purchase_and_its_server_twin_in_one_batch_are_one_touch(sessions):
    now = utcnow()
    browser = _browser_purchase("ord_2", "v2", now)
    server = {**browser, "source": "server", "visitor_id": None, "value": 7000}
    server["customer_id"] = "c_2"
    visit = {"event_id": "visit:2", "kind": "visit", "source": "browser", "at": now}
    with transaction(sessions) as session:
        assert ledger.record(session, [{**visit, "visitor_id": "v2"}, browser, server]) == 2
    [purchase] = touches(sessions, kind="purchase")
    assert (purchase.value, purchase.visitor_id, purchase.customer_id) == (7000, "v2", "c_2")
    assert [t.customer_id for t in touches(sessions, kind="visit")] == ["c_2"]


def test_a_batch_of_purchases_costs_the_same_statements_whatever_its_size(sessions, engine):
    def statements(n: int, prefix: str) -> int:
        batch = [
            {
                "event_id": f"{prefix}:{i}",
                "kind": "purchase",
                "source": "server",
                "at": utcnow(),
                "customer_id": f"c_{i}",
                "value": 100,
            }
            for i in range(n)
        ]
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with transaction(sessions) as session:
                assert ledger.record(session, batch) == n
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements(40, "many") == statements(2, "few")


def test_a_started_checkout_is_a_funnel_touch_with_its_link(client, admin, sessions):
    assert client.post("/api/v1/products", json=TEE, headers=admin).status_code == 201
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="TEE-S", quantity=5, kind="receipt"))
    body = {
        "lines": [{"sku": "TEE-S", "quantity": 1}],
        "attribution": {"source": "pinterest", "content_id": "pin-3", "utm": {"utm_term": "tee"}},
    }
    started = client.post("/api/v1/checkouts", json=body)
    assert started.status_code == 201, started.text
    dispatch(sessions)
    [touch] = touches(sessions, kind="checkout_started")
    assert (touch.channel, touch.post, touch.utm_term, touch.currency) == (
        "pinterest",
        "pin-3",
        "tee",
        "USD",
    )
    assert touch.event_id == f"checkout:{started.json()['id']}:started"


def test_inbox_messages_and_comments_are_touches_of_their_conversation(sessions):
    with transaction(sessions) as session:
        account = InboxAccount(
            platform="instagram", name="shop", external_id="1784", base_url="http://x"
        )
        session.add(account)
        session.flush()
        for message_id, kind in (("msg_1", "text"), ("msg_2", "comment"), ("msg_3", "text")):
            payload = {
                "message_id": message_id,
                "conversation_id": "cnv_1",
                "account_id": account.id,
                "direction": "in" if message_id != "msg_3" else "out",
                "kind": kind,
            }
            events.record(session, "message.received", payload, key="cnv_1")
        # A malformed payload makes no touch and stops nothing.
        events.record(session, "order.paid", {"total": 1}, key="x")
    dispatch(sessions)
    found = [(t.event_id, t.kind, t.channel, t.conversation_id) for t in touches(sessions)]
    assert sorted(found) == [
        ("message:msg_1", "message", "instagram", "cnv_1"),
        ("message:msg_2", "comment", "instagram", "cnv_1"),
    ]
