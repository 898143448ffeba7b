"""One order lifecycle, enforced the same way from the API, the CLI and the dashboard: a
refused action changes nothing in the database; a full refund closes the order and can
restock; a refunded order never ships; tracking can be added and corrected."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mercato.auth import service as auth_service
from mercato.channels.models import Channel
from mercato.cli import app as cli
from mercato.db import transaction
from mercato.inventory import availability, counts
from mercato.inventory.schemas import AdjustmentCreate
from mercato.jobs.models import Job
from mercato.models import metadata
from mercato.orders.models import OrderLine
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.helpers import csrf_of

# Rows a dashboard or API request touches whatever it does (sessions, token use).
BOOKKEEPING = {"admin_sessions", "api_tokens", "idempotency_keys"}


def snapshot(sessions) -> dict[str, list]:
    """Every row of every table (but request bookkeeping), to compare before and after."""
    with sessions() as session:
        return {
            table.name: sorted(map(repr, session.execute(select(table)).all()))
            for table in metadata.sorted_tables
            if table.name not in BOOKKEEPING
        }


@pytest.fixture
def browser(client, sessions):
    with transaction(sessions) as session:
        secret = auth_service.create_token(session, "owner", ["admin"]).secret
    client.post("/admin/login", data={"token": secret})
    return client


@pytest.fixture
def order(client, admin):
    made = client.post(
        "/api/v1/products",
        headers=admin,
        json={
            "handle": "mug",
            "title": "Mug",
            "options": ["Size"],
            "variants": [
                {"sku": "MUG-1", "price": 1200, "option_values": ["Large"]},
                {"sku": "MUG-2", "price": 800, "option_values": ["Small"]},
            ],
        },
    )
    assert made.status_code == 201, made.text
    with transaction(client.app.state.sessions.write) as session:
        for sku in ("MUG-1", "MUG-2"):
            counts.adjust(session, AdjustmentCreate(sku=sku, quantity=10, kind="receipt"))
    response = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "manual",
            "payment_status": "paid",
            "lines": [{"sku": "MUG-1", "quantity": 2}, {"sku": "MUG-2", "quantity": 1}],
            "shipping_total": 500,
            "customer": {"name": "Ada", "email": "ada@example.com"},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _on_hand(sessions, sku: str) -> int:
    with sessions() as session:
        variant_id = session.scalar(select(OrderLine.variant_id).where(OrderLine.sku == sku))
        return availability.read_stock(session, [variant_id])[variant_id].on_hand


# ---------------------------------------------------------------- refusals change nothing


def test_a_dashboard_refund_beyond_what_remains_changes_nothing(browser, client, admin, order):
    goodwill = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={"amount": order["total"] - 100},
    )
    assert goodwill.status_code == 201
    before = snapshot(client.app.state.sessions.read)
    line = order["lines"][0]
    page = browser.get(f"/admin/orders/{order['id']}").text
    refused = browser.post(
        f"/admin/orders/{order['id']}/refund",
        data={"csrf": csrf_of(page), "line_id": line["id"], f"quantity:{line['id']}": "1"},
    )
    assert "exceeds what remains refundable" in refused.text
    assert snapshot(client.app.state.sessions.read) == before


@pytest.mark.parametrize(
    "path, data, says",
    [
        ("fulfil", {}, "name the carrier"),
        ("refund", {"quantity:{line}": "3", "line_id": "{line}"}, "only 2 of MUG-1 left"),
    ],
)
def test_dashboard_refusals_change_nothing(browser, client, order, path, data, says):
    line = order["lines"][0]["id"]
    before = snapshot(client.app.state.sessions.read)
    page = browser.get(f"/admin/orders/{order['id']}").text
    form = {k.format(line=line): v.format(line=line) for k, v in data.items()}
    refused = browser.post(
        f"/admin/orders/{order['id']}/{path}", data={"csrf": csrf_of(page), **form}
    )
    assert says in refused.text
    assert snapshot(client.app.state.sessions.read) == before


def test_an_api_refund_naming_a_line_twice_past_its_quantity_changes_nothing(client, admin, order):
    line = order["lines"][0]["id"]
    before = snapshot(client.app.state.sessions.read)
    refused = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={"lines": [{"line_id": line, "quantity": 2}, {"line_id": line, "quantity": 1}]},
    )
    assert refused.status_code == 422 and "only 2 of MUG-1 left" in refused.text
    assert snapshot(client.app.state.sessions.read) == before


# ---------------------------------------------------------------- the lifecycle


@pytest.fixture
def shop_order(client, admin, sessions):
    """An order paid through the checkout: its units were taken from stock."""
    make_shop(sessions)
    token = start(client, items=[("HOODIE-M", 2), ("HOODIE-S", 1)])["token"]
    fill(client, token)
    done = complete(client, token)
    assert done.status_code == 200, done.text
    return client.get(f"/api/v1/orders/{done.json()['order_id']}", headers=admin).json()


def test_refunding_everything_closes_the_order_and_restocks_as_chosen(
    client, admin, sessions, shop_order
):
    order = shop_order
    first, second = (line["id"] for line in order["lines"])
    on_hand = _on_hand(sessions, "HOODIE-M"), _on_hand(sessions, "HOODIE-S")
    assert on_hand == (3, 4)
    part = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={"lines": [{"line_id": first, "quantity": 1, "restock": True}]},
    )
    assert part.status_code == 201
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert (detail["status"], detail["payment_status"]) == ("open", "partially_refunded")
    rest = client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={
            "lines": [
                {"line_id": first, "quantity": 1, "restock": False},
                {"line_id": second, "quantity": 1, "restock": True},
            ],
            "shipping": True,
        },
    )
    assert rest.status_code == 201, rest.text
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert (detail["status"], detail["payment_status"]) == ("cancelled", "refunded")
    assert detail["refunded_total"] == detail["total"]
    # HOODIE-M: one of two units back (the merchant kept the other); HOODIE-S: back.
    assert (_on_hand(sessions, "HOODIE-M"), _on_hand(sessions, "HOODIE-S")) == (4, 5)
    more = client.post(f"/api/v1/orders/{order['id']}/refunds", headers=admin, json={"amount": 1})
    assert more.status_code == 409


def test_a_fully_refunded_order_cannot_be_fulfilled_anywhere(browser, client, admin, order):
    full = client.post(f"/api/v1/orders/{order['id']}/refunds", headers=admin, json={})
    assert full.status_code == 201 and full.json()["amount"] == order["total"]
    before = snapshot(client.app.state.sessions.read)
    api = client.post(
        f"/api/v1/orders/{order['id']}/fulfillments", headers=admin, json={"carrier": "UPS"}
    )
    assert api.status_code == 409
    cli_run = CliRunner().invoke(
        cli, ["orders", "fulfil", str(order["number"]), "--carrier", "UPS"]
    )
    assert cli_run.exit_code != 0 and "refunded" in cli_run.output
    page = browser.get(f"/admin/orders/{order['id']}").text
    assert "Fulfil remaining items" not in page
    dashboard = browser.post(
        f"/admin/orders/{order['id']}/fulfil", data={"csrf": csrf_of(page), "carrier": "UPS"}
    )
    assert "fully refunded" in dashboard.text
    assert snapshot(client.app.state.sessions.read) == before


def test_refunded_units_are_not_shipped(client, admin, order):
    first = order["lines"][0]["id"]
    client.post(
        f"/api/v1/orders/{order['id']}/refunds",
        headers=admin,
        json={"lines": [{"line_id": first, "quantity": 1}]},
    )
    shipped = client.post(
        f"/api/v1/orders/{order['id']}/fulfillments", headers=admin, json={"carrier": "UPS"}
    )
    assert shipped.status_code == 201
    assert {i["line_id"]: i["quantity"] for i in shipped.json()["lines"]}[first] == 1
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert (detail["status"], detail["fulfillment_status"]) == ("completed", "fulfilled")


def test_tracking_is_added_then_corrected(browser, client, admin, sessions, order):
    shipped = client.post(
        f"/api/v1/orders/{order['id']}/fulfillments", headers=admin, json={"carrier": "UPS"}
    ).json()
    url = f"/api/v1/orders/{order['id']}/fulfillments/{shipped['id']}/tracking"
    added = client.put(url, headers=admin, json={"carrier": "UPS", "tracking_number": "1Z1"})
    assert added.status_code == 200 and added.json()["tracking_number"] == "1Z1"
    page = browser.get(f"/admin/orders/{order['id']}").text
    fixed = browser.post(
        f"/admin/orders/{order['id']}/fulfillments/{shipped['id']}/tracking",
        data={
            "csrf": csrf_of(page),
            "carrier": "DHL",
            "tracking_number": "JD2",
            "tracking_url": "https://dhl.example/JD2",
        },
    )
    assert "Tracking saved" in fixed.text and "Tracking corrected: DHL JD2" in fixed.text
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()
    assert detail["fulfillments"][0]["tracking_url"] == "https://dhl.example/JD2"
    no_carrier = client.put(url, headers=admin, json={"tracking_number": "X"})
    assert no_carrier.status_code == 422


def test_bulk_actions_go_ahead_order_by_order(browser, client, admin, order):
    other = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": "manual",
            "payment_status": "paid",
            "lines": [{"sku": "MUG-2", "quantity": 1}],
        },
    ).json()
    client.post(f"/api/v1/orders/{other['id']}/refunds", headers=admin, json={})
    page = browser.get("/admin/orders").text
    done = browser.post(
        "/admin/orders/bulk",
        data={
            "csrf": csrf_of(page),
            "action": "fulfil",
            "carrier": "UPS",
            "order_id": [order["id"], other["id"]],
        },
    )
    assert "1 order(s) fulfilled" in done.text and f"#{other['number']}" in done.text
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=admin).json()["status"] == "completed"
    )
    refused = client.get(f"/api/v1/orders/{other['id']}", headers=admin).json()
    assert refused["fulfillment_status"] == "unfulfilled" and refused["fulfillments"] == []


def test_fulfil_without_a_carrier_is_refused(client, admin, order):
    refused = client.post(f"/api/v1/orders/{order['id']}/fulfillments", headers=admin, json={})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "carrier"
    with transaction(client.app.state.sessions.write) as session:
        assert not list(session.scalars(select(Job).where(Job.name == "orders.push")))


def test_orders_show_channels_by_name_and_filter_by_name_or_kind(
    browser, client, admin, sessions, order
):
    with transaction(sessions) as session:
        channel = Channel(
            kind="tiktok",
            name="TikTok US",
            country="US",
            language="en",
            currency="USD",
            base_url="https://open-api.tiktokglobalshop.com",
        )
        session.add(channel)
        session.flush()
        channel_id = channel.id
    placed = client.post(
        "/api/v1/orders",
        headers=admin,
        json={
            "channel": channel_id,
            "external_id": "576461413038785752",
            "payment_status": "paid",
            "lines": [{"sku": "MUG-2", "quantity": 1}],
        },
    )
    assert placed.status_code == 201, placed.text
    listing = browser.get("/admin/orders").text
    assert "TikTok US" in listing and channel_id not in listing.replace(f"/{channel_id}", "")
    for value in ("TikTok US", "tiktok", channel_id):
        found = browser.get("/admin/orders", params={"channel": value}).text
        assert placed.json()["name"] in found and order["name"] not in found
    assert "TikTok US" in browser.get("/admin").text
    assert "TikTok US" in browser.get(f"/admin/orders/{placed.json()['id']}").text
    cli_list = CliRunner().invoke(cli, ["orders", "list", "--channel", "tiktok"])
    assert "TikTok US" in cli_list.output and f"#{order['number']}" not in cli_list.output
    api = client.get("/api/v1/orders", headers=admin, params={"channel": "TikTok US"}).json()
    assert [o["id"] for o in api["items"]] == [placed.json()["id"]]


def test_cli_refusals_change_nothing(client, admin, order):
    client.post(f"/api/v1/orders/{order['id']}/refunds", headers=admin, json={"amount": 3000})
    before = snapshot(client.app.state.sessions.read)
    runner = CliRunner()
    too_much = runner.invoke(cli, ["orders", "refund", str(order["number"]), "--item", "MUG-1:2"])
    assert too_much.exit_code != 0 and "exceeds what remains refundable" in too_much.output
    no_carrier = runner.invoke(cli, ["orders", "fulfil", str(order["number"])])
    assert no_carrier.exit_code != 0 and "carrier" in no_carrier.output
    assert snapshot(client.app.state.sessions.read) == before
