"""Commission rates per collection and performance tiers: the best collection rate under a
product's own; a tier's higher rate on the month's attributed revenue above its
threshold only; a refund takes back the order's own commission and lowers the month's
revenue; the payout's CSV still adds up to the orders behind it."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from mercato.catalog import collections
from mercato.catalog.models import Variant
from mercato.catalog.schemas import CollectionCreate
from mercato.creators.models import Commission
from mercato.db import transaction
from mercato.orders.models import Order
from tests.checkout.helpers import make_shop
from tests.offers.helpers import this_period
from tests.offers.test_creators import _buy, _creator, _entries, _refund, _settle
from tests.offers.test_roi_and_cli import cli


def _earned(sessions, order_id) -> int:
    return next(e[3] for e in _entries(sessions, order_id) if e[0] == "earned")


def test_tiers_raise_the_rate_on_the_revenue_above_the_threshold_only(
    client, admin, sessions, drain
):
    make_shop(sessions, on_hand=50)  # 25.00 a hoodie
    creator = _creator(client, admin, tiers=[{"above": 10000, "value": 1500}])
    ref = {"attribution": {"creator": "ada"}}

    first = _buy(client, (("HOODIE-M", 2),), **ref)  # 50.00, all below 100.00
    _settle(drain, sessions)
    second = _buy(client, (("HOODIE-M", 3),), **ref)  # 75.00: 50.00 below, 25.00 above
    _settle(drain, sessions)
    third = _buy(client, (("HOODIE-M", 1),), **ref)  # 25.00, all above
    _settle(drain, sessions)
    assert _earned(sessions, first) == 500
    assert _earned(sessions, second) == 500 + 375
    assert _earned(sessions, third) == 375

    # A refund takes back the order's own commission, at the rates it earned...
    _refund(client, admin, second)
    _settle(drain, sessions)
    assert sum(e[3] for e in _entries(sessions, second)) == 0
    # ...and the month's net revenue falls back to 75.00: the next 50.00 is 25.00 at
    # 10% and 25.00 at 15%.
    fourth = _buy(client, (("HOODIE-M", 2),), **ref)
    _settle(drain, sessions)
    assert _earned(sessions, fourth) == 250 + 375
    assert _earned(sessions, first) == 500  # earlier orders are never re-rated

    payout = client.post(
        f"/api/v1/creators/{creator['id']}/payouts",
        headers=admin,
        json=this_period(),
    ).json()
    assert payout["amount"] == 500 + 375 + 625 and payout["transfer"] is None
    text = client.get(f"/api/v1/creators/payouts/{payout['id']}/statement.csv", headers=admin)
    rows = list(csv.DictReader(io.StringIO(text.text)))
    lines, total = rows[:-1], rows[-1]
    assert sum(int(r["commission"]) for r in lines) == int(total["commission"]) == 1500
    with sessions() as session:
        orders = {o.id: o for o in session.scalars(select(Order))}
    for row in lines:
        if row["kind"] == "earned":
            order = orders[row["order_id"]]
            assert int(row["revenue"]) == order.subtotal - order.discount_total
    assert int(total["revenue"]) == 50_00 + 25_00 + 50_00  # the refunded 75.00 netted out


def test_a_collection_rate_under_the_products_own_and_the_best_of_several(
    client, admin, sessions, drain
):
    hoodies = make_shop(sessions, on_hand=10)  # 25.00
    caps = make_shop(sessions, on_hand=10, price=2000, handle="cap", sizes=("M",))
    with sessions() as session:
        hoodie = session.get(Variant, hoodies["HOODIE-M"]).product_id
        cap = session.get(Variant, caps["CAP-M"]).product_id
    with transaction(sessions) as session:
        summer = collections.create_collection(
            session, CollectionCreate(title="Summer", handle="summer", product_ids=[hoodie, cap])
        ).id
        extras = collections.create_collection(
            session, CollectionCreate(title="Extras", handle="extras", product_ids=[cap])
        ).id

    refused = client.post(
        "/api/v1/creators",
        headers=admin,
        json={
            "handle": "ada",
            "name": "Ada",
            "commission": {"kind": "fixed", "value": 100},
            "collection_commissions": {"nowhere": {"kind": "percentage", "value": 500}},
            "tiers": [{"above": 1000, "value": 2000}],
        },
    )
    assert refused.status_code == 422
    fields = {tuple(e["loc"]) for e in refused.json()["errors"]}
    assert fields == {("collection_commissions", "nowhere"), ("tiers",)}

    creator = _creator(
        client,
        admin,
        product_commissions={hoodie: {"kind": "percentage", "value": 500}},
        collection_commissions={
            "summer": {"kind": "fixed", "value": 100},
            extras: {"kind": "percentage", "value": 2000},
        },
    )
    # Named by handle or id, kept by id.
    assert set(creator["collection_commissions"]) == {summer, extras}
    order = _buy(client, (("HOODIE-M", 1), ("CAP-M", 1)), attribution={"creator": "ada"})
    _settle(drain, sessions)
    # The hoodie: its own 5% of 25.00 (not Summer's 1.00); the cap: Extras' 20% of 20.00,
    # more than Summer's 1.00.
    assert _entries(sessions, order) == [("earned", "link", 4500, 125 + 400)]

    # Changed rates apply from the next order on.
    changed = client.patch(
        f"/api/v1/creators/{creator['id']}",
        headers=admin,
        json={"collection_commissions": {"summer": {"kind": "fixed", "value": 600}}},
    )
    assert changed.status_code == 200, changed.text
    later = _buy(client, (("CAP-M", 1),), attribution={"creator": "ada"})
    _settle(drain, sessions)
    assert _entries(sessions, later) == [("earned", "link", 2000, 600)]
    assert _entries(sessions, order)[0][3] == 525
    with sessions() as session:
        assert session.scalar(select(Commission.amount).where(Commission.order_id == order)) == 525


def test_rates_from_the_command_line(client, admin, sessions, engine):
    make_shop(sessions)
    with transaction(sessions) as session:
        collections.create_collection(session, CollectionCreate(title="Summer", handle="summer"))
    creator = _creator(client, admin)
    changed = cli(
        "creators",
        "rates",
        creator["id"],
        "--default",
        "8%",
        "--collection",
        "summer=12.5%",
        "--tier",
        "1000.00=15%",
        "--tier",
        "5000=20%",
        "--stripe-account",
        "acct_1Creator",
    )
    assert changed.exit_code == 0, changed.output
    shown = client.get(f"/api/v1/creators/{creator['id']}", headers=admin).json()
    assert shown["commission_value"] == 800 and shown["stripe_account"] == "acct_1Creator"
    assert shown["tiers"] == [{"above": 100000, "value": 1500}, {"above": 500000, "value": 2000}]
    assert [r["value"] for r in shown["collection_commissions"].values()] == [1250]
    assert "above 1,000.00: 15%" in changed.output or "above 1000.00: 15%" in changed.output
    wrong = cli("creators", "rates", creator["id"], "--tier", "5000=20%", "--tier", "1000=15%")
    assert wrong.exit_code == 1 and "tiers" in wrong.output
    assert (
        client.get(f"/api/v1/creators/{creator['id']}", headers=admin).json()["tiers"]
        == (shown["tiers"])
    )
