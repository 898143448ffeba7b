"""Creators: a sale through their code or their link earns their commission; a refund
within the window claws its share back; the payout's CSV adds up to the orders behind
it; their private page shows it all."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from mercato.config import get_settings
from mercato.creators.models import Commission
from mercato.orders.models import Order
from tests.analytics.ledger_helpers import dispatch
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.offers.helpers import this_period


def _creator(client, admin, **extra) -> dict:
    made = client.post(
        "/api/v1/creators",
        headers=admin,
        json={
            "handle": "ada",
            "name": "Ada Lovelace",
            "commission": {"kind": "percentage", "value": 1000},
            **extra,
        },
    )
    assert made.status_code == 201, made.text
    return made.json()


def _buy(client, items=(("HOODIE-M", 2),), **extra) -> str:
    body = start(client, items, **extra)
    shown = fill(client, body["token"], shipping_rate="us-standard")
    paid = complete(client, body["token"], key=body["token"][:12], total=shown["total"])
    assert paid.status_code == 200, paid.text
    return paid.json()["order_id"]


def _refund(client, admin, order_id, **body):
    done = client.post(f"/api/v1/orders/{order_id}/refunds", headers=admin, json=body)
    assert done.status_code in (200, 201), done.text


def _settle(drain, sessions) -> None:
    """The worker's jobs (refunds) run, then every event handed to the consumers."""
    drain()
    dispatch(sessions)


def _entries(sessions, order_id):
    with sessions() as session:
        return [
            (c.kind, c.basis, c.revenue, c.amount)
            for c in session.scalars(
                select(Commission).where(Commission.order_id == order_id).order_by(Commission.at)
            )
        ]


def test_code_and_link_sales_earn_and_a_refund_in_the_window_claws_back(
    client, admin, sessions, drain
):
    make_shop(sessions, on_hand=20)
    creator = _creator(client, admin)
    code = client.post(
        f"/api/v1/creators/{creator['id']}/codes",
        headers=admin,
        json={"code": "ADA15", "value": 15},
    )
    assert code.status_code == 201 and code.json()["creator_id"] == creator["id"]

    by_code = _buy(client, discount_code="ada15")
    by_link = _buy(client, attribution={"creator": "ada"})
    nobody = _buy(client)
    _settle(drain, sessions)
    # 2 x 25.00 less 15% = 42.50; 10% of it. The link's sale: 10% of 50.00.
    assert _entries(sessions, by_code) == [("earned", "code", 4250, 425)]
    assert _entries(sessions, by_link) == [("earned", "link", 5000, 500)]
    assert _entries(sessions, nobody) == []

    with sessions() as session:
        total = session.get(Order, by_link).total
    _refund(client, admin, by_link, amount=total // 2)
    _refund(client, admin, by_code)  # the whole order
    _settle(drain, sessions)
    assert _entries(sessions, by_link)[1][0] == "clawback"
    assert _entries(sessions, by_link)[1][3] == -250  # half of it back
    assert sum(e[3] for e in _entries(sessions, by_code)) == 0  # all of it back

    figures = client.get(f"/api/v1/creators/{creator['id']}/figures", headers=admin).json()
    assert (figures["orders"], figures["earned"], figures["clawed_back"]) == (2, 925, 675)
    assert figures["earnings"] == 250 and figures["revenue"] == 2500

    # The payout of the period: every line, and its CSV adds up to the orders behind it.
    payout = client.post(
        f"/api/v1/creators/{creator['id']}/payouts",
        headers=admin,
        json=this_period(),
    )
    assert payout.status_code == 201, payout.text
    assert (payout.json()["amount"], payout.json()["entries"]) == (250, 4)
    text = client.get(
        f"/api/v1/creators/payouts/{payout.json()['id']}/statement.csv", headers=admin
    ).text
    rows = list(csv.DictReader(io.StringIO(text)))
    lines, total_row = rows[:-1], rows[-1]
    assert total_row["order_number"] == "total"
    assert sum(int(r["commission"]) for r in lines) == int(total_row["commission"]) == 250
    with sessions() as session:
        orders = {o.id: o for o in session.scalars(select(Order))}
    for row in lines:
        if row["kind"] == "earned":
            order = orders[row["order_id"]]
            assert int(row["revenue"]) == order.subtotal - order.discount_total
    # Paid once: a second payout of the same period has nothing left.
    again = client.post(
        f"/api/v1/creators/{creator['id']}/payouts",
        headers=admin,
        json=this_period(),
    )
    assert again.json()["entries"] == 0

    page = client.get(creator["page_url"].split("8000", 1)[-1].split("testserver", 1)[-1])
    assert page.status_code == 200
    assert 'id="orders">2<' in page.text and "ADA15" in page.text
    assert client.get("/shop/creators/not-a-token").status_code == 404


def test_a_refund_after_the_window_keeps_the_commission(
    client, admin, sessions, drain, monkeypatch
):
    monkeypatch.setenv("MERCATO_CREATOR_CLAWBACK_DAYS", "0")
    get_settings.cache_clear()
    make_shop(sessions)
    _creator(client, admin, product_commissions={})
    order_id = _buy(client, attribution={"creator": "ada"})
    _settle(drain, sessions)
    _refund(client, admin, order_id)
    _settle(drain, sessions)
    assert [e[0] for e in _entries(sessions, order_id)] == ["earned"]


def test_with_code_wins_a_code_beats_a_later_link(client, admin, sessions, drain):
    make_shop(sessions)
    ada = _creator(client, admin)
    bea = client.post(
        "/api/v1/creators",
        headers=admin,
        json={"handle": "bea", "name": "Bea", "commission": {"kind": "fixed", "value": 300}},
    ).json()
    client.post(f"/api/v1/creators/{bea['id']}/codes", headers=admin, json={"code": "BEA"})
    order_id = _buy(client, discount_code="BEA", attribution={"creator": "ada"})
    _settle(drain, sessions)
    with sessions() as session:
        entry = session.scalar(select(Commission).where(Commission.order_id == order_id))
    assert (entry.creator_id, entry.basis, entry.amount) == (bea["id"], "code", 600)
    assert ada["id"] != bea["id"]
