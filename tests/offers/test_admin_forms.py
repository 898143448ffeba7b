"""The dashboard's offer and creator forms: made, changed, deactivated and given codes
through the services the API uses; a refusal shows under its field and keeps nothing;
writing needs the write scopes."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from mercato.creators.models import Creator, Payout
from mercato.offers.models import Offer, OfferCode
from tests.checkout.helpers import make_shop
from tests.helpers import csrf_of, signed_in

OFFER = {
    "name": "Spring",
    "kind": "percentage",
    "value": "15",
    "currency": "USD",
    "starts_at": "2026-03-01T09:00",
    "ends_at": "2026-04-01T00:00",
    "max_uses": "100",
    "per_customer": "1",
    "code": "spring15",
    "channels": ["storefront", "pos"],
    "combinable": "on",
}


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_merchant_makes_an_offer_changes_it_and_deactivates_it(client, sessions):
    make_shop(sessions)
    signed_in(client, sessions, "offers:read", "offers:write")
    form = client.get("/admin/offers/new")
    assert form.status_code == 200
    token = csrf_of(form.text)
    made = client.post(
        "/admin/offers/new",
        data={**OFFER, "product_ids": "hoodie", "csrf": token},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    offer_path = made.headers["location"].split("?")[0]
    with sessions() as session:
        offer = session.scalar(select(Offer))
        assert (offer.kind, offer.value, offer.max_uses, offer.per_customer) == (
            "percentage",
            15,
            100,
            1,
        )
        assert offer.channels == ["storefront", "pos"] and offer.combinable
        assert len(offer.product_ids) == 1 and offer.starts_at.hour == 9  # the store is UTC
        assert session.get(OfferCode, "SPRING15") is not None
    page = client.get(offer_path)
    assert page.status_code == 200 and "SPRING15" in page.text
    assert "Spring" in client.get("/admin/offers").text

    edit = {
        "csrf": token,
        "_form": "edit",
        "name": "Spring sale",
        "starts_at": "2026-03-02T09:00",
        "ends_at": "",
        "max_uses": "200",
        "per_customer": "",
        "min_subtotal": "20.00",
        "channels": ["pos"],
        "first_order_only": "on",
        "combines_with_shipping": "on",
        "note": "x",
    }
    backwards = client.post(offer_path, data={**edit, "ends_at": "2026-03-01T00:00"})
    assert backwards.status_code == 422
    assert "ends after it starts" in backwards.text.split('data-error-for="edit.ends_at"')[1]
    with sessions() as session:
        assert session.scalar(select(Offer.name)) == "Spring"  # nothing kept
    saved = client.post(offer_path, data=edit, follow_redirects=False)
    assert saved.status_code == 303
    with sessions() as session:
        offer = session.scalar(select(Offer))
        assert offer.name == "Spring sale" and offer.starts_at.day == 2
        assert offer.per_customer is None and offer.min_subtotal == 2000
        assert offer.channels == ["pos"] and offer.first_order_only and not offer.combinable
        flags = (offer.combines_with_product, offer.combines_with_order)
        assert flags == (False, False) and offer.combines_with_shipping
    off = client.post(
        f"{offer_path}/active", data={"csrf": token, "active": "0"}, follow_redirects=False
    )
    assert off.status_code == 303
    with sessions() as session:
        offer = session.scalar(select(Offer))
        assert offer.max_uses == 200 and offer.ends_at is None and offer.active is False


def test_a_refused_offer_shows_each_error_under_its_field_and_keeps_nothing(client, sessions):
    make_shop(sessions)
    signed_in(client, sessions, "offers:read", "offers:write")
    token = csrf_of(client.get("/admin/offers/new").text)
    refused = client.post(
        "/admin/offers/new",
        data={
            **OFFER,
            "value": "150",
            "ends_at": "2026-02-01T00:00",
            "product_ids": "hoodie, no-such",
            "max_uses": "lots",
            "csrf": token,
        },
    )
    assert refused.status_code == 422
    text = refused.text
    for field, said in (
        ("product_ids", "no product with handle, id or SKU"),
        ("max_uses", "is not a whole number"),
    ):
        assert f'data-error-for=".{field}" role="status">' in text
        assert said in text.split(f'data-error-for=".{field}"')[1].split("</div>")[0]
    assert 'value="150"' in text  # what was typed is shown again
    assert _count(sessions, Offer) == 0 and _count(sessions, OfferCode) == 0
    # The service's own rules (not the form's) answer under their fields too.
    again = client.post(
        "/admin/offers/new",
        data={**OFFER, "value": "150", "ends_at": "2026-02-01T00:00", "csrf": token},
    )
    assert again.status_code == 422
    assert "a percentage is between 1 and 100" in again.text.split('data-error-for=".value"')[1]
    assert "ends after it starts" in again.text.split('data-error-for=".ends_at"')[1]
    assert _count(sessions, Offer) == 0


def test_codes_are_added_generated_and_downloaded(client, sessions):
    signed_in(client, sessions, "offers:read", "offers:write")
    token = csrf_of(client.get("/admin/offers/new").text)
    made = client.post(
        "/admin/offers/new",
        data={"name": "Flyer", "kind": "fixed", "value": "5.00", "currency": "EUR", "csrf": token},
        follow_redirects=False,
    )
    path = made.headers["location"].split("?")[0]
    with sessions() as session:
        assert session.scalar(select(Offer.value)) == 500
    added = client.post(
        f"{path}/codes",
        data={"csrf": token, "_form": "code", "code": "FLY5"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    taken = client.post(f"{path}/codes", data={"csrf": token, "_form": "code", "code": "fly5"})
    assert taken.status_code == 422
    assert "already exists" in taken.text.split('data-error-for="code.code"')[1]
    wrong = client.post(
        f"{path}/codes/generate", data={"csrf": token, "_form": "batch", "count": "0"}
    )
    assert wrong.status_code == 422 and 'data-error-for="batch.count"' in wrong.text
    generated = client.post(
        f"{path}/codes/generate",
        data={"csrf": token, "_form": "batch", "count": "25", "prefix": "FLY-"},
        follow_redirects=False,
    )
    assert generated.status_code == 303
    batch = generated.headers["location"].split("batch=")[1].split("&")[0]
    page = client.get(generated.headers["location"])
    assert "25 codes generated." in page.text and "download the CSV" in page.text
    exported = client.get(f"{path}/codes.csv?batch={batch}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 25 and all(r["code"].startswith("FLY-") for r in rows)
    assert _count(sessions, OfferCode) == 26


def test_a_merchant_makes_a_creator_gives_them_a_code_and_pays_a_period(client, sessions):
    signed_in(client, sessions, "creators:read", "creators:write")
    token = csrf_of(client.get("/admin/creators/new").text)
    refused = client.post(
        "/admin/creators/new",
        data={
            "csrf": token,
            "handle": "Ada Lovelace",
            "name": "Ada",
            "commission_kind": "percentage",
            "commission": "ten",
            "stripe_account": "nope",
        },
    )
    assert refused.status_code == 422
    for field in ("handle", "commission", "stripe_account"):
        assert f'data-error-for=".{field}" role="status"></div>' not in refused.text
        assert f'data-error-for=".{field}"' in refused.text
    assert _count(sessions, Creator) == 0
    made = client.post(
        "/admin/creators/new",
        data={
            "csrf": token,
            "handle": "ada",
            "name": "Ada",
            "commission_kind": "percentage",
            "commission": "12.5",
            "tiers": "1000.00, 15%",
        },
        follow_redirects=False,
    )
    assert made.status_code == 200, made.text
    # Their private page is shown once, on the answer (never in an address).
    assert "/shop/creators/" in made.text and "?ref=ada" in made.text
    with sessions() as session:
        creator = session.scalar(select(Creator))
        path = f"/admin/creators/{creator.id}"
        assert (creator.commission_kind, creator.commission_value) == ("percentage", 1250)
        assert creator.tiers == [{"above": 100000, "value": 1500}]
    saved = client.post(
        path,
        data={
            "csrf": token,
            "name": "Ada L.",
            "commission_kind": "fixed",
            "commission": "1.50",
            "tiers": "",
            "active": "on",
            "stripe_account": "acct_123",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    code = client.post(
        f"{path}/codes",
        data={"csrf": token, "_form": "code", "code": "ADA10", "kind": "percentage", "value": "10"},
        follow_redirects=False,
    )
    assert code.status_code == 303
    assert "ADA10" in client.get(path).text
    paid = client.post(
        f"{path}/payouts",
        data={
            "csrf": token,
            "_form": "payout",
            "period_start": "2026-01-01T00:00",
            "period_end": "2026-02-01T00:00",
        },
        follow_redirects=False,
    )
    assert paid.status_code == 303, paid.text
    backwards = client.post(
        f"{path}/payouts",
        data={
            "csrf": token,
            "_form": "payout",
            "period_start": "2026-02-01T00:00",
            "period_end": "2026-01-01T00:00",
        },
    )
    assert backwards.status_code == 422 and 'data-error-for="payout.period_end"' in backwards.text
    with sessions() as session:
        creator = session.scalar(select(Creator))
        assert creator.name == "Ada L." and creator.commission_value == 150
        assert creator.stripe_account == "acct_123" and creator.tiers == []
        assert session.scalar(select(func.count()).select_from(Payout)) == 1
        assert session.get(OfferCode, "ADA10") is not None


def test_a_reader_may_not_write_and_a_stale_form_is_refused(client, sessions):
    signed_in(client, sessions, "offers:read", "creators:read")
    page = client.get("/admin/offers/new")
    assert page.status_code == 200 and "Create offer" not in page.text
    token = csrf_of(page.text)
    refused = client.post("/admin/offers/new", data={**OFFER, "csrf": token})
    assert refused.status_code == 403 and "offers:write" in refused.text
    stale = client.post("/admin/creators/new", data={"csrf": "old", "handle": "ada"})
    assert stale.status_code == 403
    assert _count(sessions, Offer) == 0 and _count(sessions, Creator) == 0
