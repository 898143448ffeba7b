"""Codes used together: each offer has a discount class (product, order, shipping) and says
which classes it goes with; two go together only if each allows the other's. The
checkout takes up to five, priced product first, then order, then shipping, and charges
the total shown; the till asks the same rule."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic import command
from sqlalchemy import select, text

from mercato.catalog.models import Variant
from mercato.offers import combining
from mercato.offers.models import Offer, OfferCode, Redemption
from mercato.orders.models import Order
from mercato.system.migrations import alembic_config
from tests.channels.test_meta_graph_version import fresh_engine  # noqa: F401
from tests.checkout.helpers import complete, fill, make_shop, start
from tests.offers.helpers import make_code

ALL = {"combinable": True}


def _offer(kind="percentage", scoped=False, **flags) -> Offer:
    return Offer(
        id=f"off_{kind}_{scoped}_{sorted(flags.items())}",
        kind=kind,
        product_ids=["p"] if scoped else [],
        variant_ids=[],
        collection_ids=[],
        **{f"combines_with_{c}": flags.get(c, False) for c in combining.CLASSES},
    )


def test_the_class_comes_from_the_kind_and_the_scope():
    assert _offer("percentage", scoped=True).discount_class == "product"
    assert _offer("buy_x_get_y").discount_class == "product"
    assert _offer("bundle").discount_class == "product"
    assert _offer("fixed").discount_class == "order"
    assert _offer("tiered").discount_class == "order"
    assert _offer("free_shipping").discount_class == "shipping"


def test_two_offers_combine_only_if_each_allows_the_others_class():
    product = _offer("percentage", scoped=True, shipping=True)
    shipping = _offer("free_shipping", product=True)
    assert combining.conflict(shipping, "SHIP", combining.Applied("TEN", product)) is None
    assert combining.conflict(product, "TEN", combining.Applied("SHIP", shipping)) is None

    yes = _offer("fixed", order=True)
    no = _offer("percentage", product=True, shipping=True)
    # Either one saying no is enough, whichever came first.
    assert "NO does not combine with order" in combining.conflict(
        yes, "YES", combining.Applied("NO", no)
    )
    assert "it does not combine with order" in combining.conflict(
        no, "NO", combining.Applied("YES", yes)
    )
    both = _offer("tiered", order=True)
    assert combining.conflict(both, "B", combining.Applied("YES", yes)) is None
    # Two codes of one offer never stack.
    assert "same offer" in combining.conflict(yes, "YES2", combining.Applied("YES", yes))


def _product_id(sessions, variant_id: str) -> str:
    with sessions() as session:
        return session.get(Variant, variant_id).product_id


def test_a_product_an_order_and_a_shipping_code_apply_together_with_exact_totals(client, sessions):
    ids = make_shop(sessions, on_hand=20)
    hoodie = _product_id(sessions, ids["HOODIE-M"])
    make_code(sessions, "HOOD20", "percentage", 20, product_ids=[hoodie], **ALL)
    make_code(sessions, "FIVEOFF", "fixed", 500, currency="USD", **ALL)
    make_code(sessions, "SHIPFREE", "free_shipping", 0, **ALL)
    body = start(client, items=(("HOODIE-M", 2),))
    # Entered order first: product discounts still come off the items first.
    shown = fill(
        client,
        body["token"],
        shipping_rate="us-standard",
        discount_codes=["fiveoff", "hood20", "shipfree"],
    )
    assert shown["discount_codes"] == ["FIVEOFF", "HOOD20", "SHIPFREE"]
    assert shown["discount_code"] == "FIVEOFF"
    # 2 x 25.00 = 50.00; 20% of the hoodies: 10.00; then 5.00 off the 40.00 left.
    assert shown["discounts"] == [
        {"code": "FIVEOFF", "amount": 500, "free_shipping": False},
        {"code": "HOOD20", "amount": 1000, "free_shipping": False},
        {"code": "SHIPFREE", "amount": 0, "free_shipping": True},
    ]
    assert shown["subtotal"] == 5000 and shown["discount_total"] == 1500
    assert shown["shipping_total"] == 0
    assert sum(ln["discount"] for ln in shown["lines"]) == 1500
    tax = 0 if shown["taxes_included"] else shown["tax_total"]
    assert shown["total"] == 5000 - 1500 + 0 + tax

    paid = complete(client, body["token"], key="two-codes")
    assert paid.status_code == 200, paid.text
    with sessions() as session:
        order = session.get(Order, paid.json()["order_id"])
        assert order.total == shown["total"] and order.discount_total == 1500
        assert order.discount_codes == [
            {"code": "FIVEOFF", "amount": 500},
            {"code": "HOOD20", "amount": 1000},
            {"code": "SHIPFREE", "amount": 0},
        ]
        redeemed = dict(
            session.execute(
                select(Redemption.code, Redemption.amount).where(
                    Redemption.status == "redeemed", Redemption.order_id == order.id
                )
            ).all()
        )
    assert redeemed == {"FIVEOFF": 500, "HOOD20": 1000, "SHIPFREE": 0}


def test_discounts_together_never_take_a_line_below_zero(client, sessions):
    make_shop(sessions, on_hand=20)
    make_code(sessions, "HALF", "percentage", 50, **ALL)
    make_code(sessions, "BIG", "fixed", 100_000, currency="USD", **ALL)
    shown = start(client, items=(("HOODIE-M", 1),), discount_codes=["HALF", "BIG"])
    assert shown["discount_total"] == 2500 and shown["subtotal"] == 2500
    assert [d["amount"] for d in shown["discounts"]] == [1250, 1250]
    assert shown["total"] >= 0


def test_a_code_that_does_not_combine_is_refused_and_changes_nothing(client, sessions):
    make_shop(sessions, on_hand=20)
    make_code(sessions, "WELCOME", "percentage", 10, combines_with_shipping=True)
    make_code(sessions, "EXTRA5", "fixed", 500, currency="USD", **ALL)
    body = start(client, discount_codes=["WELCOME"])
    before = client.get(f"/api/v1/checkouts/{body['token']}").json()

    refused = client.patch(
        f"/api/v1/checkouts/{body['token']}",
        json={"discount_codes": ["WELCOME", "EXTRA5"], "email": "new@example.com"},
    )
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["loc"] == ["discount_codes", 1]
    assert error["message"] == (
        "EXTRA5 cannot be combined with WELCOME: WELCOME does not combine with order discounts"
    )
    after = client.get(f"/api/v1/checkouts/{body['token']}").json()
    assert after == before  # nor the email sent with it

    # Both orders of entry are refused the same way.
    other = start(client, discount_codes=["EXTRA5"])
    again = client.patch(
        f"/api/v1/checkouts/{other['token']}", json={"discount_codes": ["EXTRA5", "WELCOME"]}
    )
    assert again.status_code == 422
    assert "WELCOME cannot be combined with EXTRA5" in again.json()["errors"][0]["message"]


def test_order_codes_go_together_only_if_both_say_so(client, sessions):
    make_shop(sessions, on_hand=20)
    make_code(sessions, "ORD1", "fixed", 300, currency="USD", combines_with_order=True)
    make_code(sessions, "ORD2", "fixed", 200, currency="USD", combines_with_order=True)
    make_code(sessions, "ORD3", "fixed", 100, currency="USD", combines_with_product=True)
    ok = start(client, discount_codes=["ORD1", "ORD2"])
    assert ok["discount_total"] == 500
    for pair in (["ORD1", "ORD3"], ["ORD3", "ORD1"]):
        refused = client.post(
            "/api/v1/checkouts",
            json={"lines": [{"sku": "HOODIE-M", "quantity": 1}], "discount_codes": pair},
        )
        assert refused.status_code == 422, pair


def test_codes_of_one_offer_never_stack_and_five_is_the_most(client, sessions):
    make_shop(sessions, on_hand=20)
    offer_id = make_code(sessions, "TWIN1", "fixed", 100, currency="USD", **ALL)
    with sessions() as session, session.begin():
        session.add(OfferCode(code="TWIN2", offer_id=offer_id, used=0))
    refused = client.post(
        "/api/v1/checkouts",
        json={"lines": [{"sku": "HOODIE-M", "quantity": 1}], "discount_codes": ["TWIN1", "TWIN2"]},
    )
    assert refused.status_code == 422
    assert "same offer as TWIN1" in refused.json()["errors"][0]["message"]
    # The same code twice is one code.
    assert start(client, discount_codes=["TWIN1", "twin1"])["discount_codes"] == ["TWIN1"]
    for n in range(6):
        make_code(sessions, f"MANY{n}", "fixed", 10, currency="USD", **ALL)
    too_many = client.post(
        "/api/v1/checkouts",
        json={
            "lines": [{"sku": "HOODIE-M", "quantity": 1}],
            "discount_codes": [f"MANY{n}" for n in range(6)],
        },
    )
    assert too_many.status_code == 422
    five = start(client, discount_codes=[f"MANY{n}" for n in range(5)])
    assert five["discount_total"] == 50


def test_removing_one_code_keeps_the_other(client, sessions):
    make_shop(sessions, on_hand=20)
    make_code(sessions, "KEEP", "fixed", 300, currency="USD", **ALL)
    make_code(sessions, "DROP", "fixed", 200, currency="USD", **ALL)
    body = start(client, discount_codes=["KEEP", "DROP"])
    shown = fill(client, body["token"], discount_codes=["KEEP"])
    assert shown["discount_codes"] == ["KEEP"] and shown["discount_total"] == 300
    cleared = fill(client, body["token"], discount_code="")
    assert cleared["discount_codes"] == [] and cleared["discount_total"] == 0


CAPPED = 10
BUYERS = 30


def test_a_capped_code_beside_another_in_parallel_checkouts_is_used_exactly_its_cap(
    client, sessions
):
    make_shop(sessions, on_hand=500)
    make_code(sessions, "CAPPED", "fixed", 400, currency="USD", max_uses=CAPPED, **ALL)
    make_code(sessions, "ALWAYS", "free_shipping", 0, **ALL)
    tokens = [start(client, discount_codes=["CAPPED", "ALWAYS"])["token"] for _ in range(BUYERS)]
    totals = {
        t: fill(client, t, shipping_rate="us-standard")["total"] for t in tokens
    }  # shown with both codes

    with ThreadPoolExecutor(12) as pool:
        answers = list(
            pool.map(lambda t: (t, complete(client, t, key=f"k-{t[:8]}", total=totals[t])), tokens)
        )

    paid = [t for t, r in answers if r.status_code == 200]
    changed = [t for t, r in answers if r.status_code == 409]
    assert len(paid) + len(changed) == BUYERS
    assert len(paid) == CAPPED
    for token in changed:
        # Charged nothing; shown the total without the code that ran out, the other kept.
        now = client.get(f"/api/v1/checkouts/{token}").json()
        assert now["discount_codes"] == ["ALWAYS"] and now["discount_total"] == 0
        assert now["shipping_total"] == 0 and now["total"] > totals[token]
    with sessions() as session:
        assert session.get(OfferCode, "CAPPED").used == CAPPED
        by_code = dict(
            session.execute(
                select(Redemption.code, text("count(*)"))
                .where(Redemption.status == "redeemed")
                .group_by(Redemption.code)
            ).all()
        )
        orders = session.scalars(select(Order)).all()
    assert by_code == {"CAPPED": CAPPED, "ALWAYS": CAPPED}
    assert len(orders) == CAPPED and all(o.discount_total == 400 for o in orders)
    # The ones who saw the new total pay it, with the code still held.
    retry = complete(client, changed[0], key="again")
    assert retry.status_code == 200, retry.text


def _ticket(ticket: str, code: str) -> dict:
    return {
        "code": code,
        "location_id": "shop-1",
        "ticket": ticket,
        "subtotal": 5000,
        "currency": "USD",
        "lines": [{"sku": "HOODIE-M", "quantity": 2, "unit_price": 2500}],
    }


def test_the_till_asks_the_same_rule(client, make_token, sessions):
    ids = make_shop(sessions, on_hand=20)
    hoodie = _product_id(sessions, ids["HOODIE-M"])
    make_code(
        sessions, "TILLPROD", "percentage", 10, product_ids=[hoodie], combines_with_shipping=True
    )
    make_code(sessions, "TILLSHIP", "free_shipping", 0, combines_with_product=True)
    make_code(sessions, "TILLORD", "fixed", 500, currency="USD", **ALL)
    till = make_token("pos:write")
    a = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("T1", "TILLPROD"))
    assert a.status_code == 201, a.text
    b = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("T1", "TILLSHIP"))
    assert b.status_code == 201, b.text
    c = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("T1", "TILLORD"))
    assert c.status_code == 409
    assert c.json()["reason"] == (
        "cannot be combined with TILLPROD: TILLPROD does not combine with order discounts"
    )
    # Another ticket takes it.
    d = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("T2", "TILLORD"))
    assert d.status_code == 201


def test_a_tills_codes_take_what_the_ones_before_left_never_more_than_the_ticket(
    client, make_token, sessions
):
    make_shop(sessions, on_hand=20)
    make_code(sessions, "TAKE40", "fixed", 4000, currency="USD", **ALL)
    make_code(sessions, "TAKE30", "fixed", 3000, currency="USD", **ALL)
    make_code(sessions, "TENPC", "percentage", 10, **ALL)
    till = make_token("pos:write")
    first = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("S1", "TENPC"))
    assert first.json()["amount"] == 500  # 10% of 50.00
    second = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("S1", "TAKE40"))
    assert second.json()["amount"] == 4000
    third = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("S1", "TAKE30"))
    assert third.status_code == 201, third.text
    assert third.json()["amount"] == 500  # all the 50.00 ticket had left
    # Alone on another ticket, the same code takes its whole value.
    alone = client.post("/api/v1/pos/redemptions", headers=till, json=_ticket("S2", "TAKE30"))
    assert alone.json()["amount"] == 3000


def test_two_codes_that_do_not_combine_sent_at_once_to_one_ticket_give_one_redemption(
    client, make_token, sessions
):
    make_shop(sessions, on_hand=20)
    make_code(sessions, "RACEA", "fixed", 300, currency="USD")
    make_code(sessions, "RACEB", "fixed", 200, currency="USD")
    till = make_token("pos:write")
    tickets = [f"R{n}" for n in range(8)]
    sent = [(ticket, code) for ticket in tickets for code in ("RACEA", "RACEB")]

    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda tc: (
                    client.post(
                        "/api/v1/pos/redemptions", headers=till, json=_ticket(*tc)
                    ).status_code
                ),
                sent,
            )
        )

    assert sorted(answers) == [201] * len(tickets) + [409] * len(tickets)
    with sessions() as session:
        kept = session.execute(
            select(Redemption.reference, text("count(*)"))
            .where(Redemption.status == "redeemed")
            .group_by(Redemption.reference)
        ).all()
    assert dict(kept) == {f"shop-1:{ticket}": 1 for ticket in tickets}


def test_the_offer_api_shows_the_class_and_the_flags(client, admin):
    made = client.post(
        "/api/v1/offers",
        headers=admin,
        json={
            "name": "Ship",
            "kind": "free_shipping",
            "code": "SHIPIT",
            "combines_with_product": True,
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["discount_class"] == "shipping"
    assert (body["combines_with_product"], body["combines_with_order"]) == (True, False)
    changed = client.patch(
        f"/api/v1/offers/{body['id']}", headers=admin, json={"combines_with_order": True}
    )
    assert changed.json()["combines_with_order"] is True


def test_upgrading_keeps_what_combinable_meant(fresh_engine):  # noqa: F811
    config = alembic_config(fresh_engine)
    command.upgrade(config, "heads")
    command.downgrade(config, "0104")
    with fresh_engine.begin() as connection:
        for oid, combinable in (("o1", True), ("o2", False)):
            connection.execute(
                text(
                    "INSERT INTO offers (id, name, kind, value, tiers, bundle, product_ids,"
                    " variant_ids, collection_ids, channels, markets, first_order_only,"
                    " combinable, active, used, created_at) VALUES (:id, 'x', 'fixed', 1,"
                    " '[]', '[]', '[]', '[]', '[]', '[]', '[]', :f, :c, :t, 0, CURRENT_TIMESTAMP)"
                ),
                {"id": oid, "c": combinable, "f": False, "t": True},
            )
    command.upgrade(config, "heads")
    with fresh_engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, combines_with_product, combines_with_order, combines_with_shipping"
                " FROM offers ORDER BY id"
            )
        ).all()
    assert [(r[0], bool(r[1]), bool(r[2]), bool(r[3])) for r in rows] == [
        ("o1", True, True, True),
        ("o2", False, False, False),
    ]
